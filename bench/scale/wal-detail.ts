/**
 * Where a measurement window's WAL went, by relation and record type: which table or index
 * wrote it, and how much of it was full-page images (the first change of a page after a checkpoint logs the
 * whole page, so an index whose inserts land on random pages logs about a page per insert once
 * it is larger than the pages a window touches; issue 14: WAL per issuance grew with the table).
 * Read with pg_walinspect (PostgreSQL 15 contrib) on the benchmark's own instance, where the
 * bench's user is a superuser; a record is counted under the relation of its first block.
 */
import type { Client } from "pg";

export interface WalByRelation {
  relation: string;
  /** The resource manager and record type, e.g. "Heap/INSERT", "Btree/INSERT_LEAF". */
  record: string;
  records: number;
  /** Record bytes, full-page images included. */
  bytes: number;
  /** Of which full-page images. */
  fpiBytes: number;
}

export async function walByRelation(
  db: Client,
  fromLsn: string,
  toLsn: string,
  top = 12,
): Promise<WalByRelation[]> {
  await db.query("create extension if not exists pg_walinspect");
  const rows = await db.query<{
    relation: string;
    record: string;
    records: string;
    bytes: string;
    fpi: string;
  }>(
    `select coalesce(c.relname, '-') as relation, w.resource_manager || '/' || w.record_type as record,
            count(*) as records, sum(w.record_length) as bytes, sum(w.fpi_length) as fpi
       from pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn) w
       left join lateral regexp_match(w.block_ref, 'rel \\d+/\\d+/(\\d+)') m on true
       left join pg_class c on c.relfilenode = m[1]::oid
      group by 1, 2 order by sum(w.record_length) desc limit $3`,
    [fromLsn, toLsn, top],
  );
  return rows.rows.map((r) => ({
    relation: r.relation,
    record: r.record,
    records: Number(r.records),
    bytes: Number(r.bytes),
    fpiBytes: Number(r.fpi),
  }));
}

/** One line per relation and record type, per issuance. */
export function formatWalByRelation(rows: WalByRelation[], issuances: number): string {
  const n = Math.max(1, issuances);
  return rows
    .map(
      (r) =>
        `    ${`${r.relation} ${r.record}`.padEnd(58)} ${(r.bytes / n / 1024).toFixed(2).padStart(6)} KiB/issuance ` +
        `(${(r.fpiBytes / n / 1024).toFixed(2)} in full-page images, ${(r.records / n).toFixed(1)} records)`,
    )
    .join("\n");
}
