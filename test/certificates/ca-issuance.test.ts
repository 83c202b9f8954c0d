/**
 * Issue 17, "CA certificates through a profile": a profile whose policy allows CA
 * certificates signs another system's intermediate from a CSR, with basicConstraints and path
 * length within the policy and the parent, keyCertSign/cRLSign, and critical name constraints
 * derived from the policy; OpenSSL and Go's crypto/x509 then accept a leaf that intermediate
 * signs inside the subtree and refuse one outside. certmint's own intermediates take name
 * constraints too, and certmint refuses to sign outside them.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateIntermediateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { type PolicySpec, presetSpec } from "../../src/issuance/policy-engine";
import { buildCsr } from "../support/der-csr";
import {
  Code,
  call,
  certText,
  countRows,
  createProfileRows,
  createRoot,
  csrRequest,
  extensionBlock,
  issue,
  issueRequest,
  openssl,
  opensslOk,
  rowCounts,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
  tlsServerSpec,
  violationKeys,
} from "./helpers";

const DAY = 86_400;
const GO_VERIFY = join(__dirname, "..", "x509", "go-verify");

/** A policy for sub-CAs of another system: names under example.com, 10/8, SPIFFE prod.example. */
function subCaSpec(): PolicySpec {
  const spec = presetSpec("INTERMEDIATE_CA");
  spec.basicConstraints = { ca: "ALLOWED", maxPathLength: 1 };
  spec.keyUsages = {
    allowed: ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"],
    required: ["DIGITAL_SIGNATURE"],
    denied: [],
  };
  spec.subject = { COMMON_NAME: { allowed: ["*"], denied: [], required: true } };
  spec.sans = {
    dns: { allowed: ["**.example.com"], denied: ["secret.example.com"], required: false },
    ip: { allowed: ["10.0.0.0/8"], denied: ["10.9.0.0/16"], required: false },
    email: { allowed: ["@example.com"], denied: [], required: false },
    uri: { allowed: ["spiffe://prod.example/*"], denied: [], required: false },
  };
  spec.maxTtlSeconds = 365 * DAY;
  return spec;
}

