/**
 * A CA whose path limits extended key usages without id-kp-OCSPSigning (an outside CA imported
 * with `extendedKeyUsage=clientAuth`) may not certify a delegated OCSP responder: verifiers hold
 * the responder certificate to the CA's EKU and would refuse every response. With
 * CERTMINT_OCSP_RESPONDER=delegated such a CA's answers are signed by its own key (RFC 6960
 * 4.2.2.2), no responder certificate is made or recorded, and `openssl ocsp` verifies them; a
 * CA without such a limit still delegates. Until stop 44 of 2026-12-06 (a review) the responder
 * certificate was signed outside the CA's EKU (the signer did not check EKU).
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CA_EXTENSIONS,
  createRoot,
  opensslRoot,
  opensslSign,
  SignatureAlgorithm,
  subject,
} from "../ca/helpers";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows, tlsServerSpec } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { type RunResult, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { waitFor } from "../support/wait";

/** Runs a command without blocking (the server under test answers in this process). */
function run(command: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

describe("delegated OCSP responders under a CA whose EKU leaves out OCSPSigning", () => {
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

  const responderRows = async (caId: string) =>
    Number(
      (
        await h.db.query<{ n: string }>(
          "select count(*) as n from ocsp_responder_certificate where ca_id = $1",
          [caId],
        )
      )[0]!.n,
    );

  /** `openssl ocsp` about `leafPem`, the response verified up to `anchorPem`. */
  const ask = async (leafPem: string, issuerPem: string, anchorPem: string, name: string) => {
    const leafFile = tmp.file(`${name}-leaf.pem`, leafPem);
    const args = [
      "ocsp",
      "-issuer",
      tmp.file(`${name}-issuer.pem`, issuerPem),
      "-cert",
      leafFile,
      "-url",
      url,
      "-CAfile",
      tmp.file(`${name}-anchor.pem`, anchorPem),
      "-verify_other",
      tmp.file(`${name}-chain.pem`, issuerPem),
      "-resp_text",
    ];
    let r: RunResult = { code: 1, stdout: "", stderr: "" };
    // A CA made within the responder's issuer reload interval (a second) is not known yet.
    await waitFor(`the OCSP responder to know ${name}`, async () => {
      r = await run("openssl", args);
      return !/unauthorized/.test(r.stdout + r.stderr);
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toContain("Response verify OK");
    return {
      status: new RegExp(`${leafFile}: (good|revoked|unknown)`).exec(r.stdout)?.[1],
      carriesResponder: /OCSP responder/.test(r.stdout),
    };
  };

  it("signs with the CA key, certifies no responder; a CA without the limit still delegates", async () => {
    const outsideRoot = opensslRoot(tmp);
    const ca = (
      await call(h.authorities, "createExternalIntermediateCertificateAuthority", {
        slug: "eku-ocsp",
        description: "signed outside, clientAuth only",
        subject: subject("External eku-ocsp", ["certmint tests", "external"]),
        keyAlgorithm: 0,
        signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
      })
    ).certificateAuthority!;
    const caPem = opensslSign(tmp, ca.csrPem, outsideRoot, [
      ...CA_EXTENSIONS,
      "extendedKeyUsage=clientAuth",
    ]);
    await call(h.authorities, "importCertificateAuthorityCertificate", {
      certificateAuthority: ca.slug,
      certificatePem: caPem,
      certificateChainPem: [outsideRoot.pem],
    });
    const client = tlsServerSpec();
    client.extendedKeyUsages = { allowed: ["CLIENT_AUTH"], required: ["CLIENT_AUTH"], denied: [] };
    await createProfileRows(h, { slug: "eku-ocsp-client", caId: ca.id, spec: client });
    const leaf = (
      await call(
        h.certificates,
        "issueCertificate",
        attrRequest("eku-ocsp-client", { cn: "c.example.com", dns: ["c.example.com"] }),
      )
    ).certificate!.certificatePem;
    for (let i = 0; i < 2; i++) {
      expect(await ask(leaf, caPem, outsideRoot.pem, "eku")).toEqual({
        status: "good",
        carriesResponder: false,
      });
    }
    expect(await responderRows(ca.id)).toBe(0);

    // The control: a CA of certmint's own, no EKU on its path, delegates as before.
    const root: CertificateAuthority = await createRoot(h, "plain-ocsp");
    await createProfileRows(h, { slug: "plain-ocsp-web", caId: root.id });
    const plainLeaf = (
      await call(
        h.certificates,
        "issueCertificate",
        attrRequest("plain-ocsp-web", { cn: "p.example.com", dns: ["p.example.com"] }),
      )
    ).certificate!.certificatePem;
    expect(await ask(plainLeaf, root.certificatePem, root.certificatePem, "plain")).toEqual({
      status: "good",
      carriesResponder: true,
    });
    expect(await responderRows(root.id)).toBe(1);
  });
});
