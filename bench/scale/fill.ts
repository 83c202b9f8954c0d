/**
 * Grows certmint's database to a given number of certificates, fast, with realistic rows: the
 * certificates certmint really issued (and their requests and audit records) are replicated,
 * INSERT ... SELECT over generate_series, with new ids, serials, fingerprints, request ids and
 * names (svc-14.bench.example.com becomes svc-14.f<n>.bench.example.com), so every table and
 * index has the size and the key spread of a real inventory of that size:
 *   - created_at spread over the 90 days before the fill (a multiplicative hash of n, so
 *     consecutive rows are not adjacent in time), each row keeping its template's lifetime;
 *   - one row in ten revoked an hour after its creation (the CA's revocation count follows);
 *   - one IssueCertificate audit record per certificate, as issuance writes.
 * Columns are read from the catalog, and a column the code below does not name is copied from
 * the template row, so the fill follows schema changes. The secondary indexes of the three
 * tables are dropped for the load and built again afterwards with their own definitions (much
 * faster than maintaining them row by row); then VACUUM ANALYZE, as autovacuum would have done.
 */
import type { Client } from "pg";

/** The filled certificates were created over this many days before the fill. */
const HISTORY_DAYS = 90;
const CHUNK = 100_000;
const TABLES = ["certificate", "certificate_request", "audit_record"];

async function columns(db: Client, table: string): Promise<string[]> {
  const r = await db.query<{ column_name: string }>(
    `select column_name from information_schema.columns
      where table_schema = 'public' and table_name = $1 order by ordinal_position`,
    [table],
  );
  return r.rows.map((c) => c.column_name);
}

/** INSERT INTO table (every column) SELECT (override or t.column) ... */
async function insertSelect(
  db: Client,
  table: string,
  overrides: Record<string, string>,
  from: string,
): Promise<number> {
  const cols = await columns(db, table);
  const missing = Object.keys(overrides).filter((c) => !cols.includes(c));
  if (missing.length) throw new Error(`${table} has no column ${missing.join(", ")}`);
  const exprs = cols.map((c) => overrides[c] ?? `t."${c}"`);
  const r = await db.query(
    `insert into "${table}" (${cols.map((c) => `"${c}"`).join(", ")}) select ${exprs.join(", ")} ${from}`,
  );
  return r.rowCount ?? 0;
}

/** Definitions of the plain (not constraint-backing) indexes of the filled tables. */
async function secondaryIndexes(db: Client): Promise<{ name: string; def: string }[]> {
  const r = await db.query<{ name: string; def: string }>(
    `select i.indexname as name, i.indexdef as def
       from pg_indexes i
      where i.schemaname = 'public' and i.tablename = any($1)
        and not exists (select 1 from pg_constraint c
                         where c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)`,
    [TABLES],
  );
  return r.rows;
}

export interface FillResult {
  inserted: number;
  revoked: number;
  seconds: number;
  indexSeconds: number;
  vacuumSeconds: number;
}

/**
 * Adds certificates numbered (from, to] (n is unique across fills: it makes the ids) issued by
 * `caId`, replicating its unrevoked certificates; `stamp` is the fill's "now".
 */