describe("CA certificates through a profile", () => {
  let h: TestCertmint;
  let rootPem: string;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    rootPem = root.certificatePem;
    await createProfileRows(h, { caId: root.id, slug: "sub-ca", spec: subCaSpec() });
    await createProfileRows(h, { caId: root.id, slug: "web" }); // leaf only
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  /** openssl's verdict on leaf <- chain... <- root. */
  function opensslVerify(leaf: string, untrusted: string[]) {
    const args = ["verify", "-x509_strict", "-CAfile", tmp.file("root.pem", rootPem)];
    if (untrusted.length) args.push("-untrusted", tmp.file("untrusted.pem", untrusted.join("")));
    return openssl([...args, tmp.file("leaf.pem", leaf)]);
  }
  /** Go crypto/x509's verdict on the same chain. */
  function goVerify(leaf: string, untrusted: string[]): { ok: boolean; error?: string } {
    const out = execFileSync(
      "go",
      [
        "run",
        ".",
        tmp.file("roots.pem", rootPem),
        tmp.file("inter.pem", untrusted.join("")),
        tmp.file("leaf.pem", leaf),
      ],
      {
        cwd: GO_VERIFY,
        encoding: "utf8",
        env: { ...process.env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" },
      },
    );
    return JSON.parse(out.trim().split("\n").pop()!);
  }
  /** A leaf signed by the sub-CA's own key, outside certmint, with openssl. */
  function leafFromSubCa(subPem: string, subKeyPem: string, name: string): string {
    const san = name.includes(":") ? name : `DNS:${name}`;
    const key = tmp.out("leaf.key");
    const csr = tmp.out("leaf.csr");
    opensslOk([
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      key,
      "-out",
      csr,
      "-subj",
      "/O=Leaf",
    ]);
    const ext = tmp.file(
      "ext.cnf",
      `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=${san}\n`,
    );
    return opensslOk([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      tmp.file("sub.pem", subPem),
      "-CAkey",
      tmp.file("sub.key", subKeyPem),
      "-CAcreateserial",
      "-days",
      "30",
      "-extfile",
      ext,
      "-sha256",
    ]);
  }

  it("signs a CSR asking for cA=TRUE as a constrained sub-CA; OpenSSL and Go enforce its subtree", async () => {
    const { csrPem, privateKey } = buildCsr({ subject: [["CN", "SPIRE Upstream CA"]], ca: {} });
    const res = await issue(h, csrRequest("sub-ca", csrPem));
    const sub = res.certificate!;
    const text = certText(tmp, sub.certificatePem);
    const bc = extensionBlock(text, "X509v3 Basic Constraints");
    expect(bc.critical).toBe(true);
    expect(bc.body).toBe("CA:TRUE, pathlen:1"); // the policy's maximum; the root has no limit
    expect(extensionBlock(text, "X509v3 Key Usage").body).toBe(
      "Digital Signature, Certificate Sign, CRL Sign",
    );
    const nc = extensionBlock(text, "X509v3 Name Constraints");
    expect(nc.critical).toBe(true);
    expect(nc.body).toMatch(
      /Permitted:\s+DNS:example.com\s+IP:10.0.0.0\/255.0.0.0\s+email:example.com\s+URI:prod.example/,
    );
    expect(nc.body).toMatch(/Excluded:\s+DNS:secret.example.com\s+IP:10.9.0.0\/255.255.0.0/);
    const [row] = await h.db.query("select is_ca from certificate where id = $1", [
      sub.certificateId,
    ]);
    expect(row!.is_ca).toBe(true);
    expect(opensslVerify(sub.certificatePem, []).code).toBe(0);

    const subKeyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const inside = leafFromSubCa(sub.certificatePem, subKeyPem, "api.example.com");
    const outside = leafFromSubCa(sub.certificatePem, subKeyPem, "api.other.org");
    const excluded = leafFromSubCa(sub.certificatePem, subKeyPem, "secret.example.com");
    const chain = [sub.certificatePem];
    expect(opensslVerify(inside, chain).code).toBe(0);
    const o = opensslVerify(outside, chain);
    expect(o.code).not.toBe(0);
    expect(o.stdout + o.stderr).toMatch(/permitted subtree violation/);
    const e = opensslVerify(excluded, chain);
    expect(e.code).not.toBe(0);
    expect(e.stdout + e.stderr).toMatch(/excluded subtree violation/);
    // Hosts below the allowed URI host and email domain: OpenSSL (RFC 5280) refuses them by
    // the permitted subtrees, and Go, which reads a permitted "prod.example" / "example.com" as
    // every host below it too, by the excluded ".prod.example" / ".example.com" (until stop 41
    // of 2026-12-06 Go accepted them: an outside probe).
    expect(nc.body).toMatch(/Excluded:[\s\S]*email:\.example\.com[\s\S]*URI:\.prod\.example/);
    const onHost = leafFromSubCa(sub.certificatePem, subKeyPem, "URI:spiffe://prod.example/ns/a");
    expect(opensslVerify(onHost, chain).code).toBe(0);
    expect(goVerify(onHost, chain)).toEqual({ ok: true });
    for (const below of [
      "URI:spiffe://sub.prod.example/ns/a",
      "DNS:api.example.com,email:a@sub.example.com",
    ]) {
      const leaf = leafFromSubCa(sub.certificatePem, subKeyPem, below);
      const r = opensslVerify(leaf, chain);
      expect(`${r.stdout}${r.stderr}`, below).toMatch(/subtree violation/);
      const g = goVerify(leaf, chain);
      expect(g.ok, below).toBe(false);
      expect(g.error, below).toMatch(/excluded by constraint/);
    }
    expect(goVerify(inside, chain)).toEqual({ ok: true });
    const goOutside = goVerify(outside, chain);
    expect(goOutside.ok).toBe(false);
    expect(goOutside.error).toMatch(/not permitted by any constraint/);
    const goExcluded = goVerify(excluded, chain);
    expect(goExcluded.ok).toBe(false);
    expect(goExcluded.error).toMatch(/excluded by constraint/);
  }, 120_000);

  it("forbids the sub-CA every name type its policy allows none of (zero-length subtrees)", async () => {
    const spec = subCaSpec();
    spec.sans = { dns: { allowed: ["**.example.com"], denied: [], required: false } };
    await createProfileRows(h, { caId: (await rootRow()).id, slug: "dns-only-ca", spec });
    const { csrPem, privateKey } = buildCsr({ subject: [["CN", "DNS Only CA"]], ca: {} });
    const sub = (await issue(h, csrRequest("dns-only-ca", csrPem))).certificate!;
    const nc = extensionBlock(certText(tmp, sub.certificatePem), "X509v3 Name Constraints").body;
    expect(nc).toMatch(
      /Permitted:\s+DNS:example.com\s+email:nowhere\.invalid\s+URI:nowhere\.invalid\s+Excluded:\s+IP:0.0.0.0\/0.0.0.0\s+IP:0:0:0:0:0:0:0:0\/0:0:0:0:0:0:0:0$/,
    );
    const subKeyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const chain = [sub.certificatePem];
    const dnsLeaf = leafFromSubCa(sub.certificatePem, subKeyPem, "api.example.com");
    const uriLeaf = leafFromSubCa(
      sub.certificatePem,
      subKeyPem,
      "DNS:api.example.com,URI:spiffe://x/y",
    );
    const ipLeaf = leafFromSubCa(sub.certificatePem, subKeyPem, "DNS:api.example.com,IP:10.1.2.3");
    expect(opensslVerify(dnsLeaf, chain).code).toBe(0);
    expect(goVerify(dnsLeaf, chain)).toEqual({ ok: true });
    const emailLeaf = leafFromSubCa(
      sub.certificatePem,
      subKeyPem,
      "DNS:api.example.com,email:a@example.com",
    );
    for (const leaf of [uriLeaf, ipLeaf, emailLeaf]) {
      const r = opensslVerify(leaf, chain);
      expect(`${r.stdout}${r.stderr}`).toMatch(/(excluded|permitted) subtree violation/);
      expect(goVerify(leaf, chain).ok).toBe(false);
    }
  }, 120_000);

  async function rootRow() {
    const [row] = await h.db.query<{ id: string }>(
      "select id from certificate_authority where slug = 'root'",
    );
    return row!;
  }

  it("takes the path length from ca_certificate, within the policy's maximum", async () => {
    const ask = (maxPathLength: number) =>
      issueRequest({
        certificateProfile: "sub-ca",
        source: { $case: "csrPem", value: buildCsr({ subject: [["CN", "Sub CA"]] }).csrPem },
        caCertificate: { maxPathLength },
      });
    const ok = await issue(h, ask(0));
    expect(
      extensionBlock(certText(tmp, ok.certificate!.certificatePem), "X509v3 Basic Constraints")
        .body,
    ).toBe("CA:TRUE, pathlen:0");
    const before = await rowCounts(h);
    const err = await rpcError(issue(h, ask(2)));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(violationKeys(err.violations)).toEqual([
      "ca_certificate.max_path_length PATH_LENGTH_EXCEEDS_MAX",
    ]);
    expect(await rowCounts(h)).toEqual({
      requests: before.requests + 1,
      certificates: before.certificates,
    });
  });

  it("issues an end-entity certificate when the request does not ask for a CA", async () => {
    const res = await issue(
      h,
      csrRequest("sub-ca", buildCsr({ subject: [["CN", "Not A CA"]] }).csrPem),
    );
    const x = new X509Certificate(res.certificate!.certificatePem);
    expect(x.ca).toBe(false);
  });

  it("refuses a CA request under a policy that denies CA certificates, writing only the FAILED request", async () => {
    const csrPem = buildCsr({
      subject: [["CN", "api.example.com"]],
      dns: ["api.example.com"],
      ca: {},
    }).csrPem;
    const before = await rowCounts(h);
    const err = await rpcError(issue(h, csrRequest("web", csrPem)));
    expect(err.reason).toBe("POLICY_VIOLATION");
    expect(violationKeys(err.violations)).toContain("ca_certificate CA_NOT_ALLOWED");
    expect(await rowCounts(h)).toEqual({
      requests: before.requests + 1,
      certificates: before.certificates,
    });
  });

  it("respects the issuing CA's path length: a CA with pathlen 0 signs no sub-CA", async () => {
    const inter = await call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "leaf-only-ca",
        parentCertificateAuthority: "root",
        subject: { commonName: "Leaf Only CA" },
        maxPathLength: 0,
      }),
    );
    await createProfileRows(h, {
      caId: inter.certificateAuthority!.id,
      slug: "sub-under-pathlen0",
      spec: subCaSpec(),
    });
    const before = await rowCounts(h);
    const err = await rpcError(
      issue(
        h,
        csrRequest(
          "sub-under-pathlen0",
          buildCsr({ subject: [["CN", "Too Deep"]], ca: {} }).csrPem,
        ),
      ),
    );
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("ISSUER_PATH_LENGTH_EXCEEDED");
    expect(await rowCounts(h)).toEqual({
      requests: before.requests + 1,
      certificates: before.certificates,
    });
  });
});

