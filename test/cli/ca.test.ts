/**
 * `certmint ca ...` against a live server: every subcommand, its effect checked in PostgreSQL and
 * its certificates and CRLs checked with openssl.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { extensionBlock, openssl, opensslOk, TempDir } from "../support/openssl";
import { makeCa } from "../tls/pki";
import { type CliSession, cliSession, ok } from "./cli";

interface CaJson {
  id: string;
  slug: string;
  type: string;
  status: string;
  keyAlgorithm: string;
  parentCertificateAuthorityId?: string;
  maxPathLength?: number;
  serialNumber: string;
  nameConstraints?: { permitted?: Record<string, string[]>; excluded?: Record<string, string[]> };
  revokeTime?: string;
  revocationReason?: string;
}

describe("certmint ca", () => {
  let h: TestCertmint;
  let cli: CliSession;
  const pki = new TempDir();
  const caRow = async (slug: string) =>
    (
      await h.db.query(
        "select type, status, parent_id, description from certificate_authority where slug = $1",
        [slug],
      )
    )[0];
  const pemFile = async (name: string, args: string[]) => {
    const path = join(cli.dir, name);
    writeFileSync(path, ok(await cli.run(args)).stdout);
    return path;
  };

  beforeAll(async () => {
    h = await startTestCertmint();
    cli = cliSession(h.address, h.dataDir);
  });
  afterAll(async () => {
    cli?.remove();
    pki.remove();
    await h?.stop();
  });

  it("create-root and create-intermediate (name constraints); get -o pem verifies with openssl", async () => {
    const root = await cli.json<CaJson>([
      "ca",
      "create-root",
      "root",
      "--cn",
      "CLI Root",
      "--org",
      "Example",
      "--key-algorithm",
      "ec-p384",
      "--max-path-length",
      "1",
      "--ttl",
      "3650d",
    ]);
    expect(root).toMatchObject({
      slug: "root",
      type: "CERTIFICATE_AUTHORITY_TYPE_ROOT",
      status: "CERTIFICATE_AUTHORITY_STATUS_ACTIVE",
      keyAlgorithm: "KEY_ALGORITHM_EC_P384",
      maxPathLength: 1,
    });
    const issuing = await cli.json<CaJson>([
      "ca",
      "create-intermediate",
      "issuing",
      "--parent",
      "root",
      "--cn",
      "CLI Issuing",
      "--permit-dns",
      "example.com",
      "--exclude-dns",
      "evil.example.com",
      "--permit-ip",
      "10.0.0.0/8",
    ]);
    expect(issuing.parentCertificateAuthorityId).toBe(root.id);
    // Email and URI names, given no option, are forbidden (since stop 44 of 2026-12-06).
    expect(issuing.nameConstraints).toEqual({
      permitted: {
        dnsNames: ["example.com"],
        ipRanges: ["10.0.0.0/8"],
        emailAddresses: ["nowhere.invalid"],
        uriHosts: ["nowhere.invalid"],
      },
      excluded: { dnsNames: ["evil.example.com"] },
    });
    expect(await caRow("issuing")).toMatchObject({
      type: "INTERMEDIATE",
      status: "ACTIVE",
      parent_id: root.id,
    });

    const rootPem = await pemFile("root.pem", ["ca", "get", "root", "-o", "pem"]);
    const issuingPem = await pemFile("issuing.pem", ["ca", "get", "issuing", "-o", "pem"]);
    expect(opensslOk(["verify", "-x509_strict", "-CAfile", rootPem, issuingPem])).toContain(": OK");
    const text = opensslOk(["x509", "-in", issuingPem, "-noout", "-text"]);
    const constraints = extensionBlock(text, "X509v3 Name Constraints");
    expect(constraints.critical).toBe(true);
    expect(constraints.body).toMatch(
      /Permitted:\s+DNS:example.com\s+IP:10.0.0.0\/255.0.0.0\s+email:nowhere.invalid\s+URI:nowhere.invalid\s+Excluded:\s+DNS:evil.example.com/,
    );
    const withChain = ok(await cli.run(["ca", "get", "issuing", "-o", "pem", "--chain"])).stdout;
    expect(withChain).toBe(readFileSync(issuingPem, "utf8") + readFileSync(rootPem, "utf8"));

    const table = ok(await cli.run(["ca", "get", "issuing"])).stdout;
    expect(table).toMatch(
      /^name constraints: +permitted DNS:example.com, IP:10.0.0.0\/8, email:nowhere.invalid, URI:nowhere.invalid$/m,
    );
    expect(table).toMatch(/^ +excluded DNS:evil.example.com$/m);
  });

  it("list, with a status filter", async () => {
    const table = ok(await cli.run(["ca", "list"])).stdout;
    expect(table.split("\n")[0]).toMatch(/^SLUG +TYPE +STATUS +KEY +NOT AFTER +SUBJECT +ID$/);
    expect(table).toMatch(/^root +root +active +ec-p384 /m);
    expect(table).toMatch(/^issuing +intermediate +active +ec-p256 /m);
    const active = await cli.json<{ certificateAuthorities: CaJson[] }>([
      "ca",
      "list",
      "--status",
      "active",
    ]);
    expect(active.certificateAuthorities.map((c) => c.slug)).toEqual(["root", "issuing"]);
    expect(ok(await cli.run(["ca", "list", "--status", "disabled"])).stdout).toBe("(none)\n");
  });

  it("create-external writes a CSR; import activates the CA with the certificate signed outside", async () => {
    const created = ok(
      await cli.run([
        "ca",
        "create-external",
        "partner",
        "--cn",
        "Partner CA",
        "--csr-out",
        "partner.csr",
      ]),
    );
    expect(created.stdout).toMatch(/^status: +pending-certificate$/m);
    expect(created.stderr).toContain("wrote the CSR to partner.csr");
    const csr = join(cli.dir, "partner.csr");
    expect(openssl(["req", "-in", csr, "-noout", "-verify"]).stderr).toMatch(/verify OK/i);
    expect(await caRow("partner")).toMatchObject({ status: "PENDING_CERTIFICATE" });

    const outside = makeCa(pki, "Outside Root");
    const signed = pki.out("partner.pem");
    const ext = pki.file(
      "ca.ext",
      "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n",
    );
    opensslOk([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      outside.certFile,
      "-CAkey",
      outside.keyFile,
      "-set_serial",
      "0x0123456789abcdef",
      "-days",
      "1",
      "-extfile",
      ext,
      "-out",
      signed,
    ]);
    const imported = await cli.json<CaJson>([
      "ca",
      "import",
      "partner",
      "--cert",
      signed,
      "--chain",
      outside.certFile,
    ]);
    expect(imported).toMatchObject({
      type: "CERTIFICATE_AUTHORITY_TYPE_EXTERNAL_INTERMEDIATE",
      status: "CERTIFICATE_AUTHORITY_STATUS_ACTIVE",
    });
    expect(await caRow("partner")).toMatchObject({ status: "ACTIVE" });
  });

  it("disable, enable and update, each guarded by the etag when given", async () => {
    expect(ok(await cli.run(["ca", "disable", "issuing"])).stdout).toMatch(/^status: +disabled$/m);
    expect(await caRow("issuing")).toMatchObject({ status: "DISABLED" });
    // By id as well as by slug.
    const [{ id }] = (await h.db.query(
      "select id from certificate_authority where slug = 'issuing'",
    )) as Array<{ id: string }>;
    expect(ok(await cli.run(["ca", "enable", id])).stdout).toMatch(/^status: +active$/m);
    expect(await caRow("issuing")).toMatchObject({ status: "ACTIVE" });

    const stale = await cli.run([
      "ca",
      "update",
      "issuing",
      "--description",
      "stale",
      "--etag",
      '"1"',
    ]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^certmint: ABORTED: /);
    expect(await caRow("issuing")).toMatchObject({ description: "" });
    ok(await cli.run(["ca", "update", "issuing", "--description", "issues the CLI test's leaves"]));
    expect(await caRow("issuing")).toMatchObject({ description: "issues the CLI test's leaves" });
  });

  it("revoke puts an intermediate on its parent's CRL; crl prints PEM or writes DER that openssl verifies", async () => {
    const doomed = await cli.json<CaJson>([
      "ca",
      "create-intermediate",
      "doomed",
      "--parent",
      "root",
      "--cn",
      "Doomed CA",
    ]);
    const revoked = await cli.json<CaJson>([
      "ca",
      "revoke",
      "doomed",
      "--reason",
      "key-compromise",
    ]);
    expect(revoked).toMatchObject({
      status: "CERTIFICATE_AUTHORITY_STATUS_DISABLED",
      revocationReason: "REVOCATION_REASON_KEY_COMPROMISE",
    });
    expect(revoked.revokeTime).toBeDefined();

    const rootPem = await pemFile("root-for-crl.pem", ["ca", "get", "root", "-o", "pem"]);
    const written = ok(await cli.run(["ca", "crl", "root", "--out", "root.crl", "--der"]));
    expect(written.stdout).toBe("");
    const der = join(cli.dir, "root.crl");
    const check = openssl([
      "crl",
      "-inform",
      "DER",
      "-in",
      der,
      "-CAfile",
      rootPem,
      "-noout",
      "-text",
    ]);
    expect(check.stderr).toMatch(/verify OK/);
    expect(check.stdout.replace(/:/g, "").toLowerCase()).toContain(doomed.serialNumber);
    expect(check.stdout).toContain("Key Compromise");

    const pem = ok(await cli.run(["ca", "crl", "root"])).stdout;
    expect(pem).toMatch(/^-----BEGIN X509 CRL-----\n[\s\S]+-----END X509 CRL-----\n$/);
    expect(ok(await cli.run(["ca", "crl", "root", "-o", "table"])).stdout).toMatch(
      /^crl number: +\d+$/m,
    );
    // Each asks for the forms it writes or prints; the same CRL comes out.
    ok(await cli.run(["ca", "crl", "root", "--out", "root-crl.pem"]));
    expect(readFileSync(join(cli.dir, "root-crl.pem"), "utf8")).toBe(pem);
    const json = await cli.json<{ crlPem: string; crlDer: string }>(["ca", "crl", "root"]);
    expect(json.crlPem).toBe(pem);
    expect(Buffer.from(json.crlDer, "base64").equals(readFileSync(der))).toBe(true);
    // --known-number: the CRL held is still current, so the file is left as it was and stdout is empty.
    const number = (await cli.json<{ crlNumber: string }>(["ca", "crl", "root"])).crlNumber;
    writeFileSync(join(cli.dir, "held.crl"), "the CRL held");
    const kept = ok(
      await cli.run([
        "ca",
        "crl",
        "root",
        "--out",
        "held.crl",
        "--force",
        "--known-number",
        number,
      ]),
    );
    expect(kept.stdout).toBe("");
    expect(kept.stderr).toContain(`CRL number ${number} is still the current one: nothing written`);
    expect(readFileSync(join(cli.dir, "held.crl"), "utf8")).toBe("the CRL held");
    const stale = ok(
      await cli.run(["ca", "crl", "root", "--out", "held.crl", "--force", "--known-number", "0"]),
    );
    expect(stale.stderr).toMatch(/wrote CRL number \d+ to held\.crl/);
    expect(readFileSync(join(cli.dir, "held.crl"), "utf8")).toMatch(/^-----BEGIN X509 CRL-----\n/);
    const garbage = await cli.run(["ca", "crl", "root", "--known-number", "forty-one"]);
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toMatch(/^certmint: INVALID_ARGUMENT: known_crl_number must be/);

    const root = await cli.run(["ca", "revoke", "root"]);
    expect(root.code).toBe(1);
    expect(root.stderr).toMatch(/^certmint: FAILED_PRECONDITION: .*is a root/);
    expect(root.stderr).toContain("reason: CA_IS_ROOT (certmint.dev)");
  });

  it("delete: an unused CA goes; one that a profile uses stays, with every blocker on screen", async () => {
    ok(await cli.run(["ca", "create-root", "spare", "--cn", "Spare"]));
    const deleted = ok(await cli.run(["ca", "delete", "spare"]));
    expect(deleted.stderr).toContain("deleted CA spare");
    expect(await caRow("spare")).toBeUndefined();

    ok(
      await cli.run([
        "profile",
        "create",
        "leaves",
        "--ca",
        "issuing",
        "--preset",
        "tls-server",
        "--allow-dns",
        "**.example.com",
      ]),
    );
    const refused = await cli.run(["ca", "delete", "issuing"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^certmint: FAILED_PRECONDITION: /);
    expect(refused.stderr).toMatch(/^ {2}precondition CA_IN_USE_BY_PROFILE .*leaves/m);
    expect(await caRow("issuing")).toMatchObject({ status: "ACTIVE" });
  });
});
