/**
 * The database probe's ping (src/store/database.ts, ProbeConnection): no answer within its
 * timeout cuts every connection to PostgreSQL (a stalled network, test/probe/outage-stall.test.ts),
 * so it must not mistake a process that was busy for a database that was silent. Here the
 * event loop is held past the timeout while PostgreSQL answers: the answer waits in the socket,
 * and the ping must take it (under a busy test run a pool's connection was cut this way).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/store/database";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

describe("the database probe's ping", () => {
  let db: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    database = await openDatabase({ databaseUrl: db.url, dataDir: "/nonexistent" });
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  const pid = async () =>
    (
      await database.orm.em
        .fork()
        .getConnection()
        .execute<Array<{ pid: number }>>("select pg_backend_pid() as pid")
    )[0]!.pid;

  it("takes an answer that came while the event loop was held past the timeout, and cuts nothing", async () => {
    // Each attempt holds the event loop 600 ms past a 100 ms timeout. On a busy machine
    // PostgreSQL may not have answered by then (a real timeout: that attempt fails, and cuts);
    // an attempt whose answer did arrive must resolve and cut nothing. Without the check after
    // the poll phase, every attempt failed: the late timer always ran first.
    let taken = false;
    for (let attempt = 0; attempt < 20 && !taken; attempt++) {
      await database.ping(10_000); // the probe's own connection, opened
      const pooled = await pid();
      const ping = database.ping(100).then(
        () => true,
        () => false,
      );
      const until = Date.now() + 600;
      while (Date.now() < until) {
        // busy on purpose
      }
      taken = await ping;
      // Nothing was cut when the answer was taken: the pool's connection is the same session.
      if (taken) expect(await pid()).toBe(pooled);
    }
    expect(taken).toBe(true);
  });
});
