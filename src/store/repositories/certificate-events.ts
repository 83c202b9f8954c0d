import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  CertificateEventRepository,
  CertificateEventType,
  EventFilter,
  EventRead,
  EventSubscription,
  SequencerRound,
  StoredError,
  StoredEvent,
} from "../../issuance/repositories";
import { EVENTS_CHANNEL, listen } from "../notifications";
import { executePrepared, withConnection } from "../prepared";
import { UUIDS } from "../uuid-list";

/** Advisory lock key (two int4) that makes one sequencer at a time run, on every replica. */
const SEQUENCER_LOCK = [0x63657274, 0x65766e74] as const; // "cert", "evnt"

/** Events numbered per round, at most. */
const BATCH = 1000;

/** The columns of an event as readAfter returns them. */
const COLUMNS = `"position", "type", "certificate_id", "profile_id", "previous_certificate_id", "error", "created_at"`;

/** A condition on certificate_event with its parameters. */
interface Condition {
  sql: string;
  params: unknown[];
}

/**
 * The events of the lineage's certificates from this depth on, whatever its length: each event
 * carries its certificate's lineage and depth (null on a lineage's first certificate, which is
 * its own at depth 0; Migration20261204000000CertificateLineage).
 */
function lineageCondition(filter: EventFilter): Condition | undefined {
  if (!filter.lineage) return undefined;
  const { lineageId, depth } = filter.lineage;
  return depth > 0
    ? { sql: `"lineage_id" = ? and "lineage_depth" >= ?`, params: [lineageId, depth] }
    : {
        sql: `("lineage_id" = ? or ("lineage_id" is null and "certificate_id" = ?))`,
        params: [lineageId, lineageId],
      };
}

/**
 * The first `limit` events of these profiles in (after, "b"."through"], for readAfter: for each
 * profile the range ((profile, after), (profile, through)] of
 * certificate_event_profile_position_index, in its order, then the first `limit` of all of them.
 * Row comparisons, not `"profile_id" = ... and "position" > ...`: only that index can serve
 * them, so the plan does not hang on statistics. With plain conditions PostgreSQL costs the
 * position index's range filtered by profile against this index by the profile's estimated
 * share of the events, and for a profile id known only at run time (a parameter of the lateral
 * join) it chose the position range, reading each of the other profiles' events again for
 * every watcher (EXPLAIN ANALYZE, 10^6 events over 51 profiles: 1,000 rows read to find none).
 * `"position" is not null` lets the partial index serve.
 *
 * Not with a lineage as well (a profile-scoped token watching a certificate): a condition the
 * index does not hold, under the per-profile `limit`, made PostgreSQL expect to read the whole
 * range it estimates for a row comparison (a ninth of the table), and a generic plan of
 * the statement cost more than jit_above_cost (2,020,248 at 10^6 events): JIT compiled it at
 * every execution, 370 ms instead of 0.3. That watch filters the position range, as one on a
 * lineage alone does.
 */
function eventsOfProfiles(profileIds: readonly string[], after: number, limit: number): Condition {
  return {
    sql: `select "e".* from jsonb_array_elements_text(?::jsonb) "p"("id") cross join lateral (
            select ${COLUMNS} from "certificate_event"
             where ("profile_id", "position") > ("p"."id"::uuid, ?::bigint)
               and ("profile_id", "position") <= ("p"."id"::uuid, "b"."through")
               and "position" is not null
             order by "profile_id", "position" limit ${limit}) "e"
          order by "e"."position" limit ${limit}`,
    params: [JSON.stringify(profileIds), after],
  };
}

/**
 * The statement of CertificateEventRepository.readAfter (`?` placeholders), exported for the
 * test that explains it (test/store/watch-index.test.ts).
 *
 * One statement, so one snapshot for the bound and the events (READ COMMITTED takes a snapshot
 * per statement; two statements could see different rounds). The bound `through`: the position
 * of the `window`-th numbered event after `after` (`limit` without a filter, else `scan`), or
 * else the highest position this snapshot sees. It is safe to move a reader there although
 * events may be numbered after this statement, because every such event gets a higher position
 * than any this snapshot sees: numbers come only from `sequence`, whose rounds run one at a time
 * under a transaction advisory lock, take their numbers with nextval inside that transaction,
 * and hold the lock until their commit is visible (PostgreSQL releases a transaction's locks
 * only after it shows as committed), so a round whose numbers this snapshot does not see took
 * them after every round it does see. A rolled-back round's numbers are never seen; its events
 * are numbered again, higher.
 *
 * What a read costs does not depend on how many events other profiles had since `after`
 * (Migration20261204100000WatchAndSweepIndexes): the bound is the highest position, one index
 * probe, whenever fewer than `window` positions follow `after` (then fewer than `window` events
 * can, positions being distinct integers), which is every read of a watch that keeps up; only
 * a read further behind counts its window in the position index. The events of a profile are a
 * range of certificate_event_profile_position_index per profile (eventsOfProfiles), so a watch
 * on a quiet profile reads none of the other profiles' events. A lineage (with profiles or
 * without) is filtered in the position range, at most `window` events. The counts are written
 * into the text, not bound: a generic plan takes a bound LIMIT for a tenth of the rows it
 * expects, and costs the statement accordingly.
 */
