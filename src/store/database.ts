import { Socket } from "node:net";
import { type Knex, MikroORM } from "@mikro-orm/postgresql";
import type { Client as PgConnection } from "pg";
import type { Logger } from "pino";
import { StartUpFailure } from "../start-up-failure";
import { databaseTls } from "./database-tls";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded-postgres";
import { MIGRATIONS } from "./migrations";
import { cutListenConnections } from "./notifications";
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
  /** Called once if the embedded database stops for good (a PostgreSQL PANIC: embedded-panic.ts). */
  onEmbeddedFailure?: (err: Error) => void;
}

/** An open database: the ORM (fork its em per call) and how it was reached. */
export interface Database {
  orm: MikroORM;
  embedded: boolean;
  /**
   * One round trip: resolves while the database answers. On PostgreSQL, no answer within
   * `timeoutMs` (default PING_TIMEOUT_MS) cuts every connection (ProbeConnection), and the
   * answer is the database's clock (DatabaseClockReading); the embedded database runs on this
   * process's clock and answers nothing.
   */
  ping(timeoutMs?: number): Promise<DatabaseClockReading | undefined>;
  /** The connection pool's connections now (metrics); undefined when it cannot be read. */
  poolState(): PoolState | undefined;
  close(): Promise<void>;
}

/**
 * PostgreSQL's wall clock as a probe read it: `databaseMs` (clock_timestamp(), ms since the
 * epoch) taken between the probe's send and its answer, `roundTripMs` apart on the monotonic
 * clock (server/clock-skew.ts compares it with this server's clock).
 */
export interface DatabaseClockReading {
  databaseMs: number;
  roundTripMs: number;
  /**
   * This database's sessions of certmint's role seen waiting for a synchronous standby to
   * confirm their commit for longer than the probe's timeout: writes that do not complete,
   * though the database answers (StalledCommits).
   */
  stalledCommits?: StalledCommits;
  /**
   * The id of the key-encryption key the database names as current (kek_check.kek_id; null:
   * none yet), read after the probe; absent when it could not be read without waiting (a KEK
   * rotation in progress holds its table). A server whose own KEK has another id missed a
   * rotation (server/database-health.ts).
   */
  kekId?: Buffer | null;
}

/**
 * Commits that hang while reads answer: a synchronous standby that is gone
 * (`synchronous_standby_names`: each COMMIT waits in `SyncRep` until a standby confirms, with
 * no timeout of PostgreSQL's own). `select 1` succeeds throughout, so until stop 42 of
 * 2026-12-06 health said SERVING while every write waited for its deadline.
 */
export interface StalledCommits {
  /** Sessions of certmint's role on its database seen waiting so for longer than the timeout. */
  count: number;
  /** What they wait for: `SyncRep`. */
  waitEvent: string;
  /** How long the longest has been seen waiting (at least; the probe samples). */
  seconds: number;
}

