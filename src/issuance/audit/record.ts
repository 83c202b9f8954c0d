import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { CertmintError } from "../../errors";
import { AuditRecordEntity } from "../../store/entities";
import type { Columns } from "../../store/raw-insert";
import { type CallScope, currentCallScope } from "../call-scope";

/** The kinds of resource an audit record can name (proto AuditRecord.resource_type). */
export const AUDIT_RESOURCE_TYPES = [
  "certificate_authority",
  "certificate_policy",
  "certificate_profile",
  "certificate_request",
  "certificate",
  "access_token",
  // ACME (src/acme): accounts (created, deactivated, key rolled over) and orders.
  "acme_account",
  "acme_order",
] as const;
export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number];

export interface AuditResource {
  readonly type: AuditResourceType;
  readonly id: string;
}

export interface AuditOutcome {
  /** google.rpc.Code; 0 for success. */
  readonly statusCode: number;
  /** ErrorInfo reason of a failure; empty on success. */
  readonly errorReason: string;
}

const SUCCESS: AuditOutcome = { statusCode: 0, errorReason: "" };

/** The audit_record row of a call (camelCase columns, see src/store/entities/audit-record.ts). */
export function auditColumns(
  scope: CallScope,
  resource: AuditResource | undefined,
  outcome: AuditOutcome,
  now: Date,
): Columns {
  return {
    id: randomUUID(),
    createdAt: now,
    actorId: scope.actor.id,
    actorSlug: scope.actor.slug,
    method: scope.method,
    resourceType: resource?.type ?? "",
    resourceId: resource?.id ?? "",
    statusCode: outcome.statusCode,
    errorReason: outcome.errorReason,
    requestId: scope.requestId,
    peer: scope.peer,
  };
}

/**
 * Writes the success record of the current call with `em`, which must be the transaction of
 * the change, so the change and its record commit or roll back together. Outside a gRPC call
 * (start-up tasks, tests calling use cases directly) there is no actor and nothing is written.
 */
export async function recordAudit(
  em: EntityManager,
  resource: AuditResource,
  now = new Date(),
): Promise<void> {
  const scope = currentCallScope();
  if (!scope) return;
  const columns = auditColumns(scope, resource, SUCCESS, now);
  await em.insert(AuditRecordEntity, columns as never);
  scope.audited = true;
  scope.auditRecordId = columns.id as string;
}

/**
 * The record for a single-statement write (src/store/raw-insert.ts), which inserts it in the
 * same statement: success, or the refusal the statement records (a FAILED request);
 * undefined outside a gRPC call. The caller must run the statement; if it fails, the API
 * layer finds the record missing and records the failure instead.
 */
export function auditColumnsForStatement(
  resource: AuditResource,
  now: Date,
  failure?: CertmintError,
): Columns | undefined {
  const scope = currentCallScope();
  if (!scope) return undefined;
  const outcome: AuditOutcome = failure
    ? { statusCode: scope.statusCodeOf?.(failure) ?? 2, errorReason: failure.reason }
    : SUCCESS;
  const columns = auditColumns(scope, resource, outcome, now);
  scope.audited = true;
  scope.auditRecordId = columns.id as string;
  return columns;
}

/** Whether the call's in-transaction record was committed (a failure after it may roll it back). */
export async function auditRecordCommitted(em: EntityManager, scope: CallScope): Promise<boolean> {
  if (!scope.auditRecordId) return false;
  return (await em.count(AuditRecordEntity, { id: scope.auditRecordId })) === 1;
}

/**
 * Records a call that failed (or, as a fallback, one that succeeded without recording itself)
 * in a transaction of its own: a refused call changed nothing, so there is nothing to share
 * a transaction with.
 */
export async function recordAuditOutcome(
  em: EntityManager,
  scope: CallScope,
  outcome: AuditOutcome,
  resource?: AuditResource,
): Promise<void> {
  await em.insert(AuditRecordEntity, auditColumns(scope, resource, outcome, new Date()) as never);
}
