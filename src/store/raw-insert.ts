import type { EntityManager } from "@mikro-orm/postgresql";
import { executePrepared, type HeldConnection } from "./prepared";

/**
 * Single-statement writes for the issuance hot path. The ORM's unit of work costs about
 * 0.2 ms of CPU per round trip plus BEGIN/COMMIT round trips (bench/issue); these statements
 * run in autocommit, one round trip and one durable commit each, with the same columns as
 * the entities (src/store/entities). Those that finish a request also run on the connection
 * that holds its lock (store/request-lock.ts), in that lock's transaction.
 */

/** Where a statement runs: autocommitted on a pooled connection, or on a held one. */
export type StatementTarget = EntityManager | HeldConnection;

function run<T>(target: StatementTarget, sql: string, bindings: unknown[]): Promise<T> {
  return "command" in target
    ? target.execute<T>(sql, bindings)
    : executePrepared<T>(target, sql, bindings);
}

/** A column value, and the cast PostgreSQL needs for it (jsonb columns get JSON text). */
type Value = string | number | boolean | Date | Buffer | null | undefined;
export type Columns = Record<string, Value | { json: unknown }>;

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Column list, placeholders and bindings of a row given with camelCase keys. */
export function valuesOf(row: Columns): {
  columns: string;
  placeholders: string;
  bindings: Value[];
} {
  const keys = Object.keys(row);
  const bindings: Value[] = [];
  const placeholders = keys.map((k) => {
    const v = row[k];
    if (v !== null && typeof v === "object" && "json" in v) {
      bindings.push(v.json === null || v.json === undefined ? null : JSON.stringify(v.json));
      return "?::jsonb";
    }
    bindings.push((v ?? null) as Value);
    return "?";
  });
  return {
    columns: keys.map((k) => `"${snake(k)}"`).join(", "),
    placeholders: placeholders.join(", "),
    bindings,
  };
}

/**
 * INSERT ... ON CONFLICT (caller, request_id) DO NOTHING: false when a row with the same
 * idempotency key exists (the caller then replays it). An audit record given is inserted in
 * the same statement, and only when the request row was.
 */
export async function insertCertificateRequest(
  em: EntityManager,
  row: Columns,
  audit?: Columns,
): Promise<boolean> {
  const { columns, placeholders, bindings } = valuesOf(row);
  const insert = `insert into "certificate_request" (${columns}) values (${placeholders})
         on conflict ("caller", "request_id") where "request_id" is not null do nothing returning "id"`;
  if (!audit) {
    const rows = await executePrepared<Array<{ id: string }>>(em, insert, bindings);
    return rows.length === 1;
  }
  const a = valuesOf(audit);
  const rows = await executePrepared<Array<{ id: string }>>(
    em,
    `with inserted as (${insert}),
          audited as (insert into "audit_record" (${a.columns}) select ${a.placeholders} from inserted)
     select "id" from inserted`,
    [...bindings, ...a.bindings],
  );
  return rows.length === 1;
}

/**
 * Stores an issued certificate and marks its PENDING request ISSUED in one statement: the
 * insert reads from the update, so nothing is stored unless the request was still PENDING.
 * Returns false when it was not (another call completed it). A generated key the requester
 * may fetch again is kept sealed on the request (`sealedPrivateKey`, until `keyHeldUntil`).
 */
export async function storeIssuedCertificate(
  target: StatementTarget,
  certificate: Columns,
  request: {
    id: string;
    updatedAt: Date;
    sealedPrivateKey: Buffer | null;
    keyHeldUntil: Date | null;
  },
  audit?: Columns,
): Promise<boolean> {
  const { columns, placeholders, bindings } = valuesOf(certificate);
  // The audit record of the call (src/issuance/audit) rides in the same statement, so it
  // commits with the certificate or not at all.
  const auditValues = audit ? valuesOf(audit) : undefined;
  const audited = auditValues
    ? `, audited as (insert into "audit_record" (${auditValues.columns}) select ${auditValues.placeholders} from marked)`
    : "";
  const rows = await run<Array<{ id: string }>>(
    target,
    `with marked as (
       update "certificate_request"
          set "status" = 'ISSUED', "certificate_id" = ?, "updated_at" = ?,
              "sealed_private_key" = ?, "key_held_until" = ?
        where "id" = ? and "status" = 'PENDING'
        returning "id")${audited}
     insert into "certificate" (${columns}) select ${placeholders} from marked returning "id"`,
    [
      certificate.id as string,
      request.updatedAt,
      request.sealedPrivateKey,
      request.keyHeldUntil,
      request.id,
      ...(auditValues?.bindings ?? []),
      ...bindings,
    ],
  );
  return rows.length === 1;
}

/**
 * Marks a renewed certificate as renewed by its successor, unless it was renewed or revoked
 * meanwhile (false then).
 */
export async function linkRenewal(
  target: StatementTarget,
  renewedId: string,
  successorId: string,
): Promise<boolean> {
  const rows = await run<Array<{ id: string }>>(
    target,
    `update "certificate" set "renewed_by_id" = ?
      where "id" = ? and "renewed_by_id" is null and "revoked_at" is null returning "id"`,
    [successorId, renewedId],
  );
  return rows.length === 1;
}

/**
 * Marks a PENDING request FAILED with its stored error, and inserts the audit record of the
 * refusal (when given) in the same statement. False when the request was no longer PENDING.
 */
export async function markRequestFailed(
  target: StatementTarget,
  request: { id: string; error: unknown; updatedAt: Date },
  audit?: Columns,
): Promise<boolean> {
  const a = audit ? valuesOf(audit) : undefined;
  const rows = await run<Array<{ id: string }>>(
    target,
    `with failed as (
       update "certificate_request" set "status" = 'FAILED', "error" = ?::jsonb, "updated_at" = ?
        where "id" = ? and "status" = 'PENDING' returning "id")${
          a
            ? `, audited as (insert into "audit_record" (${a.columns}) select ${a.placeholders} from failed)`
            : ""
        }
     select "id" from failed`,
    [JSON.stringify(request.error), request.updatedAt, request.id, ...(a?.bindings ?? [])],
  );
  return rows.length === 1;
}
