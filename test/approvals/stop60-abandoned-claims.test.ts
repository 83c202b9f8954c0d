/**
 * An approval whose call fails after it claimed the request (a database blip while it signs or
 * stores: the approver is answered UNAVAILABLE, "retry shortly") leaves the request claimed:
 * PENDING, its serial reserved, out of the approvers' queue. An outside probe of stop 60
 * (2026-12-08) found:
 *  - the approver's retry, as told, refused FAILED_PRECONDITION "an approval of it is under way"
 *    for two minutes (CLAIM_TAKEOVER_AFTER_MS), with no RetryInfo; now the process whose call
 *    left the claim knows no call is under way, and the retry takes it over at once;
 *  - a server-driven renewal waiting for approval whose claim was left so stayed
 *    AWAITING_APPROVAL until its certificate expired, with no event (the renewer is the
 *    requester, and nothing else replays its request); now the renewer takes over a claim older
 *    than CLAIM_TAKEOVER_AFTER_MS, as the requester's replay does, and the renewal completes.
 * The blip is a trigger that fails the certificate's insert once with SQLSTATE 57P01
 * (admin_shutdown: what a session of a restarting server gets).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateRenewalState } from "../../gen/ts/certmint/v1/certificate_service";
import { CLAIM_TAKEOVER_AFTER_MS } from "../../src/issuance/certificates/approval";
import {
  attrRequest,
  Code,
  call,
  createProfileRows,
  createRoot,
  createToken,
  getCert,
  ISSUED,
  issue,
  PENDING_APPROVAL,
  Role,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { autoRenew, MovableClock } from "../renewal/helpers";
import type { CertmintClients } from "../support/harness";

const UNAVAILABLE = 14;

import { waitFor } from "../support/wait";

describe("claims left by approvals whose calls failed", () => {
  let h: TestCertmint;
  const clock = new MovableClock();
  let approver: { id: string; clients: CertmintClients };
  let gatedProfileId = "";

  beforeAll(async () => {
    h = await startTestCertmint(
      { CERTMINT_RENEWAL_TICK_MS: "50", CERTMINT_RENEWAL_RETRY_SECONDS: "300" },
      { now: clock.now },
    );
    const rootId = (await createRoot(h, "abandoned-root")).id;
    ({ profileId: gatedProfileId } = await createProfileRows(h, {
      caId: rootId,
      slug: "gated",
      requireApproval: true,
    }));
    approver = await createToken(h, "abandoned-approver", Role.ROLE_APPROVER, [gatedProfileId]);
    // The blip: the next certificate insert fails as a session of a restarting server does.
    // A sequence, since the failed statement's transaction (and any update of its own) rolls
    // back: the insert whose number is the armed one fails.
    await h.db.query(`
      create sequence stop60_blip_seq;
      create table stop60_blip (fail_at bigint not null);
      create function stop60_blip() returns trigger language plpgsql as $$
      begin
        if nextval('stop60_blip_seq') in (select fail_at from stop60_blip) then
          raise exception 'terminating connection due to administrator command' using errcode = '57P01';
        end if;
        return new;
      end $$;
      create trigger stop60_blip before insert on certificate
        for each row execute function stop60_blip();`);
  });
  afterAll(async () => {
    await h?.db.query(
      "drop trigger if exists stop60_blip on certificate; drop function if exists stop60_blip(); drop table if exists stop60_blip; drop sequence if exists stop60_blip_seq",
    );
    await h?.stop();
  });

  const arm = () =>
    h.db.query(
      "insert into stop60_blip select case when is_called then last_value + 1 else last_value end from stop60_blip_seq",
    );
  const approve = (id: string) =>
    call(approver.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: id,
      comment: "",
    }).then((r) => r.certificateRequest!);
  const statusOf = async (id: string) =>
    (
      await h.db.query<{ status: string }>("select status from certificate_request where id = $1", [
        id,
      ])
    )[0]!.status;

  it("the approver's retry on the same server finishes the claim its failed call left", async () => {
    const waiting = await issue(
      h,
      attrRequest("gated", { cn: "blip.example.com", dns: ["blip.example.com"] }),
    );
    expect(waiting.status).toBe(PENDING_APPROVAL);
    const id = waiting.certificateRequestId;

    await arm();
    const failed = await rpcError(approve(id));
    expect(failed.code).toBe(UNAVAILABLE);
    // The claim stayed: PENDING, nothing stored.
    expect(await statusOf(id)).toBe("PENDING");

    // The retry the outage asked for: the claim's call is gone, and it is finished now.
    const retried = await approve(id);
    expect(retried.status).toBe(ISSUED);
    expect(await statusOf(id)).toBe("ISSUED");
    const [stored] = await h.db.query<{ n: string }>(
      "select count(*) as n from certificate c join certificate_request r on r.certificate_id = c.id where r.id = $1",
      [id],
    );
    expect(Number(stored!.n)).toBe(1);
  });

  it("the approver's retry after the requester's replay finished its claim answers OK, as for an approval it finished itself", async () => {
    const requestId = "stop60-replayed";
    const request = {
      ...attrRequest("gated", { cn: "replayed.example.com", dns: ["replayed.example.com"] }),
      requestId,
    };
    const waiting = await issue(h, request);
    const id = waiting.certificateRequestId;
    await arm();
    expect((await rpcError(approve(id))).code).toBe(UNAVAILABLE);
    // The requester's replay finishes the claim (as that approval).
    const replayed = await issue(h, request);
    expect(replayed.status).toBe(ISSUED);
    // The approver's retry: its approval happened.
    const retried = await approve(id);
    expect(retried.status).toBe(ISSUED);
    expect(retried.certificateId).toBe(replayed.certificate!.certificateId);
  });

  it("a claim no call of this server left is still someone's approval under way: refused, with when to retry", async () => {
    const waiting = await issue(
      h,
      attrRequest("gated", { cn: "elsewhere.example.com", dns: ["elsewhere.example.com"] }),
    );
    const id = waiting.certificateRequestId;
    // Claimed as another server's approval would (claimForSigning), just now.
    await h.db.query(
      "update certificate_request set status = 'PENDING', reserved_serial = $2, claimed_by = $3, updated_at = $4 where id = $1",
      [id, "7f1e2d3c4b5a69788796a5b4c3d2e1f0", approver.id, clock.now()],
    );
    const refused = await rpcError(approve(id));
    expect(refused.code).toBe(Code.FAILED_PRECONDITION);
    expect(refused.message).toContain("an approval of it is under way");
    expect(refused.retryDelaySeconds).toBeGreaterThan(0);
    expect(refused.retryDelaySeconds).toBeLessThanOrEqual(CLAIM_TAKEOVER_AFTER_MS / 1000);
  });

  it("the renewer takes over its renewal's claim that an approval left, and the certificate is renewed before it expires", async () => {
    await autoRenew(h.db, gatedProfileId, { renewBeforeSeconds: 3000 }, 3600);
    const first = await issue(
      h,
      attrRequest("gated", { cn: "renewed.example.com", dns: ["renewed.example.com"] }),
    );
    const issued = await approve(first.certificateRequestId);
    expect(issued.status).toBe(ISSUED);
    const certificateId = issued.certificateId;

    clock.advance(605);
    await waitFor(
      "the renewal to wait for an approver",
      async () =>
        (await getCert(h, certificateId)).renewalState ===
        CertificateRenewalState.CERTIFICATE_RENEWAL_STATE_AWAITING_APPROVAL,
    );
    const [renewal] = await h.db.query<{ id: string }>(
      "select id from certificate_request where renewal_of_certificate_id = $1",
      [certificateId],
    );
    await arm();
    expect((await rpcError(approve(renewal!.id))).code).toBe(UNAVAILABLE);
    expect(await statusOf(renewal!.id)).toBe("PENDING");

    // Nobody retries the approval. Past CLAIM_TAKEOVER_AFTER_MS the renewer finishes it.
    clock.advance(CLAIM_TAKEOVER_AFTER_MS / 1000 + 5);
    await waitFor(
      "the renewer to finish the approved renewal",
      async () =>
        (await getCert(h, certificateId)).renewalState ===
        CertificateRenewalState.CERTIFICATE_RENEWAL_STATE_RENEWED,
    );
    expect(await statusOf(renewal!.id)).toBe("ISSUED");
    const successors = await h.db.query<{ id: string }>(
      "select id from certificate where renewed_from_id = $1",
      [certificateId],
    );
    expect(successors).toHaveLength(1);
  });
});