/** Connections in use, idle, and callers waiting for one. */
export interface PoolState {
  used: number;
  free: number;
  pending: number;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  const sockets = new Set<Socket>();
  if (!opts.databaseUrl) {
    embedded = await startEmbeddedPostgres(opts.dataDir, {
      opened: (session) => opts.logger?.debug({ session }, "embedded database session opened"),
      closed: (session) => opts.logger?.debug({ session }, "embedded database session closed"),
      failed: (err) => opts.onEmbeddedFailure?.(err),
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
        logger: opts.logger,
        ssl: opts.databaseUrl ? databaseTls(opts.databaseUrl) : undefined,
        // Every connection's socket, known until it closes: severSockets cuts them.
        socket: () => {
          const socket = new Socket();
          sockets.add(socket);
          socket.once("close", () => sockets.delete(socket));
          return socket;
        },
      }),
    );
    if (embedded) {
      return {
        orm,
        embedded: true,
        async ping() {
          await orm.em.getConnection().execute("select 1");
          return undefined;
        },
        poolState: () => poolState(orm),
        async close() {
          await orm.close(true);
          await embedded.stop();
        },
      };
    }
    nameConnectTimeouts(orm);
    const sever = () => severSockets(sockets);
    const probe = new ProbeConnection(orm, sever);
    return {
      orm,
      embedded: false,
      ping: (timeoutMs) => probe.ping(timeoutMs),
      poolState: () => poolState(orm),
      async close() {
        probe.close();
        await closeBounded(orm, sever);
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

/** knex's tarn pool, which MikroORM does not expose by type. */
interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

function tarnPool(orm: MikroORM): TarnPool | undefined {
  return (orm.em.getConnection().getKnex().client as { pool?: TarnPool }).pool;
}

function poolState(orm: MikroORM): PoolState | undefined {
  const pool = tarnPool(orm);
  if (!pool) return undefined;
  return { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires() };
}

/**
 * node-postgres ends a connection attempt past connectionTimeoutMillis (orm-config.ts) with a
 * bare Error("timeout expired"), which nothing tells from a bug: the call that waited for it
 * was INTERNAL. It is given the code of a connection that timed out, ETIMEDOUT, so every
 * layer above reports it as the outage it is (UNAVAILABLE, DATABASE_UNAVAILABLE). Every
 * connection knex opens, the pool's and the raw ones (start-up lock, health probe), comes
 * through acquireRawConnection.
 */
function nameConnectTimeouts(orm: MikroORM): void {
  const client = orm.em.getConnection().getKnex().client as Knex.Client & {
    acquireRawConnection(): Promise<PgConnection>;
  };
  const acquire = client.acquireRawConnection.bind(client);
  client.acquireRawConnection = () =>
    acquire().catch((err: unknown) => {
      if (err instanceof Error && err.message === "timeout expired" && !("code" in err)) {
        Object.assign(err, { code: "ETIMEDOUT" });
      }
      throw err;
    });
}

/**
 * How long a `select 1` may take before the database counts as stalled, unless the caller says:
 * the health probe (server/database-health.ts) passes its own timeout, the README's "within
 * 3 s (or three intervals)".
 */
export const PING_TIMEOUT_MS = 3000;
/** How long a closing pool may wait for its connections before the stalled ones are cut. */
const CLOSE_WAIT_MS = 5000;

/** The socket under a node-postgres connection (pg's Client keeps it as connection.stream). */
function socketOf(connection: PgConnection): { destroy(): void } | undefined {
  return (connection as unknown as { connection?: { stream?: { destroy(): void } } }).connection
    ?.stream;
}

/**
 * Cuts every connection to PostgreSQL that knex opened, idle, in the middle of a statement or
 * still connecting, when the database stopped answering without closing them (a network that
 * drops packets, a hung host, seen by the probe below). node-postgres has no timeout of its own
 * on a statement (certmint's run up to a minute on purpose: migrations, lock waits of a
 * repeated request), so such a connection waited for its answer forever: the call that held it
 * ended only at its deadline and kept the connection, the next calls took the others, and once
 * the network was back every pooled connection was still waiting. Health said SERVING again
 * (its probe opened a new connection) while every call ran into its deadline, until a restart,
 * and a SIGTERM never ended the process (the pool's close waited for them). A cut connection
 * fails its statement at once with "Connection terminated", an outage (UNAVAILABLE); its
 * transaction is rolled back (PostgreSQL ends the session when it sees the close, or by its own
 * keepalive); the pool opens new connections as calls need them.
 */
function severSockets(sockets: Set<Socket>): void {
  for (const socket of sockets) socket.destroy();
  cutListenConnections();
}

/**
 * The probe's one round trip, which also reads the database's clock (DatabaseClockReading) and
 * whether it takes writes: `select 1` succeeds on a hot standby, where every write fails, so a
 * read-only database counts as unreachable (health NOT_SERVING) like a stopped one. And it
 * lists this database's sessions of certmint's role (pg_stat_activity shows them to it without
 * any grant) waiting in `SyncRep`: a backend waits so only at the end of a commit, once, until a
 * synchronous standby confirms (CommitWaits judges how long). Not WAL I/O waits: a long
 * statement on a healthy disk is often in one (a review of stop 42 saw 11 of 83 samples of a
 * bulk insert in `WALWrite`), so they tell a stall from a busy disk only by guesswork.
 */
/**
 * `answer`, or ETIMEDOUT once `timeoutMs` passed without it (its timer goes into `timers`, for
 * the caller to clear). Only once the sockets were read: a timer that fires late, after the
 * event loop was held up past the timeout (a long synchronous task, a starved CPU), runs before
 * that turn's poll phase, which may hold the answer. setImmediate runs after it, and an answer
 * read there settles the race first. Without this a busy process cut every connection to a
 * database that had answered (a call's connection changed under it).
 */
function answeredWithin<T>(
  answer: Promise<T>,
  timeoutMs: number,
  timers: NodeJS.Timeout[],
): Promise<T> {
  const stalled = new Promise<never>((_, reject) => {
    timers.push(
      setTimeout(() => {
        const err = Object.assign(
          new Error(`the database did not answer a probe within ${timeoutMs} ms`),
          { code: "ETIMEDOUT" },
        );
        setImmediate(() => reject(err));
      }, timeoutMs),
    );
  });
  return Promise.race([answer, stalled]);
}

/** The KEK id the database names (Migration20261206140000KekIdGuard). */
const KEK_ID_SQL = `select "kek_id" from "kek_check" where "id" = 1`;
/** How long the probe's read of it waits for a lock held by a KEK rotation in progress. */
const KEK_ID_LOCK_TIMEOUT_MS = 200;

/** The probe's answer: the database's clock, whether it is read-only, commits waiting for a standby. */
type ProbeRow = { ms: number; readOnly: boolean; syncRep: string[] };

const PROBE_QUERY = `select (extract(epoch from clock_timestamp()) * 1000)::float8 as "ms", (pg_is_in_recovery() or current_setting('transaction_read_only') = 'on') as "readOnly", (select coalesce(json_agg(pid::text || '@' || query_start::text), '[]') from pg_stat_activity where datname = current_database() and usename = current_user and pid <> pg_backend_pid() and wait_event = 'SyncRep') as "syncRep"`;

/**
 * How long each commit has been seen waiting for a synchronous standby: a session's wait is
 * known by its pid and statement start, from the first probe that saw it to the last; one not
 * seen at a probe has ended. Only a wait seen for `stalledMs` and more is a stall, so a commit
 * sampled in a normal wait of a millisecond never counts, whatever its statement's age.
 */
export class CommitWaits {
  private readonly firstSeen = new Map<string, number>();

  /** Records this probe's sightings; the waits seen for `stalledMs` and more, if any. */
  observe(sessions: readonly string[], now: number, stalledMs: number): StalledCommits | undefined {
    const seen = new Set(sessions);
    for (const key of this.firstSeen.keys()) if (!seen.has(key)) this.firstSeen.delete(key);
    let count = 0;
    let longest = 0;
    for (const key of seen) {
      const first = this.firstSeen.get(key) ?? now;
      this.firstSeen.set(key, first);
      const waited = now - first;
      if (waited >= stalledMs) {
        count++;
        longest = Math.max(longest, waited);
      }
    }
    return count > 0 ? { count, waitEvent: "SyncRep", seconds: longest / 1000 } : undefined;
  }
}

/**
 * The health probe's connection, outside the pool: the probe measures whether PostgreSQL
 * answers, not whether the pool has a connection free (on a pool busy with long statements a
 * pooled probe would wait for one, and could report an outage that is not one), and a probe
 * never takes a connection the calls need. A probe that gets no answer within PING_TIMEOUT_MS
 * declares the network stalled: its connection and the pool's are cut (severSockets), and the
 * next probe opens a new one.
 */
class ProbeConnection {
  private connection: Promise<PgConnection> | undefined;
  /** The connection once open (until dropped): the probe's query goes out at once on it. */
  private open: PgConnection | undefined;
  private inFlight: Promise<DatabaseClockReading> | undefined;
  private readonly commitWaits = new CommitWaits();
  private closed = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly sever: () => void,
  ) {}

  ping(timeoutMs = PING_TIMEOUT_MS): Promise<DatabaseClockReading> {
    this.inFlight ??= this.pingOnce(timeoutMs).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  close(): void {
    this.closed = true;
    this.drop();
  }

  private client(): Knex.Client {
    return this.orm.em.getConnection().getKnex().client;
  }

  private async pingOnce(timeoutMs: number): Promise<DatabaseClockReading> {
    if (this.closed) throw new Error("Client was closed and is not queryable");
    if (!this.connection) {
      const connecting: Promise<PgConnection> = this.client()
        .acquireRawConnection()
        .then(async (c: PgConnection) => {
          // The KEK id's read (below) never waits on a rotation's lock of kek_check: it gives
          // up at once, and the next probe reads again. The probe's own query locks nothing
          // another session holds.
          await c.query(`set lock_timeout = ${KEK_ID_LOCK_TIMEOUT_MS}`);
          if (this.connection === connecting) this.open = c;
          return c;
        });
      this.connection = connecting;
    }
    const connecting = this.connection;
    const timers: NodeJS.Timeout[] = [];
    try {
      const sent = performance.now();
      // An open connection is sent the query now, not in a later microtask: a caller that
      // holds the event loop after asking (a long synchronous task) then finds the answer in
      // the socket when it lets go, instead of a query not yet sent and a timer already late
      // (until stop 45 of 2026-12-06 the query always went out after such a task, and the
      // probe mistook the busy process for a silent database; test/store/probe-connection.test.ts).
      const open = this.open;
      const query = open
        ? open.query<ProbeRow>(PROBE_QUERY)
        : connecting.then((c) => c.query<ProbeRow>(PROBE_QUERY));
      const result = await answeredWithin(query, timeoutMs, timers);
      const row = result.rows[0];
      if (row?.readOnly) {
        throw Object.assign(new Error("the database is read-only"), { code: "25006" });
      }
      const databaseMs = Number(row?.ms);
      const reading: DatabaseClockReading = { databaseMs, roundTripMs: performance.now() - sent };
      const stalledCommits = this.commitWaits.observe(
        row?.syncRep ?? [],
        performance.now(),
        timeoutMs,
      );
      if (stalledCommits) reading.stalledCommits = stalledCommits;
      // Its own bound, counted from now: the first one may have run out while the event loop
      // was held, the answer above notwithstanding.
      const kekId = await answeredWithin(this.readKekId(await connecting), timeoutMs, timers);
      if (kekId !== undefined) reading.kekId = kekId;
      return reading;
    } catch (err) {
      // The connection is given up on any failure: the next probe connects anew.
      this.drop();
      if ((err as { code?: unknown }).code === "ETIMEDOUT" && !this.closed) this.sever();
      throw err;
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
  }

  /**
   * kek_check.kek_id (null: none named yet); undefined when a rotation's transaction holds the
   * table (lock_not_available after KEK_ID_LOCK_TIMEOUT_MS) or the table is not there yet.
   */
  private async readKekId(c: PgConnection): Promise<Buffer | null | undefined> {
    try {
      const { rows } = await c.query<{ kek_id: Buffer | null }>(KEK_ID_SQL);
      return rows.length === 0 ? null : rows[0]!.kek_id;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === "55P03" || code === "42P01" || code === "42703") return undefined;
      throw err;
    }
  }

  private drop(): void {
    const connection = this.connection;
    this.connection = undefined;
    this.open = undefined;
    // Cut, not ended: an end waits for the server's answer, which a stalled network never sends.
    connection?.then(
      (c) => socketOf(c)?.destroy(),
      () => undefined,
    );
  }
}

/**
 * Closes the pool, waiting for connections still in use (a call past the shutdown's grace
 * period still writing) at most CLOSE_WAIT_MS; then cuts them (a stalled network: they would
 * never be released, and the process never exit) and waits for the close once more, as long
 * again.
 */
async function closeBounded(orm: MikroORM, sever: () => void): Promise<void> {
  const closing = orm.close(true);
  const wait = (ms: number) =>
    new Promise<"waited">((resolve) => setTimeout(resolve, ms, "waited").unref());
  if ((await Promise.race([closing, wait(CLOSE_WAIT_MS)])) !== "waited") return;
  sever();
  await Promise.race([closing, wait(CLOSE_WAIT_MS)]);
}

/** Applies every pending migration; returns the names applied (none when up to date). */
export async function migrate(orm: MikroORM): Promise<string[]> {
  // Every start but the first finds nothing to do: one query says so, where the migrator
  // lists every table of the schema first (about 0.3 s of the embedded database's start-up).
  const { pending, unknown } = await migrationState(orm);
  if (unknown.length > 0) throw newerDatabase(unknown);
  if (pending.length === 0) return [];
  const { Migrator } = await import("@mikro-orm/migrations");
  const applied = await new Migrator(orm.em).up();
  return applied.map((m) => m.name);
}

/**
 * A database a newer certmint migrated: this build would run on a schema it does not know,
 * without what the newer one keeps true (its triggers may expect columns this build never
 * writes). Until stop 40 of 2026-12-05 an older build started on it and served (an outside
 * probe: its certificates carried no key hash, so a later key-compromise revocation missed
 * them). Exit 2: only the newer build, or a backup from before the upgrade, helps.
 */
function newerDatabase(unknown: string[]): StartUpFailure {
  return new StartUpFailure(
    `the database was migrated by a newer certmint (it has ${unknown.length} migration(s) this build does not know, the last ${unknown.at(-1)}): run that version or a later one, or restore a backup taken before the upgrade; an older build must not write to it`,
    2,
    "DATABASE_NEWER",
  );
}

/**
 * The names in MIGRATIONS that mikro_orm_migrations does not list (all of them on a new
 * database), and the names it lists that MIGRATIONS does not (a newer build's).
 */
async function migrationState(orm: MikroORM): Promise<{ pending: string[]; unknown: string[] }> {
  const connection = orm.em.getConnection();
  const [table] = await connection.execute<Array<{ present: boolean }>>(
    "select to_regclass('mikro_orm_migrations') is not null as present",
  );
  const done = table?.present
    ? (
        await connection.execute<Array<{ name: string }>>("select name from mikro_orm_migrations")
      ).map((r) => r.name)
    : [];
  const known = new Set(MIGRATIONS.map((m) => m.name));
  return {
    pending: [...known].filter((name) => !done.includes(name)),
    unknown: done.filter((name) => !known.has(name)).sort(),
  };
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
