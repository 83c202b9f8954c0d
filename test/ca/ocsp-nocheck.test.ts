/**
 * id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): a certificate with id-kp-OCSPSigning issued through
 * a profile carries it, as the delegated responder certificates certmint makes for itself do
 * (until stop 42 of 2026-12-06 the profile's had none); a certificate without OCSPSigning, and
 * a CA certificate, do not.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExtendedKeyUsage } from "../../gen/ts/certmint/v1/common";
import { createProfileRows, createRoot } from "../support/fixtures";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { extensionBlock, opensslOk, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { certificateText, issueResponderCertificate, ocspResponderSpec } from "./helpers";

describe("id-pkix-ocsp-nocheck on OCSP responder certificates", () => {
  let h: TestCertmint;
  let url = "";
  const tmp = new TempDir();

  beforeAll(async () => {
    const port = await unusedPort();
    url = `http://127.0.0.1:${port}/ocsp`;
    h = await startTestCertmint({
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      CERTMINT_OCSP_RESPONDER: "delegated",
    });
    const root = await createRoot(h, "nocheck-root");
    await createProfileRows(h, { slug: "responder", caId: root.id, spec: ocspResponderSpec() });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const issue = (eku: ExtendedKeyUsage) => issueResponderCertificate(h, "responder", eku);
  const text = certificateText;

  it("a certificate with id-kp-OCSPSigning issued through a profile carries it, not critical", async () => {
    const cert = await issue(ExtendedKeyUsage.EXTENDED_KEY_USAGE_OCSP_SIGNING);
    const t = text(cert.certificatePem);
    expect(extensionBlock(t, "X509v3 Extended Key Usage").body).toBe("OCSP Signing");
    expect(extensionBlock(t, "OCSP No Check").critical).toBe(false);
  });

  it("a certificate without id-kp-OCSPSigning, and a CA certificate, carry none", async () => {
    const cert = await issue(ExtendedKeyUsage.EXTENDED_KEY_USAGE_CLIENT_AUTH);
    expect(text(cert.certificatePem)).not.toContain("OCSP No Check");
    const [root] = await h.db.query<{ certificate_pem: string }>(
      "select certificate_pem from certificate_authority where slug = 'nocheck-root'",
    );
    expect(text(root!.certificate_pem)).not.toContain("OCSP No Check");
  });

  it("the delegated responder certificate certmint makes for itself carries the same extension", async () => {
    const [root] = await h.db.query<{ certificate_pem: string }>(
      "select certificate_pem from certificate_authority where slug = 'nocheck-root'",
    );
    const req = tmp.out("req.der");
    opensslOk([
      "ocsp",
      "-no_nonce",
      "-issuer",
      tmp.file("root.pem", root!.certificate_pem),
      "-serial",
      "0x0102030405",
      "-reqout",
      req,
    ]);
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/ocsp-request" },
      body: readFileSync(req),
    });
    expect(res.status).toBe(200);
    const [row] = await h.db.query<{ certificate_pem: string }>(
      "select certificate_pem from ocsp_responder_certificate where certificate_pem is not null",
    );
    const t = text(row!.certificate_pem);
    expect(extensionBlock(t, "X509v3 Extended Key Usage").body).toBe("OCSP Signing");
    expect(extensionBlock(t, "OCSP No Check").critical).toBe(false);
  });
});
