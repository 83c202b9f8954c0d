/**
 * A requester's replay of its request_id that takes over a claim left by an approver that died
 * (a PENDING request, its serial reserved, its approval's call gone; replay.ts, takeover.ts) is
 * held to what that approval is: the claim now names its approver (certificate_request.claimed_by,
 * Migration20261206160000RequestClaimedBy), and the takeover makes that approval's checks under
 * the request's lock (approval.ts checksUnderLock), with a fresh approval's outcome:
 *  - the approver's token revoked, the profile switched to ACME enrollment, or the CA disabled
 *    meanwhile: the claim undone (PENDING_APPROVAL, no serial), nothing stored, and the replay
 *    answers what a replay of a waiting request answers (OK, PENDING_APPROVAL). Until stop 47 of
 *    2026-12-06 the replay signed the first two, and ended the third FAILED CA_DISABLED where a
 *    fresh approval leaves the request waiting.
 *  - those checks come before the policy's, as a fresh approval makes them before it plans: a
 *    claimed request whose profile switched to ACME and that breaks the policy now waits again
 *    (replay), one whose requester was revoked and that breaks the policy is rejected with its
 *    requester (an approval's takeover). Until stop 47 both ended FAILED POLICY_VIOLATION.
 *  - a row no approval is known to have claimed (claimed_by null: an older version's) is taken
 *    over as before.
 * The claim is made here as claimForSigning makes it (with claimed_by), with an old updated_at.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateAuthorityStatus,
  UpdateCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  EnrollmentMethod,
  UpdateCertificateProfileRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { CLAIM_TAKEOVER_AFTER_MS } from "../../src/issuance/certificates/approval";
import { reserveSerial } from "../../src/issuance/certificates/intent";
import {
  attrRequest,
  Code,
  call,
  compilePolicy,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  decodeFull,
  type FullError,
  ISSUED,
  KeyAlgorithm,
  PENDING_APPROVAL,
  Role,
  startTestCertmint,
  type TestCertmint,
  tlsServerSpec,
} from "../certificates/helpers";
import type { CertmintClients } from "../support/harness";

const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;

describe("a requester's replay that takes over an approval's claim", () => {
  let h: TestCertmint;
  const cas: Record<string, string> = {};
  const profiles: Record<string, { profileId: string; policyId: string }> = {};
  let issuer: { id: string; clients: CertmintClients };
  let approver: { id: string; clients: CertmintClients };
  let n = 0;

  beforeAll(async () => {
    h = await startTestCertmint();
    cas.root = (await createRoot(h, "r47")).id;
    cas.off = (await createRoot(h, "r47-off")).id;
    for (const slug of ["p-approver", "p-acme", "p-off", "p-order-acme", "p-order-revoked"]) {
      profiles[slug] = await createProfileRows(h, {
        caId: slug === "p-off" ? cas.off : cas.root,
        slug,
        requireApproval: true,
      });
    }
    for (const slug of ["p-policy", "p-old"]) {
      profiles[slug] = await createProfileRows(h, { caId: cas.root, slug, requireApproval: true });
    }
    const all = Object.values(profiles).map((p) => p.profileId);
    issuer = await createToken(h, "r47-issuer", Role.ROLE_ISSUER, all);
    approver = await createToken(h, "r47-approver", Role.ROLE_APPROVER, all);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const settle = <T>(p: Promise<T>) =>
    p.then(
      (res) => ({ res }) as { res: T; err?: undefined },
      (err: unknown) => ({ err: decodeFull(err) }) as { res?: undefined; err: FullError },
    );
  const approveAs = (clients: CertmintClients, id: string) =>
    settle(
      call(clients.certificates, "approveCertificateRequest", {
        certificateRequestId: id,
        comment: "ok",
      }),
    );
  /** A request waiting for approval, and its replay (the same request, the same request_id). */
  const waiting = async (clients: CertmintClients, profile: string) => {
    const name = `r${++n}.example.com`;
    const req = attrRequest(profile, {
      cn: name,
      dns: [name],
      keyAlgorithm: EC,
      requestId: `stop47-${n}`,
    });
    const res = await call(clients.certificates, "issueCertificate", req);
    expect(res.status).toBe(PENDING_APPROVAL);
    return {
      id: res.certificateRequestId,
      name,
      replay: () => settle(call(clients.certificates, "issueCertificate", req)),
    };
  };
  /** As claimForSigning claims it (naming its approver), by an approval whose call is gone. */
  const claimedLongAgo = (id: string, by: string | null) =>
    h.db.query(
      "update certificate_request set status = 'PENDING', reserved_serial = $2, updated_at = $3, claimed_by = $4 where id = $1",
      [id, reserveSerial(), new Date(Date.now() - CLAIM_TAKEOVER_AFTER_MS - 60_000), by],
    );
  const requestRow = async (id: string) =>
    (
      await h.db.query<{
        status: string;
        reserved_serial: string | null;
        certificate_id: string | null;
        claimed_by: string | null;
        error: { code?: string; reason?: string } | null;
      }>(
        "select status, reserved_serial, certificate_id, claimed_by, error from certificate_request where id = $1",
        [id],
      )
    )[0]!;
  const certificatesOf = (id: string) =>
    countRows(h, "certificate", `certificate_request_id = '${id}'`);
  /** The audit records of one method on the request, oldest first. */
  const audited = (id: string, method: string) =>
    h.db.query<{ actor_id: string; status_code: number; error_reason: string }>(
      `select actor_id, status_code, error_reason from audit_record
        where resource_id = $1 and method like $2 order by created_at, id`,
      [id, `%/${method}`],
    );
  /** The replay's record of the claim it undid: OK, on the request, status back to waiting. */
  const expectUndoneRecorded = async (id: string) => {
    expect(await audited(id, "IssueCertificate")).toEqual([
      { actor_id: issuer.id, status_code: 0, error_reason: "" },
      { actor_id: issuer.id, status_code: 0, error_reason: "" },
    ]);
    const [last] = await h.db.query<{ changes: unknown }>(
      `select changes from audit_record where resource_id = $1 and method like '%/IssueCertificate'
        order by created_at desc, id desc limit 1`,
      [id],
    );
    expect(JSON.stringify(last?.changes)).toContain("PENDING_APPROVAL");
  };
  const enrollBy = (slug: string, method: EnrollmentMethod) =>
    call(
      h.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: { slug, enrollmentMethod: method },
        updateMask: ["enrollment_method"],
      }),
    );
  /** The profile's policy now denies `names` (as UpdateCertificatePolicy: the version bumped). */
  const deny = async (profile: string, ...names: string[]) => {
    const spec = tlsServerSpec();
    spec.sans.dns!.denied.push(...names);
    await h.db.query(
      "update certificate_policy set spec = $2, version = version + 1, updated_at = now() where id = $1",
      [profiles[profile]!.policyId, JSON.stringify(compilePolicy(spec).spec)],
    );
  };
  /** Undone claim: waiting again, no serial, nothing stored, no error. */
  const expectWaitingAgain = async (id: string) => {
    expect(await requestRow(id)).toMatchObject({
      status: "PENDING_APPROVAL",
      reserved_serial: null,
      certificate_id: null,
      error: null,
    });
    expect(await certificatesOf(id)).toBe(0);
  };

  it("an approval's claim names its approver", async () => {
    const r = await waiting(issuer.clients, "p-old");
    const approved = await approveAs(approver.clients, r.id);
    expect(approved.res?.certificateRequest?.status).toBe(ISSUED);
    expect((await requestRow(r.id)).claimed_by).toBe(approver.id);
  });

  it("its approver's token revoked: the claim undone, the replay answers PENDING_APPROVAL, nothing stored", async () => {
    const gone = await createToken(h, "r47-gone-approver", Role.ROLE_APPROVER, [
      profiles["p-approver"]!.profileId,
    ]);
    const r = await waiting(issuer.clients, "p-approver");
    await claimedLongAgo(r.id, gone.id);
    await call(h.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: gone.id,
    });

    const replayed = await r.replay();
    expect(replayed.err, replayed.err?.message).toBeUndefined();
    expect(replayed.res!.status).toBe(PENDING_APPROVAL);
    expect(replayed.res!.certificate).toBeUndefined();
    expect(replayed.res!.privateKeyPem).toBe("");
    await expectWaitingAgain(r.id);
    // Both calls of the requester audited as answered (OK), the replay with the claim it undid.
    await expectUndoneRecorded(r.id);
    // Another approver decides it, as any waiting request.
    const approved = await approveAs(approver.clients, r.id);
    expect(approved.res?.certificateRequest?.status).toBe(ISSUED);
    expect(await certificatesOf(r.id)).toBe(1);
  });

  it("its profile switched to ACME: waits again, as a fresh approval leaves it, and is approved once it enrolls by API", async () => {
    const r = await waiting(issuer.clients, "p-acme");
    const fresh = await waiting(issuer.clients, "p-acme");
    await claimedLongAgo(r.id, approver.id);
    await enrollBy("p-acme", EnrollmentMethod.ENROLLMENT_METHOD_ACME);

    const replayed = await r.replay();
    expect(replayed.err, replayed.err?.message).toBeUndefined();
    expect(replayed.res!.status).toBe(PENDING_APPROVAL);
    await expectWaitingAgain(r.id);
    await expectUndoneRecorded(r.id);
    // What a fresh approval answers, and leaves: the same for the request taken over.
    for (const id of [fresh.id, r.id]) {
      const refused = await approveAs(approver.clients, id);
      expect([refused.err?.code, refused.err?.reason]).toEqual([
        Code.FAILED_PRECONDITION,
        "ENROLLMENT_METHOD_MISMATCH",
      ]);
      await expectWaitingAgain(id);
    }
    await enrollBy("p-acme", EnrollmentMethod.ENROLLMENT_METHOD_API);
    const approved = await approveAs(approver.clients, r.id);
    expect(approved.res?.certificateRequest?.status).toBe(ISSUED);
    expect(await certificatesOf(r.id)).toBe(1);
    // The requester's replay now gets the certificate.
    const after = await r.replay();
    expect(after.res?.status).toBe(ISSUED);
    expect(after.res?.certificate?.certificateId).toBe(
      approved.res!.certificateRequest!.certificateId,
    );
  });

  it("its CA disabled: waits again (not FAILED CA_DISABLED), as a fresh approval leaves it", async () => {
    const setCa = (status: CertificateAuthorityStatus) =>
      call(
        h.authorities,
        "updateCertificateAuthority",
        UpdateCertificateAuthorityRequest.fromPartial({
          certificateAuthority: { id: cas.off, status },
          updateMask: ["status"],
        }),
      );
    const r = await waiting(issuer.clients, "p-off");
    const fresh = await waiting(issuer.clients, "p-off");
    await claimedLongAgo(r.id, approver.id);
    await setCa(CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED);

    const replayed = await r.replay();
    expect(replayed.err, replayed.err?.message).toBeUndefined();
    expect(replayed.res!.status).toBe(PENDING_APPROVAL);
    await expectWaitingAgain(r.id);
    for (const id of [fresh.id, r.id]) {
      const refused = await approveAs(approver.clients, id);
      expect([refused.err?.code, refused.err?.reason]).toEqual([
        Code.FAILED_PRECONDITION,
        "CA_DISABLED",
      ]);
      await expectWaitingAgain(id);
    }
    await setCa(CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_ACTIVE);
    const approved = await approveAs(approver.clients, r.id);
    expect(approved.res?.certificateRequest?.status).toBe(ISSUED);
    expect(await certificatesOf(r.id)).toBe(1);
  });

  it("the policy broken now: FAILED POLICY_VIOLATION, the refusal answered and audited", async () => {
    const r = await waiting(issuer.clients, "p-policy");
    await claimedLongAgo(r.id, approver.id);
    await deny("p-policy", r.name);

    const replayed = await r.replay();
    expect([replayed.err?.code, replayed.err?.reason]).toEqual([
      Code.INVALID_ARGUMENT,
      "POLICY_VIOLATION",
    ]);
    expect(replayed.err!.metadata.certificate_request_id).toBe(r.id);
    expect(await requestRow(r.id)).toMatchObject({
      status: "FAILED",
      certificate_id: null,
      error: { code: "invalid_argument", reason: "POLICY_VIOLATION" },
    });
    expect(await certificatesOf(r.id)).toBe(0);
    expect(await audited(r.id, "IssueCertificate")).toEqual([
      { actor_id: issuer.id, status_code: 0, error_reason: "" },
      { actor_id: issuer.id, status_code: Code.INVALID_ARGUMENT, error_reason: "POLICY_VIOLATION" },
    ]);
  });

  it("order: profile switched to ACME and the policy broken: waits again (the approval's check first), not FAILED", async () => {
    const r = await waiting(issuer.clients, "p-order-acme");
    const fresh = await waiting(issuer.clients, "p-order-acme");
    await claimedLongAgo(r.id, approver.id);
    await enrollBy("p-order-acme", EnrollmentMethod.ENROLLMENT_METHOD_ACME);
    await deny("p-order-acme", r.name, fresh.name);

    const replayed = await r.replay();
    expect(replayed.err, replayed.err?.message).toBeUndefined();
    expect(replayed.res!.status).toBe(PENDING_APPROVAL);
    await expectWaitingAgain(r.id);
    for (const id of [fresh.id, r.id]) {
      const refused = await approveAs(approver.clients, id);
      expect([refused.err?.code, refused.err?.reason]).toEqual([
        Code.FAILED_PRECONDITION,
        "ENROLLMENT_METHOD_MISMATCH",
      ]);
      await expectWaitingAgain(id);
    }
  });

  it("order, an approval's takeover: requester revoked and the policy broken: rejected with its requester, not FAILED", async () => {
    const requester = await createToken(h, "r47-order-issuer", Role.ROLE_ISSUER, [
      profiles["p-order-revoked"]!.profileId,
    ]);
    const r = await waiting(requester.clients, "p-order-revoked");
    await claimedLongAgo(r.id, approver.id);
    await deny("p-order-revoked", r.name);
    await call(h.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: requester.id,
    });

    const taken = await approveAs(approver.clients, r.id);
    expect(taken.err, JSON.stringify(taken.res?.certificateRequest?.status)).toBeDefined();
    expect([taken.err!.code, taken.err!.reason]).toEqual([
      Code.FAILED_PRECONDITION,
      "REQUESTER_REVOKED",
    ]);
    expect(taken.err!.message).toContain("is now REJECTED");
    expect(await requestRow(r.id)).toMatchObject({
      status: "REJECTED",
      reserved_serial: null,
      certificate_id: null,
      error: { reason: "REQUEST_REJECTED" },
    });
    expect(await certificatesOf(r.id)).toBe(0);
    expect(await audited(r.id, "ApproveCertificateRequest")).toEqual([
      {
        actor_id: approver.id,
        status_code: Code.FAILED_PRECONDITION,
        error_reason: "REQUESTER_REVOKED",
      },
    ]);
  });

  it("a claim that names no approver (an older version's) is taken over as before, under its reserved serial", async () => {
    const r = await waiting(issuer.clients, "p-old");
    await claimedLongAgo(r.id, null);
    const { reserved_serial: serial } = await requestRow(r.id);
    const replayed = await r.replay();
    expect(replayed.err, replayed.err?.message).toBeUndefined();
    expect(replayed.res!.status).toBe(ISSUED);
    expect(replayed.res!.certificate!.serialNumber).toBe(serial);
    expect(await certificatesOf(r.id)).toBe(1);
  });
});
