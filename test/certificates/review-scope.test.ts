/**
 * Security review: an issuer or approver that names another profile's object by id or serial
 * (a request, a certificate) is not told which profile the object is on. Before, the refusal
 * named that profile's slug, which the caller had not given and may not read
 * (ListCertificateProfiles is for admins and auditors). Since, the answer is the NOT_FOUND of a
 * missing id (test/certificates/object-access-oracle.test.ts compares the two field by field).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/certmint/v1/access_token_service";
import { RenewCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

describe("refusals on another profile's objects do not name that profile", () => {
  let h: TestCertmint;
  let issuer: Awaited<ReturnType<typeof createToken>>;
  let approver: Awaited<ReturnType<typeof createToken>>;
  let secret: { requestId: string; certificateId: string; serial: string };

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    const open = await createProfileRows(h, { slug: "open", caId: root.id });
    await createProfileRows(h, { slug: "payments-prod-secret", caId: root.id });
    issuer = await createToken(h, "open-issuer", Role.ROLE_ISSUER, [open.profileId]);
    approver = await createToken(h, "open-approver", Role.ROLE_APPROVER, [open.profileId]);
    const res = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("payments-prod-secret", { cn: "p.example.com", dns: ["p.example.com"] }),
    );
    secret = {
      requestId: res.certificateRequestId,
      certificateId: res.certificate!.certificateId,
      serial: res.certificate!.serialNumber,
    };
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("GetRequestStatus, RenewCertificate, GetCurrentCertificate, Approve and Reject", async () => {
    const errors = [
      await rpcError(
        call(issuer.clients.certificates, "getRequestStatus", {
          certificateRequestId: secret.requestId,
        }),
      ),
      await rpcError(
        call(
          issuer.clients.certificates,
          "renewCertificate",
          RenewCertificateRequest.fromPartial({ certificateId: secret.serial }),
        ),
      ),
      await rpcError(
        call(issuer.clients.certificates, "getCurrentCertificate", {
          certificate: secret.certificateId,
        }),
      ),
      await rpcError(
        call(approver.clients.certificates, "approveCertificateRequest", {
          certificateRequestId: secret.requestId,
          comment: "",
        }),
      ),
      await rpcError(
        call(approver.clients.certificates, "rejectCertificateRequest", {
          certificateRequestId: secret.requestId,
          reason: "",
        }),
      ),
    ];
    expect(errors.map((e) => e.reason)).toEqual([
      "CERTIFICATE_REQUEST_NOT_FOUND",
      "CERTIFICATE_NOT_FOUND",
      "CERTIFICATE_NOT_FOUND",
      "CERTIFICATE_REQUEST_NOT_FOUND",
      "CERTIFICATE_REQUEST_NOT_FOUND",
    ]);
    for (const err of errors) {
      expect(err.code).toBe(5);
      expect(err.message).not.toContain("payments-prod-secret");
      expect(JSON.stringify(err.metadata)).not.toContain("payments-prod-secret");
    }
  });
});
