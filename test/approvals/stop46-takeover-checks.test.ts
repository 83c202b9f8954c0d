/**
 * An approval that takes over a claim left by an approver that died (a PENDING request, its
 * serial reserved, claimed more than CLAIM_TAKEOVER_AFTER_MS ago; approval.ts finishClaimed,
 * takeover.ts) is held to what a fresh approval is:
 *  - under the request's lock, the checks a fresh approval makes there (checksUnderLock): its
 *    requester's token revoked, or its profile switched to ACME enrollment, refuses it with the
 *    fresh approval's status and reason, the claim undone (PENDING_APPROVAL again, no serial),
 *    nothing stored. Until stop 46 of 2026-12-06 the takeover signed without them.
 *  - a profile deleted before the takeover ends the request FAILED NOT_FOUND
 *    CERTIFICATE_PROFILE_NOT_FOUND, as a fresh approval ends it; until stop 46 the approval
 *    answered OK and left it PENDING, for good.
 *  - a profile deleted while the takeover waits under the lock (here on its CA's signing lock,
 *    which the test holds) waits for the takeover's commit; until stop 46 the store's trigger
 *    refused the insert (CMP01, Migration20261206153000CertificateProfileGuard), which aborted
 *    the lock's transaction: the approver was answered INTERNAL and the request stayed PENDING.
 * The claim is made here as claimForSigning makes it, with an old updated_at: the approver's call
 * is gone. Each step waits for a state (a lock waited on), never a duration.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  decodeFull,
  decodeStatus,
  FAILED,
  type FullError,
  ISSUED,
  KeyAlgorithm,
  PENDING_APPROVAL,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import type { CertmintClients } from "../support/harness";
import { waitFor } from "../support/wait";

const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;
/** The advisory lock class of certmint_ca_signs (Migration20261205300000CaSigningGuard). */
const CA_SIGNING_LOCK_CLASS = 1128354631;

