/**
 * What Migration20261204100000WatchAndSweepIndexes buys and costs, on a PostgreSQL 15 instance
 * of its own (bench/common/postgres.ts: durable commits, on one core), with the statements as
 * the repositories run them now and as they ran before (copied below from bca6b0f):
 *
 *   node --require tsx/cjs bench/scale/watch-index.ts [events, default 10^6] [orders, default 10^6]
 *
 * 1. An idle profile watch's wake: `events` numbered events over 50 busy profiles and one quiet
 *    profile, then a sequencer round of 1,000 busy events; the quiet profile's read after it,
 *    before (old statement, no profile index) and after: rows read and buffers (EXPLAIN
 *    ANALYZE), PostgreSQL CPU per read (its process tree, over 500 reads).
 * 2. What the index costs each event: 5,000 events written one per transaction (as the
 *    certificate trigger writes them, one per issuance), then numbered by the sequencer, right
 *    after a CHECKPOINT, without and with the index, three times each: WAL per event, and the
 *    index's own share (pg_walinspect, bench/scale/wal-detail.ts).
 * 3. ACME orders: `orders` orders of the past year (90% issued), the hourly sweep and
 *    `replacedBy` before and after; and the WAL and HOT updates of 2,000 order lifecycles
 *    (insert, ready, processing, valid) with no sweep index, with the one the migration makes
 *    (on `certificate_id is null`) and with one on the statuses the sweep deletes.
 */
import { Client } from "pg";
import { migrate, openDatabase } from "../../src/store/database";
import { readAfterStatement } from "../../src/store/repositories/certificate-events";
import { createStore } from "../../src/store/store";
import { startPostgres } from "../common/postgres";
import { walByRelation } from "./wal-detail";

const EVENTS = Number(process.argv[2] ?? 1_000_000);
const ORDERS = Number(process.argv[3] ?? 1_000_000);
const CPU = Number(process.env.BENCH_SERVER_CPU ?? 0);
const DATABASE = "certmint_watch_index";
const BUSY = 50;
const QUIET = "00000000-0000-4000-8000-00000000000a";
const READS = 500;

const PROFILE_INDEX = `create index "certificate_event_profile_position_index" on "certificate_event" ("profile_id", "position") where "position" is not null`;
const SWEEP_INDEX = `create index "acme_order_sweep_index" on "acme_order" ("expires_at") where "certificate_id" is null`;
const STATUS_INDEX = `create index "acme_order_status_sweep_index" on "acme_order" ("expires_at") where "status" in ('pending', 'ready', 'invalid')`;
const REPLACES_INDEX = `create index "acme_order_replaces_index" on "acme_order" ("replaces") where "replaces" is not null`;

/** readAfter's statement for a profile filter before the index ($1 after, $2 window - 1, $3 ids, $4 limit). */
const OLD_READ = `with "bound" as materialized (
   select "edge" is not null as "more",
          coalesce("edge", (select max("position") from "certificate_event")) as "through"
     from (select (select "position" from "certificate_event" where "position" > $1
                    order by "position" offset $2 limit 1) as "edge" offset 0) "k")
 select "b"."through", "b"."more", "e".* from "bound" "b" left join lateral (
   select "position", "type", "certificate_id", "profile_id", "previous_certificate_id", "error", "created_at"
     from "certificate_event"
    where "position" > $1 and "position" <= "b"."through" and "profile_id" in (select jsonb_array_elements_text($3::jsonb)::uuid)
    order by "position" limit $4) "e" on true
  order by "e"."position"`;

/** sweepOrders' statement before the index ($1 cutoff, $2 limit). */
const OLD_SWEEP = `delete from acme_order where id in (
   select id from acme_order where status in ('pending', 'ready', 'invalid') and expires_at < $1 limit $2)
 returning id`;
const NEW_SWEEP = `delete from acme_order where id = any(array(
   select id from acme_order
    where status in ('pending', 'ready', 'invalid') and certificate_id is null and expires_at < $1
    order by expires_at limit $2))
 returning id`;
