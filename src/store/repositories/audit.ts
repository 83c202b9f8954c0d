import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  AuditFilter,
  AuditRecord,
  AuditRepository,
  PageQuery,
} from "../../issuance/repositories";
import { boundedRead } from "../bounded-read";
import { TableColumns } from "../columns";
import { AuditRecordEntity, type AuditRecordRow } from "../entities";
import { fromRows } from "../rows";

const E = AuditRecordEntity;

/**
 * The row a refused call's reference names, by resource type: a slug (unique), or a
 * certificate's serial in its stored form (unique per CA: two rows say nothing).
 */
const RESOURCE_BY_KEY: Record<string, string> = {
  certificate_authority: `select "id"::text as "id" from "certificate_authority" where "slug" = ?`,
  certificate_policy: `select "id"::text as "id" from "certificate_policy" where "slug" = ?`,
  certificate_profile: `select "id"::text as "id" from "certificate_profile" where "slug" = ?`,
  access_token: `select "id"::text as "id" from "access_token" where "slug" = ?`,
  certificate: `select "id"::text as "id" from "certificate" where "serial_number" = ? limit 2`,
};

/** The audit trail, on the ORM (`em()` is a fresh fork, or the transaction's). */
export class OrmAuditRepository implements AuditRepository {
  /**
   * `boundedReads`: a list page honours its PageQuery.bound (store/bounded-read.ts). Only on a
   * PostgreSQL server: the embedded PGlite ignores statement_timeout and serves one session,
   * so nothing could cancel a statement from beside it.
   */
  constructor(
    private readonly em: () => EntityManager,
    private readonly options: { boundedReads?: boolean } = {},
  ) {}

  async insert(record: AuditRecord): Promise<void> {
    await this.em().insert(E, record);
  }

  async resourceIdOf(type: string, key: string): Promise<string | undefined> {
    const sql = RESOURCE_BY_KEY[type];
    if (!sql) return undefined;
    const rows = await this.em().getConnection().execute<Array<{ id: string }>>(sql, [key]);
    return rows.length === 1 ? rows[0]!.id : undefined;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.em().count(E, { id })) === 1;
  }

  /**
   * Served by the indexes of Migration20261127000000AccessAudit (auditPageQuery). Within
   * page.bound (ReadStopped past it) when boundedReads.
   */
  async listNewestFirst(filter: AuditFilter, page: PageQuery): Promise<AuditRecord[]> {
    const em = this.em();
    const columns = auditColumns(em);
    const { sql, params } = auditPageQuery(columns, filter, page);
    const bound = this.options.boundedReads ? page.bound : undefined;
    const rows = await boundedRead<Record<string, unknown>>(em, sql, params, bound);
    // Mapped as the ORM maps a row (columns.ts fromColumns); checked against AuditRecord by fromRows.
    return fromRows<AuditRecord>(rows.map((row) => columns.fromColumns(row) as AuditRecordRow));
  }
}

/**
 * One page of the trail, newest first: the statement em.find made of the same filter (one
 * condition per filter, the keyset bound of store/keyset.ts, its order and limit), as SQL so
 * that boundedRead can run it. With no filter, or by created_at, it is a range scan of
 * audit_record_created_at_index; by actor or resource, of audit_record_actor_index or
 * audit_record_resource_index. The cursor is compared as a Date, as before: every record's
 * created_at is a Date written by certmint, to the millisecond.
 */
export function auditPageQuery(
  columns: TableColumns,
  f: AuditFilter,
  page: Pick<PageQuery, "after" | "limit">,
): { sql: string; params: unknown[] } {
  const c = (prop: keyof AuditRecord) => columns.column(prop);
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    where.push(sql);
    params.push(...values);
  };
  if (f.actorId) add(`${c("actorId")} = ?`, f.actorId);
  else if (f.actorSlug) add(`${c("actorSlug")} = ?`, f.actorSlug);
  if (f.method) add(`${c("method")} = ?`, f.method);
  if (f.resourceType) add(`${c("resourceType")} = ?`, f.resourceType);
  if (f.resourceId) add(`${c("resourceId")} = ?`, f.resourceId);
  if (f.startTime) add(`${c("createdAt")} >= ?`, f.startTime);
  if (f.endTime) add(`${c("createdAt")} < ?`, f.endTime);
  if (f.failuresOnly) add(`${c("statusCode")} != 0`);
  if (page.after) {
    // afterCursor (keyset.ts): the first bound starts the index range scan, the OR is exact.
    const { createdAt: at, id } = page.after;
    add(
      `${c("createdAt")} <= ? and (${c("createdAt")} < ? or (${c("createdAt")} = ? and ${c("id")} < ?))`,
      at,
      at,
      at,
      id,
    );
  }
  params.push(page.limit);
  const sql = `select ${columns.columnList} from ${columns.table}${
    where.length ? ` where ${where.join(" and ")}` : ""
  } order by ${c("createdAt")} desc, ${c("id")} desc limit ?`;
  return { sql, params };
}

/** The audit table's columns, made once per metadata (every fork shares it). */
const columnsByMetadata = new WeakMap<object, TableColumns>();

function auditColumns(em: EntityManager): TableColumns {
  const metadata = em.getMetadata();
  let columns = columnsByMetadata.get(metadata);
  if (!columns) {
    columns = new TableColumns(metadata.get(E.meta.className), em.getPlatform());
    columnsByMetadata.set(metadata, columns);
  }
  return columns;
}
