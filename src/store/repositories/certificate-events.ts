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
import { withConnection } from "../prepared";
import { UUIDS } from "../uuid-list";

/** Advisory lock key (two int4) that makes one sequencer at a time run, on every replica. */
const SEQUENCER_LOCK = [0x63657274, 0x65766e74] as const; // "cert", "evnt"

/** Events numbered per round, at most. */
const BATCH = 1000;

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
   * One statement, so one snapshot for the bound and the events (READ COMMITTED takes a
   * snapshot per statement; two statements could see different rounds). The bound `through`:
   * the position of the `scan`-th numbered event after `after`, or else the highest position
   * this snapshot sees. It is safe to move a reader there although events may be numbered
   * after this statement, because every such event gets a higher position than any this
   * snapshot sees: numbers come only from `sequence`, whose rounds run one at a time under a
   * transaction advisory lock, take their numbers with nextval inside that transaction, and
   * hold the lock until their commit is visible (PostgreSQL releases a transaction's locks only
   * after it shows as committed), so a round whose numbers this snapshot does not see took them
   * after every round it does see. A rolled-back round's numbers are never seen; its events are
   * numbered again, higher.
   *
   * The events: those of (after, through] the filter allows, by the position index. Without a
   * filter every event matches and the window is the page itself. There is no index on
   * profile or lineage here, so `scan` is what bounds a read on a quiet profile.
   */
  async readAfter(
    after: number,
    filter: EventFilter,
    limit: number,
    scan: number,
  ): Promise<EventRead> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.profileIds) {
      where.push(`"profile_id" in (${UUIDS})`);
      params.push(JSON.stringify(filter.profileIds));
    }
    if (filter.lineage) {
      // The events of the lineage's certificates from this depth on, whatever its length: each
      // event carries its certificate's lineage and depth (null on a lineage's first
      // certificate, which is its own at depth 0; Migration20261204000000CertificateLineage).
      const { lineageId, depth } = filter.lineage;
      if (depth > 0) {
        where.push(`"lineage_id" = ? and "lineage_depth" >= ?`);
        params.push(lineageId, depth);
      } else {
        where.push(`("lineage_id" = ? or ("lineage_id" is null and "certificate_id" = ?))`);
        params.push(lineageId, lineageId);
      }
    }
    const window = where.length === 0 ? limit : Math.max(scan, 1);
    const rows = await this.em().execute<
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
    >(
      // "edge": the window's last event, when there are that many (an index-only scan of
      // `window` entries); `offset 0` keeps it computed once. Left join: the bound comes back
      // also when no event matched.
      `with "bound" as materialized (
         select "edge" is not null as "more",
                coalesce("edge", (select max("position") from "certificate_event")) as "through"
           from (select (select "position" from "certificate_event" where "position" > ?
                          order by "position" offset ? limit 1) as "edge" offset 0) "k")
       select "b"."through", "b"."more", "e".* from "bound" "b" left join lateral (
         select "position", "type", "certificate_id", "profile_id", "previous_certificate_id", "error", "created_at"
           from "certificate_event"
          where "position" > ? and "position" <= "b"."through"${where.map((w) => ` and ${w}`).join("")}
          order by "position" limit ?) "e" on true
        order by "e"."position"`,
      [after, window - 1, after, ...params, limit],
    );
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

  /** Deletes the oldest numbered events and moves the horizon past them, in one statement. */
  async pruneOlderThan(before: Date, limit: number): Promise<number> {
    const rows = await this.em().execute<Array<{ n: string }>>(
      `with "old" as (
       select "id", "position" from "certificate_event"
        where "created_at" < ? and "position" is not null
        order by "position" limit ?
     ), "gone" as (
       delete from "certificate_event" "e" using "old" where "e"."id" = "old"."id" returning "e"."position"
     ), "moved" as (
       update "certificate_event_horizon" set "position" = greatest("position", (select max("position") from "gone"))
        where "id" = 1 and exists (select 1 from "gone") returning 1
     )
     select count(*) as "n" from "gone"`,
      [before, limit],
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
