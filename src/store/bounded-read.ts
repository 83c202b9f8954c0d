import type { EntityManager, Knex } from "@mikro-orm/postgresql";
import type { Client as PgConnection, QueryResult } from "pg";
import { type ReadBound, ReadStopped } from "../issuance/repositories";

/** PostgreSQL's query_canceled: statement_timeout ran out, or pg_cancel_backend. */
const QUERY_CANCELED = "57014";

const MAX_TIMEOUT_MS = 2_147_483_647;

/** node-postgres sets it from the server's BackendKeyData; @types/pg does not declare it. */
type BackendConnection = PgConnection & { processID: number };

/**
 * Runs one read statement (`?` placeholders, as the ORM's execute takes them) within `bound`
 * (issuance/repositories/paging.ts): a list that no index serves well (a name_contains made of
 * trigrams most names share) walks the whole table, and without a bound it held a pooled
 * connection for seconds; ten at once filled the pool and stalled every other call.
 *
 * - The limit is PostgreSQL's statement_timeout, set with SET LOCAL in the same simple-query
 *   message as the statement: the two run in one implicit transaction (PostgreSQL docs,
 *   "Multiple Statements in a Simple Query"), so the setting ends with it, on success and on
 *   error, and never reaches the next user of the pooled connection; no BEGIN or COMMIT, no
 *   extra round trip. A lock wait counts toward it.
 * - The values are inlined as the ORM inlines them (platform.formatQuery), so the statement is
 *   planned for them, as before (certificate-page.ts: never a generic plan).
 * - When `bound.signal` aborts (the caller cancelled, or its deadline passed) the statement is
 *   cancelled with pg_cancel_backend from a connection outside the pool (the pool may be full:
 *   that is the case to cure). The pooled connection goes back only once that function has
 *   returned (its signal sent) and the statement has ended: a cancel that finds the backend
 *   idle is dropped before it reads its next command (PostgreSQL postgres.c, PostgresMain:
 *   "if a query cancel arrived while we were idle, just reset QueryCancelPending"), so it
 *   cannot land on the next user's statement. (The protocol's CancelRequest, which the
 *   postmaster relays later, could.)
 * - Inside a transaction the statement runs on it, unbounded: a SET LOCAL would outlive it.
 *
 * Throws ReadStopped when PostgreSQL cancelled the statement; the connection stays healthy.
 */
export async function boundedRead<T>(
  em: EntityManager,
  sql: string,
  params: unknown[],
  bound: ReadBound | undefined,
): Promise<T[]> {
  // statement_timeout is an int4 of milliseconds (a deadline weeks away would overflow it).
  const timeoutMs = Math.min(MAX_TIMEOUT_MS, Math.max(0, Math.ceil(bound?.timeoutMs ?? 0)));
  const signal = bound?.signal;
  if ((timeoutMs === 0 && !signal) || em.isInTransaction()) {
    return em.getConnection().execute<T[]>(sql, params, "all", em.getTransactionContext());
  }
  const statement = em.getPlatform().formatQuery(sql, params);
  const pool: Knex.Client = em.getConnection().getKnex().client;
  const connection: BackendConnection = await pool.acquireConnection();
  let cancelling: Promise<void> | undefined;
  const cancel = () => {
    cancelling ??= cancelBackend(pool, connection.processID);
  };
  try {
    if (signal?.aborted) throw new ReadStopped("cancelled");
    signal?.addEventListener("abort", cancel, { once: true });
    const text =
      timeoutMs > 0 ? `set local statement_timeout = ${timeoutMs}; ${statement}` : statement;
    const result = (await connection.query(text)) as QueryResult | QueryResult[];
    return (Array.isArray(result) ? result.at(-1)! : result).rows as T[];
  } catch (err) {
    if ((err as { code?: unknown }).code === QUERY_CANCELED) {
      throw new ReadStopped(signal?.aborted ? "cancelled" : "timeout", { cause: err });
    }
    throw err;
  } finally {
    signal?.removeEventListener("abort", cancel);
    await cancelling;
    await pool.releaseConnection(connection);
  }
}

/**
 * pg_cancel_backend(pid) from a connection of its own (knex's, as its own query cancel does).
 * Best effort: if it fails, the statement still ends at its statement_timeout.
 */
async function cancelBackend(pool: Knex.Client, pid: number): Promise<void> {
  try {
    const other: PgConnection = await pool.acquireRawConnection();
    try {
      await other.query("select pg_cancel_backend($1)", [pid]);
    } finally {
      await pool.destroyRawConnection(other);
    }
  } catch {
    // Nothing to tell the caller, who has gone.
  }
}
