import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  CertificateRequest,
  PageQuery,
  RequestFilter,
  RequestRepository,
  StoredError,
} from "../../issuance/repositories";
import { CertificateRequestEntity } from "../entities";
import { afterCursor, keysetOrder } from "../keyset";
import { fromRow } from "../rows";

const E = CertificateRequestEntity;

/** Certificate requests off the hot path (issuance.ts has that), on the ORM. */
export class OrmRequestRepository implements RequestRepository {
  constructor(private readonly em: () => EntityManager) {}

  async findById(id: string): Promise<CertificateRequest | null> {
    const row = await this.em().findOne(E, { id }, { refresh: true });
    return row && fromRow<CertificateRequest>(row);
  }

  async listUnissued(filter: RequestFilter, page: PageQuery): Promise<CertificateRequest[]> {
    if (filter.profileIds?.length === 0) return [];
    // status <> 'ISSUED' in every query, also with one status: it is the partial index's
    // predicate, which the planner matches only when the query states it.
    const rows = await this.em().find(
      E,
      {
        $and: [
          { status: { $ne: "ISSUED" } },
          ...(filter.status ? [{ status: filter.status }] : []),
          ...(filter.profileIds ? [{ profileId: { $in: [...filter.profileIds] } }] : []),
          ...(filter.caller ? [{ caller: filter.caller }] : []),
          afterCursor(page.after, "asc"),
        ],
      },
      { orderBy: keysetOrder("asc"), limit: page.limit },
    );
    return rows.map((row) => fromRow<CertificateRequest>(row));
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

  async claimForSigning(id: string, reservedSerial: string, now: Date): Promise<boolean> {
    const n = await this.em().nativeUpdate(
      E,
      { id, status: "PENDING_APPROVAL" },
      { status: "PENDING", reservedSerial, updatedAt: now },
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

  async takeKeyAfterApproval(id: string): Promise<Uint8Array | undefined> {
    const em = this.em();
    const rows = await em.getConnection().execute<Array<{ sealed: Buffer }>>(
      `update "certificate_request" r set "sealed_private_key" = null
           from (select "id", "sealed_private_key" as "sealed" from "certificate_request"
                  where "id" = ? and "key_held_until" is null for update) old
          where r."id" = old."id" and old."sealed" is not null returning old."sealed"`,
      [id],
      "all",
      em.getTransactionContext(),
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
