import type { EntityManager, Knex } from "@mikro-orm/postgresql";
import type { Client as PgConnection } from "pg";

/**
 * The hot-path statements (repositories/issuance.ts) as named prepared statements: each is
 * parsed and planned once per connection and afterwards only bound and executed. Measured with
 * bench/issue, this (and skipping the query builder) takes about a third off the server's and
 * half off PostgreSQL's CPU per issuance (561 -> 844 issuances/s at 16 clients).
 *
 * The statement runs on a connection of the ORM's pool (knex's Client API:
 * acquireConnection / releaseConnection), acquired for it alone: autocommitted, or in a
 * transaction of its own on a connection held with withConnection (the request lock,
 * request-lock.ts). Inside an ORM transaction it runs on the transaction's connection
 * through the ORM, unprepared.
 */
const prepared = new Map<string, { name: string; text: string }>();

/** The statement's name and its text with `$n` placeholders, made once per text. */
function preparedStatement(sql: string): { name: string; text: string } {
  let entry = prepared.get(sql);
  if (entry === undefined) {
    let i = 0;
    // The texts are certmint's own, with no '?' inside literals or identifiers.
    entry = {
      name: `certmint_hot_${prepared.size + 1}`,
      text: sql.replace(/\?/g, () => `$${++i}`),
    };
    prepared.set(sql, entry);
  }
  return entry;
}

/**
 * Connections whose named statements use generic plans (plan_cache_mode, PostgreSQL 12+). By
 * default PostgreSQL plans a named statement again at every execution while the plan it would
 * get for the values at hand looks cheaper than the generic one, and a statement reading an
 * unnest of array parameters always does (the generic plan counts 100 rows per array): the
 * issuance read's planning cost ~0.4 ms of PostgreSQL's CPU per execution (EXPLAIN ANALYZE:
 * 0.35-0.57 ms planning, 0.10 ms executing). These statements have one good plan whatever the
 * values (keys, primary-key joins, an index range), so they are planned once per connection.
 *
 * The setting is the session's, so it also applies to the ORM's statements on the connection
 * once it is back in the pool: those are unnamed, but an unnamed statement with parameters gets
 * a generic plan under force_generic_plan too (PostgreSQL's choose_custom_plan checks the
 * setting before anything else). A generic plan is costed without the values, and one costed
 * above jit_above_cost is JIT-compiled at every execution: a statement that ran in 2.3 ms on a
 * fresh connection took 401 ms on such a connection (found while indexing the watch reads,
 * bench/scale/watch-index.ts). certmint's statements are short OLTP reads and writes, which JIT
 * never pays for, so the same round trip turns it off.
 */
const genericPlans = new WeakSet<PgConnection>();

/** Runs `sql` (with `?` placeholders, as the ORM's execute takes them) and returns its rows. */
export async function executePrepared<T>(
  em: EntityManager,
  sql: string,
  bindings: unknown[],
): Promise<T> {
  if (em.isInTransaction()) {
    return em.getConnection().execute(sql, bindings, "all", em.getTransactionContext()) as T;
  }
  return withConnection(em, (connection) => connection.execute<T>(sql, bindings));
}

/** One pooled connection, held for several statements (a transaction of the hot path). */
export interface HeldConnection {
  /** Runs `sql` (with `?` placeholders) as a named prepared statement; returns its rows. */
  execute<T>(sql: string, bindings: unknown[]): Promise<T>;
  /** Runs a statement without parameters (BEGIN, COMMIT, ROLLBACK). */
  command(sql: string): Promise<void>;
  /** Keeps the connection out of the pool (its session state is unknown after a failure). */
  discard(reason: string): void;
}

/**
 * Runs `fn` on one connection of the ORM's pool, acquired for it alone and released after.
 * Statements run on it directly, prepared, outside the ORM's unit of work.
 */
export async function withConnection<T>(
  em: EntityManager,
  fn: (connection: HeldConnection) => Promise<T>,
): Promise<T> {
  const pool: Knex.Client = em.getConnection().getKnex().client;
  const connection: PgConnection = await pool.acquireConnection();
  let discarded = false;
  if (!genericPlans.has(connection)) {
    try {
      await connection.query("set plan_cache_mode = force_generic_plan; set jit = off");
      genericPlans.add(connection);
    } catch (err) {
      await pool.releaseConnection(connection);
      throw err;
    }
  }
  const held: HeldConnection = {
    async execute<R>(sql: string, bindings: unknown[]): Promise<R> {
      const { name, text } = preparedStatement(sql);
      const result = await connection.query({ name, text, values: bindings });
      return result.rows as R;
    },
    async command(sql: string): Promise<void> {
      await connection.query(sql);
    },
    discard(): void {
      discarded = true;
    },
  };
  try {
    return await fn(held);
  } finally {
    // A discarded connection is closed before it goes back: the pool's own check (knex marks a
    // pg connection that ended as disposed) then destroys it instead of handing it out again.
    if (discarded) await connection.end().catch(() => undefined);
    await pool.releaseConnection(connection);
  }
}
