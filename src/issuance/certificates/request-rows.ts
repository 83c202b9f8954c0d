import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { CertmintError } from "../../errors";
import type { CertificateRequestRow } from "../../store/entities";
import {
  insertCertificateRequest,
  markRequestFailed,
  type StatementTarget,
} from "../../store/raw-insert";
import { auditColumnsForStatement, forgetChangeRecord } from "../audit/record";
import { currentCallScope } from "../call-scope";
import { storedErrorOf } from "./outcome";
import { reserveSerial, storedParams } from "./sign-and-store";
import type { IssuancePlan, RequestStatus } from "./types";

export interface RequestIdentity {
  caller: string;
  requestId?: string;
  fingerprint: string;
  kind: "ISSUE" | "RENEW";
  renewalOfCertificateId?: string;
}

/**
 * Inserts the request row: PENDING with its serial reserved (before anything is signed),
 * PENDING_APPROVAL, or FAILED with its reason. Returns "duplicate" when a concurrent call
 * with the same (caller, request_id) inserted first: the caller then replays that one.
 */
export async function insertRequest(
  em: EntityManager,
  plan: IssuancePlan,
  who: RequestIdentity,
  status: RequestStatus,
  now: Date,
  error?: CertmintError,
): Promise<CertificateRequestRow | "duplicate"> {
  const row = {
    id: randomUUID(),
    profileId: plan.profile.id,
    caller: who.caller,
    idempotencyKey: who.requestId ?? null,
    requestFingerprint: who.fingerprint,
    kind: who.kind,
    status,
    subject: plan.subject,
    sans: plan.sans,
    params: storedParams(plan),
    csrPem: plan.key.kind === "CSR" ? plan.key.csrPem : null,
    sealedPrivateKey: null,
    keyHeldUntil: null,
    renewalOfCertificateId: who.renewalOfCertificateId ?? null,
    certificateId: null,
    reservedSerial: status === "PENDING" ? reserveSerial() : null,
    error: error ? storedErrorOf(error) : null,
    createdAt: now,
    updatedAt: now,
  } satisfies CertificateRequestRow;
  // One autocommitted statement; a concurrent call holding the same (caller, request_id) wins.
  // A request that waits for approval, or a refusal recorded as FAILED, is where this call's
  // change ends: its audit record (success, or the refusal's code) rides in the same
  // statement. (PENDING ends with the certificate.)
  const audit =
    status === "PENDING_APPROVAL" || status === "FAILED"
      ? auditColumnsForStatement({ type: "certificate_request", id: row.id }, now, error)
      : undefined;
  // Transitional: raw-insert.ts guesses column names from property names.
  const { idempotencyKey, ...columns } = row;
  const inserted = await insertCertificateRequest(
    em,
    {
      ...columns,
      requestId: idempotencyKey,
      subject: { json: row.subject },
      sans: { json: row.sans },
      params: { json: row.params },
      error: { json: row.error },
    },
    audit,
  );
  if (!inserted && audit) {
    // Nothing was inserted, so neither was the record: this call ends as a replay, which the
    // API layer records.
    const scope = currentCallScope();
    if (scope) forgetChangeRecord(scope);
  }
  return inserted ? row : "duplicate";
}

/**
 * Marks a PENDING request FAILED with the error that stopped it, and records the refusal in
 * the audit trail in the same statement: autocommitted, or (a connection) in the transaction
 * of the request's lock. False when the request was no longer PENDING.
 */
export function markFailed(
  target: StatementTarget,
  id: string,
  error: CertmintError,
  now: Date,
): Promise<boolean> {
  return markRequestFailed(
    target,
    { id, error: storedErrorOf(error), updatedAt: now },
    auditColumnsForStatement({ type: "certificate_request", id }, now, error),
  );
}
