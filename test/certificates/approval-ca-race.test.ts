/**
 * An approval that meets a CA disabled or revoked after its plan was read. Revoked (final): the
 * request ends FAILED with CA_REVOKED, in the approval's transaction, and the approver is told
 * so. Disabled (an admin can enable it again): the claim is undone, the request waits for
 * approval again and the approver is refused CA_DISABLED, as an approval that read the CA
 * after the disable is; until stop 45 of 2026-12-06 it ended FAILED for good, so the outcome
 * depended on milliseconds (an outside probe). Until stop 40 of 2026-12-05 the store's trigger refused the insert,
 * which aborted that transaction: the request stayed PENDING with its serial reserved, nobody
 * could approve or reject it for two minutes, and the approver got CA_NOT_ACTIVE (an outside
 * probe, twelve such requests per run).
 *
 * Deterministic: the test holds the CA's signing lock exclusively, as RevokeCertificateAuthority
 * and a disable do, waits until the approval is queued behind it, changes the CA, then lets go.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertmintClients } from "../support/harness";
import { waitFor } from "../support/wait";
import {
  attrRequest,
  Code,
  call,
  createProfileRows,
  createRoot,
  createToken,
  decodeFull,
  decodeStatus,
  FAILED,
  ISSUED,
  KeyAlgorithm,
  PENDING_APPROVAL,
  Role,
  requestStatus,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;
/** The advisory lock class of certmint_ca_signs (Migration20261205300000CaSigningGuard). */
const CA_SIGNING_LOCK_CLASS = 1128354631;

describe("an approval racing a change of its CA", () => {
  let h: TestCertmint;
  let approver: CertmintClients;
  let requester: CertmintClients;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    for (const slug of ["gated-disable", "gated-revoke"]) {
      const { profileId } = await createProfileRows(h, {
        caId: root.id,
        slug,
        requireApproval: true,
      });
      void profileId;
    }
    const [a, b] = await h.db.query<{ id: string }>(
      "select id from certificate_profile order by slug",
    );
    approver = (await createToken(h, "approver", Role.ROLE_APPROVER, [a!.id, b!.id])).clients;
    requester = (await createToken(h, "requester", Role.ROLE_ISSUER, [a!.id, b!.id])).clients;
  });
  afterAll(async () => {
    await h?.stop();
  });

  async function approvalBehindChange(profile: string, change: string) {
    const [ca] = await h.db.query<{ id: string }>(
      "select ca_id as id from certificate_profile where slug = $1",
      [profile],
    );
    const asked = await call(
      requester.certificates,
      "issueCertificate",
      attrRequest(profile, {
        cn: `${profile}.example.com`,
        dns: [`${profile}.example.com`],
        keyAlgorithm: EC,
      }),
    );
    expect(asked.status).toBe(PENDING_APPROVAL);
    const id = asked.certificateRequestId;

    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("select pg_advisory_xact_lock($1, hashtext($2::text))", [
        CA_SIGNING_LOCK_CLASS,
        ca!.id,
      ]);
      const approval = call(approver.certificates, "approveCertificateRequest", {
        certificateRequestId: id,
        comment: "ok",
      });
      await waitFor("the approval to wait for the CA's signing lock", async () => {
        const [w] = await h.db.query<{ n: string }>(
          "select count(*) as n from pg_locks where locktype = 'advisory' and not granted and classid = $1",
          [CA_SIGNING_LOCK_CLASS],
        );
        return Number(w!.n) > 0;
      });
      await holder.query(change, [ca!.id]);
      await holder.query("commit");
      return { id, caId: ca!.id, approval };
    } finally {
      await holder.end();
    }
  }

  it("a CA disabled meanwhile: the request still waits for approval (CA_DISABLED), nothing is stored", async () => {
    const before = Number(
      (await h.db.query<{ n: string }>("select count(*) as n from certificate"))[0]!.n,
    );
    const { id, caId, approval } = await approvalBehindChange(
      "gated-disable",
      "update certificate_authority set status = 'DISABLED' where id = $1",
    );
    // The approver is refused as before the claim: the CA can be enabled again.
    const refused = await approval.then(
      (res) => ({ res }),
      (e: unknown) => ({ err: e }),
    );
    const [row] = await h.db.query<{
      status: string;
      error: unknown;
      reserved_serial: string | null;
    }>("select status, error, reserved_serial from certificate_request where id = $1", [id]);
    const shown = (await requestStatus(h, id)).certificateRequest!.status;
    const after = Number(
      (await h.db.query<{ n: string }>("select count(*) as n from certificate"))[0]!.n,
    );
    // Enabled again (before the assertions, so a failure here leaves the next case its CA).
    await h.db.query("update certificate_authority set status = 'ACTIVE' where id = $1", [caId]);
    expect("err" in refused, "the approval must be refused").toBe(true);
    const err = decodeFull((refused as { err: unknown }).err);
    expect(err).toMatchObject({ code: Code.FAILED_PRECONDITION, reason: "CA_DISABLED" });
    expect(err.message).toContain("still waits for approval");
    expect(err.metadata.certificate_request_id).toBe(id);
    expect(row).toMatchObject({ status: "PENDING_APPROVAL", error: null, reserved_serial: null });
    expect(shown).toBe(PENDING_APPROVAL);
    expect(after).toBe(before);
    // The same request is approved: no new request, no second call of its requester.
    const again = await call(approver.certificates, "approveCertificateRequest", {
      certificateRequestId: id,
      comment: "ok",
    });
    expect(again.certificateRequest!.status).toBe(ISSUED);
  });

  it("a CA revoked meanwhile: the request is FAILED (CA_REVOKED)", async () => {
    const { id, approval } = await approvalBehindChange(
      "gated-revoke",
      "update certificate_authority set revoked_at = now() where id = $1",
    );
    const answer = (await approval).certificateRequest!;
    expect(answer.status).toBe(FAILED);
    expect(decodeStatus(answer.error)).toMatchObject({
      code: Code.FAILED_PRECONDITION,
      reason: "CA_REVOKED",
    });
    const [row] = await h.db.query<{ status: string; error: { reason?: string } | null }>(
      "select status, error from certificate_request where id = $1",
      [id],
    );
    expect([row!.status, row!.error?.reason]).toEqual(["FAILED", "CA_REVOKED"]);
  });
});
