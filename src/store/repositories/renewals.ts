import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  ClaimedCertificate,
  RenewalRepository,
  StoredError,
  StoredRenewal,
} from "../../issuance/repositories";
import { UUIDS } from "../uuid-list";

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

/**
 * The renewer's statements on certificate, on the ORM's connection (`em().execute` joins the
 * transaction of a store transaction). A claim takes row locks with `FOR UPDATE SKIP LOCKED`
 * in one statement (its own transaction: the locks last only for the claim, the lease after).
 */
export class OrmRenewalRepository implements RenewalRepository {
  constructor(private readonly em: () => EntityManager) {}

  async claimDue(now: Date, limit: number, leaseSeconds: number): Promise<ClaimedCertificate[]> {
    const leaseUntil = new Date(now.getTime() + leaseSeconds * 1000);
    const rows = await this.em().execute<
      Array<{ id: string; owner: string; failures: number; ttl: string | null }>
    >(
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

  async markSettled(id: string): Promise<void> {
    await this.em().execute(
      `update "certificate" set "renewal_lease_until" = null, "renewal_state" = null,
        "renewal_error" = null, "renewal_retry_at" = null, "renewal_failures" = 0
      where "id" = ?`,
      [id],
    );
  }

  async markAwaitingApproval(id: string, requestId: string): Promise<void> {
    await this.em().execute(
      `update "certificate" set "renewal_lease_until" = null, "renewal_state" = 'AWAITING_APPROVAL',
        "renewal_request_id" = ? where "id" = ?`,
      [requestId, id],
    );
  }

  async markFailedAttempt(
    cert: { id: string; failures: number },
    error: StoredError,
    retryAt: Date,
  ): Promise<boolean> {
    const rows = await this.em().execute<Array<{ id: string }>>(
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

  async noteExpiring(now: Date, limit: number): Promise<number> {
    const rows = await this.em().execute<Array<{ id: string }>>(
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

  async renewalsOf(ids: readonly string[]): Promise<Map<string, StoredRenewal>> {
    const out = new Map<string, StoredRenewal>();
    if (ids.length === 0) return out;
    const rows = await this.em().execute<
      Array<{
        id: string;
        renewal_state: string | null;
        renewal_failures: number;
        renewal_error: StoredError | null;
        renewal_retry_at: Date | null;
        renewal_lease_until: Date | null;
      }>
    >(
      `select "id", "renewal_state", "renewal_failures", "renewal_error", "renewal_retry_at", "renewal_lease_until"
         from "certificate" where "id" in (${UUIDS})`,
      [JSON.stringify(ids)],
    );
    for (const r of rows) {
      out.set(r.id, {
        state: r.renewal_state,
        failures: Number(r.renewal_failures),
        error: r.renewal_error,
        retryAt: r.renewal_retry_at ? new Date(r.renewal_retry_at) : null,
        leaseUntil: r.renewal_lease_until ? new Date(r.renewal_lease_until) : null,
      });
    }
    return out;
  }
}