describe("an approval that takes over a claim left by an approver that died", () => {
  let h: TestCertmint;
  let caId = "";
  const profiles: Record<string, string> = {};
  /** An approver of the issuers' profiles, and an admin approving the first admin's requests. */
  let approver: CertmintClients;
  let secondAdmin: CertmintClients;
  let n = 0;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    caId = root.id;
    for (const slug of ["t-revoked", "t-acme", "t-deleted", "t-deleted-late"]) {
      ({ profileId: profiles[slug] } = await createProfileRows(h, {
        caId,
        slug,
        requireApproval: true,
      }));
    }
    approver = (
      await createToken(h, "t-approver", Role.ROLE_APPROVER, [
        profiles["t-revoked"]!,
        profiles["t-acme"]!,
      ])
    ).clients;
    secondAdmin = (await createToken(h, "t-second-admin", Role.ROLE_ADMIN)).clients;
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
  const waiting = async (clients: CertmintClients, profile: string) => {
    const name = `t${++n}.example.com`;
    const res = await call(
      clients.certificates,
      "issueCertificate",
      attrRequest(profile, { cn: name, dns: [name], keyAlgorithm: EC }),
    );
    expect(res.status).toBe(PENDING_APPROVAL);
    return res.certificateRequestId;
  };
  /** As claimForSigning claims it, by an approval whose call is gone (an old claim). */
  const claimedLongAgo = (id: string) =>
    h.db.query(
      "update certificate_request set status = 'PENDING', reserved_serial = $2, updated_at = $3 where id = $1",
      [id, reserveSerial(), new Date(Date.now() - CLAIM_TAKEOVER_AFTER_MS - 60_000)],
    );
  const requestRow = async (id: string) =>
    (
      await h.db.query<{
        status: string;
        reserved_serial: string | null;
        certificate_id: string | null;
        error: { code?: string; reason?: string } | null;
      }>(
        "select status, reserved_serial, certificate_id, error from certificate_request where id = $1",
        [id],
      )
    )[0]!;
  const certificatesOf = (id: string) =>
    countRows(h, "certificate", `certificate_request_id = '${id}'`);

  it("its requester's token revoked: refused as a fresh approval is, the request waits again, nothing stored", async () => {
    const issuer = await createToken(h, "t-issuer", Role.ROLE_ISSUER, [profiles["t-revoked"]!]);
    const claimed = await waiting(issuer.clients, "t-revoked");
    const fresh = await waiting(issuer.clients, "t-revoked");
    await claimedLongAgo(claimed);
    await call(h.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: issuer.id,
    });

    // The revocation rejected the request still waiting (access-tokens/revoke.ts); the claimed
    // one (PENDING) it left to the claim's owner, here the takeover.
    expect((await requestRow(fresh)).status).toBe("REJECTED");
    const taken = await approveAs(approver, claimed);
    expect(taken.err, JSON.stringify(taken.res?.certificateRequest?.status)).toBeDefined();
    // As a fresh approval of a request the revocation did not reject is refused
    // (test/certificates/approval-revoked-requester.test.ts).
    expect([taken.err!.code, taken.err!.reason]).toEqual([
      Code.FAILED_PRECONDITION,
      "REQUESTER_REVOKED",
    ]);
    expect(taken.err!.preconditions).toEqual([
      {
        type: "REQUESTER_STATUS",
        subject: `certificate_requests/${claimed}`,
        description: `the requesting access token "t-issuer" is revoked`,
      },
    ]);
    // The claim undone and the request rejected with its requester, as a fresh approval does.
    expect(await requestRow(claimed)).toMatchObject({
      status: "REJECTED",
      reserved_serial: null,
      certificate_id: null,
    });
    expect((await requestRow(claimed)).error).toMatchObject({ reason: "REQUEST_REJECTED" });
    expect(await certificatesOf(claimed)).toBe(0);
  });

  it("its profile switched to ACME: refused ENROLLMENT_METHOD_MISMATCH as a fresh approval is, and approved once it enrolls by API again", async () => {
    const issuer = await createToken(h, "t-acme-issuer", Role.ROLE_ISSUER, [profiles["t-acme"]!]);
    const claimed = await waiting(issuer.clients, "t-acme");
    const fresh = await waiting(issuer.clients, "t-acme");
    await claimedLongAgo(claimed);
    const enrollBy = (method: EnrollmentMethod) =>
      call(
        h.profiles,
        "updateCertificateProfile",
        UpdateCertificateProfileRequest.fromPartial({
          certificateProfile: { slug: "t-acme", enrollmentMethod: method },
          updateMask: ["enrollment_method"],
        }),
      );
    await enrollBy(EnrollmentMethod.ENROLLMENT_METHOD_ACME);

    const freshAnswer = await approveAs(approver, fresh);
    expect(freshAnswer.err).toMatchObject({
      code: Code.FAILED_PRECONDITION,
      reason: "ENROLLMENT_METHOD_MISMATCH",
    });
    const taken = await approveAs(approver, claimed);
    expect(taken.err, JSON.stringify(taken.res?.certificateRequest?.status)).toBeDefined();
    expect([taken.err!.code, taken.err!.reason]).toEqual([
      freshAnswer.err!.code,
      freshAnswer.err!.reason,
    ]);
    expect(taken.err!.message).toContain("still waits for approval");
    expect(await requestRow(claimed)).toMatchObject({
      status: "PENDING_APPROVAL",
      reserved_serial: null,
      certificate_id: null,
    });
    expect(await certificatesOf(claimed)).toBe(0);

    // Enrolling by API again, the same request is approved: no new request needed.
    await enrollBy(EnrollmentMethod.ENROLLMENT_METHOD_API);
    const again = await approveAs(approver, claimed);
    expect(again.res?.certificateRequest?.status).toBe(ISSUED);
    expect(await certificatesOf(claimed)).toBe(1);
  });

  it("its profile deleted before: the request ends FAILED CERTIFICATE_PROFILE_NOT_FOUND, as a fresh approval ends it", async () => {
    const claimed = await waiting(h, "t-deleted");
    const fresh = await waiting(h, "t-deleted");
    // DeleteCertificateProfile refuses while requests wait: they are hidden from it meanwhile.
    await h.db.query("update certificate_request set status = 'REJECTED' where id in ($1, $2)", [
      claimed,
      fresh,
    ]);
    await call(h.profiles, "deleteCertificateProfile", {
      certificateProfile: "t-deleted",
      etag: "",
      force: false,
    });
    await h.db.query("update certificate_request set status = 'PENDING_APPROVAL' where id = $1", [
      fresh,
    ]);
    await claimedLongAgo(claimed);

    const freshAnswer = await approveAs(secondAdmin, fresh);
    const freshRequest = freshAnswer.res!.certificateRequest!;
    expect(freshRequest.status).toBe(FAILED);
    expect(decodeStatus(freshRequest.error)).toMatchObject({
      code: Code.NOT_FOUND,
      reason: "CERTIFICATE_PROFILE_NOT_FOUND",
    });

    const taken = await approveAs(secondAdmin, claimed);
    expect(taken.err, taken.err?.message).toBeUndefined();
    const request = taken.res!.certificateRequest!;
    expect(request.status).toBe(FAILED);
    expect(decodeStatus(request.error)).toMatchObject({
      code: Code.NOT_FOUND,
      reason: "CERTIFICATE_PROFILE_NOT_FOUND",
    });
    expect(await requestRow(claimed)).toMatchObject({
      status: "FAILED",
      certificate_id: null,
      error: { code: "not_found", reason: "CERTIFICATE_PROFILE_NOT_FOUND" },
    });
    expect(await certificatesOf(claimed)).toBe(0);
    // Settled: a later approval is told so, and changes nothing.
    const later = await approveAs(secondAdmin, claimed);
    expect(later.err?.reason).toBe("REQUEST_NOT_PENDING_APPROVAL");
  });

  it("its profile deleted while it waits under the request's lock: the deletion waits for its commit, no INTERNAL", async () => {
    const claimed = await waiting(h, "t-deleted-late");
    await claimedLongAgo(claimed);
    const holder = new Client({ connectionString: h.db.url });
    const deleter = new Client({ connectionString: h.db.url });
    await holder.connect();
    await deleter.connect();
    try {
      // The CA's signing lock, held as a revocation or a disable holds it: the takeover waits
      // for it under the request's lock, after its checks there.
      await holder.query("begin");
      await holder.query("select pg_advisory_xact_lock($1, hashtext($2::text))", [
        CA_SIGNING_LOCK_CLASS,
        caId,
      ]);
      const taking = approveAs(secondAdmin, claimed);
      await waitFor("the takeover to wait for the CA's signing lock", async () => {
        const [w] = await h.db.query<{ n: string }>(
          "select count(*) as n from pg_locks where locktype = 'advisory' and not granted and classid = $1",
          [CA_SIGNING_LOCK_CLASS],
        );
        return Number(w!.n) > 0;
      });
      // The profile's row deleted meanwhile (in PostgreSQL: DeleteCertificateProfile refuses
      // while a request is PENDING). It waits for the takeover's hold on the row, or, with no
      // hold, is done at once.
      const [{ pid }] = (await deleter.query<{ pid: number }>("select pg_backend_pid() as pid"))
        .rows as [{ pid: number }];
      let deleted = false;
      const deleting = deleter
        .query("delete from certificate_profile where id = $1", [profiles["t-deleted-late"]])
        .then(() => {
          deleted = true;
        });
      await waitFor("the profile's deletion to finish or to wait for a lock", async () => {
        if (deleted) return true;
        const [w] = await h.db.query<{ n: string }>(
          "select count(*) as n from pg_stat_activity where pid = $1 and wait_event_type = 'Lock'",
          [pid],
        );
        return Number(w!.n) > 0;
      });
      await holder.query("commit");
      const taken = await taking;
      await deleting;
      expect(taken.err, taken.err?.message).toBeUndefined();
      // The takeover held the profile's row: its certificate was stored before the deletion.
      expect(taken.res!.certificateRequest!.status).toBe(ISSUED);
      expect(await requestRow(claimed)).toMatchObject({ status: "ISSUED", error: null });
      expect(await certificatesOf(claimed)).toBe(1);
    } finally {
      await holder.query("rollback").catch(() => {});
      await holder.end();
      await deleter.end();
    }
  });
});
