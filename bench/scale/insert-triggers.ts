/**
 * What the certificate table's insert triggers cost PostgreSQL per issuance, and what
 * Migration20261204200000RenewAtStable saved, on a PostgreSQL 15 instance of its own
 * (bench/common/postgres.ts: durable commits, on one core):
 *
 *   node --require tsx/cjs bench/scale/insert-triggers.ts [certificates per run, default 5000] [rounds, default 3]
 *
 * Each run inserts the certificates inside PostgreSQL (a DO block, so no client or socket cost
 * counts): one per transaction, as a lone IssueCertificate stores its certificate, and then 64 per
 * statement and transaction, as the store's batch does under load. Four set-ups, alternating
 * within each round so that the machine's drift falls on all of them alike:
 *   - as migrated: certmint_renew_at STABLE, inlined into the trigger's expression;
 *   - before the migration: the same function labelled IMMUTABLE, which PostgreSQL never inlines
 *     (its body holds a STABLE operator), so its body is parsed and planned in every transaction;
 *   - the event rows written by one statement-level trigger over a transition table instead of
 *     one row-level trigger call per certificate (measured, not adopted: about 10 us per
 *     certificate, within this machine's spread between rounds);
 *   - without the renew_at trigger, and without it and the event trigger: what each trigger costs.
 * Printed: PostgreSQL CPU per certificate (its process tree) per round, the median, and each
 * set-up's ratio to "as migrated" measured in the same run.
 */
import { randomUUID } from "node:crypto";
import { migrate, openDatabase } from "../../src/store/database";
import { RENEW_AT_BODY } from "../../src/store/migrations/Migration20261204200000RenewAtStable";
import { startPostgres } from "../common/postgres";

const COUNT = Number(process.argv[2] ?? 5000);
const ROUNDS = Number(process.argv[3] ?? 3);
const BATCH = 64;
const CPU = Number(process.env.BENCH_SERVER_CPU ?? 0);
const DATABASE = "certmint_insert_triggers";

const RENEW_AT = (volatility: "stable" | "immutable") => `create or replace function
  "certmint_renew_at"("renewal" jsonb, "nb" timestamptz, "na" timestamptz)
  returns timestamptz language sql ${volatility} as $$ ${RENEW_AT_BODY} $$`;

interface Setup {
  label: string;
  sql: string[];
}

const SETUPS: Setup[] = [
  { label: "as migrated (STABLE)", sql: [RENEW_AT("stable")] },
  { label: "before (IMMUTABLE, not inlined)", sql: [RENEW_AT("immutable")] },
  {
    label: "event rows per statement",
    sql: [
      RENEW_AT("stable"),
      `alter table certificate disable trigger certificate_event_issued`,
      `create or replace function "bench_certificate_events_issued"() returns trigger language plpgsql as $$
       begin
         insert into "certificate_event" ("type", "certificate_id", "profile_id", "previous_certificate_id", "lineage_id", "lineage_depth")
           select case when n."renewed_from_id" is null then 'ISSUED' else 'RENEWED' end,
                  n."id", n."profile_id", n."renewed_from_id", n."lineage_id", n."lineage_depth"
             from "new_rows" n;
         return null;
       end $$`,
      `create trigger "bench_certificate_events_issued" after insert on "certificate"
         referencing new table as "new_rows" for each statement
         execute function "bench_certificate_events_issued"()`,
    ],
  },
  {
    label: "no renew_at trigger",
    sql: [RENEW_AT("stable"), `alter table certificate disable trigger certificate_renew_at`],
  },
  {
    label: "no renew_at or event trigger",
    sql: [
      RENEW_AT("stable"),
      `alter table certificate disable trigger certificate_renew_at`,
      `alter table certificate disable trigger certificate_event_issued`,
    ],
  },
];
const RESET = [
  RENEW_AT("stable"),
  `drop trigger if exists "bench_certificate_events_issued" on "certificate"`,
  `alter table certificate enable trigger certificate_renew_at`,
  `alter table certificate enable trigger certificate_event_issued`,
];

/** The columns of one certificate row; `g` numbers it within its statement. */
const row = (caId: string, profileId: string, requestId: string) =>
  `select gen_random_uuid(), md5(random()::text || g), '${caId}'::uuid, '${profileId}'::uuid,
          '${requestId}'::uuid, '{"attributes":[]}', 'svc.example.com', '["DNS:svc.example.com"]',
          'svc.example.com', 'EC_P256', 'ECDSA_WITH_SHA256', '["digitalSignature"]', '["serverAuth"]',
          now(), now() + interval '90 days', md5(random()::text), 'pem', '[]', 'bench', now()
     from generate_series(1, n) g`;

