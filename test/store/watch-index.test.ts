/**
 * The reads whose cost used to grow with what others did, each asserted on its query plan as
 * PostgreSQL runs it (EXPLAIN ANALYZE: which index, how many rows each node read; no timings),
 * on tables large enough that the planner has a choice (Migration20261204100000WatchAndSweepIndexes):
 *   - a watch on a quiet profile, woken after a round of other profiles' events, reads none of
 *     them (it read each of them, twice: the bound and the filtered range);
 *   - readAfter keeps its answers (events, through, more) for every filter, against a model of
 *     its contract computed from all the rows;
 *   - the ACME order sweep reads the orders that never issued, not every order kept, and the
 *     order replacing a certificate is found by index;
 *   - on the embedded database (PGlite) the migration builds the same indexes and a quiet
 *     profile's read uses its index too.
 * The statements are the ones the repositories run (readAfterStatement; the ACME repository's
 * captured from its connection), explained with the same parameters, with a plan for those
 * values and with a generic plan (readAfter runs prepared, with generic plans: src/store/prepared.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EntityManager, MikroORM } from "@mikro-orm/postgresql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateEventRepository,
  type EventFilter,
  type EventRead,
  ORDER_LIFETIME_MS,
  ORDER_RETENTION_MS,
} from "../../src/issuance/repositories";
import { type Database, migrate, openDatabase } from "../../src/store/database";
import { ormOptions } from "../../src/store/orm-config";
import { OrmAcmeRepository } from "../../src/store/repositories/acme";
import { readAfterStatement } from "../../src/store/repositories/certificate-events";
import { createStore } from "../../src/store/store";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

/** Events already numbered when the tests start, over BUSY profiles and one quiet one. */
const EVENTS = 100_000;
const BUSY = 50;
/** The events of a sequencer round (BATCH in certificate-events.ts). */
const ROUND = 1_000;
/** readAfter's arguments as the watch passes them (PAGE and SCAN in src/issuance/events/watch.ts). */
const PAGE = 100;
const SCAN = 10_000;

const QUIET = "00000000-0000-4000-8000-00000000000a";
const LINEAGE = "00000000-0000-4000-8000-0000000000c1";
const busy = Array.from(
  { length: BUSY },
  (_, i) => `00000000-0000-4000-8000-1${String(i).padStart(11, "0")}`,
);

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Rows": number;
  "Actual Loops": number;
  "Rows Removed by Filter"?: number;
  Plans?: PlanNode[];
}

function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}

/** Rows a node produced or filtered out, over all its loops: what it read. */
const rowsRead = (n: PlanNode) =>
  (n["Actual Rows"] + (n["Rows Removed by Filter"] ?? 0)) * n["Actual Loops"];

interface Statement {
  sql: string;
  params: unknown[];
}

/**
 * A knex statement (`?` placeholders) as pg's ($1...). None of the statements explained here
 * has a `?` in a literal.
 */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** A parameter as an SQL literal. */
