/**
 * ApproveCertificateRequest racing RevokeAccessToken of the requester, or a switch of the
 * profile to ACME enrollment. The approval checks both before it claims the request; until stop
 * 45 of 2026-12-06 it did not look again, so an approval that passed those checks and then
 * waited (here: on the request's row, which the test holds) stored its certificate after the
 * revocation or the switch had been answered OK (an outside probe: a certificate stored two
 * seconds after its requester's token was revoked). Now the checks are made again under the
 * request's lock, on the token's and the profile's rows held FOR SHARE to the commit: a change
 * committed before is seen (the request waits for approval again, unchanged, the approver told
 * REQUESTER_REVOKED / ENROLLMENT_METHOD_MISMATCH as before the claim), and one that comes later
 * waits for the approval's commit.
 *
 * Deterministic: the test holds a row or lock in its own transaction, waits (pg_stat_activity,
 * pg_locks) until the approval or the change is queued behind it, then lets go.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EnrollmentMethod,
  UpdateCertificateProfileRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import type { CertmintClients } from "../support/harness";
import { waitsOnLock as lockWait } from "../support/table-lock";
import { waitFor } from "../support/wait";
import {
  attrRequest,
  Code,
  call,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  decodeFull,
  ISSUED,
  KeyAlgorithm,
  PENDING_APPROVAL,
  REJECTED,
  Role,
  requestStatus,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;
/** The advisory lock class of certmint_ca_signs (Migration20261205300000CaSigningGuard). */
const CA_SIGNING_LOCK_CLASS = 1128354631;

