/**
 * Issue 10 item 15 for CA certificates: an external intermediate's certificate, signed outside,
 * whose SubjectPublicKeyInfo spells the EC curve out (specifiedCurve) instead of naming it
 * (RFC 5480 2.1.1), is refused by ImportCertificateAuthorityCertificate with a precise reason
 * (before: CERTIFICATE_KEY_MISMATCH, as if it were another key); so is a chain certificate in
 * that form, since certmint would hand it out in every chain. The CA stays PENDING_CERTIFICATE,
 * and the same certificate with the named curve then activates it.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import {
  ACTIVE,
  CA_EXTENSIONS,
  opensslOk,
  opensslRoot,
  opensslSign,
  PENDING,
  SignatureAlgorithm,
  subject,
  TempDir,
} from "./helpers";

let h: TestCertmint;
const tmp = new TempDir();

beforeAll(async () => {
  h = await startTestCertmint();
}, 60_000);
afterAll(async () => {
  await h?.stop();
  tmp.remove();
});

/** openssl x509 -req with the CSR's key replaced by `publicKeyPem` (-force_pubkey). */
function signWithKey(
  csrPem: string,
  publicKeyPem: string,
  issuer: { keyPath: string; certPath: string },
): string {
  const ext = tmp.file("ext.cnf", `${CA_EXTENSIONS.join("\n")}\n`);
  const out = tmp.out("signed.pem");
  opensslOk([
    "x509",
    "-req",
    "-in",
    tmp.file("req.csr", csrPem),
    "-force_pubkey",
    tmp.file("pub.pem", publicKeyPem),
    "-CA",
    issuer.certPath,
    "-CAkey",
    issuer.keyPath,
    "-CAcreateserial",
    "-days",
    "365",
    "-extfile",
    ext,
    "-out",
    out,
  ]);
  return opensslOk(["x509", "-in", out]);
}

const explicitForm = (publicKeyPem: string) =>
  opensslOk(["ec", "-pubin", "-param_enc", "explicit"], publicKeyPem);

describe("ImportCertificateAuthorityCertificate and explicit EC parameters", () => {
  it("refuses the CA's own key in explicit form, then activates with the named form", async () => {
    const outside = opensslRoot(tmp);
    const created = await call(h.authorities, "createExternalIntermediateCertificateAuthority", {
      slug: "ext-explicit",
      description: "",
      subject: subject("External explicit"),
      keyAlgorithm: 0,
      signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
    });
    const ca = created.certificateAuthority!;
    const publicKey = opensslOk(["req", "-pubkey", "-noout"], created.csrPem);
    const explicit = signWithKey(created.csrPem, explicitForm(publicKey), outside);
    expect(opensslOk(["x509", "-noout", "-text"], explicit)).toContain("Field Type: prime-field");

    const err = await expectRpcError(
      call(h.authorities, "importCertificateAuthorityCertificate", {
        certificateAuthority: ca.id,
        certificatePem: explicit,
        certificateChainPem: [outside.pem],
      }),
    );
    expect({ code: err.code, reason: err.reason }).toEqual({
      code: status.INVALID_ARGUMENT,
      reason: "CERTIFICATE_KEY_EXPLICIT_CURVE",
    });
    expect(err.violations).toEqual([
      expect.objectContaining({
        field: "certificate_pem",
        reason: "CERTIFICATE_KEY_EXPLICIT_CURVE",
      }),
    ]);
    expect(err.message).toContain("RFC 5480 2.1.1");
    const [row] = await h.db.query<{ status: string; certificate_pem: string | null }>(
      "select status, certificate_pem from certificate_authority where id = $1",
      [ca.id],
    );
    expect(row).toEqual({ status: "PENDING_CERTIFICATE", certificate_pem: null });

    // The control: the same key, named curve, same outside root.
    const named = opensslSign(tmp, created.csrPem, outside, CA_EXTENSIONS);
    const ok = await call(h.authorities, "importCertificateAuthorityCertificate", {
      certificateAuthority: ca.id,
      certificatePem: named,
      certificateChainPem: [outside.pem],
    });
    expect(ok.certificateAuthority!.status).toBe(ACTIVE);
  });

  it("refuses a chain whose root's key is in explicit form, naming the chain entry", async () => {
    const outside = opensslRoot(tmp, { cn: "Explicit Root" });
    // The outside root re-issued over its own key in explicit form (same name, same key).
    const rootKeyExplicit = explicitForm(
      opensslOk(["x509", "-pubkey", "-noout", "-in", outside.certPath]),
    );
    const rootCsr = opensslOk([
      "req",
      "-new",
      "-key",
      outside.keyPath,
      "-subj",
      "/O=Outside Corp/CN=Explicit Root",
    ]);
    const explicitRoot = signWithKey(rootCsr, rootKeyExplicit, outside);
    const created = await call(h.authorities, "createExternalIntermediateCertificateAuthority", {
      slug: "ext-explicit-root",
      description: "",
      subject: subject("External under an explicit root"),
      keyAlgorithm: 0,
      signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
    });
    const err = await expectRpcError(
      call(h.authorities, "importCertificateAuthorityCertificate", {
        certificateAuthority: created.certificateAuthority!.id,
        certificatePem: opensslSign(tmp, created.csrPem, outside, CA_EXTENSIONS),
        certificateChainPem: [explicitRoot],
      }),
    );
    expect({ code: err.code, reason: err.reason }).toEqual({
      code: status.INVALID_ARGUMENT,
      reason: "CERTIFICATE_KEY_EXPLICIT_CURVE",
    });
    expect(err.violations.map((v) => v.field)).toEqual(["certificate_chain_pem[0]"]);
    const ca = await call(h.authorities, "getCertificateAuthority", {
      certificateAuthority: "ext-explicit-root",
    });
    expect(ca.certificateAuthority!.status).toBe(PENDING);
  });
});
