/**
 * A certificate with id-kp-OCSPSigning issued through a profile carries id-pkix-ocsp-nocheck
 * (RFC 6960 4.2.2.2.1: its status is not checked), so it carries no CRL distribution point and
 * no AIA OCSP URL (a responder pointed at for its own status is a loop; CA/B BR 7.1.2.8 forbids
 * the CDP), as certmint's own delegated responder certificates do; it keeps the AIA caIssuers
 * URL, which builds its path. A certificate of the same profile without OCSPSigning keeps both.
 * Until stop 44 of 2026-12-06 the responder certificate carried both (an outside probe, E F3).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExtendedKeyUsage } from "../../gen/ts/certmint/v1/common";
import { createProfileRows, createRoot } from "../support/fixtures";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { extensionBlock, openssl, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { certificateText, issueResponderCertificate, ocspResponderSpec } from "./helpers";

describe("status pointers in OCSP responder certificates issued through a profile", () => {
  let h: TestCertmint;
  let base = "";
  let rootPem = "";
  let rootId = "";
  const tmp = new TempDir();

  beforeAll(async () => {
    const port = await unusedPort();
    base = `http://127.0.0.1:${port}`;
    h = await startTestCertmint({
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      CERTMINT_PUBLIC_BASE_URL: base,
      CERTMINT_OCSP_URL: `${base}/ocsp`,
    });
    const root = await createRoot(h, "pointers-root");
    rootPem = root.certificatePem;
    rootId = root.id;
    await createProfileRows(h, { slug: "responder", caId: root.id, spec: ocspResponderSpec() });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const issue = (eku: ExtendedKeyUsage) => issueResponderCertificate(h, "responder", eku);
  const text = certificateText;

  it("an OCSP-signing certificate has nocheck, caIssuers, and neither a CDP nor an OCSP URL", async () => {
    const cert = await issue(ExtendedKeyUsage.EXTENDED_KEY_USAGE_OCSP_SIGNING);
    const t = text(cert.certificatePem);
    expect(t).toContain("OCSP No Check");
    expect(t).not.toContain("CRL Distribution Points");
    expect(extensionBlock(t, "Authority Information Access").body).toBe(
      `CA Issuers - URI:${base}/ca/${rootId}.crt`,
    );
    const v = openssl([
      "verify",
      "-x509_strict",
      "-purpose",
      "ocsphelper",
      "-CAfile",
      tmp.file("root.pem", rootPem),
      tmp.file("responder.pem", cert.certificatePem),
    ]);
    expect(v.stdout + v.stderr).toMatch(/: OK/);
  });

  it("a certificate of the same profile without OCSPSigning keeps its CDP and OCSP URL", async () => {
    const cert = await issue(ExtendedKeyUsage.EXTENDED_KEY_USAGE_CLIENT_AUTH);
    const t = text(cert.certificatePem);
    expect(t).not.toContain("OCSP No Check");
    expect(extensionBlock(t, "X509v3 CRL Distribution Points").body).toContain(
      `${base}/crl/${rootId}.crl`,
    );
    expect(extensionBlock(t, "Authority Information Access").body).toContain(
      `OCSP - URI:${base}/ocsp`,
    );
  });
});