const COLUMNS = `id, serial_number, ca_id, profile_id, certificate_request_id, subject, common_name,
  sans, search_names, key_algorithm, signature_algorithm, key_usages, extended_key_usages,
  not_before, not_after, fingerprint_sha256, certificate_pem, chain_pem, owner, created_at`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const pg = await startPostgres({ cpu: CPU });
  try {
    await pg.query(`create database ${DATABASE}`);
    const url = pg.url(DATABASE);
    const database = await openDatabase({ databaseUrl: url, dataDir: "/nonexistent", poolMax: 2 });
    await migrate(database.orm);
    await database.close();
    // No autovacuum in the middle of a run: its CPU would land on whichever set-up it met.
    await pg.query(
      "alter table certificate set (autovacuum_enabled = false); alter table certificate_event set (autovacuum_enabled = false)",
      DATABASE,
    );
    const ca = randomUUID();
    const policy = randomUUID();
    const profile = randomUUID();
    const request = randomUUID();
    await pg.query(
      `insert into certificate_authority (id, slug, type, status, subject, key_algorithm, signature_algorithm,
         chain_pem, sealed_private_key, created_at, updated_at)
       values ('${ca}', 'root', 'ROOT', 'ACTIVE', '{"attributes":[]}', 'EC_P256', 'ECDSA_WITH_SHA256', '[]', '\\x00', now(), now());
       insert into certificate_policy (id, slug, spec, created_at, updated_at) values ('${policy}', 'p', '{}', now(), now());
       insert into certificate_profile (id, slug, policy_id, ca_id, enrollment_method, defaults, renewal,
         validity_overflow, private_key_retention, created_at, updated_at)
       values ('${profile}', 'web', '${policy}', '${ca}', 'API', '{}', '{"renewBeforeDays": 30}', 'FAIL', 'RETURN_ONCE', now(), now());
       insert into certificate_request (id, profile_id, caller, request_fingerprint, kind, status,
         subject, sans, params, created_at, updated_at)
       values ('${request}', '${profile}', 'bench', 'f', 'ISSUE', 'ISSUED', '{}', '{}', '{}', now(), now())`,
      DATABASE,
    );
    const values = row(ca, profile, request);
    /** PostgreSQL CPU (ms) per certificate, `perStatement` certificates per transaction. */
    const run = async (perStatement: number): Promise<number> => {
      const statements = Math.ceil(COUNT / perStatement);
      const c0 = pg.cpuSeconds();
      await pg.query(
        `do $$ declare n int := ${perStatement}; begin for i in 1..${statements} loop
           insert into certificate (${COLUMNS}) ${values};
           commit;
         end loop; end $$`,
        DATABASE,
      );
      return ((pg.cpuSeconds() - c0) * 1000) / (statements * perStatement);
    };
    const results = new Map<string, { single: number[]; batch: number[] }>(
      SETUPS.map((s) => [s.label, { single: [], batch: [] }]),
    );
    for (let round = 0; round < ROUNDS; round++) {
      for (const setup of SETUPS) {
        for (const sql of [...RESET, ...setup.sql]) await pg.query(sql, DATABASE);
        await pg.query("vacuum analyze certificate, certificate_event", DATABASE);
        const r = results.get(setup.label)!;
        r.single.push(await run(1));
        r.batch.push(await run(BATCH));
      }
    }
    for (const sql of RESET) await pg.query(sql, DATABASE);
    const [stored] = await pg.query<{ n: string }>(
      "select count(*)::text as n from certificate",
      DATABASE,
    );
    const base = results.get(SETUPS[0]!.label)!;
    console.log(
      `PostgreSQL CPU per certificate inserted, us (${COUNT} per run, ${ROUNDS} rounds; ${stored!.n} rows at the end)`,
    );
    console.log(
      `${"set-up".padEnd(34)} ${"1 per transaction".padEnd(26)} median  ratio | ${`${BATCH} per statement`.padEnd(24)} median  ratio`,
    );
    const us = (xs: number[]) => xs.map((x) => (x * 1000).toFixed(0).padStart(4)).join(" ");
    for (const setup of SETUPS) {
      const r = results.get(setup.label)!;
      console.log(
        `${setup.label.padEnd(34)} ${us(r.single).padEnd(26)} ${(median(r.single) * 1000).toFixed(0).padStart(6)} ${(median(r.single) / median(base.single)).toFixed(2).padStart(6)} | ${us(r.batch).padEnd(24)} ${(median(r.batch) * 1000).toFixed(0).padStart(6)} ${(median(r.batch) / median(base.batch)).toFixed(2).padStart(6)}`,
      );
    }
  } finally {
    pg.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
