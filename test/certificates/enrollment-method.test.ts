/**
 * A profile's enrollment method is enforced on every issuance path (proto EnrollmentMethod:
 * "how clients of a profile obtain certificates"). On a profile that enrolls by ACME,
 * IssueCertificate (validate_only too) and RenewCertificate, by an issuer token that lists the
 * profile or by an admin, are FAILED_PRECONDITION ENROLLMENT_METHOD_MISMATCH with a
 * PreconditionFailure naming the method and the ACME directory; nothing is stored (no request,
 * no certificate, no event); the refusal is in the audit trail. An API profile switched to ACME
 * is refused the same way, for its certificates issued before the switch too, and a request
 * made through the API that waits for approval there is refused at approval (left
 * PENDING_APPROVAL, unchanged) while a request of an ACME account is approved. Switching back to
 * API lets the same calls through. Until stop 44 of 2026-12-06 an ACME profile issued any name
 * its policy allowed through gRPC, with no challenge (an outside probe, F7).
 * On PostgreSQL, in-process.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EnrollmentMethod,
  UpdateCertificateProfileRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import type { CertmintClients } from "../support/harness";
import {
  attrRequest,
  Code,
  call,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  ISSUED,
  issueRequest,
  KeyAlgorithm,
  PENDING_APPROVAL,
  Role,
  renewRequest,
  requestStatus,
  rowCounts,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;
const ISSUE_METHOD = "/certmint.v1.CertificateService/IssueCertificate";
const RENEW_METHOD = "/certmint.v1.CertificateService/RenewCertificate";
const APPROVE_METHOD = "/certmint.v1.CertificateService/ApproveCertificateRequest";

describe("a profile's enrollment method is enforced", () => {
  let h: TestCertmint;
  let rootId = "";
  let issuer: CertmintClients;
  let approver: CertmintClients;
  const profileIds: Record<string, string> = {};

  const setMethod = (slug: string, method: EnrollmentMethod) =>
    call(
      h.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: { slug, enrollmentMethod: method },
        updateMask: ["enrollment_method"],
      }),
    );
  const ACME = EnrollmentMethod.ENROLLMENT_METHOD_ACME;
  const API = EnrollmentMethod.ENROLLMENT_METHOD_API;

  beforeAll(async () => {
    h = await startTestCertmint();
    rootId = (await createRoot(h, "root")).id;
    for (const [slug, requireApproval] of [
      ["acme-web", false],
      ["switched", false],
      ["gated", true],
    ] as const) {
      profileIds[slug] = (
        await createProfileRows(h, { caId: rootId, slug, requireApproval })
      ).profileId;
    }
    const all = Object.values(profileIds);
    issuer = (await createToken(h, "issuer", Role.ROLE_ISSUER, all)).clients;
    approver = (await createToken(h, "approver", Role.ROLE_APPROVER, all)).clients;
    // An ACME profile as an admin makes one (CreateCertificateProfile or, as here, an update).
    await setMethod("acme-web", ACME);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const issueAs = (clients: CertmintClients, profile: string, name: string, more = {}) =>
    call(
      clients.certificates,
      "issueCertificate",
      issueRequest({
        ...attrRequest(profile, { cn: name, dns: [name], keyAlgorithm: EC }),
        ...more,
      }),
    );
  const refusals = async (method: string) =>
    (
      await call(h.audit, "listAuditRecords", {
        pageSize: 100,
        pageToken: "",
        actor: "",
        method,
        resourceType: "",
        resourceId: "",
        failuresOnly: true,
      })
    ).auditRecords.filter((r) => r.errorReason === "ENROLLMENT_METHOD_MISMATCH");

  it("refuses IssueCertificate on an ACME profile (issuer, admin, validate_only), storing nothing", async () => {
    const before = await rowCounts(h);
    const events = await countRows(h, "certificate_event");
    const audited = (await refusals(ISSUE_METHOD)).length;

    const err = await rpcError(issueAs(issuer, "acme-web", "anything.example.com"));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("ENROLLMENT_METHOD_MISMATCH");
    expect(err.message).toContain('certificate profile "acme-web" enrolls by ACME, not API');
    expect(err.message).toContain("/acme/acme-web/directory");
    expect(err.message).not.toContain("…"); // whole: under the 512 characters of a message
    expect(err.preconditions).toEqual([
      {
        type: "ENROLLMENT_METHOD",
        subject: "certificate_profiles/acme-web",
        description: "the enrollment method is ACME; IssueCertificate needs API",
      },
    ]);
    expect(err.metadata).toMatchObject({
      certificate_profile: "acme-web",
      enrollment_method: "ACME",
    });

    const admin = await rpcError(issueAs(h, "acme-web", "admin.example.com"));
    expect(admin.reason).toBe("ENROLLMENT_METHOD_MISMATCH");
    const dry = await rpcError(
      issueAs(issuer, "acme-web", "dry.example.com", { validateOnly: true }),
    );
    expect(dry.reason).toBe("ENROLLMENT_METHOD_MISMATCH");

    // Nothing stored: no request, certificate or event; each refusal audited.
    expect(await rowCounts(h)).toEqual(before);
    expect(await countRows(h, "certificate_event")).toBe(events);
    const records = await refusals(ISSUE_METHOD);
    expect(records.length).toBe(audited + 3);
    expect(records.slice(0, 3).map((r) => [r.actorSlug, r.statusCode])).toEqual([
      ["issuer", Code.FAILED_PRECONDITION],
      [expect.stringMatching(/admin/), Code.FAILED_PRECONDITION],
      ["issuer", Code.FAILED_PRECONDITION],
    ]);
  });

  it("a profile switched from API to ACME: issuing and renewing through gRPC stop, and resume once switched back", async () => {
    const issued = await issueAs(issuer, "switched", "svc.example.com");
    expect(issued.status).toBe(ISSUED);
    const certificateId = issued.certificate!.certificateId;

    await setMethod("switched", ACME);
    const before = await rowCounts(h);
    const renewAudits = (await refusals(RENEW_METHOD)).length;
    const again = await rpcError(issueAs(issuer, "switched", "svc.example.com"));
    expect(again).toMatchObject({
      code: Code.FAILED_PRECONDITION,
      reason: "ENROLLMENT_METHOD_MISMATCH",
    });
    // The certificate issued before the switch is renewed through ACME now, not by gRPC.
    for (const clients of [issuer, h]) {
      const renewal = await rpcError(
        call(clients.certificates, "renewCertificate", renewRequest({ certificateId })),
      );
      expect(renewal.code).toBe(Code.FAILED_PRECONDITION);
      expect(renewal.reason).toBe("ENROLLMENT_METHOD_MISMATCH");
      expect(renewal.message).toContain(`RenewCertificate of certificate ${certificateId}`);
    }
    expect(await rowCounts(h)).toEqual(before);
    expect((await refusals(RENEW_METHOD)).length).toBe(renewAudits + 2);
    const [cert] = await h.db.query<{ renewed_by_id: string | null }>(
      "select renewed_by_id from certificate where id = $1",
      [certificateId],
    );
    expect(cert!.renewed_by_id).toBeNull();

    await setMethod("switched", API);
    expect((await issueAs(issuer, "switched", "back.example.com")).status).toBe(ISSUED);
    const renewed = await call(
      issuer.certificates,
      "renewCertificate",
      renewRequest({ certificateId }),
    );
    expect(renewed.status).toBe(ISSUED);
  });

  it("a request made through the API waiting on a profile switched to ACME: approval refused, left PENDING_APPROVAL; an ACME account's request is approved", async () => {
    const waiting = await issueAs(issuer, "gated", "wait.example.com");
    expect(waiting.status).toBe(PENDING_APPROVAL);
    const id = waiting.certificateRequestId;
    // A request as an ACME order makes it: its caller is the (valid) account's id.
    const fromOrder = (await issueAs(issuer, "gated", "order.example.com")).certificateRequestId;
    const account = randomUUID();
    await h.db.query(
      `insert into acme_account (id, profile_id, key_thumbprint, jwk, status, contact, created_at, updated_at)
       values ($1, $2, $3, '{}'::jsonb, 'valid', '[]'::jsonb, now(), now())`,
      [account, profileIds.gated, `thumb-${account}`],
    );
    await h.db.query("update certificate_request set caller = $2 where id = $1", [
      fromOrder,
      account,
    ]);

    await setMethod("gated", ACME);
    const before = await rowCounts(h);
    const err = await rpcError(
      call(approver.certificates, "approveCertificateRequest", {
        certificateRequestId: id,
        comment: "ok",
      }),
    );
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("ENROLLMENT_METHOD_MISMATCH");
    expect(err.message).toContain(`request ${id} still waits for approval, unchanged`);
    expect(err.message).not.toContain("…");
    expect(err.metadata).toMatchObject({ certificate_request_id: id });
    expect(await rowCounts(h)).toEqual(before);
    const [row] = await h.db.query<{ status: string; reserved_serial: string | null }>(
      "select status, reserved_serial from certificate_request where id = $1",
      [id],
    );
    expect(row).toEqual({ status: "PENDING_APPROVAL", reserved_serial: null });
    expect((await refusals(APPROVE_METHOD)).map((r) => r.actorSlug)).toContain("approver");

    // The ACME account's request: its names were proved by its order's challenges.
    const approved = await call(approver.certificates, "approveCertificateRequest", {
      certificateRequestId: fromOrder,
      comment: "ok",
    });
    expect(approved.certificateRequest!.status).toBe(ISSUED);

    // Switched back to API, the first request is approved as before.
    await setMethod("gated", API);
    const later = await call(approver.certificates, "approveCertificateRequest", {
      certificateRequestId: id,
      comment: "ok",
    });
    expect(later.certificateRequest!.status).toBe(ISSUED);
    expect((await requestStatus(h, id)).certificate?.certificatePem).toContain("CERTIFICATE");
  });
});