export async function fill(
  db: Client,
  opts: { from: number; to: number; caId: string; stamp: Date; progress?: (line: string) => void },
): Promise<FillResult> {
  const started = performance.now();
  const reason =
    (
      await db.query<{ r: string }>(
        "select revocation_reason as r from certificate where revoked_at is not null limit 1",
      )
    ).rows[0]?.r ?? "SUPERSEDED";
  const stamp = opts.stamp.toISOString();
  // The fill's own session: bulk-load settings that change nothing of what is measured.
  await db.query("set synchronous_commit = off");
  await db.query("set maintenance_work_mem = '512MB'");
  // Template rows: what certmint issued (not the rows of an earlier fill, whose request ids
  // end in -f<n>), numbered 1..templates in a fixed order, with their request and audit record.
  await db.query(`create temporary table fill_template as
    select c.id as cert_id, c.certificate_request_id as req_id,
           (select a.id from audit_record a where a.resource_id = c.certificate_request_id::text
             order by a.created_at limit 1) as audit_id,
           row_number() over (order by c.id) as rn
      from certificate c join certificate_request r on r.id = c.certificate_request_id
     where c.ca_id = '${opts.caId}' and c.revoked_at is null and r.request_id !~ '-f[0-9]+$'`);
  await db.query("create unique index on fill_template (rn)");
  const templates = Number(
    (await db.query<{ n: string }>("select count(*) as n from fill_template")).rows[0]?.n,
  );
  if (templates === 0) throw new Error("no certificate to replicate: issue some first");
  const anyAudit = (
    await db.query<{ id: string }>(
      "select id from audit_record where method like '%/IssueCertificate' limit 1",
    )
  ).rows[0]?.id;
  if (!anyAudit) throw new Error("no IssueCertificate audit record to replicate");
  const indexes = await secondaryIndexes(db);
  for (const i of indexes) await db.query(`drop index "${i.name}"`);
  // Per-row values, all functions of g.
  const at = `(timestamptz '${stamp}' - interval '${HISTORY_DAYS} days' * (((g::bigint * 2654435761) % 4294967296) / 4294967296.0))`;
  const id = (kind: string) => `md5('${kind}' || g)::uuid`;
  const renamed = (col: string) =>
    `replace(t."${col}"::text, '.bench.example.com', '.f' || g || '.bench.example.com')`;
  const revoked = "(g % 10 = 0)";
  let inserted = 0;
  let revokedCount = 0;
  for (let lo = opts.from; lo < opts.to; lo += CHUNK) {
    const hi = Math.min(lo + CHUNK, opts.to);
    const series = `from generate_series(${lo + 1}, ${hi}) g join fill_template f on f.rn = 1 + g % ${templates}`;
    // 17 bytes as certmint's serials (signer/serial.ts): the prefix, the second of created_at
    // (so the serial index has the shape a real inventory gives it), then 12 random-looking bytes.
    const serial = `'01' || lpad(to_hex(floor(extract(epoch from ${at}))::bigint), 8, '0') || substr(md5('s' || g), 1, 24)`;
    await db.query("begin");
    await insertSelect(
      db,
      "certificate_request",
      {
        id: id("r"),
        request_id: `t.request_id || '-f' || g`,
        request_fingerprint: `encode(sha256(('f' || g)::bytea), 'hex')`,
        subject: `${renamed("subject")}::jsonb`,
        sans: `${renamed("sans")}::jsonb`,
        certificate_id: id("c"),
        reserved_serial: serial,
        created_at: at,
        updated_at: at,
      },
      `${series} join certificate_request t on t.id = f.req_id`,
    );
    inserted += await insertSelect(
      db,
      "certificate",
      {
        id: id("c"),
        serial_number: serial,
        certificate_request_id: id("r"),
        subject: `${renamed("subject")}::jsonb`,
        sans: `${renamed("sans")}::jsonb`,
        common_name: renamed("common_name"),
        search_names: renamed("search_names"),
        fingerprint_sha256: `encode(sha256(('p' || g)::bytea), 'hex')`,
        not_before: `${at} - (t.created_at - t.not_before)`,
        not_after: `${at} + (t.not_after - t.created_at)`,
        revoked_at: `case when ${revoked} then ${at} + interval '1 hour' end`,
        revocation_reason: `case when ${revoked} then '${reason}' end`,
        created_at: at,
      },
      `${series} join certificate t on t.id = f.cert_id`,
    );
    await insertSelect(
      db,
      "audit_record",
      {
        id: id("a"),
        created_at: at,
        resource_id: `${id("r")}::text`,
        request_id: `${id("q")}::text`,
      },
      `${series} join audit_record t on t.id = coalesce(f.audit_id, '${anyAudit}'::uuid)`,
    );
    const revokedHere = Math.floor(hi / 10) - Math.floor(lo / 10);
    await db.query(
      "update certificate_authority set revocation_count = revocation_count + $1 where id = $2",
      [revokedHere, opts.caId],
    );
    await db.query("commit");
    revokedCount += revokedHere;
    opts.progress?.(
      `  filled ${hi - opts.from} of ${opts.to - opts.from} (${((performance.now() - started) / 1000).toFixed(0)} s)`,
    );
  }
  await db.query("drop table fill_template");
  const indexStarted = performance.now();
  for (const i of indexes) await db.query(i.def);
  const vacuumStarted = performance.now();
  for (const t of TABLES) await db.query(`vacuum (analyze) "${t}"`);
  const done = performance.now();
  await db.query("reset synchronous_commit");
  await db.query("reset maintenance_work_mem");
  return {
    inserted,
    revoked: revokedCount,
    seconds: (done - started) / 1000,
    indexSeconds: (vacuumStarted - indexStarted) / 1000,
    vacuumSeconds: (done - vacuumStarted) / 1000,
  };
}
