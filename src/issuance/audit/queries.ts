import type { MikroORM } from "@mikro-orm/postgresql";
import { type FieldViolation, fieldViolation, invalidArgument } from "../../errors";
import { AccessTokenEntity, AuditRecordEntity, type AuditRecordRow } from "../../store/entities";
import type { Page, PageRequest } from "../common/list-page";
import {
  decodePageToken,
  encodePageToken,
  type PageScope,
  type PageTokenKeys,
  pageSize,
} from "../common/pagination";
import { isUuid } from "../common/refs";
import { AUDIT_RESOURCE_TYPES } from "./record";

export interface AuditFilter {
  /** Access token id or slug. */
  actor?: string;
  method?: string;
  resourceType?: string;
  resourceId?: string;
  startTime?: Date;
  endTime?: Date;
  failuresOnly: boolean;
}

/**
 * ListAuditRecords: newest first by (created_at, id), keyset pages; the actor, resource and
 * time filters are served by the indexes of Migration20261127000000AccessAudit.
 */
export async function listAuditRecords(
  deps: { orm: MikroORM; keyring: PageTokenKeys },
  filter: AuditFilter,
  page: PageRequest,
): Promise<Page<AuditRecordRow>> {
  checkFilter(filter);
  const em = deps.orm.em.fork();
  const size = pageSize(page.pageSize);
  const scope: PageScope = {
    list: "ListAuditRecords",
    filter: {
      actor: filter.actor,
      method: filter.method,
      resource_type: filter.resourceType,
      resource_id: filter.resourceId,
      start_time: filter.startTime,
      end_time: filter.endTime,
      failures_only: filter.failuresOnly,
    },
  };
  const cursor = decodePageToken(deps.keyring, scope, page.pageToken);
  const and: Record<string, unknown>[] = [];
  if (filter.actor) {
    const ref = filter.actor.trim();
    if (isUuid(ref)) and.push({ actorId: ref.toLowerCase() });
    else {
      // A slug names the token as it is now; records keep the slug they were written with.
      const token = await em.findOne(AccessTokenEntity, { slug: ref }, { fields: ["id"] });
      and.push(token ? { actorId: token.id } : { actorSlug: ref });
    }
  }
  if (filter.method) and.push({ method: filter.method });
  if (filter.resourceType) and.push({ resourceType: filter.resourceType });
  if (filter.resourceId) and.push({ resourceId: filter.resourceId.trim().toLowerCase() });
  if (filter.startTime) and.push({ createdAt: { $gte: filter.startTime } });
  if (filter.endTime) and.push({ createdAt: { $lt: filter.endTime } });
  if (filter.failuresOnly) and.push({ statusCode: { $ne: 0 } });
  if (cursor) {
    and.push({
      $or: [
        { createdAt: { $lt: cursor.createdAt } },
        { createdAt: cursor.createdAt, id: { $lt: cursor.id } },
      ],
    });
  }
  const rows = await em.find(AuditRecordEntity, { $and: and } as never, {
    orderBy: { createdAt: "desc", id: "desc" },
    limit: size + 1,
  });
  const items = rows.slice(0, size);
  const last = items.at(-1);
  return {
    items,
    nextPageToken: rows.length > size && last ? encodePageToken(deps.keyring, scope, last) : "",
  };
}

/** A filter that could never match is a mistake to point out, not an empty page. */
function checkFilter(filter: AuditFilter): void {
  const violations: FieldViolation[] = [];
  if (
    filter.resourceType &&
    !(AUDIT_RESOURCE_TYPES as readonly string[]).includes(filter.resourceType)
  ) {
    violations.push(
      fieldViolation(
        "resource_type",
        "RESOURCE_TYPE_UNKNOWN",
        `one of ${AUDIT_RESOURCE_TYPES.join(", ")}`,
      ),
    );
  }
  if (filter.method && !/^\/[\w.]+\/\w+$/.test(filter.method)) {
    violations.push(
      fieldViolation(
        "method",
        "METHOD_INVALID",
        'the full RPC name, e.g. "/certmint.v1.CertificateService/IssueCertificate"',
      ),
    );
  }
  if (filter.startTime && filter.endTime && filter.startTime >= filter.endTime) {
    violations.push(fieldViolation("end_time", "TIME_RANGE_EMPTY", "must be after start_time"));
  }
  if (violations.length > 0) {
    throw invalidArgument(
      "AUDIT_FILTER_INVALID",
      `the audit filter is not valid: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`,
      { violations },
    );
  }
}
