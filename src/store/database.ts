import { type Knex, MikroORM } from "@mikro-orm/postgresql";
import type { Client as PgConnection } from "pg";
import type { Logger } from "pino";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded-postgres";
import { MIGRATIONS } from "./migrations";
import { ormOptions } from "./orm-config";

export interface DatabaseOptions {
  /** A real PostgreSQL; without it the embedded PGlite in dataDir is used. */
  databaseUrl?: string;
  dataDir: string;
  /** Connection pool size for a real PostgreSQL. */
  poolMax?: number;
  /** How long a pooled connection may stay idle before it is closed (default 30 s). */
  idleTimeoutMs?: number;
  /** Receives the embedded database's session changes (debug level). */
  logger?: Logger;
}

/** An open database: the ORM (fork its em per call) and how it was reached. */
export interface Database {
  orm: MikroORM;
  embedded: boolean;
  /** One round trip (`select 1`): resolves while the database answers. */
  ping(): Promise<void>;
  /** The connection pool's connections now (metrics); undefined when it cannot be read. */
  poolState(): PoolState | undefined;
  close(): Promise<void>;
}

/** Connections in use, idle, and callers waiting for one. */
export interface PoolState {
  used: number;
  free: number;
  pending: number;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  if (!opts.databaseUrl) {
    embedded = await startEmbeddedPostgres(opts.dataDir, {
      opened: (session) => opts.logger?.debug({ session }, "embedded database session opened"),
      closed: (session) => opts.logger?.debug({ session }, "embedded database session closed"),
    });
  }
  try {
    const orm = await MikroORM.init(
      ormOptions({
        // The embedded database is reached through `stream`; the URL only names user and database.
        clientUrl: opts.databaseUrl ?? "postgresql://postgres@embedded/postgres",
        poolMax: embedded ? 1 : (opts.poolMax ?? 10),
        idleTimeoutMs: opts.idleTimeoutMs ?? 30_000,
        stream: embedded?.stream,
      }),
    );
    return {
      orm,
      embedded: embedded !== undefined,
      async ping() {
        await orm.em.getConnection().execute("select 1");
      },
      poolState: () => poolState(orm),
      async close() {
        await orm.close(true);
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

/** knex's tarn pool, which MikroORM does not expose by type. */
function poolState(orm: MikroORM): PoolState | undefined {
  const pool = (
    orm.em.getConnection().getKnex().client as {
      pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number };
    }
  ).pool;
  if (!pool) return undefined;
  return { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires() };
}

/** Applies every pending migration; returns the names applied (none when up to date). */
export async function migrate(orm: MikroORM): Promise<string[]> {
  // Every start but the first finds nothing to do: one query says so, where the migrator
  // lists every table of the schema first (about 0.3 s of the embedded database's start-up).
  if ((await pendingMigrations(orm)).length === 0) return [];
  const { Migrator } = await import("@mikro-orm/migrations");
  const applied = await new Migrator(orm.em).up();
  return applied.map((m) => m.name);
}

/** The names in MIGRATIONS that mikro_orm_migrations does not list (all of them on a new database). */
async function pendingMigrations(orm: MikroORM): Promise<string[]> {
  const connection = orm.em.getConnection();
  const [table] = await connection.execute<Array<{ present: boolean }>>(
    "select to_regclass('mikro_orm_migrations') is not null as present",
  );
  const done = table?.present
    ? (
        await connection.execute<Array<{ name: string }>>("select name from mikro_orm_migrations")
      ).map((r) => r.name)
    : [];
  return MIGRATIONS.map((m) => m.name).filter((name) => !done.includes(name));
}

/** The advisory lock key of start-up initialisation: the bytes of "certmint" as an int8. */
const STARTUP_LOCK_KEY = "7162256626780040820";

/**
 * Runs start-up initialisation (migrations, the key-encryption key's check value, the first
 * admin token) while holding a PostgreSQL session advisory lock, so replicas started together
 * on an empty database take turns: the first one migrates and initialises, the others then
 * find everything done (issue 11: two servers at once crashed in the first migration with
 * "already exists"). The lock is held on a connection of its own, outside the pool (a pool of
 * one would otherwise deadlock), and dies with that connection if the process dies. The
 * embedded database belongs to one process: no lock.
 */
export async function withStartupLock<T>(
  database: Database,
  logger: Logger,
  initialise: () => Promise<T>,
): Promise<T> {
  if (database.embedded) return initialise();
  // knex's Client API: a connection of its own, outside the pool.
  const client: Knex.Client = database.orm.em.getConnection().getKnex().client;
  const connection: PgConnection = await client.acquireRawConnection();
  try {
    const tried = await connection.query<{ locked: boolean }>(
      "select pg_try_advisory_lock($1::int8) as locked",
      [STARTUP_LOCK_KEY],
    );
    if (tried.rows[0]?.locked !== true) {
      logger.info("another certmint is initialising the database: waiting for it");
      await connection.query("select pg_advisory_lock($1::int8)", [STARTUP_LOCK_KEY]);
    }
    return await initialise();
  } finally {
    // Closing the session releases the lock, also when an unlock cannot be sent any more.
    await client.destroyRawConnection(connection).catch(() => undefined);
  }
}
