import type { EntityManager } from "@mikro-orm/postgresql";
import { CLAIM_TAKEOVER_AFTER_MS } from "../../issuance/certificates/claims";
import type {
  ClaimedCertificate,
  RenewalRepository,
  StoredError,
  StoredRenewal,
} from "../../issuance/repositories";
import { UUIDS } from "../uuid-list";

/**
 * Active (not revoked, not renewed, not expired) certificates whose renewal time has come, of a
 * profile that renewed automatically when they were stored: a range of
 * certificate_profile_auto_renew_at_index per profile (auto_renew_at is kept by triggers, see
 * the RenewalAndEvents migration). The profile is checked again, as it is now, by the claim.
 */
const DUE = `"c"."auto_renew_at" <= ? and "c"."renewed_by_id" is null
    and "c"."revoked_at" is null and "c"."not_after" > ?`;

/**
 * A certificate nobody is renewing now and whose backoff (if it failed) is over; one waiting
 * for an approver only once its renewal request was rejected (or failed at approval): the
 * attempt then replays that request, is recorded FAILED, and the next one asks again. Or once
 * an approval claimed its request (PENDING) longer ago than CLAIM_TAKEOVER_AFTER_MS (the third
 * parameter: now less that) and never finished it: the attempt's replay of its request_id
 * takes the claim over and finishes the approval, as the requester's replay would (replay.ts).
 * Until stop 60 of 2026-12-08 such a claim, left by an approval whose call failed in a
 * database blip, kept the certificate AWAITING_APPROVAL until it expired, with no event (an
 * outside probe): the renewer is the requester, and nothing else replays its request.
 */
const FREE = `("c"."renewal_lease_until" is null or "c"."renewal_lease_until" <= ?)
    and ("c"."renewal_retry_at" is null or "c"."renewal_retry_at" <= ?)
    and ("c"."renewal_state" is distinct from 'AWAITING_APPROVAL'
         or exists (select 1 from "certificate_request" "r"
                     where "r"."id" = "c"."renewal_request_id"
                       and ("r"."status" in ('REJECTED', 'FAILED')
                            or ("r"."status" = 'PENDING' and "r"."updated_at" <= ?))))`;

/**
 * The claim, fair between profiles (probe39 MEDIUM-5: in plain auto_renew_at order one
 * profile's backlog held every other profile's renewals back until they expired):
 *  - `turns`: the auto_renew profiles with a certificate to claim now, in turn: those after the
 *    profile the last claim ended on first (a replica's round robin across ticks), then by id;
 *  - `candidates`: each one's earliest due certificates, a range of
 *    certificate_profile_auto_renew_at_index, at most limit - profiles + 1 (what one profile can
 *    get when every other gets one), ranked;
 *  - `picked`: round robin: every profile's first, then every profile's second, ..., in turn,
 *    `limit` in all. A profile gets its share whatever the others' backlogs, and the remainder
 *    of limit / profiles goes round with the turn. Rows read: those of the profiles and at most
 *    (limit + 1)^2 / 4 candidates, whatever the size of certificate or of a backlog (but the
 *    due certificates of a profile that are all leased or backing off are read through, as
 *    the claim in auto_renew_at order read those ahead of the first free one);
 *  - `claimed`: the picked rows locked, `FOR UPDATE SKIP LOCKED`, their conditions checked again
 *    on the row as it is now (so a row another replica claimed meanwhile is not claimed twice),
 *    then leased. Only the claimed rows are locked; one another replica claims at the same
 *    moment is left out of this claim (fewer than limit), not replaced.
 */
export const CLAIM_DUE_SQL = `with "turns" as (
       select "p"."id", ("p"."defaults"->>'ttlSeconds')::bigint as "ttl",
              row_number() over (order by coalesce("p"."id" > ?::uuid, false) desc, "p"."id") as "turn",
              count(*) over () as "profiles"
         from "certificate_profile" "p"
        where "p"."renewal" @> '{"autoRenew": true}'::jsonb
          and exists (select 1 from "certificate" "c" where "c"."profile_id" = "p"."id" and ${DUE} and ${FREE})
     ), "candidates" as (
       select "d"."id", "t"."ttl", "t"."turn",
              row_number() over (partition by "t"."turn" order by "d"."auto_renew_at") as "rank"
         from "turns" "t" cross join lateral (
           select "c"."id", "c"."auto_renew_at" from "certificate" "c"
            where "c"."profile_id" = "t"."id" and ${DUE} and ${FREE}
            order by "c"."auto_renew_at"
            limit greatest(1, ?::int - "t"."profiles" + 1)
         ) "d"
     ), "picked" as (
       select "id", "ttl", row_number() over (order by "rank", "turn") as "n"
         from "candidates" order by "rank", "turn" limit ?
     ), "claimed" as (
       select "c"."id", "k"."ttl", "k"."n"
         from "picked" "k" join "certificate" "c" on "c"."id" = "k"."id"
        where ${DUE} and ${FREE}
        for update of "c" skip locked
     )
     update "certificate" "c" set "renewal_lease_until" = ?
       from "claimed" where "c"."id" = "claimed"."id"
     returning "c"."id", "c"."owner", "c"."profile_id", "c"."renewal_failures" as "failures",
       "claimed"."ttl", "claimed"."n"`;

/**
 * The renewer's sweep of certificates of auto_renew profiles that expired unrenewed
 * (noteExpiredUnrenewed): read from the head of each profile's range of
 * certificate_profile_auto_renew_at_index (at most 100 entries per profile a tick: what expired
 * came due long ago and sorts first), so a backlog of valid due certificates is not read through.
 * Each leaves that index (auto_renew_at null: the renewer renews only valid certificates), so
 * neither this sweep nor the claim reads it again; one nothing told yet (no failed attempt, no
 * EXPIRING) is marked FAILED with a RENEWAL_FAILED event, once. One a renewal holds (its lease)
 * is left to that renewal.
 */
