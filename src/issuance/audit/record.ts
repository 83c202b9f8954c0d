import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { AuditRecordEntity } from "../../store/entities";
import type { Columns } from "../../store/raw-insert";
import { type CallScope, currentCallScope } from "../call-scope";

/** The kinds of resource an audit record can name (proto AuditRecord.resource_type). */
export type AuditResourceType =
  | "certificate_authority"
  | "certificate_policy"
  | "certificate_profile"
  | "certificate_request"
  | "certificate"
  | "access_token";

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
  await em.insert(AuditRecordEntity, auditColumns(scope, resource, SUCCESS, now) as never);
  scope.audited = true;
}

/**
 * The success record for a single-statement write (src/store/raw-insert.ts), which inserts
 * it in the same statement; undefined outside a gRPC call. Marks the call audited: the
 * caller must run the statement, and a statement that fails fails the call, whose failure
 * is then recorded instead.
 */
export function auditColumnsForStatement(resource: AuditResource, now: Date): Columns | undefined {
  const scope = currentCallScope();
  if (!scope) return undefined;
  scope.audited = true;
  return auditColumns(scope, resource, SUCCESS, now);
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
