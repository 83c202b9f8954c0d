import type { CertmintError } from "../../errors";
import type { Call } from "../call";
import { newRowId } from "../common/ids";
import type { AuditRecord } from "../repositories";
import { type AuditRecordWithChanges, boundedChanges, type FieldChange } from "./changes";

/** The kinds of resource an audit record can name (proto AuditRecord.resource_type). */
export const AUDIT_RESOURCE_TYPES = [
  "certificate_authority",
  "certificate_policy",
  "certificate_profile",
  "certificate_request",
  "certificate",
  "access_token",
  // ACME (src/acme): accounts (created, deactivated, key rolled over, revoked) and orders.
  "acme_account",
  "acme_order",
  // An External Account Binding key (its key_id) revoked by an admin (RevokeAcmeExternalAccountKey).
  "acme_external_account_key",
  // A KEK rotation (src/kek-rotation: method and actor_slug "rotate-kek", no access token).
  "key_encryption_key",
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

export const SUCCESS: AuditOutcome = { statusCode: 0, errorReason: "" };

/** The audit record of a call: who, what, which resource, the outcome, when. */
export function auditRecordOf(
  call: Call,
  resource: AuditResource | undefined,
  outcome: AuditOutcome,
  now: Date,
): AuditRecord {
  return {
    id: newRowId(),
    createdAt: now,
    actorId: call.actor.id,
    actorSlug: call.actor.slug,
    method: call.method,
    resourceType: resource?.type ?? "",
    resourceId: resource?.id ?? "",
    statusCode: outcome.statusCode,
    errorReason: outcome.errorReason,
    traceId: call.traceId,
    peer: call.peer,
  };
}

/**
 * The record of the change a call makes, to be written in the change's own transaction (or
 * statement), so neither exists without the other: success, or the refusal the change records
 * (a FAILED request). Noted on the call; the API layer records the call itself when no change
 * did, and checks the record committed before recording a failure.
 *
 * `changes`: what an administrative change set (changes.ts: createdFields, updatedFields,
 * removedFields), so an auditor sees the fields before and after, never a secret. Issuance
 * records carry none: the request and certificate rows are the change, and their statement
 * (store/repositories/issuance.ts) binds the column as null, with no round trip more.
 */
export function changeRecord(
  call: Call,
  resource: AuditResource,
  now: Date,
  failure?: CertmintError,
  changes?: FieldChange[],
): AuditRecordWithChanges {
  const outcome: AuditOutcome = failure
    ? { statusCode: call.statusCodeOf?.(failure) ?? 2, errorReason: failure.reason }
    : SUCCESS;
  const record: AuditRecordWithChanges = auditRecordOf(call, resource, outcome, now);
  if (changes) record.changes = boundedChanges(changes);
  call.auditRecordId = record.id;
  return record;
}

/** The change's transaction rolled back (or never ran): its record is not this call's. */
export function forgetChangeRecord(call: Call): void {
  call.auditRecordId = undefined;
}
