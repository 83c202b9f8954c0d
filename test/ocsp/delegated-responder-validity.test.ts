/**
 * The validity of a delegated OCSP responder certificate (CERTMINT_OCSP_RESPONDER=delegated,
 * ocsp-delegate.ts) is clamped as a leaf's is (computeValidity): it never starts before its CA
 * or a CA above it, and lasts at most 7 days, notBefore to notAfter inclusive with the backdated
 * minute counted (README: "a certificate valid for 7 days at most"). Until stop 44 of 2026-12-06
 * it backdated a minute on its own: under an outside CA signed "now" (no backdate) it started
 * up to 60 s before its issuer, and every responder certificate lasted 7 days and 61 s (an
 * outside probe, E F1/F2).
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CA_EXTENSIONS,
  openssl,
  opensslOk,
  opensslRoot,
  opensslSign,
  SignatureAlgorithm,
  subject,
  TempDir,
} from "../ca/helpers";
import { createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { unusedPort } from "../support/ports";
import { waitFor } from "../support/wait";

const WEEK = 7 * 86_400;
const dates = (pem: string) => {
  const x = new X509Certificate(pem);
  return { notBefore: new Date(x.validFrom), notAfter: new Date(x.validTo) };
};
/** Seconds notBefore..notAfter, both ends inclusive (RFC 5280 4.1.2.5). */
const period = (pem: string) => {
  const d = dates(pem);
  return (d.notAfter.getTime() - d.notBefore.getTime()) / 1000 + 1;
};

describe("delegated OCSP responder certificate validity", () => {
  const tmp = new TempDir();
  let h: TestCertmint;
  let url = "";

  beforeAll(async () => {
    const port = await unusedPort();
    url = `http://127.0.0.1:${port}/ocsp`;
    h = await startTestCertmint({
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      CERTMINT_OCSP_RESPONDER: "delegated",
    });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  /** Asks about a made-up serial of `caPem` until the CA's responder certificate exists. */
  const responderOf = async (caId: string, caPem: string, name: string): Promise<string> => {
    const req = tmp.out(`${name}-req.der`);
    opensslOk([
      "ocsp",
      "-no_nonce",
      "-issuer",
      tmp.file(`${name}.pem`, caPem),
      "-serial",
      "0x0102030405",
      "-reqout",
      req,
    ]);
    let pem = "";
    // A CA created within the responder's issuer reload interval is not known yet.
    await waitFor(`a responder certificate for ${name}`, async () => {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/ocsp-request" },
        body: readFileSync(req),
      });
      await res.arrayBuffer();
      const rows = await h.db.query<{ certificate_pem: string }>(
        "select certificate_pem from ocsp_responder_certificate where ca_id = $1 and certificate_pem is not null",
        [caId],
      );
      pem = rows[0]?.certificate_pem ?? "";
      return pem !== "";
    });
    return pem;
  };

  it("under an outside CA signed now, it starts with the CA, not a minute before, and verifies at its notBefore", async () => {
    const root = opensslRoot(tmp, { cn: "Responder Outside Root" });
    const created = await call(h.authorities, "createExternalIntermediateCertificateAuthority", {
      slug: "resp-outside",
      description: "signed outside, now",
      subject: subject("Responder Outside Int", ["certmint tests", "external"]),
      keyAlgorithm: 0,
      signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
    });
    // openssl x509 -req: notBefore is the signing second, no backdate.
    const interPem = opensslSign(tmp, created.csrPem, root, CA_EXTENSIONS, 700);
    const imported = await call(h.authorities, "importCertificateAuthorityCertificate", {
      certificateAuthority: "resp-outside",
      certificatePem: interPem,
      certificateChainPem: [root.pem],
    });
    const ca = imported.certificateAuthority!;
    const responder = await responderOf(ca.id, ca.certificatePem, "resp-outside");

    const caStart = dates(ca.certificatePem).notBefore;
    const r = dates(responder);
    // The CA was signed seconds ago: a backdated minute would start before it.
    expect(r.notBefore.getTime()).toBe(caStart.getTime());
    expect(period(responder)).toBeLessThanOrEqual(WEEK);

    // A relying party validating the responder at its first second finds its issuer valid.
    const atStart = String(Math.floor(r.notBefore.getTime() / 1000));
    const v = openssl([
      "verify",
      "-x509_strict",
      "-attime",
      atStart,
      "-CAfile",
      root.certPath,
      "-untrusted",
      tmp.file("resp-outside-int.pem", ca.certificatePem),
      tmp.file("resp-outside-responder.pem", responder),
    ]);
    expect(v.stdout + v.stderr).toMatch(/: OK/);
  });

  it("under a certmint root it lasts exactly 7 days, the backdated minute counted", async () => {
    const root = await createRoot(h, "resp-root");
    const responder = await responderOf(root.id, root.certificatePem, "resp-root");
    expect(period(responder)).toBe(WEEK);
    const r = dates(responder);
    expect(r.notBefore.getTime()).toBeGreaterThanOrEqual(
      dates(root.certificatePem).notBefore.getTime(),
    );
    const v = openssl([
      "verify",
      "-x509_strict",
      "-purpose",
      "ocsphelper",
      "-CAfile",
      tmp.file("resp-root-ca.pem", root.certificatePem),
      tmp.file("resp-root-responder.pem", responder),
    ]);
    expect(v.stdout + v.stderr).toMatch(/: OK/);
  });
});
