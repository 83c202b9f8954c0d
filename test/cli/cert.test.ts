/**
 * `certmint cert ...` against a live server: certificates, chains and keys on disk (the key with
 * mode 0600, never on stdout unless asked), verified with openssl; what PostgreSQL holds after
 * each command, refusals included.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { openssl, opensslOk } from "../support/openssl";
import { type CliSession, cliSession, modeOf, ok } from "./cli";

interface IssueJson {
  certificateRequestId: string;
  status: string;
  certificate: {
    certificateId: string;
    serialNumber: string;
    certificatePem: string;
    certificateChainPem: string[];
  };
  privateKeyPem?: string;
  files?: { certificate: string; chain: string; privateKey?: string };
}

const pemBlocks = (text: string) =>
  text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];

describe("certmint cert", () => {
  let h: TestCertmint;
  let cli: CliSession;
  let rootPem: string;
  let first: IssueJson;
  const file = (name: string) => join(cli.dir, name);
  const count = async (table: string, where = "true") =>
    Number(
      (await h.db.query<{ n: string }>(`select count(*) as n from ${table} where ${where}`))[0]!.n,
    );
  /** openssl verify of a leaf against the root, with the chain file's intermediate as untrusted. */
  const verify = (leaf: string, chainFile: string) => {
    const [intermediate] = pemBlocks(readFileSync(chainFile, "utf8"));
    const untrusted = file("untrusted.pem");
    writeFileSync(untrusted, intermediate!);
    return openssl([
      "verify",
      "-x509_strict",
      "-purpose",
      "sslserver",
      "-CAfile",
      rootPem,
      "-untrusted",
      untrusted,
      leaf,
    ]);
  };

  beforeAll(async () => {
    h = await startTestCertmint();
    cli = cliSession(h.address, h.dataDir);
    ok(await cli.run(["ca", "create-root", "root", "--cn", "Cert Test Root"]));
    ok(
      await cli.run([
        "ca",
        "create-intermediate",
        "issuing",
        "--parent",
        "root",
        "--cn",
        "Cert Test Issuing",
      ]),
    );
    ok(
      await cli.run([
        "profile",
        "create",
        "web",
        "--ca",
        "issuing",
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
    rootPem = file("root.pem");
    writeFileSync(rootPem, ok(await cli.run(["ca", "get", "root", "-o", "pem"])).stdout);
  });
  afterAll(async () => {
    cli?.remove();
    await h?.stop();
  });

  it("issue for a key certmint generates: key 0600 on disk, never on screen; openssl verifies the chain", async () => {
    const r = ok(
      await cli.run([
        "cert",
        "issue",
        "--profile",
        "web",
        "--cn",
        "api.example.com",
        "--dns",
        "api.example.com",
        "--dns",
        "www.example.com",
      ]),
    );
    expect(r.stdout).toMatch(/^status: +issued$/m);
    expect(r.stdout).toMatch(/^private key file: +api\.example\.com\.key$/m);
    expect(`${r.stdout}${r.stderr}`).not.toContain("PRIVATE KEY");
    const key = file("api.example.com.key");
    const crt = file("api.example.com.crt");
    expect(modeOf(key)).toBe(0o600);
    expect(modeOf(crt) & 0o022).toBe(0);
    expect(verify(crt, file("api.example.com.chain.pem")).stdout).toContain(": OK");
    const x509 = new X509Certificate(readFileSync(crt));
    expect(x509.subjectAltName).toBe("DNS:api.example.com, DNS:www.example.com");
    const publicOf = (pem: string | Buffer) =>
      createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "der" });
    expect(publicOf(readFileSync(key))).toEqual(
      x509.publicKey.export({ type: "spki", format: "der" }),
    );
    const serial = /^serial: +([0-9a-f]+)$/m.exec(r.stdout)![1]!;
    expect(await count("certificate", `serial_number = '${serial}'`)).toBe(1);
    expect(x509.serialNumber.toLowerCase()).toBe(serial);
  });

  it("issue with a CSR (also from stdin): no key file; --bundle puts the intermediate after the leaf", async () => {
    const csr = file("svc.csr");
    opensslOk([
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      file("svc.key"),
      "-subj",
      "/CN=svc.example.com",
      "-out",
      csr,
    ]);
    const keyBefore = readFileSync(file("svc.key"), "utf8");
    const r = ok(
      await cli.run([
        "cert",
        "issue",
        "--profile",
        "web",
        "--csr",
        "svc.csr",
        "--bundle",
        "-o",
        "pem",
      ]),
    );
    const bundle = readFileSync(file("svc.crt"), "utf8");
    expect(r.stdout).toBe(bundle);
    const [leaf, intermediate, ...rest] = pemBlocks(bundle);
    expect(rest).toEqual([]);
    expect(new X509Certificate(intermediate!).subject).toBe("CN=Cert Test Issuing");
    expect(pemBlocks(readFileSync(file("svc.chain.pem"), "utf8"))).toHaveLength(2);
    expect(readFileSync(file("svc.key"), "utf8")).toBe(keyBefore);
    writeFileSync(file("leaf.pem"), leaf!);
    expect(verify(file("leaf.pem"), file("svc.chain.pem")).stdout).toContain(": OK");

    const piped = ok(
      await cli.run(["cert", "issue", "--profile", "web", "--csr", "-", "-o", "json"], {
        input: readFileSync(csr, "utf8"),
      }),
    );
    const out = JSON.parse(piped.stdout) as IssueJson;
    expect(out.files).toEqual({ certificate: "certificate.crt", chain: "certificate.chain.pem" });
    expect(new X509Certificate(readFileSync(file("certificate.crt"))).subject).toBe(
      "CN=svc.example.com",
    );
  });

  it("files that exist are refused before anything is issued; --force replaces them, the key as 0600", async () => {
    const certificates = await count("certificate");
    const requests = await count("certificate_request");
    const again = await cli.run([
      "cert",
      "issue",
      "--profile",
      "web",
      "--cn",
      "api.example.com",
      "--dns",
      "api.example.com",
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /^certmint: api\.example\.com\.crt exists: remove it, pass --force/,
    );
    expect(await count("certificate")).toBe(certificates);
    expect(await count("certificate_request")).toBe(requests);

    const key = file("api.example.com.key");
    const oldKey = readFileSync(key, "utf8");
    chmodSync(key, 0o644);
    first = JSON.parse(
      ok(
        await cli.run([
          "cert",
          "issue",
          "--profile",
          "web",
          "--cn",
          "api.example.com",
          "--dns",
          "api.example.com",
          "--force",
          "-o",
          "json",
        ]),
      ).stdout,
    );
    expect(first.privateKeyPem).toBeUndefined();
    expect(first.files).toEqual({
      privateKey: "api.example.com.key",
      certificate: "api.example.com.crt",
      chain: "api.example.com.chain.pem",
    });
    expect(modeOf(key)).toBe(0o600);
    expect(readFileSync(key, "utf8")).not.toBe(oldKey);
    expect(
      new X509Certificate(readFileSync(file("api.example.com.crt"))).serialNumber.toLowerCase(),
    ).toBe(first.certificate.serialNumber);
  });

  it("--key-out - prints the key, only when asked; never with JSON on stdout", async () => {
    const r = ok(
      await cli.run([
        "cert",
        "issue",
        "--profile",
        "web",
        "--dns",
        "pem.example.com",
        "--key-out",
        "-",
        "-o",
        "pem",
      ]),
    );
    expect(r.stdout).toMatch(
      /^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----\n$/,
    );
    expect(existsSync(file("pem.example.com.key"))).toBe(false);
    const requests = await count("certificate_request");
    const refused = await cli.run([
      "cert",
      "issue",
      "--profile",
      "web",
      "--dns",
      "json.example.com",
      "--key-out",
      "-",
      "-o",
      "json",
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "--key-out - prints the key on stdout, where --output json goes",
    );
    expect(await count("certificate_request")).toBe(requests);
  });

  it("--validate-only checks everything and stores nothing", async () => {
    const requests = await count("certificate_request");
    const r = ok(
      await cli.run([
        "cert",
        "issue",
        "--profile",
        "web",
        "--dns",
        "dry.example.com",
        "--validate-only",
      ]),
    );
    expect(r.stderr).toContain("validate only: every check passed");
    expect(await count("certificate_request")).toBe(requests);
    expect(existsSync(file("dry.example.com.crt"))).toBe(false);
  });

  it("a request the policy refuses: every violation on screen, a FAILED request, no certificate, no file", async () => {
    const certificates = await count("certificate");
    const r = await cli.run([
      "cert",
      "issue",
      "--profile",
      "web",
      "--cn",
      "Payments API",
      "--dns",
      "api.other.com",
      "--ip",
      "10.0.0.1",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^certmint: INVALID_ARGUMENT: /);
    expect(r.stderr).toContain("  reason: POLICY_VIOLATION (certmint.dev)");
    expect(r.stderr).toMatch(
      /^ {2}field attributes\.subject_alternative_names\.dns_names\[0\]: "api\.other\.com" .*\[SAN_NOT_ALLOWED\]$/m,
    );
    expect(r.stderr).toMatch(
      /^ {2}field attributes\.subject_alternative_names\.ip_addresses\[0\]: "10\.0\.0\.1".*\[SAN_NOT_ALLOWED\]$/m,
    );
    const requestId = /certificate_request_id=([0-9a-f-]{36})/.exec(r.stderr)![1];
    expect(
      (await h.db.query("select status from certificate_request where id = $1", [requestId]))[0],
    ).toEqual({ status: "FAILED" });
    expect(await count("certificate")).toBe(certificates);
    expect(existsSync(file("Payments_API.crt"))).toBe(false);

    const status = ok(await cli.run(["request", "status", requestId!])).stdout;
    expect(status).toMatch(/^status: +failed$/m);
    expect(status).toMatch(/^error: +INVALID_ARGUMENT: /m);
    expect(status).toMatch(/^ +field attributes\.subject_alternative_names\.dns_names\[0\]: /m);
  });

  it("renew: files of the same name are refused before anything is renewed; --force replaces them", async () => {
    const clash = await cli.run(["cert", "renew", first.certificate.certificateId]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain("api.example.com.crt exists");
    expect(clash.stderr).not.toContain("--request-id");
    expect(
      await count("certificate", `renewed_from_id = '${first.certificate.certificateId}'`),
    ).toBe(0);
    const renewed = JSON.parse(
      ok(await cli.run(["cert", "renew", first.certificate.certificateId, "--force", "-o", "json"]))
        .stdout,
    ) as IssueJson;
    expect(
      await count("certificate", `renewed_from_id = '${first.certificate.certificateId}'`),
    ).toBe(1);
    expect(renewed.certificate.serialNumber).not.toBe(first.certificate.serialNumber);
    expect(modeOf(file("api.example.com.key"))).toBe(0o600);
    const x509 = new X509Certificate(readFileSync(file("api.example.com.crt")));
    expect(x509.serialNumber.toLowerCase()).toBe(renewed.certificate.serialNumber);
    expect(x509.subjectAltName).toBe("DNS:api.example.com");
    expect(verify(file("api.example.com.crt"), file("api.example.com.chain.pem")).stdout).toContain(
      ": OK",
    );
    first = renewed;
  });

  it("revoke: the serial is on the CA's next CRL", async () => {
    const serial = first.certificate.serialNumber;
    const colons = serial.match(/../g)!.join(":");
    const out = ok(await cli.run(["cert", "revoke", colons, "--reason", "key-compromise"])).stdout;
    expect(out).toMatch(/^status: +revoked$/m);
    expect(out).toMatch(/^revoked: +\S+ \(key-compromise\)$/m);
    expect(
      (
        await h.db.query("select revocation_reason from certificate where serial_number = $1", [
          serial,
        ])
      )[0],
    ).toEqual({ revocation_reason: "KEY_COMPROMISE" });
    const crl = openssl(
      ["crl", "-noout", "-text"],
      ok(await cli.run(["ca", "crl", "issuing"])).stdout,
    ).stdout;
    expect(crl.replace(/:/g, "").toLowerCase()).toContain(serial);
  });

  it("get (table, JSON, PEM) and list with filters and paging", async () => {
    const id = first.certificate.certificateId;
    const pem = ok(await cli.run(["cert", "get", id, "-o", "pem"])).stdout;
    expect(pem).toBe(readFileSync(file("api.example.com.crt"), "utf8"));
    expect(
      pemBlocks(ok(await cli.run(["cert", "get", id, "-o", "pem", "--chain"])).stdout),
    ).toHaveLength(3);
    expect(ok(await cli.run(["cert", "get", first.certificate.serialNumber])).stdout).toMatch(
      /^status: +revoked$/m,
    );

    const list = async (...args: string[]) =>
      (
        await cli.json<{
          certificates: Array<{ id: string; status: string }>;
          nextPageToken?: string;
        }>(["cert", "list", ...args])
      ).certificates;
    const all = await list("--profile", "web");
    expect(all.length).toBe(await count("certificate"));
    expect(await list("--status", "revoked")).toEqual([
      expect.objectContaining({ id, status: "CERTIFICATE_STATUS_REVOKED" }),
    ]);
    expect((await list("--name-contains", "www.")).length).toBe(1);
    expect(await list("--expires-before", "1d")).toEqual([]);
    expect((await list("--expires-before", "30d")).length).toBe(all.length);
    expect(await list("--ca", "root")).toEqual([]);
    // JSON lists PEMs unless asked for the basic view; the rest of each certificate is the same.
    const full = await cli.json<{ certificates: Array<Record<string, unknown>> }>(["cert", "list"]);
    const basic = await cli.json<{ certificates: Array<Record<string, unknown>> }>([
      "cert",
      "list",
      "--view",
      "basic",
    ]);
    expect(full.certificates[0]!.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(basic.certificates).toEqual(
      full.certificates.map(({ certificatePem: _, certificateChainPem: __, ...rest }) => rest),
    );
    const badView = await cli.run(["cert", "list", "--view", "pems"]);
    expect(badView.code).toBe(2);
    expect(badView.stderr).toMatch(/--view: "pems" is not one of basic, full/);

    const page = await cli.run(["cert", "list", "--limit", "1"]);
    const rows = ok(page).stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^ID +SERIAL +STATUS +NOT AFTER +NAMES$/);
    expect(rows).toHaveLength(2);
    const token = /--page-token (\S+)/.exec(page.stderr)![1]!;
    const next = ok(
      await cli.run(["cert", "list", "--limit", "1", "--page-token", token]),
    ).stdout.split("\n")[1]!;
    expect(next.split(/ +/)[0]).toBe(all[1]!.id);
  });
});
