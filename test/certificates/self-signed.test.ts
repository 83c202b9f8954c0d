/**
 * Self-signed profiles (no CA): certmint generates the key and signs the certificate with it;
 * the chain is the certificate itself. A CSR cannot be self-signed by certmint (it lacks the
 * key), so it is refused.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  akiOf,
  attrRequest,
  Code,
  call,
  certText,
  createProfileRows,
  csrRequest,
  decodeStatus,
  extensionBlock,
  FAILED,
  getCert,
  ISSUED,
  issue,
  KeyAlgorithm,
  makeCsr,
  openssl,
  RenewalKeySource,
  renewRequest,
  requestStatus,
  rowCounts,
  rpcError,
  skiOf,
  startTestCertmint,
  TempDir,
  type TestCertmint,
} from "./helpers";

describe("self-signed profiles", () => {
  let h: TestCertmint;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    await createProfileRows(h, { caId: null, slug: "self" });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  for (const [alg, pb] of [
    ["EC_P256", KeyAlgorithm.KEY_ALGORITHM_EC_P256],
    ["ED25519", KeyAlgorithm.KEY_ALGORITHM_ED25519],
    ["RSA_2048", KeyAlgorithm.KEY_ALGORITHM_RSA_2048],
  ] as const) {
    it(`issues a self-signed ${alg} certificate whose chain is itself`, async () => {
      const res = await issue(
        h,
        attrRequest("self", {
          cn: "self.example.com",
          dns: ["self.example.com"],
          keyAlgorithm: pb,
        }),
      );
      expect(res.status).toBe(ISSUED);
      const c = res.certificate!;
      expect(c.certificateChainPem).toEqual([c.certificatePem]);
      expect(c.issuingCaCertificatePem).toBe(c.certificatePem);

      const x = new X509Certificate(c.certificatePem);
      expect(x.issuer).toBe(x.subject);
      expect(x.subject).toBe("CN=self.example.com");
      expect(x.verify(x.publicKey)).toBe(true);
      expect(x.checkPrivateKey(createPrivateKey(res.privateKeyPem))).toBe(true);

      const file = tmp.file("self.pem", c.certificatePem);
      const v = openssl(["verify", "-CAfile", file, file]);
      expect(v.code).toBe(0);
      expect(v.stdout).toMatch(/: OK\s*$/);
      const strict = openssl([
        "verify",
        "-x509_strict",
        "-purpose",
        "sslserver",
        "-CAfile",
        file,
        file,
      ]);
      expect(strict.code).toBe(0);

      const text = certText(tmp, c.certificatePem);
      expect(extensionBlock(text, "X509v3 Basic Constraints").body).toBe("CA:FALSE");
      if (text.includes("X509v3 Authority Key Identifier")) {
        expect(akiOf(tmp, c.certificatePem)).toBe(skiOf(tmp, c.certificatePem));
      }

      const [row] = await h.db.query("select ca_id, key_algorithm from certificate where id = $1", [
        c.certificateId,
      ]);
      expect(row).toEqual({ ca_id: null, key_algorithm: alg });
      expect((await getCert(h, c.certificateId)).certificateAuthorityId).toBe("");
    });
  }

  it("refuses a CSR (SELF_SIGNED_NEEDS_GENERATED_KEY) and records the refusal", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=self.example.com", ["DNS:self.example.com"]);
    const before = await rowCounts(h);
    const err = await rpcError(issue(h, csrRequest("self", csrPem)));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("SELF_SIGNED_NEEDS_GENERATED_KEY");
    expect(err.message).toContain("send attributes instead of a CSR");
    const after = await rowCounts(h);
    expect(after.certificates).toBe(before.certificates);
    expect(after.requests).toBe(before.requests + 1);
    const st = await requestStatus(h, err.metadata.certificate_request_id!);
    expect(st.certificateRequest!.status).toBe(FAILED);
    expect(decodeStatus(st.certificateRequest!.error).reason).toBe(
      "SELF_SIGNED_NEEDS_GENERATED_KEY",
    );
  });

  // Found by an outside probe (2026-12-05): a REUSE renewal, which sends no CSR, was told to
  // "send attributes instead of a CSR".
  it("refuses a REUSE renewal with what to do instead, and issues nothing", async () => {
    const first = await issue(
      h,
      attrRequest("self", {
        cn: "self.example.com",
        dns: ["self.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    const before = await rowCounts(h);
    const err = await rpcError(
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({
          certificateId: first.certificate!.certificateId,
          keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
        }),
      ),
    );
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("SELF_SIGNED_NEEDS_GENERATED_KEY");
    expect(err.message).toContain("RENEWAL_KEY_SOURCE_NEW");
    expect(err.message).not.toContain("CSR");
    expect((await rowCounts(h)).certificates).toBe(before.certificates);
  });
});
