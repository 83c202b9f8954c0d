import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  CertificateEventRepository,
  CertificateEventType,
  EventFilter,
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

  async eventsAfter(after: number, filter: EventFilter, limit: number): Promise<StoredEvent[]> {
    const where: string[] = [`"position" > ?`];
    const params: unknown[] = [after];
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
    params.push(limit);
    const rows = await this.em().execute<
      Array<{
        position: string;
        type: CertificateEventType;
        certificate_id: string;
        profile_id: string | null;
        previous_certificate_id: string | null;
        error: StoredError | null;
        created_at: Date;
      }>
    >(
      `select "position", "type", "certificate_id", "profile_id", "previous_certificate_id", "error", "created_at"
       from "certificate_event" where ${where.join(" and ")} order by "position" limit ?`,
      params,
    );
    return rows.map((r) => ({
      position: Number(r.position),
      type: r.type,
      certificateId: r.certificate_id,
      profileId: r.profile_id,
      previousCertificateId: r.previous_certificate_id,
      error: r.error,
      createdAt: new Date(r.created_at),
    }));
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
