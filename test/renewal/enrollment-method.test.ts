/**
 * Server-driven renewal on a profile switched from API to ACME: certmint no longer renews its
 * certificates by itself (a renewal would certify the names again with no ACME challenge
 * proving them). The attempt is recorded as any refused renewal is: renewal_state FAILED,
 * last_renewal_error FAILED_PRECONDITION ENROLLMENT_METHOD_MISMATCH, a RENEWAL_FAILED event, an
 * audit record of certmint-auto-renewal; no request, no certificate, no key; the next attempt
 * after CERTMINT_RENEWAL_RETRY_MAX_SECONDS (an admin's decision, not a passing fault). Switched
 * back to API, that attempt renews it. Until stop 44 of 2026-12-06 it kept renewing (an outside
 * probe, F7). On PostgreSQL, in-process, with a clock the test moves.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EnrollmentMethod,
  UpdateCertificateProfileRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { CertificateRenewalState } from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  decodeStatus,
  getCert,
  ISSUED,
  KeyAlgorithm,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { waitFor } from "../support/wait";
import { autoRenew, MovableClock } from "./helpers";

const FAILED_STATE = CertificateRenewalState.CERTIFICATE_RENEWAL_STATE_FAILED;
const RETRY_MAX = 3600;
const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;

describe("server-driven renewal on a profile switched to ACME", () => {
  let h: TestCertmint;
  const clock = new MovableClock();
  let profileId = "";

  beforeAll(async () => {
    h = await startTestCertmint(
      {
        CERTMINT_RENEWAL_TICK_MS: "50",
        CERTMINT_RENEWAL_RETRY_SECONDS: "300",
        CERTMINT_RENEWAL_RETRY_MAX_SECONDS: String(RETRY_MAX),
      },
      { now: clock.now },
    );
    const root = await createRoot(h, "root");
    ({ profileId } = await createProfileRows(h, { slug: "auto", caId: root.id }));
    // Two hours, renewed 7000 s before notAfter: due 200 s after issuance.
    await autoRenew(h.db, profileId, { renewBeforeSeconds: 7000 }, 7200);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const setMethod = (method: EnrollmentMethod) =>
    call(
      h.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: { slug: "auto", enrollmentMethod: method },
        updateMask: ["enrollment_method"],
      }),
    );

  it("records ENROLLMENT_METHOD_MISMATCH, issues nothing, and renews once the profile enrolls by API again", async () => {
    const owner = await createToken(h, "owner", Role.ROLE_ISSUER, [profileId]);
    const issued = await call(
      owner.clients.certificates,
      "issueCertificate",
      attrRequest("auto", { cn: "svc.example.com", dns: ["svc.example.com"], keyAlgorithm: EC }),
    );
    expect(issued.status).toBe(ISSUED);
    const id = issued.certificate!.certificateId;

    await setMethod(EnrollmentMethod.ENROLLMENT_METHOD_ACME);
    const requestsBefore = await h.db.query<{ n: string }>(
      "select count(*) as n from certificate_request",
    );
    clock.advance(205);
    await waitFor("the renewal attempt to fail", async () => {
      const c = await getCert(h, id);
      return c.renewalState === FAILED_STATE || c.renewedByCertificateId !== "";
    });
    const cert = await getCert(h, id);
    expect(cert.renewedByCertificateId).toBe("");
    const error = decodeStatus(cert.lastRenewalError);
    expect(error).toMatchObject({ code: 9, reason: "ENROLLMENT_METHOD_MISMATCH" });
    expect(error.message).toContain(`certmint's server-driven renewal of certificate ${id}`);
    expect(error.message).toContain("/acme/auto/directory");
    expect(cert.renewalFailures).toBe(1);
    // An admin's decision, not a passing fault: the longest wait at once, not the 300 s backoff.
    expect(cert.nextRenewalAttemptTime!.getTime()).toBeGreaterThan(
      clock.now().getTime() + (RETRY_MAX - 60) * 1000,
    );
    // No request (so no key generated), no certificate.
    expect(
      await h.db.query<{ n: string }>("select count(*) as n from certificate_request"),
    ).toEqual(requestsBefore);
    const events = await h.db.query<{ type: string; error: { reason?: string } | null }>(
      "select type, error from certificate_event where certificate_id = $1 and type = 'RENEWAL_FAILED'",
      [id],
    );
    expect(events.map((e) => e.error?.reason)).toEqual(["ENROLLMENT_METHOD_MISMATCH"]);
    const audits = (
      await call(h.audit, "listAuditRecords", {
        pageSize: 100,
        pageToken: "",
        actor: "",
        method: "",
        resourceType: "certificate",
        resourceId: id,
        failuresOnly: true,
      })
    ).auditRecords.filter((r) => r.actorSlug === "certmint-auto-renewal");
    expect(audits.map((r) => r.errorReason)).toEqual(["ENROLLMENT_METHOD_MISMATCH"]);

    // Back to API: the refused renewal is due at once (not after the longest wait: a
    // short-lived certificate would expire meanwhile, an outside probe of stop 44's fixes), and
    // the next round renews it, in the owner's name.
    // The clock does not move from here: were it still the longest wait away, the renewal
    // below would never come. Read right after the switch, the renewer (every 50 ms) may
    // already hold it, showing no next attempt while it renews, or have renewed it: on a busy
    // machine that read failed (the renewer won the race), so only a time shown is checked.
    await setMethod(EnrollmentMethod.ENROLLMENT_METHOD_API);
    const next = (await getCert(h, id)).nextRenewalAttemptTime;
    if (next !== undefined) expect(next.getTime()).toBeLessThanOrEqual(clock.now().getTime());
    await waitFor(
      "the retry to renew it",
      async () => (await getCert(h, id)).renewedByCertificateId !== "",
    );
    const successor = await getCert(h, (await getCert(h, id)).renewedByCertificateId);
    expect(successor.ownerAccessTokenId).toBe(owner.id);
  });
});