function literal(value: unknown): string {
  if (typeof value === "number") return String(value);
  const text = value instanceof Date ? value.toISOString() : String(value);
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * EXPLAIN ANALYZE of `statement` on `db`, in a transaction rolled back (a DELETE deletes
 * nothing): planned for its values, or with `generic` as a prepared statement's generic plan.
 */
async function explain(
  db: Pick<TestDatabase, "query">,
  statement: Statement,
  generic = false,
): Promise<{
  nodes: PlanNode[];
  on: (relation: string) => PlanNode[];
  cost: number;
  jit: boolean;
}> {
  const sql = numbered(statement.sql);
  // EXECUTE takes no bound parameters: the values as literals.
  const args = statement.params.map(literal).join(", ");
  await db.query("begin");
  try {
    if (generic) {
      await db.query("set local plan_cache_mode = force_generic_plan");
      await db.query(`prepare watch_index_explained as ${sql}`);
    }
    const [row] = await db.query<{
      "QUERY PLAN": Array<{ Plan: PlanNode & { "Total Cost": number }; JIT?: unknown }>;
    }>(
      `explain (analyze, format json) ${generic ? `execute watch_index_explained(${args})` : sql}`,
      generic ? [] : statement.params,
    );
    const top = row!["QUERY PLAN"][0]!;
    const nodes = planNodes(top.Plan);
    return {
      nodes,
      on: (relation) => nodes.filter((n) => n["Relation Name"] === relation),
      cost: top.Plan["Total Cost"],
      jit: top.JIT !== undefined,
    };
  } finally {
    await db.query("rollback");
    if (generic) await db.query("deallocate watch_index_explained");
  }
}

/**
 * The ACME repository, recording each statement it runs; with `dryRun` it runs none (and finds
 * no rows), so a DELETE can be explained before it deletes.
 */
function capturingAcme(orm: MikroORM, into: Statement[], dryRun = false): OrmAcmeRepository {
  const em = () => {
    const real = orm.em.fork();
    return {
      getConnection: () => ({
        execute: async (sql: string, params: unknown[], method: "all", ctx: unknown) => {
          into.push({ sql, params });
          return dryRun ? [] : real.getConnection().execute(sql, params, method, ctx as never);
        },
      }),
      getTransactionContext: () => undefined,
      getPlatform: () => real.getPlatform(),
    } as unknown as EntityManager;
  };
  return new OrmAcmeRepository(em);
}

interface EventRow {
  position: number;
  profileId: string | null;
  certificateId: string;
  lineageId: string | null;
  lineageDepth: number | null;
}

/**
 * readAfter's contract (CertificateEventRepository), computed from every numbered event: the
 * bound is the `window`-th event after `after` (`limit` without a filter, else `scan`), else
 * the highest position; the events those of (after, bound] the filter allows, at most `limit`.
 */
function modelRead(
  all: EventRow[],
  after: number,
  filter: EventFilter,
  limit: number,
  scan: number,
): Positions {
  const filtered = filter.profileIds !== undefined || filter.lineage !== undefined;
  const window = filtered ? Math.max(scan, 1) : limit;
  const later = all.filter((e) => e.position > after);
  const edge = later[window - 1]?.position;
  const bound = edge ?? all.at(-1)?.position ?? after;
  const allows = (e: EventRow) => {
    if (filter.profileIds && !filter.profileIds.includes(e.profileId ?? "")) return false;
    const l = filter.lineage;
    if (!l) return true;
    return l.depth > 0
      ? e.lineageId === l.lineageId && (e.lineageDepth ?? -1) >= l.depth
      : e.lineageId === l.lineageId || (e.lineageId === null && e.certificateId === l.lineageId);
  };
  const events = later.filter((e) => e.position <= bound && allows(e)).slice(0, limit);
  const full = events.length >= limit;
  return {
    positions: events.map((e) => e.position),
    through: full ? events.at(-1)!.position : Math.max(after, bound),
    more: full || edge !== undefined,
  };
}

/** A read as positions. */
interface Positions {
  positions: number[];
  through: number;
  more: boolean;
}

const positionsOf = (read: EventRead): Positions => ({
  positions: read.events.map((e) => e.position),
  through: read.through,
  more: read.more,
});

/** Inserts `n` unnumbered events on the busy profiles, as the certificate triggers write them. */
const ROUND_SQL = `insert into certificate_event (type, certificate_id, profile_id)
  select 'ISSUED', gen_random_uuid(), ($2::uuid[])[1 + g % ${BUSY}] from generate_series(1, $1::int) g`;

describe("a watch on a quiet profile, and the ACME order sweep, read by index (PostgreSQL)", () => {
  let db: TestDatabase;
  let orm: MikroORM;
  let events: CertificateEventRepository;
  let all: EventRow[];

  /** One readAfter, and the statement it ran. */
  const read = async (after: number, filter: EventFilter, limit = PAGE, scan = SCAN) => ({
    result: await events.readAfter(after, filter, limit, scan),
    statement: readAfterStatement(after, filter, limit, scan),
  });

  const loadAll = async () => {
    all = (
      await db.query<{
        position: string;
        profile_id: string | null;
        certificate_id: string;
        lineage_id: string | null;
        lineage_depth: number | null;
      }>(
        `select position, profile_id, certificate_id, lineage_id, lineage_depth
           from certificate_event where position is not null order by position`,
      )
    ).map((r) => ({
      position: Number(r.position),
      profileId: r.profile_id,
      certificateId: r.certificate_id,
      lineageId: r.lineage_id,
      lineageDepth: r.lineage_depth,
    }));
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    orm = await MikroORM.init(ormOptions({ clientUrl: db.url, poolMax: 2, idleTimeoutMs: 1000 }));
    events = createStore(orm).events;
    // A retention's worth of numbered events: the busy profiles in turn, the quiet profile's
    // every 5,000th; every 997th of a lineage (depth 0 is its first certificate: no lineage id).
    await db.query(
      `insert into certificate_event (type, certificate_id, profile_id, position, lineage_id, lineage_depth)
       select 'ISSUED',
              case when g % 997 = 0 and (g / 997) % 4 = 0 then $3::uuid else gen_random_uuid() end,
              case when g % 5000 = 7 then $2::uuid else ($4::uuid[])[1 + g % ${BUSY}] end, g,
              case when g % 997 = 0 and (g / 997) % 4 > 0 then $3::uuid end,
              case when g % 997 = 0 and (g / 997) % 4 > 0 then (g / 997) % 4 end
         from generate_series(1, $1::int) g`,
      [EVENTS, QUIET, LINEAGE, busy],
    );
    await db.query(`select setval('certificate_event_position_seq', $1)`, [EVENTS]);
    await db.query("vacuum analyze certificate_event");
    // A round of the busy profiles' events, numbered by the sequencer, as a watch wakes after it.
    await db.query(ROUND_SQL, [ROUND, busy]);
    expect(await createStore(orm).events.sequence()).toMatchObject({ highest: EVENTS + ROUND });
    await loadAll();
  }, 120_000);
  afterAll(async () => {
    await orm?.close();
    await db?.drop();
  });

  it("a quiet profile's watch woken after a round reads none of the round's events", async () => {
    const { result, statement } = await read(EVENTS, { profileIds: [QUIET] });
    expect(result).toEqual({ events: [], through: EVENTS + ROUND, more: false });

    for (const generic of [false, true]) {
      const scans = (await explain(db, statement, generic)).on("certificate_event");
      // The profile's range of its index, entered and found empty.
      const profile = scans.filter(
        (n) => n["Index Name"] === "certificate_event_profile_position_index",
      );
      expect(
        profile.map((n) => [n["Actual Loops"], rowsRead(n)]),
        `generic ${generic}`,
      ).toEqual([[1, 0]]);
      // The bound: the highest position (one row); the window's edge is not looked for.
      // Before the index: 2,000 rows (the round's 1,000 events counted for the bound, then read
      // again and filtered out).
      expect(scans.reduce((sum, n) => sum + rowsRead(n), 0)).toBe(1);
      expect(scans.map((n) => n["Node Type"])).not.toContain("Seq Scan");
    }
  });

  it("a watch far behind still reads the quiet profile's events by its index, the other profiles' only to count its window", async () => {
    const after = EVENTS - 25_000;
    const { result, statement } = await read(after, { profileIds: [QUIET] });
    expect(result.events.map((e) => e.position)).toEqual([75_007, 80_007]);
    expect(result.through).toBe(after + SCAN);
    expect(result.more).toBe(true);

    for (const generic of [false, true]) {
      const scans = (await explain(db, statement, generic)).on("certificate_event");
      const profile = scans.filter(
        (n) => n["Index Name"] === "certificate_event_profile_position_index",
      );
      expect(profile.map(rowsRead), `generic ${generic}`).toEqual([2]);
      // The window's 10,000th position, counted in the position index, and nothing filtered out.
      expect(scans.reduce((sum, n) => sum + (n["Rows Removed by Filter"] ?? 0), 0)).toBe(0);
      expect(scans.reduce((sum, n) => sum + rowsRead(n), 0)).toBe(1 + SCAN + 2);
    }
  });

  it("every shape of read has a generic plan too cheap to be compiled (JIT) at each execution", async () => {
    // readAfter runs prepared, with a generic plan; a plan costed above jit_above_cost is
    // compiled at every execution (a profile-scoped lineage watch's cost 2,020,248 at 10^6
    // events: 370 ms a read). Costs here, at 10^5 events, are kept a tenth of the way there.
    const [setting] = await db.query<{ jit_above_cost: string }>("show jit_above_cost");
    const bound = Number(setting!.jit_above_cost) / 10;
    const lineage = { lineageId: LINEAGE, depth: 0 };
    const shapes: Array<[number, EventFilter]> = [
      [EVENTS, { profileIds: [QUIET] }],
      [0, { profileIds: [QUIET] }],
      [0, { profileIds: [...busy] }],
      [EVENTS, {}],
      [0, {}],
      [0, { lineage }],
      [0, { lineage: { lineageId: LINEAGE, depth: 2 } }],
      [EVENTS, { profileIds: [QUIET], lineage }],
      [0, { profileIds: [...busy], lineage }],
    ];
    for (const [after, filter] of shapes) {
      const plan = await explain(db, readAfterStatement(after, filter, PAGE, SCAN), true);
      expect(
        { cost: plan.cost < bound, jit: plan.jit },
        JSON.stringify({ after, filter, cost: plan.cost }),
      ).toEqual({
        cost: true,
        jit: false,
      });
    }
  });

  it("answers as its contract says for every filter: events, through and more", async () => {
    const head = EVENTS + ROUND;
    const lineageDeep = { lineageId: LINEAGE, depth: 2 };
    const lineageAll = { lineageId: LINEAGE, depth: 0 };
    const cases: Array<[number, EventFilter, number?, number?]> = [
      [EVENTS, { profileIds: [QUIET] }],
      [0, { profileIds: [QUIET] }],
      [head, { profileIds: [QUIET] }],
      [head - 5, {}],
      [EVENTS - 3_000, {}],
      // A busy profile fills a page: `through` is its last event, before the bound.
      [EVENTS - 9_000, { profileIds: [busy[3]!] }],
      // Several profiles, duplicates among them: one event each, in position order.
      [EVENTS - 30_000, { profileIds: [QUIET, busy[7]!, QUIET] }, 5],
      [EVENTS - 30_000, { profileIds: [busy[7]!, busy[8]!] }, 100, 150],
      [EVENTS - 30_000, { profileIds: [] }],
      [head - 1_500, { profileIds: [QUIET, busy[1]!] }, 1_000],
      // Exactly a window of positions after the cursor: the edge is the head itself.
      [head - SCAN, { profileIds: [QUIET] }],
      [head - SCAN + 1, { profileIds: [QUIET] }],
      [0, { lineage: lineageDeep }],
      [0, { lineage: lineageAll }],
      [50_000, { lineage: lineageAll }, 3, 60_000],
      [0, { profileIds: [...busy], lineage: lineageAll }, 100, 200_000],
      [0, { profileIds: [QUIET], lineage: lineageAll }],
    ];
    let checked = 0;
    for (const [after, filter, limit = PAGE, scan = SCAN] of cases) {
      const { result } = await read(after, filter, limit, scan);
      expect(positionsOf(result), JSON.stringify({ after, filter, limit, scan })).toEqual(
        modelRead(all, after, filter, limit, scan),
      );
      checked += result.events.length;
    }
    // Not a vacuous agreement: the cases between them returned events.
    expect(checked).toBeGreaterThan(300);
    // Events carry their columns.
    const { result } = await read(0, { profileIds: [QUIET] }, 1);
    expect(result.events[0]).toMatchObject({ position: 7, type: "ISSUED", profileId: QUIET });
  });

  it("the hourly order sweep reads the orders that never issued, not the orders kept; replacedBy reads one entry", async () => {
    const now = new Date();
    const cutoff = now.getTime() - ORDER_RETENTION_MS;
    const [account] = await db.query<{ id: string }>(
      `insert into acme_account (id, profile_id, key_thumbprint, jwk, status, contact, created_at, updated_at)
       values (gen_random_uuid(), gen_random_uuid(), 'thumbprint', '{}', 'valid', '[]', $1, $1) returning id`,
      [now],
    );
    // 100,000 orders of the past year: 90% issued (kept for good), the rest pending, ready or
    // invalid within the retention (kept until it ends), 50 processing (waiting for an approver:
    // kept) and 30 past their retention, which the sweep deletes. Half replace a certificate (ARI).
    await db.query(
      `insert into acme_order (id, account_id, profile_id, status, identifiers, expires_at, certificate_id, replaces, created_at, updated_at)
       select gen_random_uuid(), $1, gen_random_uuid(), s.status,
              jsonb_build_array(jsonb_build_object('type', 'dns', 'value', 'host-' || g || '.example.com')),
              s.created + $4 * interval '1 ms', case when s.status = 'valid' then gen_random_uuid() end,
              case when g % 2 = 0 then 'replaced.' || g end, s.created, s.created
         from generate_series(1, 100000) g cross join lateral (
           select case when g <= 30 then (array['pending', 'ready', 'invalid'])[1 + g % 3]
                       when g <= 80 then 'processing'
                       when g % 10 = 0 then (array['pending', 'ready', 'invalid'])[1 + g % 3]
                       else 'valid' end as status,
                  case when g <= 80 then $2::timestamptz - interval '1 day' - g * interval '1 minute'
                       when g % 10 = 0 then $3::timestamptz - (g % 1000) * interval '1 minute'
                       else $2::timestamptz - (g % 300) * interval '1 day' end as created) s`,
      [account!.id, new Date(cutoff - ORDER_LIFETIME_MS), now, ORDER_LIFETIME_MS],
    );
    await db.query("vacuum analyze acme_order");

    const captured: Statement[] = [];
    await capturingAcme(orm, captured, true).sweepOrders(now, 1_000);
    for (const generic of [false, true]) {
      const sweep = (await explain(db, captured[0]!, generic)).nodes;
      expect(sweep.map((n) => n["Node Type"])).not.toContain("Seq Scan");
      // The index's range below the cutoff: the 30 it deletes and the 50 processing ones it
      // keeps, each read from the table once; then the 30 by primary key. Before, a sequential
      // scan of all 100,000 orders (the deletion then hashed them all again to join the batch).
      const range = sweep.filter((n) => n["Index Name"] === "acme_order_sweep_index");
      expect(range.map(rowsRead), `generic ${generic}`).toEqual([80]);
      const heap = sweep.filter(
        (n) => n["Relation Name"] === "acme_order" && n["Node Type"] !== "ModifyTable",
      );
      expect(heap.map(rowsRead).sort((a, b) => a - b)).toEqual([30, 80]);
    }

    const acme = capturingAcme(orm, captured);
    expect(await acme.sweepOrders(now, 1_000)).toBe(30);
    const [left] = await db.query<{ orders: string; old: string }>(
      `select count(*) as orders,
              count(*) filter (where status <> 'valid' and expires_at < $1) as old from acme_order`,
      [new Date(cutoff)],
    );
    expect(left).toEqual({ orders: String(100_000 - 30), old: "50" });

    captured.length = 0;
    expect(await acme.replacedBy("replaced.5002", now)).toBeDefined();
    expect(await acme.replacedBy("replaced.5001", now)).toBeUndefined();
    // One entry of the index; before, a sequential scan (parallel, on 10^6 orders: 300 ms).
    // Its authorizations (none here) by their order's index (an order with one deactivated no
    // longer replaces: stop 51).
    for (const generic of [false, true]) {
      const replaces = await explain(db, captured[0]!, generic);
      expect(replaces.nodes.map((n) => n["Index Name"]).filter(Boolean)).toEqual([
        "acme_order_replaces_index",
        "acme_authorization_order_index",
      ]);
      expect(replaces.on("acme_order").map(rowsRead)).toEqual([1]);
    }
  }, 60_000);
});

