/**
 * Issue 10 item 15 through the API: a CSR whose EC key carries explicit curve parameters
 * (openssl -pkeyopt ec_param_enc:explicit) used to be issued, the key re-encoded with its
 * named curve. RFC 5480 2.1.1 allows only named curves (Go's crypto/x509 refuses the other
 * forms), so IssueCertificate and RenewCertificate refuse it: INVALID_ARGUMENT on csr_pem,
 * reason CSR_KEY_EXPLICIT_CURVE, nothing stored. The same key as a named curve is issued, and
 * the certificate carries exactly the SubjectPublicKeyInfo the CSR did.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { opensslOk, TempDir } from "../support/openssl";
import {
  Code,
  call,
  createProfileRows,
  createRoot,
  csrRequest,
  issue,
  renewRequest,
  rowCounts,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

let h: TestCertmint;
const tmp = new TempDir();
const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");

/** A CSR for the key in `keyPath`, its public key encoded with explicit parameters or named. */
function csrFor(keyPath: string, explicit: boolean): string {
  const key = explicit
    ? opensslOk(["ec", "-in", keyPath, "-param_enc", "explicit"])
    : opensslOk(["ec", "-in", keyPath]);
  return opensslOk([
    "req",
    "-new",
    "-key",
    tmp.file(explicit ? "explicit.key" : "named.key", key),
    "-subj",
    "/CN=api.example.com",
    "-addext",
    "subjectAltName=DNS:api.example.com",
  ]);
}

let keyPath: string;
beforeAll(async () => {
  h = await startTestCertmint();
  const ca = await createRoot(h);
  await createProfileRows(h, { caId: ca.id });
  keyPath = tmp.out("p256.key");
  opensslOk(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyPath]);
}, 60_000);
afterAll(async () => {
  await h?.stop();
  tmp.remove();
});

describe("a CSR with explicit EC parameters", () => {
  it("is what openssl says it is: a prime-field curve spelled out", () => {
    const text = opensslOk(["req", "-noout", "-text"], csrFor(keyPath, true));
    expect(text).toContain("Field Type: prime-field");
    expect(text).not.toContain("NIST CURVE");
  });

  it("IssueCertificate: INVALID_ARGUMENT on csr_pem (CSR_KEY_EXPLICIT_CURVE), nothing stored", async () => {
    const before = await rowCounts(h);
    const err = await rpcError(issue(h, csrRequest("web", csrFor(keyPath, true))));
    expect({ code: err.code, reason: err.reason }).toEqual({
      code: Code.INVALID_ARGUMENT,
      reason: "CSR_KEY_EXPLICIT_CURVE",
    });
    expect(err.violations).toEqual([
      expect.objectContaining({ field: "csr_pem", reason: "CSR_KEY_EXPLICIT_CURVE" }),
    ]);
    expect(err.message).toContain("RFC 5480 2.1.1");
    expect(await rowCounts(h)).toEqual(before);
  });

  it("the same key as a named curve is issued, its SubjectPublicKeyInfo kept byte for byte", async () => {
    const csrPem = csrFor(keyPath, false);
    const res = await issue(h, csrRequest("web", csrPem));
    const cert = new X509Certificate(res.certificate!.certificatePem);
    // The SubjectPublicKeyInfo openssl reads from the CSR is in the certificate's DER as is.
    const spki = der(opensslOk(["req", "-in", tmp.file("named.csr", csrPem), "-pubkey", "-noout"]));
    expect(spki.length).toBe(91); // id-ecPublicKey, prime256v1, an uncompressed point
    expect(cert.raw.includes(spki)).toBe(true);
  });

  it("RenewCertificate with key_source CSR: refused the same way, nothing stored", async () => {
    const issued = await issue(h, csrRequest("web", csrFor(keyPath, false)));
    const before = await rowCounts(h);
    const err = await rpcError(
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({
          certificateId: issued.certificate!.certificateId,
          keySource: 3, // RENEWAL_KEY_SOURCE_CSR
          csrPem: csrFor(keyPath, true),
        }),
      ),
    );
    expect({ code: err.code, reason: err.reason }).toEqual({
      code: Code.INVALID_ARGUMENT,
      reason: "CSR_KEY_EXPLICIT_CURVE",
    });
    expect(err.violations.map((v) => v.field)).toEqual(["csr_pem"]);
    expect(await rowCounts(h)).toEqual(before);
  });
});