const EXPIRED_UNRENEWED_SQL = `with "head" as (
       select "c"."id" from "certificate_profile" "p" cross join lateral (
         select "c"."id", "c"."not_after" from "certificate" "c"
          where "c"."profile_id" = "p"."id" and "c"."auto_renew_at" <= ?
            and "c"."renewed_by_id" is null and "c"."revoked_at" is null
          order by "c"."auto_renew_at" limit 100) "c"
        where "p"."renewal" @> '{"autoRenew": true}'::jsonb and "c"."not_after" <= ?
     ), "expired" as (
       select "c"."id", ("c"."renewal_state" is null and "c"."expiry_notified_at" is null) as "untold"
         from "certificate" "c" join "head" on "head"."id" = "c"."id"
        where "c"."renewal_lease_until" is null or "c"."renewal_lease_until" <= ?
        limit ?
        for update of "c" skip locked
     ), "swept" as (
       update "certificate" "c" set "auto_renew_at" = null,
           "renewal_state" = case when "e"."untold" then 'FAILED' else "c"."renewal_state" end,
           "renewal_error" = case when "e"."untold" then ?::jsonb else "c"."renewal_error" end,
           "expiry_notified_at" = coalesce("c"."expiry_notified_at", ?)
         from "expired" "e" where "c"."id" = "e"."id"
       returning "c"."id", "c"."profile_id", "e"."untold"
     )
     insert into "certificate_event" ("type", "certificate_id", "profile_id", "error")
       select 'RENEWAL_FAILED', "id", "profile_id", ?::jsonb from "swept" where "untold"
     returning "certificate_id" as "id"`;

/** CLAIM_DUE_SQL's parameters, in the order of its placeholders. */
export function claimParams(
  now: Date,
  limit: number,
  leaseUntil: Date,
  afterProfileId: string | null,
): unknown[] {
  const claimedBefore = new Date(now.getTime() - CLAIM_TAKEOVER_AFTER_MS);
  const dueAndFree = [now, now, now, now, claimedBefore];
  return [afterProfileId, ...dueAndFree, ...dueAndFree, limit, limit, ...dueAndFree, leaseUntil];
}

/**
 * The renewer's statements on certificate, on the ORM's connection (`em().execute` joins the
 * transaction of a store transaction). A claim takes row locks with `FOR UPDATE SKIP LOCKED`
 * in one statement (its own transaction: the locks last only for the claim, the lease after).
 */
export class OrmRenewalRepository implements RenewalRepository {
  constructor(private readonly em: () => EntityManager) {}

  async claimDue(
    now: Date,
    limit: number,
    leaseSeconds: number,
    afterProfileId: string | null = null,
  ): Promise<ClaimedCertificate[]> {
    const leaseUntil = new Date(now.getTime() + leaseSeconds * 1000);
    const rows = await this.em().execute<
      Array<{
        id: string;
        owner: string;
        profile_id: string;
        failures: number;
        ttl: string | null;
        n: string;
      }>
    >(CLAIM_DUE_SQL, claimParams(now, limit, leaseUntil, afterProfileId));
    // In the round robin's order: the renewer starts them in it, and its next claim's turn
    // begins after the profile of the last.
    rows.sort((a, b) => Number(a.n) - Number(b.n));
    return rows.map((r) => ({
      id: r.id,
      owner: r.owner,
      profileId: r.profile_id,
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

  async endForDeletedProfile(profileId: string, error: StoredError, now: Date): Promise<number> {
    // By the profile's range of certificate_profile_auto_renew_at_index: only certificates the
    // renewer would have renewed are in it.
    const rows = await this.em().execute<Array<{ id: string }>>(
      `with "ended" as (
       update "certificate" set "auto_renew_at" = null, "renewal_lease_until" = null,
           "renewal_state" = 'FAILED', "renewal_error" = ?::jsonb, "renewal_retry_at" = null
        where "profile_id" = ? and "auto_renew_at" is not null
          and "renewed_by_id" is null and "revoked_at" is null and "not_after" > ?
        returning "id", "profile_id"
     )
     insert into "certificate_event" ("type", "certificate_id", "profile_id", "error")
       select 'RENEWAL_FAILED', "id", "profile_id", ?::jsonb from "ended"
     returning "certificate_id" as "id"`,
      [JSON.stringify(error), profileId, now, JSON.stringify(error)],
    );
    return rows.length;
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

  async retryRefusals(profileId: string, reasons: readonly string[], now: Date): Promise<number> {
    if (reasons.length === 0) return 0;
    const rows = await this.em().execute<Array<{ id: string }>>(
      `update "certificate" set "renewal_retry_at" = ?
        where "profile_id" = ? and "renewal_state" = 'FAILED'
          and "renewal_error"->>'reason' in (?)
          and "renewed_by_id" is null and "revoked_at" is null and "renewal_retry_at" > ?
        returning "id"`,
      [now, profileId, reasons, now],
    );
    return rows.length;
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

  async noteExpiredUnrenewed(now: Date, limit: number, error: StoredError): Promise<number> {
    const rows = await this.em().execute<Array<{ id: string }>>(EXPIRED_UNRENEWED_SQL, [
      now,
      now,
      now,
      limit,
      JSON.stringify(error),
      now,
      JSON.stringify(error),
    ]);
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