describe("the same indexes on the embedded database (PGlite)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-watch-index-"));
  let database: Database;

  beforeAll(async () => {
    database = await openDatabase({ dataDir });
    await migrate(database.orm);
  }, 120_000);
  afterAll(async () => {
    await database?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("migrates them, and a quiet profile's read uses its index", async () => {
    const em = database.orm.em.fork();
    const indexes = await em.execute<Array<{ indexname: string }>>(
      `select indexname from pg_indexes where indexname in
         ('certificate_event_profile_position_index', 'acme_order_sweep_index', 'acme_order_replaces_index')
        order by indexname`,
    );
    expect(indexes.map((i) => i.indexname)).toEqual([
      "acme_order_replaces_index",
      "acme_order_sweep_index",
      "certificate_event_profile_position_index",
    ]);

    const n = 20_000;
    await em.execute(
      `insert into certificate_event (type, certificate_id, profile_id, position)
       select 'ISSUED', gen_random_uuid(), case when g % 5000 = 7 then ?::uuid else (?::uuid[])[1 + g % ${BUSY}] end, g
         from generate_series(1, ?::int) g`,
      [QUIET, `{${busy.join(",")}}`, n],
    );
    await em.execute(`select setval('certificate_event_position_seq', ?)`, [n]);
    await em.execute("analyze certificate_event");
    const events = createStore(database.orm).events;
    const result = await events.readAfter(n - ROUND, { profileIds: [QUIET] }, PAGE, SCAN);
    expect(result).toEqual({ events: [], through: n, more: false });
    const after = await events.readAfter(0, { profileIds: [QUIET] }, PAGE, SCAN);
    expect(after.events.map((e) => e.position)).toEqual([7, 5007]);
    expect(after).toMatchObject({ through: SCAN, more: true });

    // pg's placeholders back to the ORM's: in order, each once (a PREPARE's body, sent without
    // parameters, keeps its own).
    const onEmbedded = {
      query: <T>(sql: string, params: unknown[] = []) =>
        database.orm.em
          .fork()
          .execute(params.length === 0 ? sql : sql.replace(/\$\d+/g, "?"), params) as Promise<T[]>,
    };
    const statement = readAfterStatement(n - ROUND, { profileIds: [QUIET] }, PAGE, SCAN);
    for (const generic of [false, true]) {
      const scans = (await explain(onEmbedded, statement, generic)).on("certificate_event");
      expect(
        scans.map((p) => p["Index Name"]),
        `generic ${generic}`,
      ).toContain("certificate_event_profile_position_index");
      expect(scans.reduce((sum, p) => sum + rowsRead(p), 0)).toBe(1);
    }
  }, 60_000);
});
