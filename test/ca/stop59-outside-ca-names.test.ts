/**
 * An outside CA may certify an external intermediate under another name than the one certmint
 * asked for, with parts certmint's Subject cannot carry (DC components, as Active Directory
 * names go; a multi-valued RDN). The CA's `subject` then holds what certmint can represent, and
 * the check that no certificate is named as its issuer (RFC 5280 6.1: a self-issued
 * certificate) compared a leaf against that: "O=certmint tests, O=external, CN=External ext-dc"
 * was refused SUBJECT_IS_ISSUER under a CA certified as "DC=com, DC=corp, O=..., CN=...", a
 * different name by RFC 5280 7.1 (an outside probe, stop 59 of 2026-12-07). Now a match is
 * confirmed on the CA's certificate: such a leaf is signed, and chains (its issuer is the CA's
 * certificate's subject, byte for byte); a leaf named as a CA certified under the name asked
 * for is still refused.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { createProfileRows, tlsServerSpec } from "../support/fixtures";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import {
  CA_EXTENSIONS,
  createExternal,
  importCaCertificate,
  opensslOk,
  opensslRoot,
  TempDir,
} from "./helpers";

/** The outside root signs `csrPem` under `subj` (openssl's /A=v/B=w form), not the CSR's name. */
function signAs(
  tmp: TempDir,
  csrPem: string,
  root: { keyPath: string; certPath: string },
  subj: string,
): string {
  const out = tmp.out(`signed-${Math.random().toString(36).slice(2)}.pem`);
  opensslOk([
    "x509",
    "-req",
    "-in",
    tmp.file("req.csr", csrPem),
    "-subj",
    subj,
    "-CA",
    root.certPath,
    "-CAkey",
    root.keyPath,
    "-CAcreateserial",
    "-days",
    "700",
    "-sha256",
    "-extfile",
    tmp.file("ext.cnf", `${CA_EXTENSIONS.join("\n")}\n`),
    "-out",
    out,
  ]);
  return opensslOk(["x509", "-in", out]);
}

const leafRequest = (profile: string, commonName: string) =>
  IssueCertificateRequest.fromPartial({
    certificateProfile: profile,
    source: {
      $case: "attributes",
      value: {
        subject: { commonName, organization: ["certmint tests", "external"] },
        subjectAlternativeNames: { dnsNames: ["leaf.example.com"] },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      },
    },
  });

describe("stop 59: a leaf against an outside CA's name as certified", () => {
  const tmp = new TempDir();
  let h: TestCertmint;
  let rootPem = "";

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = opensslRoot(tmp);
    rootPem = root.pem;
    const spec = tlsServerSpec();
    spec.subject.ORGANIZATION = { allowed: ["*"], denied: [], required: false };
    for (const [slug, subj] of [
      ["ext-dc", "/DC=com/DC=corp/O=certmint tests/O=external/CN=External ext-dc"],
      ["ext-same", "/O=certmint tests/O=external/CN=External ext-same"],
    ] as const) {
      const ca = await createExternal(h, slug);
      const imported = await importCaCertificate(h, slug, signAs(tmp, ca.csrPem, root, subj), [
        root.pem,
      ]);
      await createProfileRows(h, { slug: `leaf-${slug}`, caId: imported.id, spec });
    }
  });

  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it("a leaf with the name asked for is signed under the CA certified with DC parts, and chains", async () => {
    const res = await call(
      h.certificates,
      "issueCertificate",
      leafRequest("leaf-ext-dc", "External ext-dc"),
    );
    const leaf = new X509Certificate(res.certificate!.certificatePem);
    expect(leaf.subject).toContain("CN=External ext-dc");
    expect(leaf.subject).not.toContain("DC=");
    // Its issuer is the CA's certificate's subject, DC parts and all.
    expect(leaf.issuer).toContain("DC=corp");
    const chain = res.certificate!.certificateChainPem.filter(
      (pem) => !pem.includes(rootPem.trim()),
    );
    const verified = opensslOk(
      [
        "verify",
        "-x509_strict",
        "-CAfile",
        tmp.file("root-only.pem", rootPem),
        "-untrusted",
        tmp.file("chain.pem", chain.join("\n")),
        tmp.file("leaf.pem", res.certificate!.certificatePem),
      ],
      "",
    );
    expect(verified).toMatch(/OK/);
  });

  it("a leaf named as a CA certified under the name asked for is refused SUBJECT_IS_ISSUER", async () => {
    const [{ n: before }] = await h.db.query<{ n: number }>(
      "select count(*)::int as n from certificate",
    );
    const e = await expectRpcError(
      call(h.certificates, "issueCertificate", leafRequest("leaf-ext-same", "External ext-same")),
    );
    expect(e.code, e.message).toBe(3);
    expect(e.violations.map((v) => v.reason)).toContain("SUBJECT_IS_ISSUER");
    const [{ n: after }] = await h.db.query<{ n: number }>(
      "select count(*)::int as n from certificate",
    );
    expect(after).toBe(before);
  });
});