describe("name constraints on certmint's own intermediates", () => {
  let h: TestCertmint;
  let rootPem: string;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    rootPem = (await createRoot(h, "root")).certificatePem;
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it("writes them into the certificate, shows them, and refuses to sign outside them", async () => {
    const res = await call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "team-a",
        parentCertificateAuthority: "root",
        subject: { commonName: "Team A CA" },
        nameConstraints: {
          permitted: { dnsNames: ["Team-A.Example.com"], ipRanges: ["10.1.0.0/16"] },
          excluded: { dnsNames: ["db.team-a.example.com"] },
        },
      }),
    );
    const ca = res.certificateAuthority!;
    // Email and URI names, not given, are forbidden (since stop 44 of 2026-12-06), as a sub-CA
    // issued through a profile forbids what its policy allows nothing of.
    expect(ca.nameConstraints).toEqual({
      permitted: {
        dnsNames: ["team-a.example.com"],
        ipRanges: ["10.1.0.0/16"],
        emailAddresses: ["nowhere.invalid"],
        uriHosts: ["nowhere.invalid"],
      },
      excluded: {
        dnsNames: ["db.team-a.example.com"],
        ipRanges: [],
        emailAddresses: [],
        uriHosts: [],
      },
    });
    expect(
      extensionBlock(certText(tmp, ca.certificatePem), "X509v3 Name Constraints").critical,
    ).toBe(true);

    // A policy broader than the CA: certmint, not the relying party, refuses what lies outside.
    const spec = tlsServerSpec();
    spec.sans.dns = { allowed: ["**"], denied: [], required: false };
    await createProfileRows(h, { caId: ca.id, slug: "team-a-web", spec });
    const attr = (dns: string) =>
      issueRequest({
        certificateProfile: "team-a-web",
        source: {
          $case: "attributes",
          value: { subject: { commonName: dns }, subjectAlternativeNames: { dnsNames: [dns] } },
        },
      });
    const inside = await issue(h, attr("api.team-a.example.com"));
    const verify = opensslVerify(
      tmp,
      rootPem,
      ca.certificatePem,
      inside.certificate!.certificatePem,
    );
    expect(verify.code).toBe(0);

    for (const name of ["api.team-b.example.com", "db.team-a.example.com"]) {
      const before = await countRows(h, "certificate");
      const err = await rpcError(issue(h, attr(name)));
      expect(err.code).toBe(Code.FAILED_PRECONDITION);
      expect(err.reason).toBe("ISSUER_NAME_CONSTRAINTS");
      expect(await countRows(h, "certificate")).toBe(before);
    }
  });

  // An outside probe (stop 41 of 2026-12-06): a permitted URI host "prod.example" was read as
  // that host and every host below it, and certmint signed spiffe://sub.prod.example/x, which
  // OpenSSL refuses (RFC 5280 4.2.1.10: a URI constraint without a leading period is a host).
  it("signs URIs on a permitted URI host only, not on the hosts below it", async () => {
    const res = await call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "spiffe-prod",
        parentCertificateAuthority: "root",
        subject: { commonName: "SPIFFE prod CA" },
        nameConstraints: { permitted: { uriHosts: ["prod.example"] } },
      }),
    );
    const ca = res.certificateAuthority!;
    const spec = tlsServerSpec();
    spec.subject = {};
    spec.sans = {
      uri: {
        allowed: ["spiffe://prod.example/ns/a/sa/*", "spiffe://*.prod.example/ns/a/sa/*"],
        denied: [],
        required: true,
      },
    };
    await createProfileRows(h, { caId: ca.id, slug: "spiffe-prod-svid", spec });
    const svid = (uri: string) =>
      issueRequest({
        certificateProfile: "spiffe-prod-svid",
        source: { $case: "attributes", value: { subjectAlternativeNames: { uris: [uri] } } },
      });
    const inside = await issue(h, svid("spiffe://prod.example/ns/a/sa/web"));
    expect(
      opensslVerify(tmp, rootPem, ca.certificatePem, inside.certificate!.certificatePem).code,
    ).toBe(0);
    const before = await countRows(h, "certificate");
    const err = await rpcError(issue(h, svid("spiffe://sub.prod.example/ns/a/sa/web")));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("ISSUER_NAME_CONSTRAINTS");
    expect(await countRows(h, "certificate")).toBe(before);
  });

  // Found by the third outside probe (2026-12-05): only the issuing CA's own constraints were
  // checked; a CA below a constrained one, with none (or wider ones) of its own, issued names
  // openssl then refused ("permitted subtree violation").
  it("holds a CA below a constrained one to its ancestor's constraints too", async () => {
    const create = (slug: string, parent: string, permitted?: string[]) =>
      call(
        h.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug,
          parentCertificateAuthority: parent,
          subject: { commonName: `${slug} CA` },
          ...(permitted ? { nameConstraints: { permitted: { dnsNames: permitted } } } : {}),
        }),
      ).then((r) => r.certificateAuthority!);
    const upper = await create("nc-upper", "root", ["upper.example.com"]);
    const free = await create("nc-free", "nc-upper");
    // A CA with wider constraints than the CA above it is not created (RFC 5280 6.1.4 (g)
    // intersects them; since stop 42 of 2026-12-06: test/ca/intermediate-constraints.test.ts).
    const wider = await rpcError(create("nc-wider", "nc-upper", ["example.org"]));
    expect(wider.code).toBe(Code.INVALID_ARGUMENT);
    expect(wider.reason).toBe("NAME_CONSTRAINTS_EXCEED_ISSUER");
    const spec = tlsServerSpec();
    spec.sans.dns = { allowed: ["**"], denied: [], required: false };
    for (const ca of [free]) {
      await createProfileRows(h, { caId: ca.id, slug: `${ca.slug}-web`, spec });
    }
    const attr = (profile: string, dns: string) =>
      issueRequest({
        certificateProfile: profile,
        source: {
          $case: "attributes",
          value: { subject: { commonName: dns }, subjectAlternativeNames: { dnsNames: [dns] } },
        },
      });
    for (const [profile, name] of [["nc-free-web", "www.evil.org"]] as const) {
      const before = await countRows(h, "certificate");
      const err = await rpcError(issue(h, attr(profile, name)));
      expect(err.code).toBe(Code.FAILED_PRECONDITION);
      expect(err.reason).toBe("ISSUER_NAME_CONSTRAINTS");
      expect(err.message).toContain("above the issuing CA");
      expect(await countRows(h, "certificate")).toBe(before);
    }
    // Inside every constraint: issued, and openssl verifies the whole chain.
    const inside = await issue(h, attr("nc-free-web", "api.upper.example.com"));
    const verified = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      tmp.file("nc-root.pem", rootPem),
      "-untrusted",
      tmp.file("nc-chain.pem", free.certificatePem + upper.certificatePem),
      tmp.file("nc-leaf.pem", inside.certificate!.certificatePem),
    ]);
    expect(verified.stdout + verified.stderr).toMatch(/: OK/);
  });

  it("refuses a malformed subtree with its field and creates nothing", async () => {
    const before = await countRows(h, "certificate_authority");
    const err = await rpcError(
      call(
        h.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "bad-nc",
          parentCertificateAuthority: "root",
          subject: { commonName: "Bad CA" },
          nameConstraints: { permitted: { ipRanges: ["10.1.2.3/16"] } },
        }),
      ),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(violationKeys(err.violations)).toEqual([
      "name_constraints.permitted.ip_ranges[0] NAME_CONSTRAINTS_INVALID",
    ]);
    // A permitted empty DNS name permits everything (a probe, 2026-12-05): refused; excluded,
    // it forbids DNS names, and is taken.
    const empty = await rpcError(
      call(
        h.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "empty-nc",
          parentCertificateAuthority: "root",
          subject: { commonName: "Empty CA" },
          nameConstraints: { permitted: { dnsNames: [""] } },
        }),
      ),
    );
    expect(violationKeys(empty.violations)).toEqual([
      "name_constraints.permitted.dns_names[0] NAME_CONSTRAINTS_INVALID",
    ]);
    expect(await countRows(h, "certificate_authority")).toBe(before);
    const noDns = await call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "no-dns",
        parentCertificateAuthority: "root",
        subject: { commonName: "No DNS CA" },
        nameConstraints: { excluded: { dnsNames: [""] } },
      }),
    );
    expect(noDns.certificateAuthority!.nameConstraints!.excluded!.dnsNames).toEqual([""]);
  });
});

function opensslVerify(tmp: TempDir, rootPem: string, interPem: string, leafPem: string) {
  return openssl([
    "verify",
    "-x509_strict",
    "-CAfile",
    tmp.file("root.pem", rootPem),
    "-untrusted",
    tmp.file("inter.pem", interPem),
    tmp.file("leaf.pem", leafPem),
  ]);
}
