import type { EntityManager } from "@mikro-orm/postgresql";
import { EVENTS_CHANNEL } from "../../store/notifications";
import { withConnection } from "../../store/prepared";

/** Advisory lock key (two int4) that makes one sequencer at a time run, on every replica. */
const SEQUENCER_LOCK = [0x63657274, 0x65766e74] as const; // "cert", "evnt"

/** Events numbered per round, at most. */
const BATCH = 1000;

/**
 * Gives committed events their cursor (`position`), in the order they become visible, so a
 * watcher that has read up to position P has seen every event that will ever get a position
 * <= P: it never misses one that commits late, and never gets one twice.
 *
 * Events are inserted with no position by the transactions that cause them (triggers on
 * certificate, the renewer). One sequencer runs at a time across replicas (a transaction
 * advisory lock; the others skip the round): it numbers the events its statement sees, which
 * are committed ones, from a sequence, and commits; the next round, which can only start
 * after that commit, sees those as numbered and numbers later commits higher. Readers see
 * either all of a round's numbers or none. On PostgreSQL the round notifies EVENTS_CHANNEL
 * (one NOTIFY per round, not per issuance: NOTIFY serialises commits on a database-wide lock).
 * Returns the highest position assigned, 0 when there was nothing to do, "busy" when another
 * replica's round was running.
 */
export async function sequenceEvents(em: EntityManager, notify: boolean): Promise<number | "busy"> {
  return withConnection(em, async (connection) => {
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
      const rows = await connection.execute<Array<{ position: string }>>(
        `update "certificate_event" set "position" = nextval('certificate_event_position_seq')
          where "id" in (select "id" from "certificate_event" where "position" is null order by "id" limit ?)
          returning "position"`,
        [BATCH],
      );
      const highest = rows.reduce((max, r) => Math.max(max, Number(r.position)), 0);
      if (highest > 0 && notify) {
        await connection.execute("select pg_notify(?, ?)", [EVENTS_CHANNEL, String(highest)]);
      }
      await connection.command("commit");
      return highest;
    } catch (err) {
      await connection.command("rollback").catch(() => connection.discard("rollback failed"));
      throw err;
    }
  });
}