export function readAfterStatement(
  after: number,
  filter: EventFilter,
  limit: number,
  scan: number,
): { sql: string; params: unknown[] } {
  if (!Number.isSafeInteger(limit) || limit < 1 || !Number.isSafeInteger(scan)) {
    throw new RangeError(`readAfter: limit ${limit} and scan ${scan} must be whole numbers`);
  }
  const lineage = lineageCondition(filter);
  const profileIds = filter.profileIds ? [...new Set(filter.profileIds)] : undefined;
  const window = !profileIds && !lineage ? limit : Math.max(scan, 1);
  const conditions = [
    ...(profileIds && lineage
      ? [{ sql: `"profile_id" in (${UUIDS})`, params: [JSON.stringify(profileIds)] }]
      : []),
    ...(lineage ? [lineage] : []),
  ];
  const events =
    profileIds && !lineage
      ? eventsOfProfiles(profileIds, after, limit)
      : {
          sql: `select ${COLUMNS} from "certificate_event"
                 where "position" > ? and "position" <= "b"."through"${conditions.map((c) => ` and ${c.sql}`).join("")}
                 order by "position" limit ${limit}`,
          params: [after, ...conditions.flatMap((c) => c.params)],
        };
  return {
    // "edge": the window's last event, when there are that many (an index-only scan of
    // `window` entries), looked for only when `window` positions or more follow `after`;
    // `offset 0` keeps it computed once. Left join: the bound comes back also when no event
    // matched.
    sql: `with "head" as materialized (
         select coalesce(max("position"), 0) as "head" from "certificate_event"
       ), "bound" as materialized (
         select "edge" is not null as "more", coalesce("edge", "h"."head") as "through"
           from "head" "h" cross join lateral (
             select case when "h"."head" - ?::bigint < ${window} then null
                         else (select "position" from "certificate_event" where "position" > ?::bigint
                                order by "position" offset ${window - 1} limit 1) end as "edge" offset 0) "k")
       select "b"."through", "b"."more", "e".* from "bound" "b" left join lateral (
         ${events.sql}) "e" on true
        order by "e"."position"`,
    params: [after, after, ...events.params],
  };
}

/**
 * certificate_event on PostgreSQL (or the embedded database). With `databaseUrl` (a real
 * PostgreSQL, shared by replicas) a sequencer round NOTIFYs EVENTS_CHANNEL and `subscribe`
 * LISTENs on it; the embedded database lives in one process, whose rounds wake its watchers
 * directly.
 */
export class OrmCertificateEventRepository implements CertificateEventRepository {
  constructor(
    private readonly em: () => EntityManager,
    private readonly databaseUrl?: string,
  ) {}

  /**
   * One statement (readAfterStatement), run as a named prepared statement with a generic plan
   * (executePrepared): a watch reads after every sequencer round and every keepalive, and
   * planning it each time cost more of PostgreSQL's CPU than running it (bench/scale/watch-index.ts,
   * an idle profile watch's read at 10^6 events: 1.0 ms planned each time, 0.2 ms prepared).
   * Its plan does not depend on the values: each part reads by the index its conditions name.
   */
  async readAfter(
    after: number,
    filter: EventFilter,
    limit: number,
    scan: number,
  ): Promise<EventRead> {
    const { sql, params } = readAfterStatement(after, filter, limit, scan);
    const rows = await executePrepared<
      Array<{
        through: string | null;
        more: boolean;
        position: string | null;
        type: CertificateEventType;
        certificate_id: string;
        profile_id: string | null;
        previous_certificate_id: string | null;
        error: StoredError | null;
        created_at: Date;
      }>
    >(this.em(), sql, params);
    const events: StoredEvent[] = rows.flatMap((r) =>
      r.position === null
        ? []
        : [
            {
              position: Number(r.position),
              type: r.type,
              certificateId: r.certificate_id,
              profileId: r.profile_id,
              previousCertificateId: r.previous_certificate_id,
              error: r.error,
              createdAt: new Date(r.created_at),
            },
          ],
    );
    // A full page may stop before the bound: the events between are unread.
    const full = events.length >= limit;
    const bound = Number(rows[0]?.through ?? after);
    return {
      events,
      through: full ? events.at(-1)!.position : Math.max(after, bound),
      more: full || rows[0]?.more === true,
    };
  }

