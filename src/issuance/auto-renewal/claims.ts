import type { EntityManager } from "@mikro-orm/postgresql";
import type { StoredError } from "../certificates/types";

/**
 * The renewer's statements on certificate. A claim is a lease: `FOR UPDATE SKIP LOCKED` keeps
 * two replicas from claiming the same row at the same moment, and renewal_lease_until keeps
 * every other replica off it until the lease runs out, so a replica that dies (SIGKILL) leaves
 * its certificates to be taken over, by the same code path, once their leases have passed.
 */

/**
 * Active (not revoked, not renewed, not expired) certificates of auto_renew profiles whose
 * renewal time has come: a range of certificate_auto_renew_at_index (auto_renew_at is kept by
 * triggers, see the RenewalAndEvents migration). The profile is checked again, as it is now.
 */
const DUE_AUTO_RENEW = `"c"."auto_renew_at" <= ? and "c"."renewed_by_id" is null
    and "c"."revoked_at" is null and "c"."not_after" > ?
    and "p"."renewal" @> '{"autoRenew": true}'::jsonb`;

/**
 * A certificate nobody is renewing now and whose backoff (if it failed) is over; one waiting
 * for an approver only once its renewal request was rejected (or failed at approval): the
 * attempt then replays that request, is recorded FAILED, and the next one asks again.
 */
const FREE = `("c"."renewal_lease_until" is null or "c"."renewal_lease_until" <= ?)
    and ("c"."renewal_retry_at" is null or "c"."renewal_retry_at" <= ?)
    and ("c"."renewal_state" is distinct from 'AWAITING_APPROVAL'
         or exists (select 1 from "certificate_request" "r"
                     where "r"."id" = "c"."renewal_request_id" and "r"."status" in ('REJECTED', 'FAILED')))`;

export interface ClaimedCertificate {
  id: string;
  owner: string;
  /** Failed attempts so far: the attempt number, which names the renewal's request_id. */
  failures: number;
  /** The profile's default TTL, if it has one (the successor gets it). */
  profileTtlSeconds: number | null;
}

/**
 * Claims at most `limit` due certificates, earliest renewal time first, for `leaseSeconds`, in one
 * statement (its own transaction: the row locks last only for the claim, the lease after).
 */
export async function claimDue(
  em: EntityManager,
  now: Date,
  limit: number,
  leaseSeconds: number,
): Promise<ClaimedCertificate[]> {
  const leaseUntil = new Date(now.getTime() + leaseSeconds * 1000);
  const rows = await em
    .getConnection()
    .execute<Array<{ id: string; owner: string; failures: number; ttl: string | null }>>(
      `with "due" as (
       select "c"."id", ("p"."defaults"->>'ttlSeconds')::bigint as "ttl"
         from "certificate" "c" join "certificate_profile" "p" on "p"."id" = "c"."profile_id"
        where ${DUE_AUTO_RENEW} and ${FREE}
        order by "c"."auto_renew_at"
        limit ?
        for update of "c" skip locked
     )
     update "certificate" "c" set "renewal_lease_until" = ?
       from "due" where "c"."id" = "due"."id"
     returning "c"."id", "c"."owner", "c"."renewal_failures" as "failures", "due"."ttl"`,
      [now, now, now, now, limit, leaseUntil],
    );
  return rows.map((r) => ({
    id: r.id,
    owner: r.owner,
    failures: Number(r.failures),
    profileTtlSeconds: r.ttl === null ? null : Number(r.ttl),
  }));
}

/** Renewed (or settled by another path: renewed or revoked meanwhile): the lease and any failure are cleared. */
export async function markSettled(em: EntityManager, id: string): Promise<void> {
  await em.getConnection().execute(
    `update "certificate" set "renewal_lease_until" = null, "renewal_state" = null,
        "renewal_error" = null, "renewal_retry_at" = null, "renewal_failures" = 0
      where "id" = ?`,
    [id],
  );
}

/** The renewal waits for an approver: not claimed again until its request is settled. */
export async function markAwaitingApproval(
  em: EntityManager,
  id: string,
  requestId: string,
): Promise<void> {
  await em.getConnection().execute(
    `update "certificate" set "renewal_lease_until" = null, "renewal_state" = 'AWAITING_APPROVAL',
        "renewal_request_id" = ? where "id" = ?`,
    [requestId, id],
  );
}

/** Gives the claim back without a verdict (an outage): any replica retries once the lease is cleared. */
export async function releaseClaim(em: EntityManager, id: string): Promise<void> {
  await em
    .getConnection()
    .execute(`update "certificate" set "renewal_lease_until" = null where "id" = ?`, [id]);
}

/**
 * A failed attempt: state FAILED with its error, the failure counted, the next attempt after
 * `retryAt`, and a RENEWAL_FAILED event for watchers, in one transaction. Returns false when
 * the certificate was renewed or revoked meanwhile (nothing to record).
 */
export async function markFailedAttempt(
  em: EntityManager,
  cert: { id: string; failures: number },
  error: StoredError,
  retryAt: Date,
): Promise<boolean> {
  const rows = await em.getConnection().execute<Array<{ id: string }>>(
    `with "failed" as (
       update "certificate" set "renewal_lease_until" = null, "renewal_state" = 'FAILED',
           "renewal_error" = ?::jsonb, "renewal_retry_at" = ?, "renewal_failures" = ?
        where "id" = ? and "renewed_by_id" is null and "revoked_at" is null
        returning "id", "profile_id"
     )
     insert into "certificate_event" ("type", "certificate_id", "profile_id", "error")
       select 'RENEWAL_FAILED', "id", "profile_id", ?::jsonb from "failed"
     returning "certificate_id" as "id"`,
    [JSON.stringify(error), retryAt, cert.failures + 1, cert.id, JSON.stringify(error)],
  );
  return rows.length === 1;
}

/**
 * EXPIRING events, once per certificate: active certificates past their renewal time that
 * nothing is renewing: of profiles without auto_renew, or whose automatic renewal failed or
 * waits for approval. At most `limit` per call. Returns how many were written.
 */
export async function noteExpiring(em: EntityManager, now: Date, limit: number): Promise<number> {
  const rows = await em.getConnection().execute<Array<{ id: string }>>(
    `with "due" as (
       select "c"."id" from "certificate" "c" join "certificate_profile" "p" on "p"."id" = "c"."profile_id"
        where "c"."renew_at" <= ? and "c"."renewed_by_id" is null and "c"."revoked_at" is null
          and "c"."expiry_notified_at" is null and "c"."not_after" > ?
          and (not "p"."renewal" @> '{"autoRenew": true}'::jsonb
               or "c"."renewal_state" in ('FAILED', 'AWAITING_APPROVAL'))
        limit ?
        for update of "c" skip locked
     ), "noted" as (
       update "certificate" "c" set "expiry_notified_at" = ? from "due"
        where "c"."id" = "due"."id" returning "c"."id", "c"."profile_id"
     )
     insert into "certificate_event" ("type", "certificate_id", "profile_id")
       select 'EXPIRING', "id", "profile_id" from "noted"
     returning "certificate_id" as "id"`,
    [now, now, limit, now],
  );
  return rows.length;
}
