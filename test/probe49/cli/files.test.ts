/**
 * The files `cert issue` writes, as an operator meets them: a key 0600 also when --force
 * replaces a looser one, refusals before anything is issued (README "Files"), and two outputs
 * naming one file.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modeOf, ok } from "../../cli/cli";
import { type LiveCli, startLiveCli } from "./live";

describe("probe49 CLI: output files", () => {
  let live: LiveCli;
  const certificates = async () =>
    Number((await live.db.query("select count(*)::int as n from certificate"))[0]!.n);

  beforeAll(async () => {
    live = await startLiveCli();
    ok(await live.cli.run(["ca", "create-root", "files-root", "--cn", "Files Root"]));
    ok(
      await live.cli.run([
        "profile",
        "create",
        "servers",
        "--ca",
        "files-root",
        "--preset",
        "tls-server",
        "--allow-dns",
        "**.example.com",
      ]),
    );
  });
  afterAll(async () => {
    await live?.stop();
  });

  it("--force over a 0644 key file leaves the new key 0600", async () => {
    const run = (force: string[]) =>
      live.cli.run(["cert", "issue", "--profile", "servers", "--dns", "api.example.com", ...force]);
    ok(await run([]));
    const key = join(live.cli.dir, "api.example.com.key");
    expect(modeOf(key)).toBe(0o600);
    chmodSync(key, 0o644);
    ok(await run(["--force"]));
    expect(modeOf(key)).toBe(0o600);
  });

  it("a file that exists is refused before anything is issued", async () => {
    const path = join(live.cli.dir, "exists.crt");
    writeFileSync(path, "mine");
    const before = await certificates();
    const r = await live.cli.run([
      ...["cert", "issue", "--profile", "servers", "--dns", "exists.example.com"],
      ...["--cert-out", path],
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/exists/);
    expect(readFileSync(path, "utf8")).toBe("mine");
    expect(await certificates()).toBe(before);
  });

  it("a directory others may write to (no sticky bit) is refused before anything is issued", async () => {
    const open = join(live.cli.dir, "open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    const before = await certificates();
    const r = await live.cli.run([
      ...["cert", "issue", "--profile", "servers", "--dns", "open.example.com"],
      ...["--key-out", join(open, "k.pem")],
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/writable by other users/);
    expect(existsSync(join(open, "k.pem"))).toBe(false);
    expect(await certificates()).toBe(before);
  });

  it("--cert-out and --key-out naming one file: refused before anything is issued", async () => {
    // FINDING: not checked; the certificate is issued, the key written, and then the
    // certificate's write fails on the file just made (exit 1, a certificate left behind).
    const before = await certificates();
    const r = await live.cli.run([
      ...["cert", "issue", "--profile", "servers", "--dns", "same.example.com"],
      ...["--cert-out", "same.pem", "--key-out", "./same.pem"],
    ]);
    expect(r.code).toBe(2);
    expect(existsSync(join(live.cli.dir, "same.pem"))).toBe(false);
    expect(await certificates()).toBe(before);
  });

  it("--cert-out and --key-out naming one file with --force: the private key is never silently lost", async () => {
    // FINDING: exit 0, and the file holds the certificate alone: the key certmint generated
    // (returned once) was written and then replaced by the certificate.
    const r = await live.cli.run([
      ...["cert", "issue", "--profile", "servers", "--dns", "lost.example.com"],
      ...["--cert-out", "lost.pem", "--key-out", "lost.pem", "--force"],
    ]);
    const path = join(live.cli.dir, "lost.pem");
    if (r.code === 0) expect(readFileSync(path, "utf8")).toMatch(/PRIVATE KEY/);
    else expect(r.code).toBe(2);
  });

  it("--cert-out and --chain-out naming one file with --force: the certificate is not replaced by its chain", async () => {
    const r = await live.cli.run([
      ...["cert", "issue", "--profile", "servers", "--dns", "chain.example.com"],
      ...["--cert-out", "chain.pem", "--chain-out", "chain.pem", "--force"],
    ]);
    if (r.code === 0) {
      const pem = readFileSync(join(live.cli.dir, "chain.pem"), "utf8");
      // Both the leaf and its root: two certificates.
      expect(pem.match(/BEGIN CERTIFICATE/g)?.length).toBe(2);
    } else expect(r.code).toBe(2);
  });
});
