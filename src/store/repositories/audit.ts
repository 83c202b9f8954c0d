import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  AuditFilter,
  AuditRecord,
  AuditRepository,
  PageQuery,
} from "../../issuance/repositories";
import { AuditRecordEntity } from "../entities";
import { afterCursor, keysetOrder } from "../keyset";
import { fromRows } from "../rows";

const E = AuditRecordEntity;

/** The audit trail, on the ORM (`em()` is a fresh fork, or the transaction's). */
export class OrmAuditRepository implements AuditRepository {
  constructor(private readonly em: () => EntityManager) {}

  async insert(record: AuditRecord): Promise<void> {
    await this.em().insert(E, record);
  }

  async exists(id: string): Promise<boolean> {
    return (await this.em().count(E, { id })) === 1;
  }

  /** Served by the indexes of Migration20261127000000AccessAudit. */
  async listNewestFirst(filter: AuditFilter, page: PageQuery): Promise<AuditRecord[]> {
    const and: Record<string, unknown>[] = [];
    if (filter.actorId) and.push({ actorId: filter.actorId });
    else if (filter.actorSlug) and.push({ actorSlug: filter.actorSlug });
    if (filter.method) and.push({ method: filter.method });
    if (filter.resourceType) and.push({ resourceType: filter.resourceType });
    if (filter.resourceId) and.push({ resourceId: filter.resourceId });
    if (filter.startTime) and.push({ createdAt: { $gte: filter.startTime } });
    if (filter.endTime) and.push({ createdAt: { $lt: filter.endTime } });
    if (filter.failuresOnly) and.push({ statusCode: { $ne: 0 } });
    if (page.after) and.push(afterCursor(page.after, "desc"));
    const rows = await this.em().find(E, { $and: and } as never, {
      orderBy: keysetOrder("desc"),
      limit: page.limit,
    });
    return fromRows<AuditRecord>(rows);
  }
}
