/**
 * `certmint cert watch` against a live server that renews by itself (a profile whose
 * certificates are inside their renewal window from the start, its auto_renew switched on once
 * the watcher has the current certificate, and a renewal tick of 200 ms): the watcher, run
 * as a sidecar would (`--out-dir`), receives the successor and replaces cert.pem, chain.pem and
 * key.pem (0600) with it, verified with openssl; SIGTERM ends it with exit code 0. Also the
 * `--output json` events of a profile watch, and refused watches (nothing written).
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessToken, Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { startFaultProxy } from "../support/fault-proxy";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { openssl } from "../support/openssl";
import { waitFor } from "../support/wait";
import { CLI, type CliSession, cliSession, modeOf, ok } from "./cli";

/** A `certmint cert watch` left running; its output is read as it arrives. */
class Watcher {
  stdout = "";
  stderr = "";
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;
  constructor(address: string, dataDir: string, args: readonly string[], cwd: string) {
    this.child = spawn(
      process.execPath,
      [CLI, "--server", address, "--data-dir", dataDir, "cert", "watch", ...args],
      { cwd, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" } },
    );
    this.child.stdout.on("data", (d) => {
      this.stdout += d;
    });
    this.child.stderr.on("data", (d) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => this.child.on("close", (code) => resolve(code)));
  }
  lines(): string[] {
    return this.stdout.split("\n").filter((l) => l !== "");
  }
  /** SIGTERM, as an orchestrator stops a sidecar; resolves with the exit code. */
  stop(): Promise<number | null> {
    this.child.kill("SIGTERM");
    return this.exited;
  }
}

const serialOf = (pem: string) => new X509Certificate(pem).serialNumber.toLowerCase();

describe("certmint cert watch", () => {
  let h: TestCertmint;
  let cli: CliSession;
  let rootPem: string;
  const watchers: Watcher[] = [];
  const watch = (args: readonly string[], address = h.address) => {
    const w = new Watcher(address, h.dataDir, args, cli.dir);
    watchers.push(w);
    return w;
  };
  const issue = async (cn: string, profile = "short", more: readonly string[] = []) =>
    (
      await cli.json<{ certificate: { certificateId: string; serialNumber: string } }>([
        "cert",
        "issue",
        "--profile",
        profile,
        "--cn",
        cn,
        "--dns",
        cn,
        "--force",
        ...more,
      ])
    ).certificate;

  /**
   * A watch "from now" sees what is issued after it is open, and a test cannot see when that
   * is: issues certificates until the watcher prints an event of one of them; returns its event.
   */
  const issueUntilSeen = async (w: Watcher, cn: string) => {
    const serials = new Set<string>();
    let event: Record<string, unknown> | undefined;
    await waitFor(`an event of a certificate for ${cn} issued while watching`, async () => {
      const events = w.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
      event = events.find((e) => serials.has(e.serialNumber as string));
      if (event) return true;
      serials.add((await issue(cn)).serialNumber);
      return false;
    });
    return event!;
  };

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_RENEWAL_TICK_MS: "200" });
    cli = cliSession(h.address, h.dataDir);
    ok(await cli.run(["ca", "create-root", "root", "--cn", "Watch CLI Root"]));
    ok(
      await cli.run([
        "ca",
        "create-intermediate",
        "issuing",
        "--parent",
        "root",
        "--cn",
        "Watch CLI Issuing",
      ]),
    );
    // Certificates live 2 minutes and are due 100 s before notAfter: 20 s after issuance.
    ok(
      await cli.run([
        "profile",
        "create",
        "short",
        "--ca",
        "issuing",
        "--ttl",
        "2m",
        "--auto-renew",
        "--renew-before",
        "100s",
        "--preset",
        "tls-server",
        "--allow-dns",
        "**.example.com",
        "--allow-subject",
        "cn=*",
      ]),
    );
    // Renews 10 minutes before notAfter, once auto-renew is switched on (the --out-dir test);
    // a successor lives an hour, so it is not due again while the test runs.
    ok(
      await cli.run([
        "profile",
        "create",
        "renewing",
        "--ca",
        "issuing",
        "--ttl",
        "1h",
        "--no-auto-renew",
        "--renew-before",
        "10m",
        "--preset",
        "tls-server",
        "--allow-dns",
        "**.example.com",
        "--allow-subject",
        "cn=*",
      ]),
    );
    rootPem = join(cli.dir, "root.pem");
    writeFileSync(rootPem, ok(await cli.run(["ca", "get", "root", "-o", "pem"])).stdout);
  });
  afterAll(async () => {
    for (const w of watchers) await w.stop();
    cli?.remove();
    await h?.stop();
  });

  it("profile create --renew-before sets renewal.renew_before; --renew-before-days replaces it", async () => {
    const shown = await cli.json<{ renewal: Record<string, unknown> }>(["profile", "get", "short"]);
    expect(shown.renewal).toMatchObject({ autoRenew: true, renewBefore: "100s" });
    const rows = await h.db.query<{ renewal: Record<string, unknown> }>(
      "select renewal from certificate_profile where slug = 'short'",
    );
    expect(JSON.stringify(rows[0]!.renewal)).toContain("100");
    const both = await cli.run([
      "profile",
      "update",
      "short",
      "--renew-before",
      "1m",
      "--renew-before-days",
      "1",
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("give one of them");
    const after = await cli.json<{ renewal: Record<string, unknown> }>(["profile", "get", "short"]);
    expect(after.renewal).toMatchObject({ renewBefore: "100s" });
  });

  it("--out-dir keeps the lineage's newest certificate, chain and key; SIGTERM exits 0", async () => {
    // 5 minutes: inside the profile's 10-minute renewal window from the start.
    const first = await issue("svc.example.com", "renewing", ["--ttl", "5m"]);
    const dir = mkdtempSync(join(cli.dir, "tls-"));
    const w = watch([first.serialNumber, "--out-dir", dir]);
    const certFile = join(dir, "cert.pem");
    const serialOnDisk = () =>
      existsSync(certFile) ? serialOf(readFileSync(certFile, "utf8")) : "";
    // The CURRENT certificate first, then the successor certmint makes by itself.
    await waitFor("the watcher to write the current certificate", () => serialOnDisk() !== "");
    expect(serialOnDisk()).toBe(first.serialNumber);
    // The profile starts renewing automatically: the certificate is due at once.
    ok(await cli.run(["profile", "update", "renewing", "--auto-renew"]));
    await waitFor(
      "the server to renew and the watcher to write the successor",
      () => serialOnDisk() !== "" && serialOnDisk() !== first.serialNumber,
      150_000,
    );
    // Read the files until cert.pem did not change meanwhile (a reading between two renames).
    const keyFile = join(dir, "key.pem");
    let files = { cert: "", key: "" };
    await waitFor("a consistent reading of cert.pem and key.pem", () => {
      const cert = readFileSync(certFile, "utf8");
      files = { cert, key: readFileSync(keyFile, "utf8") };
      return readFileSync(certFile, "utf8") === cert;
    });
    const successor = new X509Certificate(files.cert);
    const original = await cli.json<{ subject: unknown }>(["cert", "get", first.certificateId]);
    const renewed = await cli.json<{ subject: unknown; renewedFromCertificateId: string }>([
      "cert",
      "get",
      successor.serialNumber.toLowerCase(),
    ]);
    expect(renewed.subject).toEqual(original.subject);
    expect(renewed.renewedFromCertificateId).not.toBe("");
    expect(successor.subject).toContain("CN=svc.example.com");
    const check = openssl([
      "verify",
      "-CAfile",
      rootPem,
      "-untrusted",
      join(dir, "chain.pem"),
      certFile,
    ]);
    expect(check.stdout, check.stderr).toContain(": OK");
    // certmint generated the key and this token owns the certificate: the new key came too.
    expect(modeOf(keyFile)).toBe(0o600);
    expect(successor.checkPrivateKey(createPrivateKey(files.key))).toBe(true);
    expect(readFileSync(join(dir, "cursor"), "utf8").trim()).not.toBe("");
    expect(readdirSync(dir).sort()).toEqual(["cert.pem", "chain.pem", "cursor", "key.pem"]);
    await waitFor("the RENEWED line", () => w.stdout.includes("RENEWED "));
    const lines = w.lines();
    expect(lines[0]).toMatch(new RegExp(`^CURRENT cursor=\\S+ serial=${first.serialNumber} id=`));
    expect(lines.join("\n")).not.toContain("PRIVATE KEY");
    expect(await w.stop()).toBe(0);
  }, 240_000);

  it("--output json prints one object per event of a profile; --cursor resumes right after one", async () => {
    const w = watch(["--profile", "short", "--output", "json"]);
    const event = await issueUntilSeen(w, "json.example.com");
    expect(event).toMatchObject({
      type: "CERTIFICATE_EVENT_TYPE_ISSUED",
      cursor: expect.stringMatching(/\S/),
      certificateId: expect.any(String),
      notAfter: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(w.stdout).not.toContain("PRIVATE KEY");
    // --cursor: a second watch resumed right after that event gets what followed it, from the
    // same cursors, and not the event itself.
    const next = await issueUntilSeen(w, "next.example.com");
    const resumed = watch([
      "--profile",
      "short",
      "--output",
      "json",
      "--cursor",
      String(event.cursor),
    ]);
    await waitFor("the resumed watch to reach the next event", () =>
      resumed.lines().some((l) => JSON.parse(l).cursor === next.cursor),
    );
    const firstEvents = w.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    const after = firstEvents.slice(firstEvents.findIndex((e) => e.cursor === event.cursor) + 1);
    const resumedEvents = resumed.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(resumedEvents[0]).toEqual(after[0]);
    expect(resumedEvents.some((e) => e.cursor === event.cursor)).toBe(false);
    expect(await resumed.stop()).toBe(0);
    expect(await w.stop()).toBe(0);
    expect(w.stderr).toBe("");
  });

  it("reconnects from its cursor when the connection drops: nothing missed, nothing twice", async () => {
    const [host, port] = h.address.split(":");
    const proxy = await startFaultProxy({ host: host!, port: Number(port) });
    try {
      const w = watch(["--profile", "short", "--output", "json"], `127.0.0.1:${proxy.port}`);
      const events = () => w.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
      const seen = (serial: string) => events().some((e) => e.serialNumber === serial);
      const before = await issueUntilSeen(w, "before.example.com");
      proxy.refuse();
      await waitFor("the watcher to notice and retry", () => w.stderr.includes("reconnecting"));
      // Issued while the watcher cannot reach the server: it arrives after the reconnection.
      const during = await issue("during.example.com");
      proxy.pass();
      await waitFor("the event made while disconnected", () => seen(during.serialNumber));
      const cursors = events().map((e) => e.cursor);
      expect(new Set(cursors).size).toBe(cursors.length);
      expect(events().filter((e) => e.serialNumber === before.serialNumber)).toHaveLength(1);
      expect(await w.stop()).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  // Found by an outside probe (2026-12-05, third stop): the watcher wrote the new cert.pem beside
  // the old key.pem, a pair no TLS server loads, and only printed a warning.
  it("--out-dir: a renewal whose new key went to another token is not written; exit 1, files kept", async () => {
    const first = await issue("moved.example.com", "renewing");
    const dir = mkdtempSync(join(cli.dir, "moved-"));
    const w = watch([first.certificateId, "--out-dir", dir]);
    const certFile = join(dir, "cert.pem");
    const keyFile = join(dir, "key.pem");
    await waitFor(
      "the watcher to write the current certificate and its key",
      () => existsSync(certFile) && existsSync(keyFile) && existsSync(join(dir, "cursor")),
    );
    const before = {
      cert: readFileSync(certFile, "utf8"),
      key: readFileSync(keyFile, "utf8"),
    };
    // Another admin renews it with a new key: the key is that token's, not the watcher's.
    const other = await call(h.accessTokens, "createAccessToken", {
      accessToken: AccessToken.fromPartial({ slug: "other-admin", role: Role.ROLE_ADMIN }),
    });
    const renewed = await call(
      h.clientsAs(other.secret).certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({
        certificateId: first.certificateId,
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
      }),
    );
    expect(renewed.privateKeyPem).toContain("PRIVATE KEY");

    expect(await w.exited).toBe(1);
    expect(w.stderr).toContain(
      `certificate ${renewed.certificate!.serialNumber} (${renewed.certificate!.certificateId}) is not for the key in`,
    );
    expect(readFileSync(certFile, "utf8")).toBe(before.cert);
    expect(readFileSync(keyFile, "utf8")).toBe(before.key);
    expect(new X509Certificate(before.cert).checkPrivateKey(createPrivateKey(before.key))).toBe(
      true,
    );
    // Started again, it stops at the same event: the pair stays as it was until someone acts.
    const again = await cli.run(["cert", "watch", first.certificateId, "--out-dir", dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("is not for the key in");
    expect(readFileSync(certFile, "utf8")).toBe(before.cert);
  });

  it("a certificate that does not exist: NOT_FOUND with the code, exit 1, nothing written", async () => {
    const dir = join(cli.dir, "refused");
    for (const unknown of [
      "0f0e0d0c0b0a09080706050403020100",
      "7d8b3c4e-0000-4000-8000-000000000000",
    ]) {
      const r = await cli.run(["cert", "watch", unknown, "--out-dir", dir]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^certmint: NOT_FOUND: /m);
      expect(r.stdout).toBe("");
    }
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    const usage = await cli.run(["cert", "watch", "--out-dir", dir]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("name the CERTIFICATE");
  });
});
