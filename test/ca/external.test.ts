/**
 * External intermediates: certmint makes the key and the CSR, an outside CA built with openssl
 * signs it, ImportCertificateAuthorityCertificate activates the CA, and what it signs then
 * verifies against the outside root. Every refusal leaves the CA PENDING_CERTIFICATE.
 */
import { X509Certificate } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateAuthorityType,
  type CertificateAuthority as PbCa,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows } from "../support/fixtures";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import {
  ACTIVE,
  CA_EXTENSIONS,
  createExternalResponse,
  createIntermediate,
  createRoot,
  extensionBlock,
  KeyAlgorithm,
  openssl,
  opensslOk,
  opensslRoot,
  opensslSign,
  PENDING,
  SignatureAlgorithm,
  subject,
  TempDir,
  verifyChain,
} from "./helpers";

/** DER of a PEM certificate, to compare certificates independent of PEM line layout. */
const der = (pem: string) => new X509Certificate(pem).raw.toString("hex");

describe("external intermediate CA", () => {
  let h: TestCertmint;
  const tmp = new TempDir();
  let outside: ReturnType<typeof opensslRoot>;

  beforeAll(async () => {
    h = await startTestCertmint();
    outside = opensslRoot(tmp);
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  /** The CA row fields an import must not touch when it is refused. */
  async function rowOf(id: string) {
    const [row] = await h.db.query(
      `select status, certificate_pem, chain_pem, serial_number, not_before, not_after, csr_pem,
              subject, max_path_length, version, updated_at
         from certificate_authority where id = $1`,
      [id],
    );
    return row;
  }

  it.each([
    ["EC_P256 (default)", 0, "id-ecPublicKey", "ecdsa-with-SHA256"],
    ["RSA_2048", KeyAlgorithm.KEY_ALGORITHM_RSA_2048, "rsaEncryption", "sha256WithRSAEncryption"],
    ["ED25519", KeyAlgorithm.KEY_ALGORITHM_ED25519, "ED25519", "ED25519"],
  ] as const)(
    "%s: returns a pending CA and a CSR that openssl verifies and that asks for a CA certificate",
    async (name, alg, keyText, sigText) => {
      const slug = `csr-${name.split(" ")[0]!.toLowerCase().replace("_", "-")}`;
      const res = await createExternalResponse(h, slug, alg);
      const ca = res.certificateAuthority!;
      expect(ca).toMatchObject({
        slug,
        type: CertificateAuthorityType.CERTIFICATE_AUTHORITY_TYPE_EXTERNAL_INTERMEDIATE,
        status: PENDING,
        keyAlgorithm: alg === 0 ? KeyAlgorithm.KEY_ALGORITHM_EC_P256 : alg,
        certificatePem: "",
        certificateChainPem: [],
        serialNumber: "",
        parentCertificateAuthorityId: "",
        notBefore: undefined,
        notAfter: undefined,
      });
      expect(res.csrPem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
      expect(ca.csrPem).toBe(res.csrPem);

      const r = openssl(["req", "-verify", "-noout", "-text"], res.csrPem);
      expect(r.code).toBe(0);
      expect(r.stderr + r.stdout).toMatch(/verify OK/);
      expect(r.stdout).toContain(keyText);
      expect(r.stdout).toContain(`Signature Algorithm: ${sigText}`);
      expect(r.stdout).toContain("Requested Extensions:");
      const bc = extensionBlock(r.stdout, "X509v3 Basic Constraints");
      expect(bc.critical).toBe(true);
      expect(bc.body).toBe("CA:TRUE");
      const ku = extensionBlock(r.stdout, "X509v3 Key Usage");
      expect(ku.critical).toBe(true);
      expect(ku.body).toContain("Certificate Sign");
      expect(ku.body).toContain("CRL Sign");
      const subj = opensslOk(["req", "-noout", "-subject", "-nameopt", "RFC2253"], res.csrPem);
      expect(subj.trim()).toBe(`subject=CN=External ${slug},O=external,O=certmint tests`);

      // A pending CA signs nothing: neither a CRL nor an intermediate.
      const crlErr = await expectRpcError(
        call(h.authorities, "getCertificateRevocationList", {
          certificateAuthority: ca.id,
          encoding: 0,
          knownCrlNumber: "",
        }),
      );
      expect(crlErr).toMatchObject({
        code: status.FAILED_PRECONDITION,
        reason: "CA_PENDING_CERTIFICATE",
      });
      const subErr = await expectRpcError(createIntermediate(h, `${slug}-child`, ca.id));
      expect(subErr).toMatchObject({
        code: status.FAILED_PRECONDITION,
        reason: "CA_PENDING_CERTIFICATE",
      });
    },
  );

  describe("import", () => {
    let ext: PbCa;
    let csrPem: string;
    let signed: string;
    /** Certificates that must each be refused, made once by openssl. */
    const bad = {} as {
      otherKey: string;
      leaf: string;
      noCertSign: string;
      noCrlSign: string;
      bcNotCritical: string;
      noSki: string;
      midKey: string;
      midPem: string;
      viaMid: string;
      tightRoot: string;
      viaTight: string;
      expired: string;
    };

    beforeAll(async () => {
      const res = await createExternalResponse(h, "outside-signed");
      ext = res.certificateAuthority!;
      csrPem = res.csrPem;
      signed = opensslSign(tmp, csrPem, outside, CA_EXTENSIONS);
      // Sanity check of the fixture itself: openssl accepts what the outside root signed.
      expect(verifyChain(tmp, outside.pem, signed).code).toBe(0);

      // The same subject, another key.
      const otherCsr = opensslOk([
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        tmp.out("other.key"),
        "-subj",
        `/O=certmint tests/O=external/CN=External ${ext.slug}`,
      ]);
      bad.otherKey = opensslSign(tmp, otherCsr, outside, CA_EXTENSIONS);
      // This CA's key, but an end-entity certificate.
      bad.leaf = opensslSign(tmp, csrPem, outside, [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
      ]);
      // A CA certificate that may not sign certificates.
      bad.noCertSign = opensslSign(tmp, csrPem, outside, [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,digitalSignature,cRLSign",
      ]);
      // A CA certificate that may sign certificates but not the CRL they point to.
      bad.noCrlSign = opensslSign(tmp, csrPem, outside, [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign",
      ]);
      // RFC 5280 MUSTs of CA certificates broken by the outside CA.
      bad.bcNotCritical = opensslSign(tmp, csrPem, outside, [
        "basicConstraints=CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign",
      ]);
      bad.noSki = opensslSign(tmp, csrPem, outside, [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign",
        "subjectKeyIdentifier=none",
        "authorityKeyIdentifier=keyid:always",
      ]);
      // outside root -> outside intermediate -> this CA (for chains that omit the root).
      const midKey = tmp.out("mid.key");
      bad.midKey = midKey;
      const midCsr = opensslOk([
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        midKey,
        "-subj",
        "/O=Outside Corp/CN=Outside Intermediate",
      ]);
      bad.midPem = opensslSign(tmp, midCsr, outside, CA_EXTENSIONS, 1000);
      bad.viaMid = opensslSign(
        tmp,
        csrPem,
        { keyPath: midKey, certPath: tmp.file("mid.pem", bad.midPem) },
        CA_EXTENSIONS,
        700,
      );
      expect(verifyChain(tmp, outside.pem, bad.viaMid, [bad.midPem]).code).toBe(0);
      // A root whose pathLenConstraint 0 allows no CA below it.
      const tight = opensslRoot(tmp, { cn: "Tight Root", pathlen: 0 });
      bad.tightRoot = tight.pem;
      bad.viaTight = opensslSign(tmp, csrPem, tight, CA_EXTENSIONS);
      // notAfter == notBefore == the moment it was signed: no longer valid when imported.
      bad.expired = opensslSign(tmp, csrPem, outside, CA_EXTENSIONS, 0);
    });

    /** Import that must be refused without touching the CA; returns the decoded error. */
    async function rejected(certificatePem: string, chain: string[]) {
      const before = await rowOf(ext.id);
      const err = await expectRpcError(
        call(h.authorities, "importCertificateAuthorityCertificate", {
          certificateAuthority: ext.slug,
          certificatePem,
          certificateChainPem: chain,
        }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(await rowOf(ext.id)).toEqual(before);
      const got = await call(h.authorities, "getCertificateAuthority", {
        certificateAuthority: ext.id,
      });
      expect(got.certificateAuthority!.status).toBe(PENDING);
      expect(got.certificateAuthority!.certificatePem).toBe("");
      expect(got.certificateAuthority!.csrPem).toBe(csrPem);
      return err;
    }

    /** CA_CERTIFICATE_REJECTED with (at least) this violation. */
    function expectViolation(
      err: Awaited<ReturnType<typeof rejected>>,
      field: string,
      reason: string,
    ): void {
      expect(err.reason).toBe("CA_CERTIFICATE_REJECTED");
      expect(err.violations).toContainEqual(expect.objectContaining({ field, reason }));
    }

    it("refuses a certificate for another key (CERTIFICATE_KEY_MISMATCH)", async () => {
      const err = await rejected(bad.otherKey, [outside.pem]);
      expectViolation(err, "certificate_pem", "CERTIFICATE_KEY_MISMATCH");
    });

    it("refuses a certificate that is not a CA certificate (CERTIFICATE_NOT_CA)", async () => {
      const err = await rejected(bad.leaf, [outside.pem]);
      expectViolation(err, "certificate_pem", "CERTIFICATE_NOT_CA");
      expectViolation(err, "certificate_pem", "CERTIFICATE_NO_KEY_CERT_SIGN");
      const err2 = await rejected(bad.noCertSign, [outside.pem]);
      expectViolation(err2, "certificate_pem", "CERTIFICATE_NO_KEY_CERT_SIGN");
      expect(err2.violations.map((v) => v.reason)).not.toContain("CERTIFICATE_NOT_CA");
    });

    it("refuses a CA certificate without cRLSign, or breaking RFC 5280's CA-certificate MUSTs", async () => {
      // Its leaves would name a CRL it can never sign (an outside lint probe, 2026-12-05).
      const noCrl = await rejected(bad.noCrlSign, [outside.pem]);
      expect(noCrl.violations.map((v) => v.reason)).toEqual(["CERTIFICATE_NO_CRL_SIGN"]);
      const bc = await rejected(bad.bcNotCritical, [outside.pem]);
      expect(bc.violations.map((v) => v.reason)).toEqual([
        "CERTIFICATE_BASIC_CONSTRAINTS_NOT_CRITICAL",
      ]);
      const ski = await rejected(bad.noSki, [outside.pem]);
      expect(ski.violations.map((v) => v.reason)).toEqual([
        "CERTIFICATE_NO_SUBJECT_KEY_IDENTIFIER",
      ]);
      expect(ski.violations[0]!.description).toContain("RFC 5280 4.2.1.2");
    });

    it("refuses a missing chain (CHAIN_MISSING)", async () => {
      const err = await rejected(signed, []);
      expect(err.reason).toBe("CA_CERTIFICATE_REJECTED");
      expect(err.violations).toEqual([
        expect.objectContaining({ field: "certificate_chain_pem", reason: "CHAIN_MISSING" }),
      ]);
    });

    it("refuses a chain that did not issue the certificate (CHAIN_BROKEN)", async () => {
      const stranger = opensslRoot(tmp, { cn: "Stranger Root" });
      const err = await rejected(signed, [stranger.pem]);
      expect(err.reason).toBe("CA_CERTIFICATE_REJECTED");
      expect(err.violations).toEqual([
        expect.objectContaining({ field: "certificate_chain_pem[0]", reason: "CHAIN_BROKEN" }),
      ]);
      // Same name, other key: the name matches but the signature does not.
      const impostor = opensslRoot(tmp, { cn: "Outside Root" });
      const err2 = await rejected(signed, [impostor.pem]);
      expect(err2.violations).toEqual([
        expect.objectContaining({ field: "certificate_chain_pem[0]", reason: "CHAIN_BROKEN" }),
      ]);
      // Chain in the wrong order: root first, then the intermediate.
      const err3 = await rejected(bad.viaMid, [outside.pem, bad.midPem]);
      expectViolation(err3, "certificate_chain_pem[0]", "CHAIN_BROKEN");
    });

    it("refuses a chain that stops below a self-signed root (CHAIN_NO_TRUST_ANCHOR)", async () => {
      const err = await rejected(bad.viaMid, [bad.midPem]);
      expectViolation(err, "certificate_chain_pem[0]", "CHAIN_NO_TRUST_ANCHOR");
    });

    it("refuses a root whose pathLenConstraint 0 forbids this CA (CHAIN_PATH_LENGTH_EXCEEDED)", async () => {
      const err = await rejected(bad.viaTight, [bad.tightRoot]);
      expectViolation(err, "certificate_chain_pem[0]", "CHAIN_PATH_LENGTH_EXCEEDED");
    });

    it("refuses a certificate that is no longer valid (CERTIFICATE_NOT_VALID_NOW)", async () => {
      const err = await rejected(bad.expired, [outside.pem]);
      expectViolation(err, "certificate_pem", "CERTIFICATE_NOT_VALID_NOW");
    });

    it("refuses garbage PEM (CERTIFICATE_MALFORMED) in the certificate or the chain", async () => {
      for (const garbage of [
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "",
      ]) {
        const err = await rejected(garbage, [outside.pem]);
        expect(err.reason).toBe("CERTIFICATE_MALFORMED");
        expect(err.violations).toEqual([
          expect.objectContaining({ field: "certificate_pem", reason: "CERTIFICATE_MALFORMED" }),
        ]);
      }
      const err = await rejected(signed, [outside.pem.replace(/[A-Za-z]{20}/, "!!")]);
      expect(err.reason).toBe("CERTIFICATE_MALFORMED");
      expect(err.violations).toEqual([
        expect.objectContaining({
          field: "certificate_chain_pem[0]",
          reason: "CERTIFICATE_MALFORMED",
        }),
      ]);
      // A private key is not a certificate either.
      const key = opensslOk(["pkey", "-in", outside.keyPath]);
      const err2 = await rejected(key, [outside.pem]);
      expect(err2.reason).toBe("CERTIFICATE_MALFORMED");
    });

    // Regression test for a bug once in src/issuance/ca/import-certificate.ts.
    it("each refusal names exactly the rules broken, nothing else", async () => {
      const cases: Array<[string, string[], string[]]> = [
        [bad.otherKey, [outside.pem], ["CERTIFICATE_KEY_MISMATCH"]],
        [
          bad.leaf,
          [outside.pem],
          ["CERTIFICATE_NOT_CA", "CERTIFICATE_NO_CRL_SIGN", "CERTIFICATE_NO_KEY_CERT_SIGN"],
        ],
        [bad.noCertSign, [outside.pem], ["CERTIFICATE_NO_KEY_CERT_SIGN"]],
        [bad.viaMid, [bad.midPem], ["CHAIN_NO_TRUST_ANCHOR"]],
        [bad.viaTight, [bad.tightRoot], ["CHAIN_PATH_LENGTH_EXCEEDED"]],
        [bad.expired, [outside.pem], ["CERTIFICATE_NOT_VALID_NOW"]],
      ];
      for (const [cert, chain, reasons] of cases) {
        const err = await rejected(cert, chain);
        expect(err.violations.map((v) => v.reason).sort()).toEqual(reasons);
      }
    });

    // Regression test for a bug once in src/issuance/ca/import-certificate.ts.
    it("activates the CA with the outside certificate; what it signs then chains to the outside root", async () => {
      const before = await rowOf(ext.id);
      const res = await call(h.authorities, "importCertificateAuthorityCertificate", {
        certificateAuthority: ext.id,
        certificatePem: signed,
        certificateChainPem: [outside.pem],
      });
      const ca = res.certificateAuthority!;
      const x = new X509Certificate(signed);
      expect(ca).toMatchObject({
        id: ext.id,
        status: ACTIVE,
        type: CertificateAuthorityType.CERTIFICATE_AUTHORITY_TYPE_EXTERNAL_INTERMEDIATE,
        csrPem: "",
        serialNumber: derSerialHex(x.serialNumber),
        maxPathLength: undefined,
      });
      expect(der(ca.certificatePem)).toBe(der(signed));
      expect(ca.certificateChainPem.map(der)).toEqual([der(outside.pem)]);
      expect(ca.notAfter!.getTime()).toBe(new Date(x.validTo).getTime());
      expect(ca.notBefore!.getTime()).toBe(new Date(x.validFrom).getTime());
      expect(ca.etag).not.toBe(ext.etag);
      const row = await rowOf(ext.id);
      expect(row!.csr_pem).toBeNull();
      expect(row!.version).toBe((before!.version as number) + 1);

      // Get returns the same.
      const got = await call(h.authorities, "getCertificateAuthority", {
        certificateAuthority: ext.slug,
      });
      expect(got.certificateAuthority).toEqual(ca);

      // A second import is refused: the CA is no longer pending.
      const again = await expectRpcError(
        call(h.authorities, "importCertificateAuthorityCertificate", {
          certificateAuthority: ext.id,
          certificatePem: signed,
          certificateChainPem: [outside.pem],
        }),
      );
      expect(again).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "CA_NOT_PENDING" });
      expect(await rowOf(ext.id)).toEqual(row);

      // An intermediate under it verifies against the outside root, with the external CA as
      // untrusted intermediate; its chain names both.
      const child = await createIntermediate(h, "under-outside", ext.slug, {
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519,
        ttlSeconds: 30 * 86_400,
      });
      expect(child.certificateChainPem.map(der)).toEqual([der(signed), der(outside.pem)]);
      const v = verifyChain(tmp, outside.pem, child.certificatePem, [signed]);
      expect(v.stderr + v.stdout).toMatch(/: OK/);
      expect(v.code).toBe(0);
      expect(child.notAfter!.getTime()).toBeLessThanOrEqual(ca.notAfter!.getTime());
      // The outside CA was signed "now", not backdated: the child starts no earlier than it
      // (it started up to 60 s before: an outside lint probe, 2026-12-05).
      expect(child.notBefore!.getTime()).toBeGreaterThanOrEqual(ca.notBefore!.getTime());

      // Its CRL verifies with the outside-signed certificate.
      const crl = await call(h.authorities, "getCertificateRevocationList", {
        certificateAuthority: ext.id,
        encoding: 0,
        knownCrlNumber: "",
      });
      const crlCheck = openssl([
        "crl",
        "-noout",
        "-in",
        tmp.file("ext.crl", crl.crlPem),
        "-CAfile",
        tmp.file("ext.pem", signed),
        "-verify",
      ]);
      expect(crlCheck.stderr + crlCheck.stdout).toMatch(/verify OK/);
    });

    // Regression test for a bug once in src/issuance/ca/import-certificate.ts.
    it("imports with a two-certificate chain (outside intermediate, then root)", async () => {
      const res = await createExternalResponse(h, "outside-two-levels");
      const cert = opensslSign(
        tmp,
        res.csrPem,
        { keyPath: bad.midKey, certPath: tmp.file("mid2.pem", bad.midPem) },
        CA_EXTENSIONS,
        700,
      );
      const imported = await call(h.authorities, "importCertificateAuthorityCertificate", {
        certificateAuthority: "outside-two-levels",
        certificatePem: cert,
        certificateChainPem: [bad.midPem, outside.pem],
      });
      expect(imported.certificateAuthority!.status).toBe(ACTIVE);
      expect(imported.certificateAuthority!.certificateChainPem.map(der)).toEqual([
        der(bad.midPem),
        der(outside.pem),
      ]);
      const child = await createIntermediate(h, "under-two-levels", "outside-two-levels", {
        ttlSeconds: 86_400,
      });
      const v = verifyChain(tmp, outside.pem, child.certificatePem, [cert, bad.midPem]);
      expect(v.stderr + v.stdout).toMatch(/: OK/);
      expect(v.code).toBe(0);
    });

    it("refuses to import into a CA that is already ACTIVE (FAILED_PRECONDITION)", async () => {
      const root = await createRoot(h, "internal-root-no-import");
      const err = await expectRpcError(
        call(h.authorities, "importCertificateAuthorityCertificate", {
          certificateAuthority: root.id,
          certificatePem: signed,
          certificateChainPem: [outside.pem],
        }),
      );
      expect(err).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "CA_NOT_PENDING" });
      const [row] = await h.db.query(
        "select version, certificate_pem from certificate_authority where id = $1",
        [root.id],
      );
      expect(row).toEqual({ version: 1, certificate_pem: root.certificatePem });
      const nf = await expectRpcError(
        call(h.authorities, "importCertificateAuthorityCertificate", {
          certificateAuthority: "no-such-ca",
          certificatePem: signed,
          certificateChainPem: [outside.pem],
        }),
      );
      expect(nf).toMatchObject({
        code: status.NOT_FOUND,
        reason: "CERTIFICATE_AUTHORITY_NOT_FOUND",
      });
    });

    // Regression test for a bug once in src/issuance/ca/import-certificate.ts.
    it("never issues a CA certificate whose path breaks an outside root's pathLenConstraint", async () => {
      const tight = opensslRoot(tmp, { cn: "Pathlen One Root", pathlen: 1 });
      const res = await createExternalResponse(h, "under-pathlen-one");
      const cert = opensslSign(tmp, res.csrPem, tight, CA_EXTENSIONS);
      const imported = await call(h.authorities, "importCertificateAuthorityCertificate", {
        certificateAuthority: "under-pathlen-one",
        certificatePem: cert,
        certificateChainPem: [tight.pem],
      });
      expect(imported.certificateAuthority!.status).toBe(ACTIVE);
      // Build down as far as certmint allows; everything it signs must verify.
      let parent = { slug: "under-pathlen-one", pem: cert };
      const untrusted = [cert];
      for (const slug of ["pathlen-one-a", "pathlen-one-b"]) {
        let child: PbCa;
        try {
          child = await createIntermediate(h, slug, parent.slug, { ttlSeconds: 86_400 });
        } catch (e) {
          const err = await expectRpcError(Promise.reject(e));
          expect(err).toMatchObject({
            code: status.FAILED_PRECONDITION,
            reason: "PARENT_PATH_LENGTH_EXHAUSTED",
          });
          return;
        }
        const v = verifyChain(tmp, tight.pem, child.certificatePem, untrusted);
        expect(v.stderr + v.stdout).toMatch(/: OK/);
        untrusted.unshift(child.certificatePem);
        parent = { slug, pem: child.certificatePem };
      }
    });
  });
});

// Found by the third outside probe (2026-12-05): an outside CA may sign a certificate that
// outlives it; what certmint signed below it then outlived the outside root too.
describe("an external intermediate that outlives its outside chain", () => {
  let h: TestCertmint;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it("signs nothing that outlives the outside root", async () => {
    const root = opensslRoot(tmp, { cn: "Short Outside Root", days: 20 });
    const rootNotAfter = new Date(new X509Certificate(root.pem).validTo).getTime();
    const res = await createExternalResponse(h, "outlives");
    const imported = await call(h.authorities, "importCertificateAuthorityCertificate", {
      certificateAuthority: "outlives",
      certificatePem: opensslSign(tmp, res.csrPem, root, CA_EXTENSIONS, 700),
      certificateChainPem: [root.pem],
    });
    expect(imported.certificateAuthority!.notAfter!.getTime()).toBeGreaterThan(rootNotAfter);

    const tooLong = await expectRpcError(
      createIntermediate(h, "below-too-long", "outlives", { ttlSeconds: 30 * 86_400 }),
    );
    expect(tooLong).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: "VALIDITY_EXCEEDS_ISSUER",
    });
    const cut = await call(h.authorities, "createIntermediateCertificateAuthority", {
      slug: "below-default",
      description: "",
      parentCertificateAuthority: "outlives",
      subject: subject("Below Default"),
      keyAlgorithm: 0,
      signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
      ttl: undefined,
      maxPathLength: undefined,
    });
    expect(cut.certificateAuthority!.notAfter!.getTime()).toBeLessThanOrEqual(rootNotAfter);

    await createProfileRows(h, { slug: "outlives-web", caId: imported.certificateAuthority!.id });
    const leafTooLong = await expectRpcError(
      call(
        h.certificates,
        "issueCertificate",
        attrRequest("outlives-web", {
          cn: "long.example.com",
          dns: ["long.example.com"],
          ttlSeconds: 25 * 86_400,
        }),
      ),
    );
    expect(leafTooLong).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: "VALIDITY_EXCEEDS_ISSUER",
    });
    const leaf = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("outlives-web", {
        cn: "short.example.com",
        dns: ["short.example.com"],
        ttlSeconds: 5 * 86_400,
      }),
    );
    expect(
      new Date(new X509Certificate(leaf.certificate!.certificatePem).validTo).getTime(),
    ).toBeLessThanOrEqual(rootNotAfter);
  });
});

/**
 * A serial as certmint gives it: the content octets of its DER INTEGER (signer/serial.ts), so a
 * value whose first octet is 0x80 or more keeps the leading 00 that makes it positive (RFC 5280
 * 4.1.2.2). Node prints the value without it; the outside CA's random serial has such an octet
 * about half the time, and this test failed then (seen 2026-12-05, on a busy run).
 */
function derSerialHex(nodeSerial: string): string {
  const hex = nodeSerial.toLowerCase().padStart(nodeSerial.length + (nodeSerial.length % 2), "0");
  return Number.parseInt(hex.slice(0, 1), 16) >= 8 ? `00${hex}` : hex;
}
