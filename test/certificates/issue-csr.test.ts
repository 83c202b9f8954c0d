/**
 * IssueCertificate with a CSR, for every leaf key type openssl makes: the certificate verifies
 * with `openssl verify -x509_strict -purpose sslserver`, carries exactly the normalised names
 * and the RFC 5280 extensions a TLS server certificate needs, and the rows in PostgreSQL
 * describe it (serial reserved on the request before signing, fingerprint of the DER).
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  CreateIntermediateCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  akiOf,
  Code,
  type CsrKey,
  call,
  certText,
  createProfileRows,
  createRoot,
  csrRequest,
  DAY,
  derOf,
  extensionBlock,
  getCert,
  ISSUED,
  issue,
  KeyAlgorithm,
  KeyUsage,
  makeCsr,
  openssl,
  opensslOk,
  rowCounts,
  rpcError,
  SignatureAlgorithm,
  sha256Hex,
  skiOf,
  spkiOf,
  startTestCertmint,
  TempDir,
  type TestCertmint,
  verifyLeaf,
} from "./helpers";

const CASES: Array<{ key: CsrKey; alg: string; pb: KeyAlgorithm; askKeyEncipherment: boolean }> = [
  {
    key: "rsa",
    alg: "RSA_2048",
    pb: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
    askKeyEncipherment: true,
  },
  {
    key: "p256",
    alg: "EC_P256",
    pb: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
    askKeyEncipherment: false,
  },
  {
    key: "p384",
    alg: "EC_P384",
    pb: KeyAlgorithm.KEY_ALGORITHM_EC_P384,
    askKeyEncipherment: false,
  },
  {
    key: "ed25519",
    alg: "ED25519",
    pb: KeyAlgorithm.KEY_ALGORITHM_ED25519,
    askKeyEncipherment: false,
  },
];

describe("IssueCertificate with a CSR", () => {
  let h: TestCertmint;
  let root: CertificateAuthority;
  let profileId: string;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    root = await createRoot(h, "root");
    ({ profileId } = await createProfileRows(h, { caId: root.id, slug: "web" }));
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  for (const c of CASES) {
    it(`issues a TLS server certificate for a ${c.alg} key`, async () => {
      const { csrPem, keyPem } = makeCsr(
        tmp,
        "/CN=api.example.com",
        ["DNS:API.Example.COM.", "IP:10.0.0.5"],
        c.key,
      );
      const ttl = 7 * DAY;
      const before = new Date();
      const res = await issue(
        h,
        csrRequest("web", csrPem, {
          ttlSeconds: ttl,
          keyUsages: c.askKeyEncipherment
            ? [KeyUsage.KEY_USAGE_DIGITAL_SIGNATURE, KeyUsage.KEY_USAGE_KEY_ENCIPHERMENT]
            : [],
        }),
      );
      const after = new Date();

      expect(res.status).toBe(ISSUED);
      expect(res.privateKeyPem).toBe("");
      const issued = res.certificate!;
      const pem = issued.certificatePem;
      expect(issued.certificateChainPem).toEqual([root.certificatePem]);
      expect(issued.issuingCaCertificatePem).toBe(root.certificatePem);

      // openssl, an independent implementation, accepts it as a TLS server certificate.
      const v = verifyLeaf(tmp, root.certificatePem, pem, ["-purpose", "sslserver"]);
      expect(v.stderr).toBe("");
      expect(v.code).toBe(0);
      expect(v.stdout).toMatch(/: OK\s*$/);

      // Node's parser: identity, key, issuer signature, validity.
      const x = new X509Certificate(pem);
      const ca = new X509Certificate(root.certificatePem);
      expect(x.subject).toBe("CN=api.example.com");
      expect(x.subjectAltName).toBe("DNS:api.example.com, IP Address:10.0.0.5");
      expect(x.checkIssued(ca)).toBe(true);
      expect(x.verify(ca.publicKey)).toBe(true);
      expect(spkiOf(x).equals(spkiOf(keyPem))).toBe(true);
      expect(x.ca).toBe(false);

      const notBefore = new Date(x.validFrom);
      const notAfter = new Date(x.validTo);
      expect(notBefore.getTime()).toBeLessThanOrEqual(after.getTime());
      expect(notAfter.getTime()).toBeGreaterThanOrEqual(before.getTime() + ttl * 1000 - 2000);
      expect(notAfter.getTime()).toBeLessThanOrEqual(after.getTime() + ttl * 1000 + 1000);
      expect(notBefore.getTime()).toBeGreaterThanOrEqual(new Date(ca.validFrom).getTime());
      expect(notAfter.getTime()).toBeLessThanOrEqual(new Date(ca.validTo).getTime());
      expect(issued.notBefore!.getTime()).toBe(notBefore.getTime());
      expect(issued.notAfter!.getTime()).toBe(notAfter.getTime());

      // Serial: positive, at least 64 bits, as the response and the database say.
      const serialHex = x.serialNumber.toLowerCase();
      expect(serialHex).toBe(issued.serialNumber);
      expect(Number.parseInt(serialHex.slice(0, 2), 16)).toBeLessThan(0x80);
      expect(BigInt(`0x${serialHex}`) >= 1n << 63n).toBe(true);

      // Extensions, as openssl reads them.
      const text = certText(tmp, pem);
      const ku = extensionBlock(text, "X509v3 Key Usage");
      expect(ku.critical).toBe(true);
      expect(ku.body).toBe(
        c.askKeyEncipherment ? "Digital Signature, Key Encipherment" : "Digital Signature",
      );
      const eku = extensionBlock(text, "X509v3 Extended Key Usage");
      expect(eku.body).toBe("TLS Web Server Authentication");
      const bc = extensionBlock(text, "X509v3 Basic Constraints");
      expect(bc.critical).toBe(true);
      expect(bc.body).toBe("CA:FALSE");
      expect(akiOf(tmp, pem)).toBe(skiOf(tmp, root.certificatePem));
      expect(skiOf(tmp, pem)).toMatch(/^[0-9a-f]{40}$/);
      expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);

      // The rows.
      const [row] = await h.db.query("select * from certificate where id = $1", [
        issued.certificateId,
      ]);
      expect(row).toBeDefined();
      expect(row!.serial_number).toBe(serialHex);
      expect(row!.ca_id).toBe(root.id);
      expect(row!.profile_id).toBe(profileId);
      expect(row!.subject).toEqual({
        attributes: [{ type: "COMMON_NAME", value: "api.example.com" }],
      });
      expect(row!.sans).toEqual({
        dns: ["api.example.com"],
        ip: ["10.0.0.5"],
        email: [],
        uri: [],
      });
      expect(row!.fingerprint_sha256).toBe(sha256Hex(derOf(pem)));
      expect(row!.key_algorithm).toBe(c.alg);
      expect(row!.certificate_pem).toBe(pem);
      expect(row!.sealed_private_key).toBeNull();
      expect(row!.certificate_request_id).toBe(res.certificateRequestId);

      const [req] = await h.db.query("select * from certificate_request where id = $1", [
        res.certificateRequestId,
      ]);
      expect(req!.status).toBe("ISSUED");
      expect(req!.certificate_id).toBe(issued.certificateId);
      expect(req!.reserved_serial).toBe(serialHex);
      expect(req!.csr_pem).toBe(csrPem);

      // GetCertificate says the same.
      const got = await getCert(h, issued.certificateId);
      expect(got.keyAlgorithm).toBe(c.pb);
      expect(got.signatureAlgorithm).toBe(SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_WITH_SHA256);
      expect(got.fingerprintSha256).toBe(sha256Hex(derOf(pem)));
      expect(got.subjectAlternativeNames?.dnsNames).toEqual(["api.example.com"]);
      expect(got.certificateProfileId).toBe(profileId);
      expect(got.certificateAuthorityId).toBe(root.id);
    });
  }

  it("marks subjectAltName critical when the CSR's subject is empty", async () => {
    const { csrPem } = makeCsr(tmp, "/", ["DNS:empty.example.com"]);
    const res = await issue(h, csrRequest("web", csrPem));
    const pem = res.certificate!.certificatePem;
    expect(new X509Certificate(pem).subject ?? "").toBe("");
    expect(opensslOk(["x509", "-noout", "-subject", "-in", tmp.file("e.pem", pem)]).trim()).toBe(
      "subject=",
    );
    const san = extensionBlock(certText(tmp, pem), "X509v3 Subject Alternative Name");
    expect(san.critical).toBe(true);
    expect(san.body).toBe("DNS:empty.example.com");
    expect(verifyLeaf(tmp, root.certificatePem, pem, ["-purpose", "sslserver"]).code).toBe(0);
  });

  it("under an intermediate CA: the chain is [intermediate, root] and verifies", async () => {
    const inter = (
      await call(
        h.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "issuing",
          parentCertificateAuthority: root.id,
          subject: { commonName: "Issuing CA" },
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
        }),
      )
    ).certificateAuthority!;
    await createProfileRows(h, { caId: inter.id, slug: "web-inter" });
    const { csrPem } = makeCsr(tmp, "/CN=deep.example.com", ["DNS:deep.example.com"], "p384");
    const res = await issue(h, csrRequest("web-inter", csrPem));
    const c = res.certificate!;
    expect(c.certificateChainPem).toEqual([inter.certificatePem, root.certificatePem]);
    expect(c.issuingCaCertificatePem).toBe(inter.certificatePem);
    const v = openssl([
      "verify",
      "-x509_strict",
      "-purpose",
      "sslserver",
      "-CAfile",
      tmp.file("root.pem", root.certificatePem),
      "-untrusted",
      tmp.file("inter.pem", inter.certificatePem),
      tmp.file("leaf.pem", c.certificatePem),
    ]);
    expect(v.code).toBe(0);
    expect(akiOf(tmp, c.certificatePem)).toBe(skiOf(tmp, inter.certificatePem));
    expect(certText(tmp, c.certificatePem)).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    const [row] = await h.db.query("select ca_id, chain_pem from certificate where id = $1", [
      c.certificateId,
    ]);
    expect(row!.ca_id).toBe(inter.id);
    expect(row!.chain_pem).toEqual([inter.certificatePem, root.certificatePem]);
  });

  it("adds keyEncipherment to an RSA certificate only when the request asks for it", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=rsa.example.com", ["DNS:rsa.example.com"], "rsa");
    const res = await issue(h, csrRequest("web", csrPem));
    const ku = extensionBlock(certText(tmp, res.certificate!.certificatePem), "X509v3 Key Usage");
    expect(ku.critical).toBe(true);
    expect(ku.body).toBe("Digital Signature");
  });

  it("refuses keyEncipherment for an EC key and issues nothing", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=ec.example.com", ["DNS:ec.example.com"], "p256");
    const before = await rowCounts(h);
    const err = await rpcError(
      issue(
        h,
        csrRequest("web", csrPem, {
          keyUsages: [KeyUsage.KEY_USAGE_DIGITAL_SIGNATURE, KeyUsage.KEY_USAGE_KEY_ENCIPHERMENT],
        }),
      ),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("POLICY_VIOLATION");
    expect(err.violations.map((v) => `${v.field} ${v.reason}`)).toEqual([
      "key_usages[1] KEY_USAGE_INCONSISTENT",
    ]);
    const after = await rowCounts(h);
    expect(after.certificates).toBe(before.certificates);
  });
});
