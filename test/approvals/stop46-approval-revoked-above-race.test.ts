/**
 * An approval racing the revocation of a CA above its issuing CA: RevokeCertificateAuthority
 * revokes that CA and disables every CA below it (ca/revoke.ts). Under the request's lock the
 * approval reads its CA again under the CA's signing lock (sign-and-store.ts): DISABLED. A CA
 * below a revoked CA can never sign again (RFC 5280 5.3.1: a CA's revocation is final), so the
 * request must end FAILED with CA_REVOKED naming the revoked CA, as when the issuing CA itself is
 * revoked meanwhile (test/certificates/approval-ca-race.test.ts), not wait again with "enable it
 * and approve it again", advice that UpdateCertificateAuthority then refuses.
 *
 * Deterministic: the test holds the issuing CA's signing lock as the revocation does, waits until
 * the approval waits for it, revokes the CA above and disables the tree, then commits.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIntermediate, createRoot } from "../ca/helpers";
import {
  attrRequest,
  Code,
  call,
  countRows,
  createToken,
  decodeFull,
  decodeStatus,
  FAILED,
  KeyAlgorithm,
  PENDING_APPROVAL,
  Role,
} from "../certificates/helpers";
import { createProfileRows } from "../support/fixtures";
import { type CertmintClients, startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";

/** The advisory lock class of certmint_ca_signs (Migration20261205300000CaSigningGuard). */
const CA_SIGNING_LOCK_CLASS = 1128354631;

describe("an approval racing the revocation of a CA above its CA", () => {
  let h: TestCertmint;
  let holder: Client;
  let approver: CertmintClients;
  let requester: CertmintClients;
  let issuingId = "";
  let midId = "";

  beforeAll(async () => {
    h = await startTestCertmint();
    holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    await createRoot(h, "rb-root", { maxPathLength: 2 });
    midId = (await createIntermediate(h, "rb-mid", "rb-root", { maxPathLength: 1 })).id;
    issuingId = (await createIntermediate(h, "rb-issuing", midId)).id;
    const { profileId } = await createProfileRows(h, {
      slug: "rb-gated",
      caId: issuingId,
      requireApproval: true,
    });
    approver = (await createToken(h, "rb-approver", Role.ROLE_APPROVER, [profileId])).clients;
    requester = (await createToken(h, "rb-requester", Role.ROLE_ISSUER, [profileId])).clients;
  });
  afterAll(async () => {
    await holder?.end();
    await h?.stop();
  });

  it("ends the request FAILED CA_REVOKED naming the revoked CA, not waiting with CA_DISABLED", async () => {
    const asked = await call(
      requester.certificates,
      "issueCertificate",
      attrRequest("rb-gated", {
        cn: "g.rb.example.com",
        dns: ["g.rb.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    expect(asked.status).toBe(PENDING_APPROVAL);
    const id = asked.certificateRequestId;

    await holder.query("begin");
    await holder.query("select pg_advisory_xact_lock($1, hashtext($2::text))", [
      CA_SIGNING_LOCK_CLASS,
      issuingId,
    ]);
    const approval = call(approver.certificates, "approveCertificateRequest", {
      certificateRequestId: id,
      comment: "ok",
    }).then(
      (res) => ({ res, err: undefined }),
      (e: unknown) => ({ res: undefined, err: decodeFull(e) }),
    );
    await waitFor("the approval to wait for its CA's signing lock", async () => {
      const [w] = await h.db.query<{ n: string }>(
        "select count(*) as n from pg_locks where locktype = 'advisory' and not granted and classid = $1",
        [CA_SIGNING_LOCK_CLASS],
      );
      return Number(w!.n) > 0;
    });
    await holder.query(
      `update certificate_authority set status = 'DISABLED', revoked_at = now(), revocation_reason = 'KEY_COMPROMISE' where id = $1`,
      [midId],
    );
    await holder.query(`update certificate_authority set status = 'DISABLED' where id = $1`, [
      issuingId,
    ]);
    await holder.query("commit");

    const outcome = await approval;
    expect(outcome.err, outcome.err?.message).toBeUndefined();
    const answer = outcome.res!.certificateRequest!;
    expect(answer.status).toBe(FAILED);
    const error = decodeStatus(answer.error);
    expect(error).toMatchObject({ code: Code.FAILED_PRECONDITION, reason: "CA_REVOKED" });
    expect(error.message).toContain('"rb-issuing" is below the revoked CA "rb-mid"');
    expect(error.message).not.toMatch(/enable it/);
    const [row] = await h.db.query<{ status: string; error: { reason?: string } | null }>(
      "select status, error from certificate_request where id = $1",
      [id],
    );
    expect([row!.status, row!.error?.reason]).toEqual(["FAILED", "CA_REVOKED"]);
    expect(await countRows(h, "certificate", `certificate_request_id = '${id}'`)).toBe(0);
  });
});
