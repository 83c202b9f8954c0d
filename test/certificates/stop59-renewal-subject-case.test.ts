/**
 * A renewal's CSR names the renewed certificate's subject when RFC 5280 7.1 takes the two for
 * one name: caseIgnoreMatch after RFC 4518's preparation, so "O=ACME" for "O=Acme". Until stop
 * 59 of 2026-12-07 such a CSR was refused CSR_IDENTITY_MISMATCH, while a common name in another
 * case was accepted (an outside probe). The renewal keeps the certificate's own spelling, since
 * the subject signed is the renewed certificate's. Another organization is still refused.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tlsServerSpec } from "../support/fixtures";
import {
  Code,
  call,
  createProfileRows,
  createRoot,
  csrRequest,
  DAY,
  issue,
  makeCsr,
  opensslOk,
  RenewalKeySource,
  renewRequest,
  rowCounts,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
  verifyLeaf,
} from "./helpers";

describe("stop 59: a renewal CSR's subject compared as RFC 5280 7.1 compares names", () => {
  let h: TestCertmint;
  let rootPem = "";
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    rootPem = root.certificatePem;
    const spec = tlsServerSpec();
    spec.subject.ORGANIZATION = { allowed: ["*"], denied: [], required: false };
    await createProfileRows(h, { caId: root.id, slug: "web", spec });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  async function acmeCertificate(name: string) {
    const { csrPem, keyPem } = makeCsr(tmp, `/O=Acme/CN=${name}`, [`DNS:${name}`]);
    const res = await issue(h, csrRequest("web", csrPem, { ttlSeconds: 6 * DAY }));
    return { cert: res.certificate!, keyFile: tmp.file(`${name}.key`, keyPem) };
  }

  const csrFor = (keyFile: string, subj: string, name: string) =>
    opensslOk([
      "req",
      "-new",
      "-key",
      keyFile,
      "-subj",
      subj,
      "-addext",
      `subjectAltName=DNS:${name}`,
    ]);

  it("O=ACME renews O=Acme, and the renewal keeps O=Acme", async () => {
    const name = "case.example.com";
    const { cert, keyFile } = await acmeCertificate(name);
    const res = await call(
      h.certificates,
      "renewCertificate",
      renewRequest({
        certificateId: cert.certificateId,
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_CSR,
        csrPem: csrFor(keyFile, `/O=ACME/CN=${name}`, name),
      }),
    );
    const next = res.certificate!;
    expect(next.certificateId).not.toBe(cert.certificateId);
    expect(new X509Certificate(next.certificatePem).subject).toBe(
      new X509Certificate(cert.certificatePem).subject,
    );
    expect(new X509Certificate(next.certificatePem).subject).toContain("O=Acme");
    expect(verifyLeaf(tmp, rootPem, next.certificatePem).code).toBe(0);
  });

  it("another organization is refused CSR_IDENTITY_MISMATCH and nothing is written", async () => {
    const name = "other.example.com";
    const { cert, keyFile } = await acmeCertificate(name);
    const before = await rowCounts(h);
    const err = await rpcError(
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({
          certificateId: cert.certificateId,
          keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_CSR,
          csrPem: csrFor(keyFile, `/O=Acme Two/CN=${name}`, name),
        }),
      ),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("CSR_IDENTITY_MISMATCH");
    expect(await rowCounts(h)).toEqual(before);
  });
});
