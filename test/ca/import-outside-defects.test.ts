/**
 * ImportCertificateAuthorityCertificate refuses an outside CA certificate, or chain, that would
 * make what certmint signs under it fail path validation in OpenSSL (-x509_strict), Go or Java:
 * INVALID_ARGUMENT CA_CERTIFICATE_REJECTED with one field violation per problem, the CA left
 * PENDING_CERTIFICATE and its row unchanged. Each certificate is made by openssl (`openssl ca`,
 * which sets any subject, start date and digest) with one defect: an unknown critical
 * extension (RFC 5280 4.2), no keyUsage (4.2.1.3) or authorityKeyIdentifier (4.2.1.1), a SHA-1
 * signature or an RSA-1024 key, an empty or line-breaking subject (4.1.2.6), another CA's
 * name under the same issuer, a chain certificate not yet valid (6.1.3 (a)(2)), a required
 * explicit policy (4.2.1.11: certmint's certificates carry no certificatePolicies), a chain
 * given with duplicates, a root without keyCertSign. Until stop 44 of 2026-12-06 all of these
 * were adopted, and the leaves then failed (outside probes C F1-F5, F9; E F10, F11). What
 * verifiers do not hold against a trust anchor (its own SHA-1 self-signature, its
 * policyConstraints) and the critical extensions certmint keeps to or that restrict nothing it
 * signs (certificatePolicies, inhibitAnyPolicy) are accepted, and the leaves verify.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attrRequest, Code, issue, rpcError } from "../certificates/helpers";
import { createProfileRows, tlsServerSpec } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import {
  ACTIVE,
  CA_EXTENSIONS,
  caRowOf,
  createExternal,
  importCaCertificate,
  openssl,
  opensslOk,
  opensslRoot,
  PENDING,
  TempDir,
  verifyChain,
} from "./helpers";

/** An openssl CA: its certificate, key, and `openssl ca` database. */
interface OutsideCa {
  keyPath: string;
  certPath: string;
  pem: string;
}

/** openssl's UTCTime for a date (YYMMDDHHMMSSZ). */
const utcTime = (d: Date) => `${d.toISOString().replace(/[-:T]/g, "").slice(2, 14)}Z`;

const DAY_MS = 86_400_000;

