import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  CertificateRequest,
  PageQuery,
  RequestFilter,
  RequestRepository,
  StoredError,
} from "../../issuance/repositories";
import { boundedRead } from "../bounded-read";
import { TableColumns } from "../columns";
import { CertificateRequestEntity } from "../entities";
import { fromRow, fromRows } from "../rows";

const E = CertificateRequestEntity;

/** Certificate requests off the hot path (issuance.ts has that), on the ORM. */
export class OrmRequestRepository implements RequestRepository {
  /** `boundedReads`: as OrmAuditRepository's (a list page honours its PageQuery.bound). */
  constructor(
    private readonly em: () => EntityManager,
    private readonly options: { boundedReads?: boolean } = {},
  ) {}

  async findById(id: string): Promise<CertificateRequest | null> {
    const row = await this.em().findOne(E, { id }, { refresh: true });
    return row && fromRow<CertificateRequest>(row);
  }

  /**
   * As SQL, so that boundedRead runs it within page.bound (ReadStopped past it) when
   * boundedReads: a filter few rows match (one issuer's requests among 10^5 failed ones) walks
   * certificate_request_unissued_index until the page is full.
   */
  async listUnissued(filter: RequestFilter, page: PageQuery): Promise<CertificateRequest[]> {
    if (filter.profileIds?.length === 0) return [];
    const em = this.em();
    const columns = requestColumns(em);
    const c = (prop: keyof CertificateRequest) => columns.column(prop);
    // status <> 'ISSUED' in every query, also with one status: it is the partial index's
    // predicate, which the planner matches only when the query states it.
    const where = [`${c("status")} <> 'ISSUED'`];
    const params: unknown[] = [];
    const add = (sql: string, ...values: unknown[]) => {
      where.push(sql);
      params.push(...values);
    };
    if (filter.status) add(`${c("status")} = ?`, filter.status);
    if (filter.profileIds) {
      add(
        `${c("profileId")} in (${filter.profileIds.map(() => "?").join(", ")})`,
        ...filter.profileIds,
      );
    }
    if (filter.caller) add(`${c("caller")} = ?`, filter.caller);
    if (page.after) {
      // afterCursor (keyset.ts): the first bound starts the index range scan, the OR is exact.
      const { createdAt: at, id } = page.after;
      add(
        `${c("createdAt")} >= ? and (${c("createdAt")} > ? or (${c("createdAt")} = ? and ${c("id")} > ?))`,
        at,
        at,
        at,
        id,
      );
    }
    params.push(page.limit);
    const sql = `select ${columns.columnList} from ${columns.table} where ${where.join(" and ")}
      order by ${c("createdAt")}, ${c("id")} limit ?`;
    const bound = this.options.boundedReads ? page.bound : undefined;
    const rows = await boundedRead<Record<string, unknown>>(em, sql, params, bound);
    return fromRows<CertificateRequest>(
      rows.map((row) => columns.fromColumns(row) as unknown as CertificateRequest),
    );
  }

  countWaiting(profileId: string): Promise<number> {
    return this.em().count(E, { profileId, status: { $in: ["PENDING_APPROVAL", "PENDING"] } });
  }

  async findByIds(ids: readonly string[]): Promise<CertificateRequest[]> {
    if (ids.length === 0) return [];
    const rows = await this.em().find(E, { id: { $in: [...new Set(ids)] } });
    return rows.map((row) => fromRow<CertificateRequest>(row));
  }

  async findByIdempotencyKey(
    caller: string,
    idempotencyKey: string,
  ): Promise<CertificateRequest | null> {
    const row = await this.em().findOne(E, { caller, idempotencyKey }, { refresh: true });
    return row && fromRow<CertificateRequest>(row);
  }

  async claimForSigning(
    id: string,
    reservedSerial: string,
    now: Date,
    approver: string,
  ): Promise<boolean> {
    const n = await this.em().nativeUpdate(
      E,
      { id, status: "PENDING_APPROVAL" },
      { status: "PENDING", reservedSerial, updatedAt: now, claimedBy: approver },
    );
    return n > 0;
  }

