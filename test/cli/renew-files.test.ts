/**
 * `cert renew ID` checks its files before it asks the server to renew, as `cert issue` does:
 * the default names come from the certificate renewed (its successor has the same subject and
 * names), read first. Until stop 40 of 2026-12-05 (an outside probe) `cert renew ID` where
 * `cert issue` had written its files renewed on the server, then refused to write them (exit 1),
 * and the natural retry with --force was refused as already renewed.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { opensslOk } from "../support/openssl";
import { type CliSession, cliSession, modeOf, ok } from "./cli";

interface IssueJson {
  certificate: { certificateId: string; serialNumber: string };
}

describe("certmint cert renew: files checked before the renewal", () => {
  let h: TestCertmint;
  let cli: CliSession;
  const file = (name: string) => join(cli.dir, name);
  const successors = async (id: string) =>
    Number(
      (
        await h.db.query<{ n: string }>(
          "select count(*) as n from certificate where renewed_from_id = $1",
          [id],
        )
      )[0]!.n,
    );
  const fileSerial = (name: string) =>
    new X509Certificate(readFileSync(file(name))).serialNumber.toLowerCase();
  const spki = (pem: Buffer | string) =>
    createPublicKey(pem).export({ type: "spki", format: "der" }).toString("hex");
  const certKey = (name: string) =>
    spki(
      new X509Certificate(readFileSync(file(name))).publicKey.export({
        type: "spki",
        format: "pem",
      }),
    );
  const fileKey = (name: string) =>
    spki(
      createPublicKey(createPrivateKey(readFileSync(file(name)))).export({
        type: "spki",
        format: "pem",
      }),
    );

  beforeAll(async () => {
    h = await startTestCertmint();
    cli = cliSession(h.address, h.dataDir);
    ok(await cli.run(["ca", "create-root", "root", "--cn", "Renew Files Root"]));
    ok(
      await cli.run([
        "profile",
        "create",
        "web",
        "--ca",
        "root",
        "--ttl",
        "7d",
        "--preset",
        "tls-server",
        "--allow-dns",
        "**.example.com",
        "--allow-subject",
        "cn=*",
      ]),
    );
    ok(await cli.run(["token", "create", "team", "--role", "issuer", "--profile", "web"]));
  });
  afterAll(async () => {
    cli?.remove();
    await h?.stop();
  });

  it("where cert issue wrote the files: refused before anything is renewed; --force then renews and replaces them", async () => {
    const issued = await cli.json<IssueJson>([
      "cert",
      "issue",
      "--profile",
      "web",
      "--dns",
      "r.example.com",
    ]);
    const id = issued.certificate.certificateId;
    const refused = await cli.run(["cert", "renew", id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      "certmint: r.example.com.crt exists: remove it, pass --force to replace it, or name another file\n",
    );
    expect(await successors(id)).toBe(0);
    expect(fileSerial("r.example.com.crt")).toBe(issued.certificate.serialNumber);

    const renewed = await cli.json<IssueJson>(["cert", "renew", id, "--force"]);
    expect(await successors(id)).toBe(1);
    expect(renewed.certificate.serialNumber).not.toBe(issued.certificate.serialNumber);
    expect(fileSerial("r.example.com.crt")).toBe(renewed.certificate.serialNumber);
    expect(fileKey("r.example.com.key")).toBe(certKey("r.example.com.crt"));
    expect(modeOf(file("r.example.com.key"))).toBe(0o600);
  });

  it("an issuer's token (which may not GetCertificate) learns the names too: the files of its certificate are checked first", async () => {
    const asTeam = (args: string[]) => cli.run(["--token-file", "team.token", ...args]);
    const issued = JSON.parse(
      ok(
        await asTeam([
          "cert",
          "issue",
          "--profile",
          "web",
          "--cn",
          "team.example.com",
          "-o",
          "json",
        ]),
      ).stdout,
    ) as IssueJson;
    const id = issued.certificate.certificateId;
    const refused = await asTeam(["cert", "renew", id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("team.example.com.crt exists");
    expect(await successors(id)).toBe(0);
    const renewed = JSON.parse(
      ok(await asTeam(["cert", "renew", id, "--force", "-o", "json"])).stdout,
    ) as IssueJson;
    expect(fileSerial("team.example.com.crt")).toBe(renewed.certificate.serialNumber);
    expect(fileKey("team.example.com.key")).toBe(certKey("team.example.com.crt"));
  });

  it("a CSR certificate's own key file is not the renewal's to replace: refused with the ways out, kept with --key-source reuse", async () => {
    opensslOk([
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      file("svc.example.com.key"),
      "-subj",
      "/CN=svc.example.com",
      "-out",
      file("svc.example.com.csr"),
    ]);
    const ownKey = readFileSync(file("svc.example.com.key"), "utf8");
    const issued = await cli.json<IssueJson>([
      "cert",
      "issue",
      "--profile",
      "web",
      "--csr",
      "svc.example.com.csr",
    ]);
    const id = issued.certificate.certificateId;
    // Named after the CSR file, here the CN, as the renewal names them. The certificate and
    // chain moved elsewhere; the key the user made stays.
    rmSync(file("svc.example.com.crt"));
    rmSync(file("svc.example.com.chain.pem"));
    const refused = await cli.run(["cert", "renew", id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "svc.example.com.key exists: for a certificate whose key certmint generated",
    );
    expect(refused.stderr).toContain("--key-source reuse keeps the key (and writes no key file)");
    expect(refused.stderr).not.toContain("remove it");
    expect(await successors(id)).toBe(0);

    const renewed = await cli.json<IssueJson>(["cert", "renew", id, "--key-source", "reuse"]);
    expect(await successors(id)).toBe(1);
    expect(readFileSync(file("svc.example.com.key"), "utf8")).toBe(ownKey);
    expect(fileSerial("svc.example.com.crt")).toBe(renewed.certificate.serialNumber);
    expect(certKey("svc.example.com.crt")).toBe(fileKey("svc.example.com.key"));
    expect(existsSync(file("svc.example.com.chain.pem"))).toBe(true);
  });

  it("--validate-only renews nothing; with every file named, the renewal writes those", async () => {
    const issued = await cli.json<IssueJson>([
      "cert",
      "issue",
      "--profile",
      "web",
      "--dns",
      "named.example.com",
    ]);
    const id = issued.certificate.certificateId;
    const dry = ok(await cli.run(["cert", "renew", id, "--validate-only"]));
    expect(dry.stderr).toContain("validate only");
    expect(await successors(id)).toBe(0);
    ok(
      await cli.run([
        "cert",
        "renew",
        id,
        "--cert-out",
        "next.crt",
        "--chain-out",
        "next.chain.pem",
        "--key-out",
        "next.key",
      ]),
    );
    expect(await successors(id)).toBe(1);
    expect(fileKey("next.key")).toBe(certKey("next.crt"));
  });
});