describe("importing an outside CA certificate that verifiers would refuse", () => {
  let h: TestCertmint;
  const tmp = new TempDir();
  let root: OutsideCa;
  let n = 0;

  /**
   * `openssl ca` signing `csrPem` with `issuer`: the subject (UTF-8) and dates may be set, the
   * digest chosen; `selfSign` signs a CSR with its own key (a root).
   */
  function sign(
    csrPem: string,
    issuer: OutsideCa | { selfSignKey: string },
    extensions: string[],
    o: { subj?: string; start?: Date; days?: number; md?: string } = {},
  ): string {
    const dir = join(tmp.path, `ca-${++n}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "index.txt"), "");
    writeFileSync(join(dir, "serial"), `${(0x1000 + n).toString(16)}\n`);
    const cnf = [
      "[ca]",
      "default_ca = d",
      "[d]",
      `dir = ${dir}`,
      "database = $dir/index.txt",
      "new_certs_dir = $dir",
      "serial = $dir/serial",
      "policy = p",
      "unique_subject = no",
      "email_in_dn = yes",
      "[p]",
      "",
    ].join("\n");
    const start = o.start ?? new Date(Date.now() - 60_000);
    const end = new Date(start.getTime() + (o.days ?? 365) * DAY_MS);
    const out = join(dir, "out.pem");
    const args = [
      "ca",
      "-batch",
      "-notext",
      "-preserveDN",
      "-utf8",
      "-config",
      tmp.file(`ca-${n}.cnf`, cnf),
      "-in",
      tmp.file(`req-${n}.csr`, csrPem),
      "-extfile",
      tmp.file(`ext-${n}.cnf`, `${extensions.join("\n")}\n`),
      "-startdate",
      utcTime(start),
      "-enddate",
      utcTime(end),
      "-md",
      o.md ?? "sha256",
      "-out",
      out,
    ];
    if ("selfSignKey" in issuer) args.push("-selfsign", "-keyfile", issuer.selfSignKey);
    else args.push("-cert", issuer.certPath, "-keyfile", issuer.keyPath);
    if (o.subj !== undefined) args.push("-subj", o.subj);
    opensslOk(args);
    return opensslOk(["x509", "-in", out]);
  }

  /** A key and CSR made by openssl. */
  function keyAndCsr(
    name: string,
    subj: string,
    newkey = ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
  ) {
    const keyPath = tmp.out(`${name}.key`);
    const csr = opensslOk([
      "req",
      "-new",
      "-newkey",
      ...newkey,
      "-nodes",
      "-keyout",
      keyPath,
      "-subj",
      subj,
    ]);
    return { keyPath, csr };
  }

  /** An outside CA certificate (root or intermediate) made by openssl with these extensions. */
  function outsideCa(
    name: string,
    issuer: OutsideCa | "self",
    extensions: string[],
    o: Parameters<typeof sign>[3] & { newkey?: string[] } = {},
  ): OutsideCa {
    const { keyPath, csr } = keyAndCsr(name, `/O=Outside Corp/CN=${name}`, o.newkey);
    const pem = sign(csr, issuer === "self" ? { selfSignKey: keyPath } : issuer, extensions, o);
    return { keyPath, certPath: tmp.file(`${name}.pem`, pem), pem };
  }

  const ROOT_EXTENSIONS = [
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
    "subjectKeyIdentifier=hash",
  ];

  beforeAll(async () => {
    h = await startTestCertmint();
    root = opensslRoot(tmp);
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const importCert = (slug: string, pem: string, chain: string[]) =>
    importCaCertificate(h, slug, pem, chain);
  const rowOf = (slug: string) => caRowOf(h, slug);

  /** The import is refused with exactly these (field, reason) pairs; the row is unchanged. */
  async function expectRefused(
    slug: string,
    pem: string,
    chain: string[],
    expected: Array<[string, string, RegExp?]>,
  ) {
    const before = await rowOf(slug);
    const err = await rpcError(importCert(slug, pem, chain));
    expect(err.code, err.message).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("CA_CERTIFICATE_REJECTED");
    expect(err.violations.map((v) => `${v.field} ${v.reason}`).sort()).toEqual(
      expected.map(([f, r]) => `${f} ${r}`).sort(),
    );
    for (const [field, reason, why] of expected) {
      if (!why) continue;
      const v = err.violations.find((x) => x.field === field && x.reason === reason)!;
      expect(v.description).toMatch(why);
    }
    expect(await rowOf(slug)).toEqual(before);
    expect((await rowOf(slug))!.status).toBe("PENDING_CERTIFICATE");
    const read = (
      await call(h.authorities, "getCertificateAuthority", { certificateAuthority: slug })
    ).certificateAuthority!;
    expect(read.status).toBe(PENDING);
    return err;
  }

  const without = (prefix: string) => CA_EXTENSIONS.filter((e) => !e.startsWith(prefix));
  // openssl ca adds an authorityKeyIdentifier unless told "none".
  const withoutAki = () => [...without("authorityKeyIdentifier"), "authorityKeyIdentifier=none"];

  it.each<[string, string[], Array<[string, string, RegExp?]>]>([
    [
      "an unknown critical extension",
      [...CA_EXTENSIONS, "1.3.6.1.4.1.99999.1=critical,ASN1:NULL"],
      [["certificate_pem", "CERTIFICATE_CRITICAL_EXTENSION_UNKNOWN", /1\.3\.6\.1\.4\.1\.99999\.1/]],
    ],
    [
      "a critical authorityInfoAccess (RFC 5280: non-critical; OpenSSL refuses it critical)",
      [...CA_EXTENSIONS, "authorityInfoAccess=critical,caIssuers;URI:http://ca.example/r.crt"],
      [["certificate_pem", "CERTIFICATE_CRITICAL_EXTENSION_UNKNOWN", /authorityInfoAccess/]],
    ],
    [
      "no keyUsage",
      without("keyUsage"),
      [["certificate_pem", "CERTIFICATE_NO_KEY_USAGE", /RFC 5280 4\.2\.1\.3/]],
    ],
    [
      "no authorityKeyIdentifier",
      withoutAki(),
      [["certificate_pem", "CERTIFICATE_NO_AUTHORITY_KEY_IDENTIFIER", /RFC 5280 4\.2\.1\.1/]],
    ],
    [
      "policyConstraints requireExplicitPolicy",
      [
        ...CA_EXTENSIONS,
        "certificatePolicies=1.3.6.1.4.1.99999.7",
        "policyConstraints=critical,requireExplicitPolicy:0",
      ],
      [["certificate_pem", "CERTIFICATE_EXPLICIT_POLICY_REQUIRED", /certificatePolicies/]],
    ],
    [
      "requireExplicitPolicy 1 on a pathLen-0 CA (its leaves are 1 below it)",
      [
        "basicConstraints=critical,CA:TRUE,pathlen:0",
        ...CA_EXTENSIONS.slice(1),
        "policyConstraints=critical,requireExplicitPolicy:1",
      ],
      [["certificate_pem", "CERTIFICATE_EXPLICIT_POLICY_REQUIRED", /requireExplicitPolicy 1/]],
    ],
  ])("refuses a certificate with %s, changing nothing", async (_what, extensions, expected) => {
    const slug = `def-${++n}`;
    const ca = await createExternal(h, slug);
    const pem = sign(ca.csrPem, root, extensions);
    await expectRefused(slug, pem, [root.pem], expected);
  });

  it("refuses a SHA-1-signed certificate (ecdsa-with-SHA1), changing nothing", async () => {
    const ca = await createExternal(h, "def-sha1");
    const pem = sign(ca.csrPem, root, CA_EXTENSIONS, { md: "sha1" });
    expect(opensslOk(["x509", "-noout", "-text", "-in", tmp.file("s.pem", pem)])).toMatch(
      /Signature Algorithm: ecdsa-with-SHA1/,
    );
    await expectRefused(
      "def-sha1",
      pem,
      [root.pem],
      [["certificate_pem", "CERTIFICATE_SIGNATURE_WEAK", /ecdsa-with-SHA1/]],
    );
  });

  it.each<[string, string, Array<[string, string, RegExp?]>]>([
    ["an empty subject", "/", [["certificate_pem", "CERTIFICATE_SUBJECT_EMPTY", /4\.1\.2\.6/]]],
    [
      "a line separator (U+2028) in its common name",
      "/O=Outside Corp/CN=Ext\u2028injected",
      [
        [
          "certificate_pem",
          "CERTIFICATE_SUBJECT_INVALID",
          /subject\.common_name.*line or paragraph separator/,
        ],
      ],
    ],
    [
      "a control character in its organization",
      "/O=Outside\tCorp/CN=Ext ctrl",
      [["certificate_pem", "CERTIFICATE_SUBJECT_INVALID", /subject\.organization.*printable/]],
    ],
    [
      "trailing white space in a DC attribute (no SubjectName form)",
      "/DC=example /CN=Ext dc",
      [["certificate_pem", "CERTIFICATE_SUBJECT_INVALID", /"example ".*white space/]],
    ],
  ])("refuses a certificate with %s, changing nothing", async (_what, subj, expected) => {
    const slug = `subj-${++n}`;
    const ca = await createExternal(h, slug);
    const pem = sign(ca.csrPem, root, CA_EXTENSIONS, { subj });
    await expectRefused(slug, pem, [root.pem], expected);
  });

  it("refuses the subject of another certmint CA under the same issuer (another key), changing nothing", async () => {
    const first = await createExternal(h, "same-name-1");
    const taken = sign(first.csrPem, root, CA_EXTENSIONS, { subj: "/O=Outside Corp/CN=Issuing" });
    expect((await importCert("same-name-1", taken, [root.pem])).status).toBe(ACTIVE);
    const second = await createExternal(h, "same-name-2");
    // RFC 5280 7.1: case and inner white space do not make another name.
    const pem = sign(second.csrPem, root, CA_EXTENSIONS, { subj: "/O=outside  corp/CN=ISSUING" });
    await expectRefused(
      "same-name-2",
      pem,
      [root.pem],
      [["certificate_pem", "CERTIFICATE_SUBJECT_TAKEN", /"same-name-1"/]],
    );
    // Under another issuer the same name is another entity's: accepted.
    const other = outsideCa("Other Root", "self", ROOT_EXTENSIONS);
    const ok = sign(second.csrPem, other, CA_EXTENSIONS, { subj: "/O=Outside Corp/CN=Issuing" });
    expect((await importCert("same-name-2", ok, [other.pem])).status).toBe(ACTIVE);
  });

  it.each<[string, (parentOf: OutsideCa) => OutsideCa[], Array<[string, string, RegExp?]>]>([
    [
      "an outside intermediate not valid yet",
      (r) => [
        outsideCa("Future Inter", r, CA_EXTENSIONS, { start: new Date(Date.now() + 2 * DAY_MS) }),
      ],
      [["certificate_chain_pem[0]", "CHAIN_NOT_YET_VALID"]],
    ],
    [
      "an outside intermediate with an unknown critical extension",
      (r) => [outsideCa("Crit Inter", r, [...CA_EXTENSIONS, "1.2.3.4.5.6=critical,ASN1:NULL"])],
      [["certificate_chain_pem[0]", "CHAIN_CRITICAL_EXTENSION_UNKNOWN", /1\.2\.3\.4\.5\.6/]],
    ],
    [
      "an outside intermediate without keyUsage",
      (r) => [outsideCa("NoKU Inter", r, without("keyUsage"))],
      [["certificate_chain_pem[0]", "CHAIN_NO_KEY_USAGE"]],
    ],
    [
      "an outside intermediate without authorityKeyIdentifier",
      (r) => [outsideCa("NoAKI Inter", r, withoutAki())],
      [["certificate_chain_pem[0]", "CHAIN_NO_AUTHORITY_KEY_IDENTIFIER"]],
    ],
    [
      "an outside intermediate signed with SHA-1",
      (r) => [outsideCa("SHA1 Inter", r, CA_EXTENSIONS, { md: "sha1" })],
      [["certificate_chain_pem[0]", "CHAIN_SIGNATURE_WEAK", /SHA1/]],
    ],
    [
      "an outside intermediate requiring an explicit policy",
      (r) => [
        outsideCa("Policy Inter", r, [
          ...CA_EXTENSIONS,
          "certificatePolicies=1.3.6.1.4.1.99999.7",
          "policyConstraints=critical,requireExplicitPolicy:0",
        ]),
      ],
      [["certificate_chain_pem[0]", "CHAIN_EXPLICIT_POLICY_REQUIRED"]],
    ],
    [
      "an RSA-1024 intermediate",
      (r) => [outsideCa("Weak Inter", r, CA_EXTENSIONS, { newkey: ["rsa:1024"] })],
      [["certificate_chain_pem[0]", "CHAIN_KEY_TOO_WEAK", /1024 bits is below 2048/]],
    ],
  ])("refuses a chain with %s, changing nothing", async (_what, make, expected) => {
    const slug = `chain-${++n}`;
    const ca = await createExternal(h, slug);
    const inters = make(root);
    const pem = sign(ca.csrPem, inters[0]!, CA_EXTENSIONS);
    await expectRefused(slug, pem, [...inters.map((i) => i.pem), root.pem], expected);
  });

  it("refuses an RSA-1024 outside root (C F3), changing nothing", async () => {
    const weak = outsideCa("Weak Root", "self", ROOT_EXTENSIONS, { newkey: ["rsa:1024"] });
    const ca = await createExternal(h, "weak-root");
    const pem = sign(ca.csrPem, weak, CA_EXTENSIONS);
    await expectRefused(
      "weak-root",
      pem,
      [weak.pem],
      [["certificate_chain_pem[0]", "CHAIN_KEY_TOO_WEAK", /RSA key of 1024 bits/]],
    );
  });

  it("names a root without keyCertSign as such, not as a broken chain (C F5), changing nothing", async () => {
    const crlOnly = outsideCa("CRL-only Root", "self", [
      "basicConstraints=critical,CA:TRUE",
      "keyUsage=critical,cRLSign",
      "subjectKeyIdentifier=hash",
    ]);
    const ca = await createExternal(h, "root-no-kcs");
    const pem = sign(ca.csrPem, crlOnly, CA_EXTENSIONS);
    await expectRefused(
      "root-no-kcs",
      pem,
      [crlOnly.pem],
      [["certificate_chain_pem[0]", "CHAIN_NO_KEY_CERT_SIGN", /keyCertSign/]],
    );
  });

  it("refuses a chain that gives a certificate twice (C F4), naming the copy, changing nothing", async () => {
    const ca = await createExternal(h, "dup-chain");
    const pem = sign(ca.csrPem, root, CA_EXTENSIONS);
    await expectRefused(
      "dup-chain",
      pem,
      [root.pem, root.pem, root.pem],
      [
        ["certificate_chain_pem[1]", "CHAIN_DUPLICATE", /certificate_chain_pem\[0\]/],
        ["certificate_chain_pem[2]", "CHAIN_DUPLICATE", /certificate_chain_pem\[0\]/],
      ],
    );
  });

  it("accepts what verifiers accept: critical policy extensions, and a root's SHA-1 self-signature and policyConstraints; its leaves verify", async () => {
    // The anchor's own signature is not checked, nor its policyConstraints processed (RFC 5280
    // 6.1; OpenSSL, Go and Java start below it).
    const anchor = outsideCa(
      "Old Root",
      "self",
      [...ROOT_EXTENSIONS, "policyConstraints=critical,requireExplicitPolicy:0"],
      { md: "sha1" },
    );
    const ca = await createExternal(h, "accepted");
    const pem = sign(ca.csrPem, anchor, [
      ...CA_EXTENSIONS,
      "certificatePolicies=critical,1.3.6.1.4.1.99999.7",
      "inhibitAnyPolicy=critical,0",
      "policyConstraints=critical,inhibitPolicyMapping:0",
    ]);
    expect((await importCert("accepted", pem, [anchor.pem])).status).toBe(ACTIVE);
    const spec = tlsServerSpec();
    await createProfileRows(h, { slug: "accepted-web", caId: ca.id, spec });
    const leaf = await issue(
      h,
      attrRequest("accepted-web", { cn: "a.example.com", dns: ["a.example.com"] }),
    );
    const leafPem = leaf.certificate!.certificatePem;
    const strict = verifyChain(tmp, anchor.pem, leafPem, [pem]);
    expect(strict.code, strict.stdout + strict.stderr).toBe(0);
    const policy = openssl([
      "verify",
      "-x509_strict",
      "-policy_check",
      "-purpose",
      "sslserver",
      "-CAfile",
      tmp.file("anchor-p.pem", anchor.pem),
      "-untrusted",
      tmp.file("inter-p.pem", pem),
      tmp.file("leaf-p.pem", leafPem),
    ]);
    expect(policy.code, policy.stdout + policy.stderr).toBe(0);
  });

  it("accepts requireExplicitPolicy that skips every certificate certmint may sign below (pathLen 0, 10); its leaves verify with -policy_check", async () => {
    // Until an outside probe of stop 44's fixes any requireExplicitPolicy below the root was
    // refused; RFC 5280 6.1 needs a policy only k certificates down, past a pathLen-0 CA's leaves.
    const ca = await createExternal(h, "skip-policy");
    const pem = sign(ca.csrPem, root, [
      "basicConstraints=critical,CA:TRUE,pathlen:0",
      ...CA_EXTENSIONS.slice(1),
      "policyConstraints=critical,requireExplicitPolicy:10",
    ]);
    expect((await importCert("skip-policy", pem, [root.pem])).status).toBe(ACTIVE);
    await createProfileRows(h, { slug: "skip-policy-web", caId: ca.id, spec: tlsServerSpec() });
    const leafPem = (
      await issue(
        h,
        attrRequest("skip-policy-web", { cn: "s.example.com", dns: ["s.example.com"] }),
      )
    ).certificate!.certificatePem;
    const policy = openssl([
      "verify",
      "-x509_strict",
      "-policy_check",
      "-purpose",
      "sslserver",
      "-CAfile",
      tmp.file("anchor-s.pem", root.pem),
      "-untrusted",
      tmp.file("inter-s.pem", pem),
      tmp.file("leaf-s.pem", leafPem),
    ]);
    expect(policy.code, policy.stdout + policy.stderr).toBe(0);
  });
});
