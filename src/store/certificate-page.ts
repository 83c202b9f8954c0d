import type { EntityManager } from "@mikro-orm/postgresql";
import type { ReadBound } from "../issuance/repositories";
import { boundedRead } from "./bounded-read";
import { TableColumns } from "./columns";
import { CertificateEntity, type CertificateRow } from "./entities";

/**
 * One page of ListCertificates, newest first, in one statement whose shape keeps it flat from
 * an empty table to millions of certificates (issue 14; the indexes are described in
 * migrations/Migration20261202130000FlatReads.ts):
 *
 * - Keyset pagination: the page starts strictly after the cursor with the row comparison
 *   (created_at, id) < (cursor), which PostgreSQL uses as the start of the index range scan of
 *   every (…, created_at desc, id desc) index. The equivalent `a < x or (a = x and b < y)` is
 *   only a filter: each page re-read every row before it (quadratic walks).
 * - Late row lookup: the filters and the order are applied to (id, created_at) in a subquery,
 *   which the planner can answer from an index alone (the expiry bound from
 *   (not_after, created_at, id), REVOKED from its partial index); only the page's rows are read
 *   from the table.
 * - Sent unprepared: a prepared statement's generic plan cannot see how selective an expiry
 *   bound or a name is, and would pick one plan for every bound.
 * - Only the columns a list shows: never the sealed private key, and the PEMs (about 2 KB of a
 *   row, compressed out of line by PostgreSQL's TOAST) only when the page asks for them.
 */
export interface CertificatePageFilter {
  profileId?: string;
  caId?: string;
  status?: "ACTIVE" | "REVOKED" | "EXPIRED";
  /** ACTIVE and EXPIRED are relative to this time. */
  now: Date;
  expiresBefore?: Date;
  /** A LIKE pattern over search_names, its metacharacters already escaped with backslashes. */
  namePattern?: string;
  /**
   * The last row of the previous page: this page holds only rows strictly after it.
   * `createdAtText` (microseconds) is used when given, else `createdAt`.
   */
  after?: { createdAt: Date; createdAtText?: string; id: string };
  limit: number;
  /** Read certificate_pem and chain_pem too (the FULL view). */
  withPem: boolean;
}

/** Never read by a list: a list never returns a key (certificates/ownership.ts says who may). */
const NEVER_LISTED = new Set(["sealedPrivateKey"]);
/** Read only for the FULL view. */
const PEM_PROPS = new Set(["certificatePem", "chainPem"]);

const CURSOR_COLUMN = "page_cursor_created_at";
const CREATED_AT_TEXT = `to_char(k."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The select list of a page's rows (alias c): what a list shows, the PEMs only if asked. */
export function listedColumns(columns: TableColumns, withPem: boolean): string {
  return columns.props
    .filter((p) => !NEVER_LISTED.has(p) && (withPem || !PEM_PROPS.has(p)))
    .map((p) => `c.${columns.column(p)}`)
    .join(", ");
}

/** The page's SQL (with `?` placeholders, as the ORM's execute takes them) and its bindings. */
export function certificatePageQuery(
  f: CertificatePageFilter,
  select: string,
): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    where.push(sql);
    params.push(...values);
  };
  if (f.profileId) add(`"profile_id" = ?`, f.profileId);
  if (f.caId) add(`"ca_id" = ?`, f.caId);
  if (f.status === "REVOKED") add(`"revoked_at" is not null`);
  if (f.status === "ACTIVE") add(`"revoked_at" is null and "not_after" > ?`, f.now);
  if (f.status === "EXPIRED") add(`"revoked_at" is null and "not_after" <= ?`, f.now);
  if (f.expiresBefore) add(`"not_after" < ?`, f.expiresBefore);
  // The key's condition is the one the trigram index serves; the plain one keeps the result
  // exact (Migration20261205200000NameSearchWords).
  if (f.namePattern !== undefined) {
    add(
      `"certmint_search_key"("search_names") like "certmint_search_key"(?) and "search_names" like ?`,
      f.namePattern,
      f.namePattern,
    );
  }
  if (f.after) {
    const at = f.after.createdAtText ?? f.after.createdAt;
    add(`("created_at", "id") < (?::timestamptz, ?::uuid)`, at, f.after.id);
  }
  params.push(f.limit);
  // The row's created_at to the microsecond, for the next page's cursor.
  const sql = `select ${select}, ${CREATED_AT_TEXT} as "${CURSOR_COLUMN}" from (select "id", "created_at" from "certificate"${
    where.length ? ` where ${where.join(" and ")}` : ""
  } order by "created_at" desc, "id" desc limit ?) k join "certificate" c on c."id" = k."id" order by k."created_at" desc, k."id" desc`;
  return { sql, params };
}

/** A certificate of the page (mapped as the ORM maps it) and its created_at to the microsecond. */
export interface PageRow {
  certificate: CertificateRow;
  createdAtText: string;
}

/** The page, its statement within `bound` when given (bounded-read.ts; ReadStopped past it). */
export async function readCertificatePage(
  em: EntityManager,
  f: CertificatePageFilter,
  bound?: ReadBound,
): Promise<PageRow[]> {
  const columns = certificateColumns(em);
  const { sql, params } = certificatePageQuery(f, listedColumns(columns, f.withPem));
  const rows = await boundedRead<Record<string, unknown>>(em, sql, params, bound);
  return rows.map((row) => ({
    // The columns not read stay undefined (fromColumns reads only those present).
    certificate: columns.fromColumns(row) as CertificateRow,
    createdAtText: row[CURSOR_COLUMN] as string,
  }));
}

/** The certificate table's columns, made once per metadata (every fork shares it). */
const columnsByMetadata = new WeakMap<object, TableColumns>();

export function certificateColumns(em: EntityManager): TableColumns {
  const metadata = em.getMetadata();
  let columns = columnsByMetadata.get(metadata);
  if (!columns) {
    columns = new TableColumns(metadata.get(CertificateEntity.meta.className), em.getPlatform());
    columnsByMetadata.set(metadata, columns);
  }
  return columns;
}
