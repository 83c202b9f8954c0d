/**
 * Probe 49 (CERT): encodings and limits relying parties trip on, from a live compiled server:
 * GeneralizedTime after 2049, CRLs and OCSP answers of every CA key type, OCSP over GET, with
 * SHA-256 CertIDs and two certificates per request, path lengths an intermediate may not take,
 * name constraints, subject attribute forms, international email and URI names.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetCertificateRevocationListRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificatePolicyPreset } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { KeyAlgorithm, RevocationReason as R } from "../../../gen/ts/certmint/v1/common";
import { call, expectRpcError } from "../../support/harness";
import { openssl, opensslOk, TempDir } from "../../support/openssl";
import {
  attributesRequest,
  caCountRows,
  certificateCount,
  createIntermediateCa,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  ocspQuery,
  startLive,
} from "./live";
import { parseCert } from "./x509";

const A = KeyAlgorithm;
const YEAR = 365 * 86400;
const KINDS: Array<[string, KeyAlgorithm, RegExp]> = [
  ["p256", A.KEY_ALGORITHM_EC_P256, /ecdsa-with-SHA256/],
  ["p384", A.KEY_ALGORITHM_EC_P384, /ecdsa-with-SHA384/],
  ["rsa2048", A.KEY_ALGORITHM_RSA_2048, /sha256WithRSAEncryption/],
  ["ed25519", A.KEY_ALGORITHM_ED25519, /ED25519/i],
];

describe("probe49 cert: encodings and limits", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  const roots: Record<string, string> = {};

  beforeAll(async () => {
    live = await startLive();
    await createPolicy(live, "any", {
      sanRules: {
        dns: { allowed: ["**"] },
        ip: { allowed: ["0.0.0.0/0", "::/0"] },
        email: { allowed: ["@**"] },
        uri: { allowed: ["https://**/*"] },
      },
      subjectRules: {
        commonName: { allowed: ["*"] },
        organization: { allowed: ["*"] },
        country: { allowed: ["*"] },
        serialNumber: { allowed: ["*"] },
      },
    });
    await createPolicy(
      live,
      "mail",
      {
        sanRules: { email: { allowed: ["@**"] }, dns: { allowed: ["**"] } },
        subjectRules: { commonName: { allowed: ["*"] } },
      },
      CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_EMAIL_PROTECTION,
    );
    for (const [name, alg] of KINDS) {
      const root = await createRootCa(live, `root-${name}`, alg, { maxPathLength: 1 });
      roots[name] = root.certificatePem;
      await createProfile(live, `any-${name}`, "any", { ca: `root-${name}` });
    }
    await createProfile(live, "mail", "mail", { ca: "root-p256" });
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  it("a root ending after 2049 encodes notAfter as GeneralizedTime (RFC 5280 4.1.2.5)", async () => {
    const root = await createRootCa(live, "long-root", A.KEY_ALGORITHM_EC_P256, {
      ttl: { seconds: String(30 * YEAR), nanos: 0 },
    });
    const der = parseCert(root.certificatePem).der;
    expect(
      new Date(parseCert(root.certificatePem).node.validTo).getUTCFullYear(),
    ).toBeGreaterThanOrEqual(2050);
    // Validity ::= SEQUENCE { UTCTime (0x17, 13 octets) notBefore, GeneralizedTime (0x18, 15) notAfter }
    const validity = der.indexOf(Buffer.from([0x30, 0x20, 0x17, 0x0d]));
    expect(validity, "a Validity of UTCTime and GeneralizedTime").toBeGreaterThan(0);
    expect(der.subarray(validity + 17, validity + 19)).toEqual(Buffer.from([0x18, 0x0f]));
    const text = opensslOk([
      "x509",
      "-noout",
      "-enddate",
      "-in",
      tmp.file("long.pem", root.certificatePem),
    ]);
    expect(Number(/ (\d{4}) GMT/.exec(text)![1])).toBeGreaterThanOrEqual(2050);
  });

  it.each(KINDS)(
    "CRL and OCSP of a %s CA are signed with the fitting algorithm and verify",
    async (name, _alg, sig) => {
      const cn = `r.${name}.example.com`;
      const res = await issueCertificate(
        live,
        attributesRequest(`any-${name}`, { cn, sans: { dnsNames: [cn] } }),
      );
      const leaf = res.certificate!;
      await call(live.certificates, "revokeCertificate", {
        certificate: leaf.certificateId,
        reason: R.REVOCATION_REASON_SUPERSEDED,
      });
      const crl = await call(
        live.authorities,
        "getCertificateRevocationList",
        GetCertificateRevocationListRequest.fromPartial({ certificateAuthority: `root-${name}` }),
      );
      const caFile = tmp.file("ca.pem", roots[name]!);
      const v = openssl([
        "crl",
        "-noout",
        "-text",
        "-CAfile",
        caFile,
        "-in",
        tmp.file("x.crl", crl.crlPem),
      ]);
      expect(v.stderr + v.stdout).toMatch(/verify OK/);
      expect(v.stdout).toMatch(sig);
      const o = ocspQuery(live, {
        issuer: caFile,
        ask: ["-cert", tmp.file("l.pem", leaf.certificatePem)],
        caFile: caFile,
        extra: ["-resp_text"],
      });
      expect(o.stderr).toMatch(/Response verify OK/);
      expect(o.stdout).toMatch(/: revoked/);
      expect(o.stdout).toMatch(sig);
    },
  );

  it("OCSP with SHA-256 CertIDs, two certificates in one request, and over GET", async () => {
    const a = await issueCertificate(
      live,
      attributesRequest("any-p256", {
        cn: "a.two.example.com",
        sans: { dnsNames: ["a.two.example.com"] },
      }),
    );
    const b = await issueCertificate(
      live,
      attributesRequest("any-p256", {
        cn: "b.two.example.com",
        sans: { dnsNames: ["b.two.example.com"] },
      }),
    );
    await call(live.certificates, "revokeCertificate", {
      certificate: b.certificate!.certificateId,
      reason: R.REVOCATION_REASON_AFFILIATION_CHANGED,
    });
    const caFile = tmp.file("ca.pem", roots.p256!);
    const aFile = tmp.file("a.pem", a.certificate!.certificatePem);
    const bFile = tmp.file("b.pem", b.certificate!.certificatePem);
    const sha256 = ocspQuery(live, {
      digest: "-sha256",
      issuer: caFile,
      ask: ["-cert", aFile],
      caFile: caFile,
    });
    expect(sha256.stderr).toMatch(/Response verify OK/);
    expect(sha256.stdout).toMatch(/: good/);
    const two = ocspQuery(live, {
      issuer: caFile,
      ask: ["-cert", aFile, "-cert", bFile],
      caFile: caFile,
    });
    expect(two.stderr + two.stdout).toMatch(/Response verify OK/);
    expect(two.stdout, two.stdout + two.stderr).toMatch(/a\.pem: good/);
    expect(two.stdout, two.stdout + two.stderr).toMatch(/b\.pem: revoked/);
    // GET (RFC 6960 A.1): the DER request, base64, URL-encoded.
    const reqFile = tmp.out("req.der");
    opensslOk(["ocsp", "-issuer", caFile, "-cert", aFile, "-no_nonce", "-reqout", reqFile]);
    const { readFileSync } = await import("node:fs");
    const b64 = encodeURIComponent(readFileSync(reqFile).toString("base64"));
    const got = await fetch(`${live.ocspUrl}/${b64}`);
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe("application/ocsp-response");
    const respFile = tmp.file("resp.der", Buffer.from(await got.arrayBuffer()));
    const text = opensslOk(["ocsp", "-respin", respFile, "-resp_text", "-noverify"]);
    expect(text).toMatch(/Cert Status: good/);
    expect(text).toMatch(/Responder Id: /);
  });

  it("an intermediate may not take a path length its parent's pathLenConstraint forbids", async () => {
    const before = await caCountRows(live);
    const err = await expectRpcError(
      createIntermediateCa(live, {
        slug: "too-long-path",
        parentCertificateAuthority: "root-p256",
        subject: { commonName: "Path 5" },
        keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
        maxPathLength: 5,
      }),
    );
    expect([3, 9]).toContain(err.code);
    expect(await caCountRows(live)).toEqual(before);
  });

  it("name constraints of an intermediate: critical, openssl-valid, and enforced at issuance", async () => {
    const inter = await createIntermediateCa(live, {
      slug: "nc",
      parentCertificateAuthority: "root-p256",
      subject: { commonName: "NC CA" },
      keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
      maxPathLength: 0,
      nameConstraints: {
        permitted: { dnsNames: ["example.com"], ipRanges: ["10.0.0.0/8"] },
        excluded: { dnsNames: ["secret.example.com"] },
      },
    });
    const pem = inter.certificateAuthority!.certificatePem;
    const text = opensslOk(["x509", "-noout", "-text", "-in", tmp.file("nc.pem", pem)]);
    expect(text).toMatch(/X509v3 Name Constraints: critical/);
    expect(text).toMatch(/DNS:example\.com/);
    expect(text).toMatch(/IP:10\.0\.0\.0\/255\.0\.0\.0/);
    await createProfile(live, "any-nc", "any", { ca: "nc" });
    const before = await certificateCount(live.db);
    for (const sans of [
      { dnsNames: ["a.example.org"] },
      { dnsNames: ["x.secret.example.com"] },
      { ipAddresses: ["11.0.0.1"] },
      { ipAddresses: ["::ffff:10.0.0.1"] },
      { emailAddresses: ["a@example.com"] },
      { uris: ["https://example.com/x"] },
    ]) {
      const e = await expectRpcError(issueCertificate(live, attributesRequest("any-nc", { sans })));
      expect([3, 9], JSON.stringify(sans)).toContain(e.code);
      expect(e.reason, JSON.stringify(sans)).toBeTruthy();
    }
    // A CN that is a host name outside the constraints, with an allowed DNS SAN beside it.
    const cnOut = await expectRpcError(
      issueCertificate(
        live,
        attributesRequest("any-nc", { cn: "evil.org", sans: { dnsNames: ["ok.example.com"] } }),
      ),
    );
    expect([3, 9]).toContain(cnOut.code);
    expect(await certificateCount(live.db)).toBe(before);
    const ok = await issueCertificate(
      live,
      attributesRequest("any-nc", {
        cn: "ok.example.com",
        sans: { dnsNames: ["ok.example.com"], ipAddresses: ["10.1.2.3"] },
      }),
    );
    const chain = tmp.file("ncchain.pem", `${roots.p256}\n${pem}`);
    const v = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      chain,
      tmp.file("ok.pem", ok.certificate!.certificatePem),
    ]);
    expect(v.code, v.stderr).toBe(0);
  });

  const subjectRefusals: Array<[string, Record<string, unknown>]> = [
    ["a three-letter country", { country: "USA" }],
    ["a country with a digit", { country: "U1" }],
    ["a lower-case country", { country: "de" }],
    ["a 65-character organization", { organization: ["O".repeat(65)] }],
    ["a 65-character free-text CN", { commonName: `Service ${"x".repeat(57)}` }],
    ["a serialNumber outside PrintableString", { serialNumber: "SN_1@x" }],
  ];

  it.each(subjectRefusals)("refuses %s in the subject", async (_what, subject) => {
    const before = await certificateCount(live.db);
    const e = await expectRpcError(
      issueCertificate(
        live,
        attributesRequest("any-p256", { subject, sans: { dnsNames: ["s.example.com"] } }),
      ),
    );
    expect(e.code, e.message).toBe(3);
    expect(e.violations.length).toBeGreaterThan(0);
    expect(await certificateCount(live.db)).toBe(before);
  });

  it("a country is a PrintableString, an organization a UTF8String", async () => {
    const res = await issueCertificate(
      live,
      attributesRequest("any-p256", {
        subject: { country: "DE", organization: ["Bücher GmbH"], commonName: "c.example.com" },
        sans: { dnsNames: ["c.example.com"] },
      }),
    );
    const der = parseCert(res.certificate!.certificatePem).der;
    // id-at-countryName 2.5.4.6, then PrintableString (0x13) "DE".
    expect(der.includes(Buffer.from([0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x44, 0x45]))).toBe(
      true,
    );
    // id-at-organizationName 2.5.4.10, then UTF8String (0x0c).
    const o = der.indexOf(Buffer.from([0x06, 0x03, 0x55, 0x04, 0x0a]));
    expect(der[o + 5]).toBe(0x0c);
  });

  it("an international email address is refused or signed as SmtpUTF8Mailbox, never a non-ASCII rfc822Name", async () => {
    const r = await issueCertificate(
      live,
      attributesRequest("mail", { sans: { emailAddresses: ["jürgen@example.com"] } }),
    ).catch((e) => e);
    if (!(r instanceof Error)) {
      const text = opensslOk([
        "x509",
        "-noout",
        "-ext",
        "subjectAltName",
        "-in",
        tmp.file("m.pem", r.certificate!.certificatePem),
      ]);
      expect(text).not.toMatch(/email:j.*rgen/);
    }
    // A domain in Unicode becomes A-labels in the rfc822Name.
    const d = await issueCertificate(
      live,
      attributesRequest("mail", { sans: { emailAddresses: ["a@bücher.example.com"] } }),
    );
    const text = opensslOk([
      "x509",
      "-noout",
      "-ext",
      "subjectAltName",
      "-in",
      tmp.file("d.pem", d.certificate!.certificatePem),
    ]);
    expect(text).toMatch(/email:a@xn--bcher-kva\.example\.com/);
  });

  it("a URI with an international host is signed with A-labels (RFC 5280 7.4)", async () => {
    const r = await issueCertificate(
      live,
      attributesRequest("any-p256", { sans: { uris: ["https://bücher.example.com/x"] } }),
    ).catch((e) => e);
    if (r instanceof Error) return;
    const text = opensslOk([
      "x509",
      "-noout",
      "-ext",
      "subjectAltName",
      "-in",
      tmp.file("u.pem", r.certificate!.certificatePem),
    ]);
    expect(text).toMatch(/URI:https:\/\/xn--bcher-kva\.example\.com\/x/);
  });

  it("an underscore in a DNS SAN is refused (RFC 5280 4.2.1.6 preferred name syntax)", async () => {
    const e = await expectRpcError(
      issueCertificate(
        live,
        attributesRequest("any-p256", { sans: { dnsNames: ["_acme.example.com"] } }),
      ),
    );
    expect(e.code).toBe(3);
  });
});
