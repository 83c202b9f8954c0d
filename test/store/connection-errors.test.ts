/**
 * The one classification of database outages (src/database-outage.ts) and its mapping
 * to UNAVAILABLE with RetryInfo (src/api/errors.ts), on errors the real driver stack raises
 * where that is cheap to provoke, and on the shapes of the rest.
 */
import { status } from "@grpc/grpc-js";
import { MikroORM } from "@mikro-orm/postgresql";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Status } from "../../gen/ts/google/rpc/status";
import { codeOf, toServiceError } from "../../src/api/errors";
import { databaseOutage, transactionConflict } from "../../src/database-outage";
import { invalidArgument } from "../../src/errors";
import { ormOptions } from "../../src/store/orm-config";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { until } from "../support/wait";

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

/** A driver error as MikroORM wraps it: the SQL in front of the message, the code copied. */
function driverError(code: string | undefined, message: string): Error {
  return Object.assign(new Error(`insert into "x" ("secret") values ('v') - ${message}`), {
    code,
    name: "DriverException",
  });
}

describe("database outages are told apart from other failures", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("a refused connection, through pg and through MikroORM", async () => {
    const closed = new URL(db.url);
    closed.port = "1";
    const raw = await thrown(new Client({ connectionString: closed.toString() }).connect());
    expect(databaseOutage(raw)).toBe("ECONNREFUSED");
    // MikroORM.init makes no statement of its own (ensureDatabase is off: orm-config.ts), so
    // the first statement meets the refusal.
    const orm = await MikroORM.init(
      ormOptions({ clientUrl: closed.toString(), poolMax: 1, idleTimeoutMs: 1000 }),
    );
    try {
      const viaOrm = await thrown(orm.em.getConnection().execute("select 1"));
      expect(databaseOutage(viaOrm)).toBe("ECONNREFUSED");
    } finally {
      await orm.close(true);
    }
  });

  it('a session PostgreSQL terminates (57P01 "terminating connection due to administrator command")', async () => {
    const victim = new Client({ connectionString: db.url });
    victim.on("error", () => undefined);
    await victim.connect();
    const { rows } = await victim.query<{ pid: number }>("select pg_backend_pid() as pid");
    // A query running when the session is terminated receives PostgreSQL's error itself.
    const sleeping = thrown(victim.query("select pg_sleep(60)"));
    await until("the query to run", async () => {
      const active = await db.query(
        "select 1 from pg_stat_activity where pid = $1 and state = 'active'",
        [rows[0]!.pid],
      );
      return active.length === 1;
    });
    await db.query("select pg_terminate_backend($1)", [rows[0]!.pid]);
    const err = await sleeping;
    expect((err as { code?: string }).code).toBe("57P01");
    expect(databaseOutage(err)).toBe("57P01");
    // What the next query on that client meets is an outage too.
    const next = await thrown(victim.query("select 1"));
    expect(databaseOutage(next)).toBeDefined();
    await victim.end().catch(() => undefined);
  });

  it.each([
    ["57P03 cannot_connect_now", driverError("57P03", "the database system is starting up")],
    ["57P02 crash_shutdown", driverError("57P02", "terminating connection because of crash")],
    ["08006 connection_failure", driverError("08006", "connection failure")],
    ["08P01 protocol_violation", driverError("08P01", "protocol violation")],
    ["53300 too_many_connections", driverError("53300", "sorry, too many clients already")],
    // What the embedded database answered once its files were made read-only (an outside
    // probe, 2026-12-05): INTERNAL, with a stack trace per call, until then.
    ["42501 insufficient_privilege", driverError("42501", "permission denied")],
    ["58P02 duplicate_file", driverError("58P02", 'could not create file "base/5/16707_fsm"')],
    ["58P01 undefined_file", driverError("58P01", 'could not open file "pg_wal/000000010000"')],
    ["58000 system_error", driverError("58000", "system error")],
    ["ECONNRESET", driverError("ECONNRESET", "read ECONNRESET")],
    [
      "EMFILE",
      driverError("EMFILE", "connect EMFILE 127.0.0.1:5432 - Local (undefined:undefined)"),
    ],
    [
      "a connection ended under a query",
      driverError(undefined, "Connection terminated unexpectedly"),
    ],
    [
      "knex's pool timeout",
      driverError(undefined, "Knex: Timeout acquiring a connection. The pool is probably full."),
    ],
    [
      "a wrapped cause",
      new Error("retry failed", { cause: driverError("ECONNREFUSED", "connect") }),
    ],
  ])("%s is an outage: UNAVAILABLE with RetryInfo, without the driver's message", (_, err) => {
    expect(databaseOutage(err)).toBeDefined();
    expect(codeOf(err)).toBe(status.UNAVAILABLE);
    const sent = toServiceError(err);
    expect(sent.code).toBe(status.UNAVAILABLE);
    expect(sent.details).not.toContain("secret");
    expect(sent.metadata?.get("grpc-status-details-bin")).toHaveLength(1);
  });

  it("a real deadlock through MikroORM is a transaction conflict: ABORTED with RetryInfo, not INTERNAL", async () => {
    await db.query("create table deadlock_rows (id int primary key, n int not null)");
    await db.query("insert into deadlock_rows values (1, 0), (2, 0)");
    const orm = await MikroORM.init(
      ormOptions({ clientUrl: db.url, poolMax: 2, idleTimeoutMs: 1000 }),
    );
    try {
      // Each transaction locks one row, waits until the other holds its own, then asks for the
      // other's: PostgreSQL rolls one of them back (deadlock_detected) after deadlock_timeout.
      let release: () => void = () => undefined;
      let firstLocks = 0;
      const bothHold = new Promise<void>((resolve) => {
        release = resolve;
      });
      const crossing = (first: number, second: number) =>
        orm.em.fork().transactional(async (em) => {
          await em.execute("update deadlock_rows set n = n + 1 where id = ?", [first]);
          if (++firstLocks === 2) release();
          await bothHold;
          await em.execute("update deadlock_rows set n = n + 1 where id = ?", [second]);
        });
      const outcomes = await Promise.allSettled([crossing(1, 2), crossing(2, 1)]);
      const failed = outcomes.filter((o) => o.status === "rejected");
      expect(failed).toHaveLength(1);
      const err = (failed[0] as PromiseRejectedResult).reason;
      expect((err as { code?: string }).code).toBe("40P01");
      expect(transactionConflict(err)).toBe("40P01");
      expect(databaseOutage(err)).toBeUndefined();
      expect(codeOf(err)).toBe(status.ABORTED);
      const sent = toServiceError(err);
      expect(sent.code).toBe(status.ABORTED);
      expect(sent.details).toMatch(/lost a race with another and was rolled back/);
      expect(sent.details).not.toMatch(/deadlock_rows|update/);
      const details = Status.decode(sent.metadata!.get("grpc-status-details-bin")[0] as Buffer);
      expect(details.details.map((d) => d.typeUrl)).toEqual(
        expect.arrayContaining([
          "type.googleapis.com/google.rpc.ErrorInfo",
          "type.googleapis.com/google.rpc.RetryInfo",
        ]),
      );
      // The transaction rolled back changed nothing: each row moved once, by the other one.
      const rows = await db.query<{ n: number }>("select n from deadlock_rows order by id");
      expect(rows.map((r) => r.n)).toEqual([1, 1]);
    } finally {
      await orm.close();
    }
  });

  it.each([
    ["40001 serialization_failure", driverError("40001", "could not serialize access")],
    ["55P03 lock_not_available", driverError("55P03", "could not obtain lock on row")],
    ["a wrapped deadlock", new Error("retry failed", { cause: driverError("40P01", "deadlock") })],
  ])("%s is a transaction conflict: ABORTED", (_, err) => {
    expect(transactionConflict(err)).toBeDefined();
    expect(codeOf(err)).toBe(status.ABORTED);
    expect(toServiceError(err).details).not.toContain("secret");
  });

  it("a real constraint violation, an embedded database's internal error and a plain bug are not outages: INTERNAL", async () => {
    await db.query("create table t (id int primary key)");
    await db.query("insert into t values (1)");
    const unique = await thrown(db.query("insert into t values (1)"));
    expect((unique as { code?: string }).code).toBe("23505");
    const notOutages = [
      unique,
      // What PGlite answered when a pooled session reused a prepared statement's name.
      driverError("42P05", 'prepared statement "certmint_hot_1" already exists'),
      new TypeError("cannot read properties of undefined"),
      "a string",
      undefined,
    ];
    for (const err of notOutages) {
      expect(databaseOutage(err)).toBeUndefined();
      expect(codeOf(err)).toBe(status.INTERNAL);
      expect(toServiceError(err)).toEqual({
        code: status.INTERNAL,
        details: "internal error; the server log has the details",
      });
    }
    // A domain error keeps its own code.
    expect(codeOf(invalidArgument("X", "bad"))).toBe(status.INVALID_ARGUMENT);
  });
});
