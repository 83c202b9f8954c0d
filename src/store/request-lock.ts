import type { EntityManager } from "@mikro-orm/postgresql";
import { type HeldConnection, withConnection } from "./prepared";

/**
 * The lock that makes one caller at a time finish a PENDING certificate request (an approved
 * one, or one an older version recorded before signing; issue and renew without approval
 * write their request once, with its certificate, and take no lock), on every replica: a
 * transaction-scoped PostgreSQL advisory lock (two-int4 key space, so it never meets a
 * bigint-keyed lock such as one serialising migrations) held from before signing until the
 * certificate is committed. A replica that dies mid-signing drops its connection and with it
 * the lock, so a replay that gets the lock and still finds the request PENDING knows its first
 * worker is gone. The embedded database serves one session, where the pool's single
 * connection already serialises the locked sections; the lock is taken there all the same.
 */
const REQUEST_LOCK_CLASS = 0x63657274; // "cert"

/**
 * The second half of the key: the last 32 bits of the request's UUID, as a signed int4. They
 * are random in a UUIDv7 (RFC 9562 5.7: rand_b) as in a v4. The first 32 bits, used until
 * 2026-12-03, are a UUIDv7's time in units of 65.5 s, so every request created in the same
 * minute or so shared one lock, and approvals and replays of unrelated requests waited on
 * each other (up to their wait) on every replica.
 */
export function requestLockKey(requestId: string): number {
  return Number.parseInt(requestId.replace(/-/g, "").slice(-8), 16) | 0;
}

/**
 * lock_timeout's largest value: an int of milliseconds (24.8 days). A wait bounded by a deadline
 * further ahead (gRPC allows 8 digits of hours) was refused by PostgreSQL as "outside the valid
 * range"; it waits this long at most instead, then is "busy" like any other wait that ran out.
 */
const MAX_LOCK_TIMEOUT_MS = 2_147_483_647;

/** PostgreSQL's lock_not_available: lock_timeout ran out. */
const LOCK_NOT_AVAILABLE = "55P03";

/** The request table and the columns the lock reads, quoted, from the entity's metadata (columns.ts). */
export interface RequestTable {
  readonly table: string;
  readonly id: string;
  readonly status: string;
}

export interface LockedRequest {
  /** The connection holding the lock; the locked section writes through it, in its transaction. */
  connection: HeldConnection;
  /** The request's status once the lock was held (null: no such request). */
  status: string | null;
}

/**
 * Runs `fn` in a transaction that holds the request's lock, on one pooled connection: the lock
 * is tried first (the usual case: nobody else holds it), then waited for at most `waitMs`.
 * Commits what `fn` wrote and returns its value; rolls back if it throws. Returns "busy" when
 * the lock was still held by another session after `waitMs`.
 *
 * `fn` must use only `connection`: on the embedded database it is the pool's only one.
 */
export async function withRequestLock<T>(
  em: EntityManager,
  requests: RequestTable,
  requestId: string,
  waitMs: number,
  fn: (locked: LockedRequest) => Promise<T>,
): Promise<T | "busy"> {
  const key = requestLockKey(requestId);
  return withConnection(em, async (connection) => {
    await connection.command("begin");
    try {
      // The usual case in one round trip: the lock is free, and the status read in the same
      // statement is at least as new as whoever held it before (if a holder committed in the
      // instant between this statement's snapshot and its lock, the store statement's
      // `status = 'PENDING'` guard finds the request no longer pending and nothing is stored).
      const [tried] = await connection.execute<Array<{ locked: boolean; status: string | null }>>(
        `select pg_try_advisory_xact_lock(?::int4, ?::int4) as "locked",
                (select ${requests.status} from ${requests.table} where ${requests.id} = ?) as "status"`,
        [REQUEST_LOCK_CLASS, key, requestId],
      );
      let status = tried!.status;
      if (!tried!.locked) {
        // Another call holds it: wait, bounded, then read the status it left (a new statement,
        // so a new snapshot that sees its commit).
        await connection.execute("select set_config('lock_timeout', ?, true)", [
          `${Math.min(MAX_LOCK_TIMEOUT_MS, Math.max(1, Math.ceil(waitMs)))}ms`,
        ]);
        try {
          await connection.execute("select pg_advisory_xact_lock(?::int4, ?::int4)", [
            REQUEST_LOCK_CLASS,
            key,
          ]);
        } catch (err) {
          if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw err;
          await connection.command("rollback");
          return "busy";
        }
        const [row] = await connection.execute<Array<{ status: string }>>(
          `select ${requests.status} as "status" from ${requests.table} where ${requests.id} = ?`,
          [requestId],
        );
        status = row?.status ?? null;
      }
      const value = await fn({ connection, status });
      await connection.command("commit");
      return value;
    } catch (err) {
      await connection.command("rollback").catch(() => connection.discard("rollback failed"));
      throw err;
    }
  });
}
