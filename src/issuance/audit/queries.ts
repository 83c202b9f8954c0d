import { type FieldViolation, fieldViolation, invalidArgument, quoted } from "../../errors";
import type { Call } from "../call";
import { type ListQueryAdvice, listReadBound, readWithinBound } from "../common/list-bound";
import { type ListQueryGate, throughListGate } from "../common/list-gate";
import { listPage, type Page, type PageByteBudget, type PageRequest } from "../common/list-page";
import type { PageScope, PageTokenKeys } from "../common/pagination";
import { isUuid } from "../common/refs";
import type {
  AccessTokenRepository,
  AuditRecord,
  AuditRepository,
  AuditFilter as ResolvedAuditFilter,
} from "../repositories";
import { type AuditRecordWithChanges, MAX_CHANGES_JSON_CHARS } from "./changes";
import { AUDIT_RESOURCE_TYPES } from "./record";

/**
 * 3 MiB of records per page at most, under the 4 MiB gRPC clients accept by default, as
 * ListCertificates' pages: a record is a few hundred bytes, but one with changes up to
 * MAX_CHANGES_JSON_CHARS more (audit/changes.ts), so a page of 1,000 could pass it.
 */
const AUDIT_PAGE_BUDGET: PageByteBudget<AuditRecordWithChanges> = {
  bytes: 3 * 1024 * 1024,
  sizeOf: (r) =>
    1024 +
    (r.changes ? Math.min(JSON.stringify(r.changes).length * 2, 4 * MAX_CHANGES_JSON_CHARS) : 0),
};

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

export interface AuditQueryDeps {
  store: {
    audit: Pick<AuditRepository, "listNewestFirst">;
    tokens: Pick<AccessTokenRepository, "find">;
  };
  keyring: PageTokenKeys;
  /**
   * How long a page's query may run (CERTMINT_LIST_QUERY_TIMEOUT_MS), or less when the call's
   * deadline comes sooner; 0 or unset: only the deadline bounds it.
   */
  listQueryTimeoutMs?: number;
  /** One caller's list queries running at once (CERTMINT_LIST_QUERIES_PER_TOKEN); unset: no cap. */
  listGate?: ListQueryGate;
}

/**
 * ListAuditRecords: newest first by (created_at, id), keyset pages; the actor, resource and
 * time filters are served by the indexes of Migration20261127000000AccessAudit. The method,
 * resource_type and failures_only filters are not: one that matches little reads the trail
 * back until a page is full, so the page's query is bounded as ListCertificates' is
 * (common/list-bound.ts).
 */
export async function listAuditRecords(
  deps: AuditQueryDeps,
  call: Pick<Call, "deadlineAt" | "signal" | "actor" | "whileOutside">,
  filter: AuditFilter,
  page: PageRequest,
): Promise<Page<AuditRecord>> {
  checkFilter(filter);
  const scope: PageScope = {
    list: "ListAuditRecords",
    filter: {
      // AIP-158: valid for the caller it was returned to (since stop 42 of 2026-12-06).
      caller: call.actor.id,
      actor: filter.actor,
      method: filter.method,
      resource_type: filter.resourceType,
      resource_id: filter.resourceId,
      start_time: filter.startTime,
      end_time: filter.endTime,
      failures_only: filter.failuresOnly,
    },
  };
  const resolved: ResolvedAuditFilter = {
    ...(await resolveActor(deps, filter.actor)),
    method: filter.method || undefined,
    resourceType: filter.resourceType || undefined,
    resourceId: filter.resourceId ? filter.resourceId.trim().toLowerCase() : undefined,
    startTime: filter.startTime,
    endTime: filter.endTime,
    failuresOnly: filter.failuresOnly,
  };
  return listPage(
    deps.keyring,
    page,
    scope,
    (query) =>
      // The bound is taken once the list has its place: the time it waited is not the query's.
      throughListGate(deps.listGate, call, () => {
        const { bound, byDeadline } = listReadBound(deps.listQueryTimeoutMs ?? 0, call);
        return readWithinBound(
          deps.store.audit.listNewestFirst(resolved, { ...query, bound }),
          bound,
          byDeadline,
          () => auditQueryAdvice(resolved),
        );
      }),
    AUDIT_PAGE_BUDGET,
  );
}

/**
 * How to narrow an audit query that ran out of time. Indexed (Migration20261127000000AccessAudit):
 * the actor as a token id, the resource_id, and created_at (a time range bounds the scan).
 */
function auditQueryAdvice(filter: ResolvedAuditFilter): ListQueryAdvice {
  const unindexed = [
    filter.method && "method",
    filter.resourceType && "resource_type",
    filter.failuresOnly && "failures_only",
  ].filter((f): f is string => Boolean(f));
  const why: string[] = [];
  if (filter.actorSlug !== undefined) {
    why.push(
      ` actor ${quoted(filter.actorSlug)} names no access token now, so records are matched by the slug they were written with, which no index serves.`,
    );
  }
  if (unindexed.length > 0 && !filter.actorId && !filter.resourceId) {
    why.push(
      ` No index serves ${unindexed.join(", ")}: records are read newest first until a page is full, through the whole trail when few match.`,
    );
  }
  return {
    subject: "audit",
    why: why.join(""),
    narrow:
      "Narrow it: a resource_id, an actor that names an access token (its id or current slug), or a start_time and end_time around the records wanted.",
  };
}

/** A slug names the token as it is now; records keep the slug they were written with. */
async function resolveActor(
  deps: AuditQueryDeps,
  actor: string | undefined,
): Promise<Pick<ResolvedAuditFilter, "actorId" | "actorSlug">> {
  if (!actor) return {};
  const ref = actor.trim();
  if (isUuid(ref)) return { actorId: ref.toLowerCase() };
  const token = await deps.store.tokens.find({ slug: ref });
  return token ? { actorId: token.id } : { actorSlug: ref };
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
