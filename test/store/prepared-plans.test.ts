import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, migrate, openDatabase } from "../../src/store/database";
import { withConnection } from "../../src/store/prepared";
import { createStore } from "../../src/store/store";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

/**
 * The hot path's named statements (src/store/prepared.ts) are planned once per connection:
 * PostgreSQL's default would plan the issuance read (an unnest of array parameters) again at
 * every execution. pg_prepared_statements counts the plans each statement of the session used.
 */
describe("named statements of the hot path", () => {
  let db: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    db = await createTestDatabase();
    // One connection: every statement below runs in the session the last one inspects.
    database = await openDatabase({ databaseUrl: db.url, dataDir: "/nonexistent", poolMax: 1 });
    await migrate(database.orm);
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  it("use one generic plan, however often they run", async () => {
    const store = createStore(database.orm);
    for (let i = 0; i < 8; i++) {
      const rows = await store.issuance.findProfileAndPrior(
        { id: randomUUID() },
        { caller: `caller-${i}`, idempotencyKey: `key-${i}` },
      );
      expect(rows.profile).toBeNull();
    }
    const plans = await withConnection(database.orm.em.fork(), (connection) =>
      connection.execute<Array<{ statement: string; generic: number; custom: number }>>(
        `select statement, generic_plans::int as generic, custom_plans::int as custom
           from pg_prepared_statements where name like 'certmint_hot_%'`,
        [],
      ),
    );
    const read = plans.find((p) => p.statement.includes("prior_id"));
    expect(read).toMatchObject({ generic: 8, custom: 0 });
  });

  it("leave JIT off for the ORM's own statements on the same connection", async () => {
    // The pool's one connection ran the hot path's statements above; the ORM's next statement,
    // unnamed with a parameter, runs in that session (generic plans), never JIT-compiled.
    const em = database.orm.em.fork();
    const [settings] = await em
      .getConnection()
      .execute<Array<{ jit: string; mode: string }>>(
        "select current_setting('jit') as jit, current_setting('plan_cache_mode') as mode where ? = 1",
        [1],
      );
    expect(settings).toEqual({ jit: "off", mode: "force_generic_plan" });
  });
});