  async eventsAfter(after: number, filter: EventFilter, limit: number): Promise<StoredEvent[]> {
    return (await this.readAfter(after, filter, limit, limit)).events;
  }

  async headPosition(): Promise<number> {
    const [row] = await this.em().execute<Array<{ head: string | null }>>(
      `select max("position") as "head" from "certificate_event"`,
    );
    return Number(row?.head ?? 0);
  }

  async horizonPosition(): Promise<number> {
    const [row] = await this.em().execute<Array<{ position: string }>>(
      `select "position" from "certificate_event_horizon" where "id" = 1`,
    );
    return Number(row?.position ?? 0);
  }

  /**
   * Deletes the oldest numbered events and moves the horizon past them, in one statement. The
   * age is measured by the database's clock, as created_at was written (its column default,
   * clock_timestamp()): the same clock on both sides, whatever the server's says.
   * statement_timestamp(), not clock_timestamp(): stable within the statement, so the bound is
   * one value (certificate_event_created_at_index may serve it), as the parameter was.
   */
  async pruneOlderThan(ageSeconds: number, limit: number): Promise<number> {
    const rows = await this.em().execute<Array<{ n: string }>>(
      `with "old" as (
       select "id", "position" from "certificate_event"
        where "created_at" < statement_timestamp() - ?::bigint * interval '1 second'
          and "position" is not null
        order by "position" limit ?
     ), "gone" as (
       delete from "certificate_event" "e" using "old" where "e"."id" = "old"."id" returning "e"."position"
     ), "moved" as (
       update "certificate_event_horizon" set "position" = greatest("position", (select max("position") from "gone"))
        where "id" = 1 and exists (select 1 from "gone") returning 1
     )
     select count(*) as "n" from "gone"`,
      [ageSeconds, limit],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Gives committed events their cursor (`position`), in the order they become visible, so a
   * watcher that has read up to position P has seen every event that will ever get a position
   * <= P: it never misses one that commits late, and never gets one twice.
   *
   * One round runs at a time across replicas (a transaction advisory lock; the others skip
   * the round): it numbers the events its statement sees, which are committed ones, from a
   * sequence, and commits; the next round, which can only start after that commit, sees those
   * as numbered and numbers later commits higher. Readers see either all of a round's numbers
   * or none. On PostgreSQL the round notifies EVENTS_CHANNEL (one NOTIFY per round, not per
   * issuance: NOTIFY serialises commits on a database-wide lock).
   */
  async sequence(): Promise<SequencerRound | "busy"> {
    const notify = this.databaseUrl !== undefined;
    return withConnection(this.em(), async (connection) => {
      await connection.command("begin");
      try {
        const [lock] = await connection.execute<Array<{ locked: boolean }>>(
          "select pg_try_advisory_xact_lock(?::int4, ?::int4) as locked",
          [...SEQUENCER_LOCK],
        );
        if (!lock?.locked) {
          await connection.command("rollback");
          return "busy";
        }
        // A new statement after the lock: its snapshot sees the previous round's commit.
        // Numbered in id order within the round: an event written by a transaction that began
        // after another's commit has the higher id, so it comes after it (numbered in the
        // UPDATE's own order, the hash of a semi-join, a revocation could reach watchers after
        // the renewal that followed it). nextval runs as the ordered subquery's rows come out.
        const rows = await connection.execute<Array<{ position: string }>>(
          `update "certificate_event" "e" set "position" = "n"."position"
            from (select "id", nextval('certificate_event_position_seq') as "position"
                    from (select "id" from "certificate_event" where "position" is null
                           order by "id" limit ?) "due") "n"
           where "e"."id" = "n"."id"
          returning "e"."position"`,
          [BATCH],
        );
        const highest = rows.reduce((max, r) => Math.max(max, Number(r.position)), 0);
        if (highest > 0 && notify) {
          await connection.execute("select pg_notify(?, ?)", [EVENTS_CHANNEL, String(highest)]);
        }
        await connection.command("commit");
        return { highest, more: rows.length >= BATCH };
      } catch (err) {
        await connection.command("rollback").catch(() => connection.discard("rollback failed"));
        throw err;
      }
    });
  }

  subscribe(onNotify: () => void, onError: (err: unknown) => void): EventSubscription | undefined {
    if (this.databaseUrl === undefined) return undefined;
    return listen(this.databaseUrl, EVENTS_CHANNEL, onNotify, onError);
  }
}