  async reject(id: string, error: StoredError, now: Date): Promise<boolean> {
    const n = await this.em().nativeUpdate(
      E,
      { id, status: "PENDING_APPROVAL" },
      { status: "REJECTED", error, updatedAt: now },
    );
    return n > 0;
  }

  /**
   * One statement: every PENDING_APPROVAL request of `caller` not locked by another transaction
   * (an approval deciding it at this moment holds it FOR SHARE and re-checks its requester under
   * that lock: approval.ts checksUnderLock) -> REJECTED with `error`; their ids.
   */
  async rejectWaitingOf(caller: string, error: StoredError, now: Date): Promise<string[]> {
    const em = this.em();
    const rows = await em.getConnection().execute<Array<{ id: string }>>(
      `update "certificate_request" set "status" = 'REJECTED', "error" = ?, "updated_at" = ?
        where "id" in (select "id" from "certificate_request"
                        where "caller" = ? and "status" = 'PENDING_APPROVAL'
                        for update skip locked)
          and "status" = 'PENDING_APPROVAL'
        returning "id"`,
      [JSON.stringify(error), now, caller],
      "all",
      em.getTransactionContext(),
    );
    return rows.map((r) => r.id);
  }

  async rejectWaitingVouchedBy(
    tokenIds: readonly string[],
    error: StoredError,
    now: Date,
  ): Promise<string[]> {
    if (tokenIds.length === 0) return [];
    const em = this.em();
    // As rejectWaitingOf, by vouched_by (a JSON array of token ids) holding any of them.
    const rows = await em.getConnection().execute<Array<{ id: string }>>(
      `update "certificate_request" set "status" = 'REJECTED', "error" = ?, "updated_at" = ?
        where "id" in (select "id" from "certificate_request"
                        where "status" = 'PENDING_APPROVAL'
                          and jsonb_exists_any("vouched_by", array(select jsonb_array_elements_text(?::jsonb)))
                        for update skip locked)
          and "status" = 'PENDING_APPROVAL'
        returning "id"`,
      [JSON.stringify(error), now, JSON.stringify(tokenIds)],
      "all",
      em.getTransactionContext(),
    );
    return rows.map((r) => r.id);
  }

  async handOutApprovedKey(
    id: string,
    until: Date | null,
    now: Date,
  ): Promise<Uint8Array | undefined> {
    const em = this.em();
    const run = (sql: string, params: unknown[]) =>
      em
        .getConnection()
        .execute<Array<{ sealed: Buffer }>>(sql, params, "all", em.getTransactionContext());
    const rows =
      until === null
        ? await run(
            `update "certificate_request" r set "sealed_private_key" = null
               from (select "id", "sealed_private_key" as "sealed" from "certificate_request"
                      where "id" = ? and "key_held_until" is null
                      for update) old
              where r."id" = old."id" and old."sealed" is not null returning old."sealed"`,
            [id],
          )
        : await run(
            `update "certificate_request" set "key_held_until" = coalesce("key_held_until", ?)
              where "id" = ? and "sealed_private_key" is not null
                and ("key_held_until" is null or "key_held_until" > ?)
              returning "sealed_private_key" as "sealed"`,
            [until, id, now],
          );
    return rows[0]?.sealed ?? undefined;
  }

  async deleteExpiredHeldKeys(now: Date): Promise<number> {
    const rows = await this.em()
      .getConnection()
      .execute<Array<{ id: string }>>(
        `update "certificate_request" set "sealed_private_key" = null, "key_held_until" = null
          where "key_held_until" <= ? returning "id"`,
        [now],
      );
    return rows.length;
  }
}

/** The request table's columns, made once per metadata (every fork shares it). */
const columnsByMetadata = new WeakMap<object, TableColumns>();

function requestColumns(em: EntityManager): TableColumns {
  const metadata = em.getMetadata();
  let columns = columnsByMetadata.get(metadata);
  if (!columns) {
    columns = new TableColumns(metadata.get(E.meta.className), em.getPlatform());
    columnsByMetadata.set(metadata, columns);
  }
  return columns;
}
