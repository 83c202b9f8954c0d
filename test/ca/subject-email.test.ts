/**
 * A CA whose subject has an emailAddress carries it as an rfc822Name SAN too (RFC 5280 4.1.2.6:
 * a certificate with an email address MUST carry it in subjectAltName). An outside lint probe
 * (2026-12-05) found CA certificates with the subject attribute alone (zlint
 * e_subj_email_not_in_san, pkilint subject_email_address_not_in_san); leaves already had it.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { opensslOk, TempDir } from "../support/openssl";
import { KeyAlgorithm, SignatureAlgorithm, subject } from "./helpers";

describe("a CA subject's emailAddress", () => {
  let h: TestCertmint;
  const tmp = new TempDir();
  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it("is also an rfc822Name SAN, not critical, on a root and an intermediate; without one, no SAN", async () => {
    const root = await call(h.authorities, "createRootCertificateAuthority", {
      slug: "mail-root",
      description: "",
      subject: { ...subject("Mail Root"), emailAddress: "pki@example.com" },
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
    });
    const inter = await call(h.authorities, "createIntermediateCertificateAuthority", {
      slug: "mail-inter",
      description: "",
      parentCertificateAuthority: "mail-root",
      // The SAN is normalised as a leaf's: the domain's case and trailing dot go.
      subject: { ...subject("Mail Intermediate"), emailAddress: "issuing@Example.COM." },
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
    });
    const plain = await call(h.authorities, "createRootCertificateAuthority", {
      slug: "plain-root",
      description: "",
      subject: subject("Plain Root"),
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
    });
    const rootPem = root.certificateAuthority!.certificatePem;
    const interPem = inter.certificateAuthority!.certificatePem;
    expect(new X509Certificate(rootPem).subjectAltName).toBe("email:pki@example.com");
    expect(new X509Certificate(interPem).subjectAltName).toBe("email:issuing@example.com");
    expect(new X509Certificate(plain.certificateAuthority!.certificatePem).subjectAltName).toBe(
      undefined,
    );
    const text = opensslOk(["x509", "-noout", "-text"], interPem);
    expect(text).toMatch(/X509v3 Subject Alternative Name: \n\s+email:issuing@example.com/);
    expect(text).not.toMatch(/Subject Alternative Name: critical/);
    // The chain still verifies strictly.
    const rootFile = tmp.file("root.pem", rootPem);
    const out = opensslOk(["verify", "-x509_strict", "-CAfile", rootFile], interPem);
    expect(out).toMatch(/OK/);
  });
});
