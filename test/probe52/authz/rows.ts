/**
 * "Nothing changed", as rows in PostgreSQL: every table of certmint's schema but audit_record
 * (which records refusals), as its row count and an md5 of its rows in a stable order.
 */
import type { TestDatabase } from "../../support/postgres";
import { waitFor } from "../../support/wait";

type Db = Pick<TestDatabase, "query">;

/** Every base table of the schema but audit_record. */
export async function allTablesButAudit(db: Db): Promise<string[]> {
  const rows = await db.query<{ table_name: string }>(
    `select table_name from information_schema.tables
      where table_schema = current_schema() and table_type = 'BASE TABLE' and table_name <> 'audit_record'
      order by 1`,
  );
  return rows.map((r) => r.table_name);
}

/** Per table: "rows:md5 of the rows". */
export async function snapshotTables(db: Db, tables: string[]): Promise<Record<string, string>> {
  const sql = tables
    .map(
      (t) =>
        `select '${t}' as t, count(*) || ':' || coalesce(md5(string_agg(x::text, ',' order by x::text)), '') as s from "${t}" x`,
    )
    .join(" union all ");
  const rows = await db.query<{ t: string; s: string }>(sql);
  return Object.fromEntries(rows.map((r) => [r.t, r.s]));
}

/**
 * Waits until every certificate event has its position in the event sequence (numbered after
 * its commit), so that a snapshot does not see the numbering of earlier events as a change.
 */
export async function eventsNumbered(db: Db): Promise<void> {
  await waitFor("certificate events numbered", async () => {
    const [row] = await db.query<{ n: string }>(
      "select count(*) as n from certificate_event where position is null",
    );
    return Number(row!.n) === 0;
  });
}