describe("an approval racing a change of its requester or profile", () => {
  let h: TestCertmint;
  let approver: CertmintClients;
  const profiles: Record<string, string> = {};
  let caId = "";
  let n = 0;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    caId = root.id;
    for (const slug of ["gated-revoke", "gated-revoke-late", "gated-acme", "gated-acme-late"]) {
      ({ profileId: profiles[slug] } = await createProfileRows(h, {
        caId: root.id,
        slug,
        requireApproval: true,
      }));
    }
    approver = (await createToken(h, "approver", Role.ROLE_APPROVER, Object.values(profiles)))
      .clients;
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** A fresh issuer of `profile` and a request of it waiting for approval. */
  async function waitingRequest(profile: string) {
    n += 1;
    const issuer = await createToken(h, `issuer-${n}`, Role.ROLE_ISSUER, [profiles[profile]!]);
    const name = `r${n}.example.com`;
    const asked = await call(
      issuer.clients.certificates,
      "issueCertificate",
      attrRequest(profile, { cn: name, dns: [name], keyAlgorithm: EC }),
    );
    expect(asked.status).toBe(PENDING_APPROVAL);
    return { issuer, id: asked.certificateRequestId };
  }

  const approve = (id: string) =>
    call(approver.certificates, "approveCertificateRequest", {
      certificateRequestId: id,
      comment: "ok",
    }).then(
      (res) => ({ res }),
      (err: unknown) => ({ err }),
    );

  const waitsOnLock = (pattern: string) => lockWait(h, pattern);
  /** Whether a session waits for the CA's signing lock. */
  const waitsOnCaSigning = async () => {
    const [w] = await h.db.query<{ n: string }>(
      "select count(*) as n from pg_locks where locktype = 'advisory' and not granted and classid = $1",
      [CA_SIGNING_LOCK_CLASS],
    );
    return Number(w!.n) > 0;
  };

  const requestRow = async (id: string) =>
    (
      await h.db.query<{
        status: string;
        reserved_serial: string | null;
        certificate_id: string | null;
        updated_at: Date;
      }>(
        "select status, reserved_serial, certificate_id, updated_at from certificate_request where id = $1",
        [id],
      )
    )[0]!;
  const certificatesOf = (id: string) =>
    countRows(h, "certificate", `certificate_request_id = '${id}'`);

  /**
   * Runs `change` while the approval of `id` has passed its checks before the claim and waits
   * on the request's row, held by the test; then lets the approval go on.
   */
  async function approvalHeldBeforeClaim(id: string, change: () => Promise<unknown>) {
    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("select id from certificate_request where id = $1 for update", [id]);
      const approval = approve(id);
      await waitFor("the approval's claim to wait on the request's row", () =>
        waitsOnLock('update "certificate_request"%'),
      );
      await change();
      await holder.query("commit");
      return await approval;
    } finally {
      await holder.end();
    }
  }

  /**
   * Holds the CA's signing lock (as a disable or revocation does) so the approval of `id` stops
   * under its request lock, after the checks made there; runs `change`, which must then wait
   * for the approval (`changeWaits` says when it does); lets go; returns both outcomes.
   */
  async function approvalHeldUnderLock(
    id: string,
    change: () => Promise<unknown>,
    changeWaits: () => Promise<boolean>,
  ) {
    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("select pg_advisory_xact_lock($1, hashtext($2::text))", [
        CA_SIGNING_LOCK_CLASS,
        caId,
      ]);
      const approval = approve(id);
      await waitFor("the approval to wait for the CA's signing lock", waitsOnCaSigning);
      const changed = change().then(
        (res) => ({ res }),
        (err: unknown) => ({ err }),
      );
      await waitFor("the change to wait for the approval's commit", changeWaits);
      await holder.query("commit");
      return { approval: await approval, changed: await changed };
    } finally {
      await holder.end();
    }
  }

  it("a requester revoked after the approval's first check: nothing is signed, the request still waits", async () => {
    const { issuer, id } = await waitingRequest("gated-revoke");
    const before = await requestRow(id);
    const outcome = await approvalHeldBeforeClaim(id, () =>
      call(h.accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: issuer.id,
      }),
    );
    expect("err" in outcome, "the approval must be refused").toBe(true);
    const err = decodeFull((outcome as { err: unknown }).err);
    expect(err).toMatchObject({ code: Code.FAILED_PRECONDITION, reason: "REQUESTER_REVOKED" });
    expect(err.preconditions?.[0]?.type).toBe("REQUESTER_STATUS");
    expect(err.metadata?.certificate_request_id).toBe(id);
    // The claim undone: as the same refusal before the claim leaves it.
    // The claim undone, and the request then rejected by the approval (since stop 46 of
    // 2026-12-06; the revocation skipped it while the test held it).
    const row = await requestRow(id);
    expect(row).toMatchObject({
      status: "REJECTED",
      reserved_serial: null,
      certificate_id: null,
    });
    expect(row.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
    expect(await certificatesOf(id)).toBe(0);
    // The refusal is in the audit trail, with the rejection it made.
    const [audit] = await h.db.query<{ error_reason: string }>(
      `select error_reason from audit_record
        where method like '%ApproveCertificateRequest' and resource_id = $1`,
      [id],
    );
    expect(audit?.error_reason).toBe("REQUESTER_REVOKED");
    expect((await requestStatus(h, id)).certificateRequest?.status).toBe(REJECTED);
  });

  it("a revocation that comes while the approval signs waits for its commit", async () => {
    const { issuer, id } = await waitingRequest("gated-revoke-late");
    const { approval, changed } = await approvalHeldUnderLock(
      id,
      () =>
        call(h.accessTokens, "revokeAccessToken", {
          revokeCreatedTokens: false,
          accessToken: issuer.id,
        }),
      // The revocation locks the token's row before it writes (access-tokens/revoke.ts), so it
      // waits at that lock or at its update, whichever its version does first.
      async () =>
        (await waitsOnLock('update "access_token"%')) ||
        (await waitsOnLock('%from "access_token"%for no key update%')),
    );
    // The approval checked the requester first, and its check stood: the certificate was
    // committed before the revocation could be.
    expect("res" in approval && approval.res.certificateRequest?.status).toBe(ISSUED);
    expect("res" in changed, String((changed as { err?: unknown }).err)).toBe(true);
    expect(await certificatesOf(id)).toBe(1);
    const [token] = await h.db.query<{ revoked_at: Date | null }>(
      "select revoked_at from access_token where id = $1",
      [issuer.id],
    );
    expect(token?.revoked_at).not.toBeNull();
  });

  it("a profile switched to ACME after the approval's first check: nothing is signed, the request still waits", async () => {
    const { id } = await waitingRequest("gated-acme");
    const outcome = await approvalHeldBeforeClaim(id, () =>
      call(
        h.profiles,
        "updateCertificateProfile",
        UpdateCertificateProfileRequest.fromPartial({
          certificateProfile: {
            slug: "gated-acme",
            enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_ACME,
          },
          updateMask: ["enrollment_method"],
        }),
      ),
    );
    expect("err" in outcome, "the approval must be refused").toBe(true);
    const err = decodeFull((outcome as { err: unknown }).err);
    expect(err).toMatchObject({
      code: Code.FAILED_PRECONDITION,
      reason: "ENROLLMENT_METHOD_MISMATCH",
    });
    expect(err.message).toContain("still waits for approval");
    expect(await requestRow(id)).toMatchObject({
      status: "PENDING_APPROVAL",
      reserved_serial: null,
      certificate_id: null,
    });
    expect(await certificatesOf(id)).toBe(0);
    // Switched back to API, the same request is approved.
    await call(
      h.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "gated-acme",
          enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_API,
        },
        updateMask: ["enrollment_method"],
      }),
    );
    const again = await approve(id);
    expect("res" in again && again.res.certificateRequest?.status).toBe(ISSUED);
    expect((await requestStatus(h, id)).certificateRequest?.status).toBe(ISSUED);
  });

  it("a switch to ACME that comes while the approval signs waits for its commit", async () => {
    const { id } = await waitingRequest("gated-acme-late");
    const { approval, changed } = await approvalHeldUnderLock(
      id,
      () =>
        call(
          h.profiles,
          "updateCertificateProfile",
          UpdateCertificateProfileRequest.fromPartial({
            certificateProfile: {
              slug: "gated-acme-late",
              enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_ACME,
            },
            updateMask: ["enrollment_method"],
          }),
        ),
      // UpdateCertificateProfile locks the row first (lockForEdit: FOR NO KEY UPDATE).
      () => waitsOnLock('%from "certificate_profile"%for no key update%'),
    );
    expect("res" in approval && approval.res.certificateRequest?.status).toBe(ISSUED);
    expect("res" in changed, String((changed as { err?: unknown }).err)).toBe(true);
    expect(await certificatesOf(id)).toBe(1);
  });
});