const REPLACED_BY = `select id from acme_order where replaces = $1 and status <> 'invalid' limit 1`;

interface PlanNode {
  "Actual Rows": number;
  "Actual Loops": number;
  "Rows Removed by Filter"?: number;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Node Type": string;
  "Shared Hit Blocks"?: number;
  "Shared Read Blocks"?: number;
  Plans?: PlanNode[];
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

/** EXPLAIN (ANALYZE, BUFFERS) in a rolled-back transaction: rows the scans read, buffers, ms. */
async function explain(db: Client, sql: string, params: unknown[]) {
  await db.query("begin");
  try {
    const r = await db.query(`explain (analyze, buffers, format json) ${sql}`, params);
    const top = r.rows[0]["QUERY PLAN"][0] as {
      Plan: PlanNode;
      "Execution Time": number;
      "Planning Time": number;
    };
    const all = nodes(top.Plan);
    const scans = all.filter(
      (n) => n["Node Type"].includes("Scan") && n["Node Type"] !== "CTE Scan",
    );
    return {
      rows: scans.reduce(
        (s, n) => s + (n["Actual Rows"] + (n["Rows Removed by Filter"] ?? 0)) * n["Actual Loops"],
        0,
      ),
      buffers: (top.Plan["Shared Hit Blocks"] ?? 0) + (top.Plan["Shared Read Blocks"] ?? 0),
      ms: top["Execution Time"],
      planMs: top["Planning Time"],
      scans: [
        ...new Set(
          scans.map((n) => `${n["Node Type"]}${n["Index Name"] ? ` ${n["Index Name"]}` : ""}`),
        ),
      ],
    };
  } finally {
    await db.query("rollback");
  }
}

const lsn = async (db: Client) =>
  (await db.query<{ l: string }>("select pg_current_wal_lsn()::text as l")).rows[0]!.l;
const flushLsn = async (db: Client) =>
  (await db.query<{ l: string }>("select pg_current_wal_flush_lsn()::text as l")).rows[0]!.l;
const walSince = async (db: Client, from: string) =>
  Number(
    (await db.query<{ b: string }>("select pg_wal_lsn_diff(pg_current_wal_lsn(), $1) as b", [from]))
      .rows[0]!.b,
  );

async function main(): Promise<void> {
  const pg = await startPostgres({
    cpu: CPU,
    settings: { max_wal_size: "8GB", checkpoint_timeout: "30min", shared_buffers: "256MB" },
  });
  try {
    await pg.query(`create database ${DATABASE}`);
    const url = pg.url(DATABASE);
    const database = await openDatabase({ databaseUrl: url, dataDir: "/nonexistent", poolMax: 2 });
    await migrate(database.orm);
    const events = createStore(database.orm, { databaseUrl: url }).events;
    const db = new Client({ connectionString: url });
    await db.connect();
    await db.query("create extension if not exists pg_walinspect");
    const busy = Array.from(
      { length: BUSY },
      (_, i) => `00000000-0000-4000-8000-1${String(i).padStart(11, "0")}`,
    );

    // ---- 1. the idle wake ----------------------------------------------------------------
    let t = performance.now();
    await db.query(
      `insert into certificate_event (type, certificate_id, profile_id, position, created_at)
       select 'ISSUED', gen_random_uuid(),
              case when g % 50000 = 7 then $2::uuid else ($3::uuid[])[1 + g % ${BUSY}] end, g,
              now() - interval '7 days' + g * interval '1 ms'
         from generate_series(1, $1::int) g`,
      [EVENTS, QUIET, busy],
    );
    await db.query("select setval('certificate_event_position_seq', $1)", [EVENTS]);
    await db.query("vacuum analyze certificate_event");
    console.log(`filled ${EVENTS} events in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    const round = async (n: number) => {
      await db.query(
        `insert into certificate_event (type, certificate_id, profile_id)
         select 'ISSUED', gen_random_uuid(), ($2::uuid[])[1 + g % ${BUSY}] from generate_series(1, $1::int) g`,
        [n, busy],
      );
      for (;;) {
        const r = await events.sequence();
        if (r !== "busy" && !r.more) return;
      }
    };
    await round(1_000);
    const head = await events.headPosition();
    const after = head - 1_000;
    const ids = JSON.stringify([QUIET]);
    const cpuPerRead = async (readOnce: () => Promise<unknown>) => {
      for (let i = 0; i < 20; i++) await readOnce();
      const c0 = pg.cpuSeconds();
      const t0 = performance.now();
      for (let i = 0; i < READS; i++) await readOnce();
      return {
        cpuMs: ((pg.cpuSeconds() - c0) * 1000) / READS,
        wallMs: (performance.now() - t0) / READS,
      };
    };
    // A connection whose named statements use generic plans, as executePrepared's.
    const prep = new Client({ connectionString: url });
    await prep.connect();
    await prep.query("set plan_cache_mode = force_generic_plan");
    const named = (name: string, text: string, values: unknown[]) => () =>
      prep.query({ name, text, values });
    await db.query(`drop index "certificate_event_profile_position_index"`);
    const oldParams = [after, 10_000 - 1, ids, 100];
    const before = {
      plan: await explain(db, OLD_READ, oldParams),
      ...(await cpuPerRead(() => db.query(OLD_READ, oldParams))),
      prepared: await cpuPerRead(named("old_read", OLD_READ, oldParams)),
    };
    t = performance.now();
    await db.query(PROFILE_INDEX);
    const build = performance.now() - t;
    const statement = readAfterStatement(after, { profileIds: [QUIET] }, 100, 10_000);
    let n = 0;
    const newSql = statement.sql.replace(/\?/g, () => `$${++n}`);
    const afterIndex = {
      plan: await explain(db, newSql, statement.params),
      ...(await cpuPerRead(() => db.query(newSql, statement.params))),
      // readAfter itself: prepared, with a generic plan (executePrepared).
      prepared: await cpuPerRead(() =>
        events.readAfter(after, { profileIds: [QUIET] }, 100, 10_000),
      ),
    };
    await prep.end();
    console.log(
      `\n1. A quiet profile's watch woken after a round of 1,000 other events (${EVENTS} stored)`,
    );
    for (const [label, r] of [
      ["before", before],
      ["after", afterIndex],
    ] as const) {
      console.log(
        `   ${label.padEnd(6)} rows read ${r.plan.rows}, buffers ${r.plan.buffers}, execution ${r.plan.ms.toFixed(2)} ms (planning ${r.plan.planMs.toFixed(2)}); ${r.plan.scans.join(", ")}`,
      );
      console.log(
        `          PostgreSQL CPU per read: ${r.cpuMs.toFixed(3)} ms planned each time, ${r.prepared.cpuMs.toFixed(3)} ms prepared (generic plan); wall ${r.wallMs.toFixed(3)} / ${r.prepared.wallMs.toFixed(3)} ms`,
      );
    }
    const [size] = (
      await db.query<{ idx: string; pos: string; heap: string }>(
        `select pg_size_pretty(pg_relation_size('certificate_event_profile_position_index')) as idx,
                pg_size_pretty(pg_relation_size('certificate_event_position_index')) as pos,
                pg_size_pretty(pg_relation_size('certificate_event')) as heap`,
      )
    ).rows;
    console.log(
      `   index built in ${(build / 1000).toFixed(1)} s: ${size!.idx} (position index ${size!.pos}, table ${size!.heap})`,
    );

    // ---- 2. the cost per event ------------------------------------------------------------
    console.log("\n2. 5,000 events, one per transaction, then numbered, right after a CHECKPOINT");
    for (let rep = 0; rep < 3; rep++) {
      for (const withIndex of [false, true]) {
        await db.query(`drop index if exists "certificate_event_profile_position_index"`);
        if (withIndex) await db.query(PROFILE_INDEX);
        await db.query("checkpoint");
        const l0 = await lsn(db);
        const t0 = performance.now();
        await db.query(
          `do $$ begin for i in 1..5000 loop
             insert into certificate_event (type, certificate_id, profile_id)
               values ('ISSUED', gen_random_uuid(), ('${`{${busy.join(",")}}`}'::uuid[])[1 + i % ${BUSY}]);
             commit;
           end loop; end $$`,
        );
        const insertWal = await walSince(db, l0);
        const l1 = await lsn(db);
        const t1 = performance.now();
        for (;;) {
          const r = await events.sequence();
          if (r !== "busy" && !r.more) break;
        }
        const t2 = performance.now();
        const sequenceWal = await walSince(db, l1);
        const byRelation = await walByRelation(db, l0, await flushLsn(db), 40);
        const idx = byRelation.filter(
          (r) => r.relation === "certificate_event_profile_position_index",
        );
        const idxBytes = idx.reduce((s, r) => s + r.bytes, 0);
        const idxFpi = idx.reduce((s, r) => s + r.fpiBytes, 0);
        console.log(
          `   ${withIndex ? "with   " : "without"} WAL per event ${((insertWal + sequenceWal) / 5000).toFixed(0)} B (written ${(insertWal / 5000).toFixed(0)}, numbered ${(sequenceWal / 5000).toFixed(0)}); the index ${(idxBytes / 5000).toFixed(0)} B (page images ${(idxFpi / 5000).toFixed(0)}); ${(((t1 - t0) * 1000) / 5000).toFixed(0)} us written, ${(((t2 - t1) * 1000) / 5000).toFixed(1)} us numbered`,
        );
      }
    }

    // ---- 3. ACME orders ---------------------------------------------------------------------
    t = performance.now();
    const [account] = (
      await db.query<{ id: string }>(
        `insert into acme_account (id, profile_id, key_thumbprint, jwk, status, contact, created_at, updated_at)
         values (gen_random_uuid(), gen_random_uuid(), 'bench', '{}', 'valid', '[]', now(), now()) returning id`,
      )
    ).rows;
    // The past year's orders: 90% issued, 1% processing (waiting for an approver), the rest
    // pending/ready/invalid; those expired before the retention's cutoff an hour ago are gone
    // (the sweep's steady state), so the sweep finds the last hour's.
    await db.query(
      `insert into acme_order (id, account_id, profile_id, status, identifiers, expires_at, certificate_id, replaces, created_at, updated_at)
       select gen_random_uuid(), $1, gen_random_uuid(), s.status,
              jsonb_build_array(jsonb_build_object('type', 'dns', 'value', 'host-' || g || '.example.com')),
              s.created + interval '7 days', case when s.status = 'valid' then gen_random_uuid() end,
              case when g % 2 = 0 then 'replaced.' || g end, s.created, s.created
         from generate_series(1, $2::int) g cross join lateral (
           select case when g % 100 < 90 then 'valid' when g % 100 = 90 then 'processing'
                       else (array['pending', 'ready', 'invalid'])[1 + g % 3] end as status,
                  now() - (g::float8 / $2) * interval '365 days' as created) s
        where not (g % 100 > 90 and now() - (g::float8 / $2) * interval '365 days' + interval '7 days' < now() - interval '30 days 1 hour')`,
      [account!.id, ORDERS],
    );
    await db.query("vacuum analyze acme_order");
    const [counts] = (await db.query<{ n: string }>(`select count(*) as n from acme_order`)).rows;
    console.log(
      `\n3. ACME: ${counts!.n} orders (of ${ORDERS} made over a year) in ${((performance.now() - t) / 1000).toFixed(0)} s`,
    );
    const cutoff = new Date(Date.now() - 30 * 24 * 3600 * 1000);
    await db.query(`drop index if exists "acme_order_sweep_index"`);
    await db.query(`drop index if exists "acme_order_replaces_index"`);
    const sweepBefore = await explain(db, OLD_SWEEP, [cutoff, 1000]);
    const replacedBefore = await explain(db, REPLACED_BY, ["replaced.1002"]);
    await db.query(SWEEP_INDEX);
    await db.query(REPLACES_INDEX);
    await db.query("analyze acme_order");
    const sweepAfter = await explain(db, NEW_SWEEP, [cutoff, 1000]);
    const replacedAfter = await explain(db, REPLACED_BY, ["replaced.1002"]);
    for (const [label, r] of [
      ["sweep before", sweepBefore],
      ["sweep after", sweepAfter],
      ["replacedBy before", replacedBefore],
      ["replacedBy after", replacedAfter],
    ] as const) {
      console.log(
        `   ${label.padEnd(17)} rows read ${r.rows}, buffers ${r.buffers}, ${r.ms.toFixed(1)} ms; ${r.scans.join(", ")}`,
      );
    }
    const [sizes] = (
      await db.query<{ sweep: string; replaces: string; heap: string }>(
        `select pg_size_pretty(pg_relation_size('acme_order_sweep_index')) as sweep,
                pg_size_pretty(pg_relation_size('acme_order_replaces_index')) as replaces,
                pg_size_pretty(pg_relation_size('acme_order')) as heap`,
      )
    ).rows;
    console.log(
      `   sweep index ${sizes!.sweep}, replaces index ${sizes!.replaces}, table ${sizes!.heap}`,
    );

    // Order lifecycles: WAL per order and HOT updates, per sweep index variant.
    for (const variant of ["none", "certificate_id is null", "status in (...)"] as const) {
      await db.query(`drop index if exists "acme_order_sweep_index"`);
      await db.query(`drop index if exists "acme_order_status_sweep_index"`);
      if (variant === "certificate_id is null") await db.query(SWEEP_INDEX);
      if (variant === "status in (...)") await db.query(STATUS_INDEX);
      await db.query("checkpoint");
      await db.query("select pg_stat_force_next_flush()");
      const stat = async () =>
        (
          await db.query<{ upd: string; hot: string }>(
            `select n_tup_upd as upd, n_tup_hot_upd as hot from pg_stat_user_tables where relname = 'acme_order'`,
          )
        ).rows[0]!;
      const s0 = await stat();
      const l0 = await lsn(db);
      await db.query(
        `do $$ declare o uuid; begin for i in 1..2000 loop
           o := gen_random_uuid();
           insert into acme_order (id, account_id, profile_id, status, identifiers, expires_at, replaces, created_at, updated_at)
             values (o, '${account!.id}', gen_random_uuid(), 'pending', '[{"type":"dns","value":"new.example.com"}]', now() + interval '7 days', null, now(), now());
           commit;
           update acme_order set status = 'ready', updated_at = now() where id = o and status = 'pending'; commit;
           update acme_order set status = 'processing', updated_at = now() where id = o and status = 'ready'; commit;
           update acme_order set status = 'processing', certificate_request_id = gen_random_uuid(), updated_at = now() where id = o; commit;
           update acme_order set status = 'valid', certificate_id = gen_random_uuid(), updated_at = now() where id = o; commit;
         end loop; end $$`,
      );
      const wal = await walSince(db, l0);
      await db.query("select pg_stat_force_next_flush()");
      await new Promise((r) => setTimeout(r, 200));
      const s1 = await stat();
      const upd = Number(s1.upd) - Number(s0.upd);
      const hot = Number(s1.hot) - Number(s0.hot);
      console.log(
        `   lifecycle, sweep index ${variant.padEnd(22)} WAL per order ${(wal / 2000).toFixed(0)} B, HOT updates ${hot}/${upd}`,
      );
      await db.query(`delete from acme_order where identifiers @> '[{"value":"new.example.com"}]'`);
      await db.query("vacuum acme_order");
    }
    await db.end();
    await database.close();
  } finally {
    pg.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
