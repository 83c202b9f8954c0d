import { createHash } from "node:crypto";
import type { AuditRecord } from "../repositories";

/** A JSON value as an audit record stores it (jsonb) and the API returns it (google.protobuf.Value). */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * One field an administrative change set (proto FieldChange): its path in the stored object,
 * snake_case, nested objects joined by "." ("spec.sans.dns.allowed"); `before` absent when the
 * change created it, `after` absent when it removed it. Lists are one value: a list that
 * changed is shown whole, before and after.
 */
export interface FieldChange {
  field: string;
  before?: JsonValue;
  after?: JsonValue;
}

/**
 * What one recorded value may take, in characters of its JSON, and a record's changes in all.
 * A policy's lists hold up to 100 patterns of up to 2048 characters each, and an update records a
 * list before and after: unbounded, one ADMIN's edit made an audit row of a megabyte, and a page
 * of such rows more than a client accepts (a review of stop 42). A larger value is recorded by
 * its size and SHA-256, which tells that it changed and lets an auditor check a copy against it.
 */
export const MAX_VALUE_JSON_CHARS = 1024;
export const MAX_CHANGES_JSON_CHARS = 16 * 1024;

/** A value recorded by its size and digest only (boundedChanges). */
function omitted(json: string): JsonValue {
  return {
    omitted: "too long to record",
    json_chars: json.length,
    sha256: createHash("sha256").update(json).digest("hex"),
  };
}

/**
 * `changes` within MAX_VALUE_JSON_CHARS per value and MAX_CHANGES_JSON_CHARS in all: past the
 * total every further value is recorded as omitted too, so every changed field is still named.
 */
export function boundedChanges(changes: readonly FieldChange[]): FieldChange[] {
  let total = 0;
  const bound = (value: JsonValue | undefined): JsonValue | undefined => {
    if (value === undefined) return undefined;
    const json = JSON.stringify(value);
    const kept =
      json.length <= MAX_VALUE_JSON_CHARS && total + json.length <= MAX_CHANGES_JSON_CHARS;
    const recorded = kept ? value : omitted(json);
    total += kept ? json.length : 120;
    return recorded;
  };
  return changes.map((c) => {
    const out: FieldChange = { field: c.field };
    const before = bound(c.before);
    const after = bound(c.after);
    if (before !== undefined) out.before = before;
    if (after !== undefined) out.after = after;
    return out;
  });
}

/** An audit record with the change it made (audit_record.changes; Migration20261206110000). */
export type AuditRecordWithChanges = AuditRecord & { changes?: FieldChange[] | null };

/**
 * Fields never recorded, whatever the object: secrets and what could recover them (token
 * secrets, their hashes and salts, sealed or wrapped private keys, KEK material). Bytes are
 * never recorded either (see jsonOf), so a new bytea column of a secret stays out even before
 * its name matches here. (privateKeyRetention, a profile setting, is recorded.)
 */
const NEVER_RECORDED = /secret|privatekey$|^sealed|wrapped|kek|salt/i;

/** Bookkeeping every row has: the record itself says when, and the id is its resource_id. */
const BOOKKEEPING = new Set(["id", "version", "createdAt", "updatedAt"]);

/**
 * A change that created `object`: each of its fields (bookkeeping and `omit` aside) as
 * `after`.
 */
export function createdFields(object: object, omit: readonly string[] = []): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const [key, value] of recordedEntries(object, omit)) {
    const after = jsonOf(value);
    if (after !== undefined) changes.push({ field: snakeCase(key), after });
  }
  return changes;
}

/**
 * A change from `before` to `after`: only the fields that differ, at the deepest object that
 * holds them (a policy's "spec.max_ttl_seconds", not the whole spec).
 */
export function updatedFields(before: object, after: object): FieldChange[] {
  const changes: FieldChange[] = [];
  diff(jsonObjectOf(before), jsonObjectOf(after), "", changes);
  return changes;
}

/** A change that removed `object`: the fields that identified it (`fields`), as `before`. */
export function removedFields<T extends object>(
  object: T,
  fields: ReadonlyArray<keyof T>,
): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const key of fields) {
    const name = String(key);
    if (NEVER_RECORDED.test(name)) continue;
    const value = jsonOf((object as Record<string, unknown>)[name]);
    if (value !== undefined) changes.push({ field: snakeCase(name), before: value });
  }
  return changes;
}

/**
 * The change a record carries; none for a record that changed nothing (an issuance, a
 * refusal, a replay) or one written before records carried changes. The repository returns
 * every column of audit_record, changes included.
 */
export function changesOf(record: AuditRecord): FieldChange[] {
  return (record as AuditRecordWithChanges).changes ?? [];
}

function diff(
  before: Record<string, JsonValue>,
  after: Record<string, JsonValue>,
  prefix: string,
  out: FieldChange[],
): void {
  const keys = [...Object.keys(before), ...Object.keys(after).filter((k) => !(k in before))];
  for (const key of keys) {
    const field = prefix + key;
    const b = before[key];
    const a = after[key];
    if (isObject(b) && isObject(a)) {
      diff(b, a, `${field}.`, out);
    } else if (!sameJson(b, a)) {
      out.push({
        field,
        ...(b === undefined ? {} : { before: b }),
        ...(a === undefined ? {} : { after: a }),
      });
    }
  }
}

/** The recorded top-level fields of a row, snake_cased and as JSON. */
function jsonObjectOf(object: object): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of recordedEntries(object)) {
    const json = jsonOf(value);
    if (json !== undefined) out[snakeCase(key)] = json;
  }
  return out;
}

function recordedEntries(object: object, omit: readonly string[] = []): Array<[string, unknown]> {
  return Object.entries(object).filter(
    ([key]) => !BOOKKEEPING.has(key) && !omit.includes(key) && !NEVER_RECORDED.test(key),
  );
}

/**
 * A stored value as JSON: dates as RFC 3339 text, nested objects with snake_case keys (their
 * secret-named fields left out), undefined left out; bytes (hashes, sealed keys) never.
 */
function jsonOf(value: unknown): JsonValue | undefined {
  if (value === undefined || typeof value === "function" || typeof value === "symbol") {
    return undefined;
  }
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array || ArrayBuffer.isView(value)) return undefined;
  if (Array.isArray(value)) return value.map((v) => jsonOf(v) ?? null);
  const out: Record<string, JsonValue> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (NEVER_RECORDED.test(key)) continue;
    const json = jsonOf(v);
    if (json !== undefined) out[snakeCase(key)] = json;
  }
  return out;
}

function isObject(value: JsonValue | undefined): value is Record<string, JsonValue> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b) || isObject(a) || isObject(b)) {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return false;
}

/** "maxTtlSeconds" as the API and the columns spell it: "max_ttl_seconds". */
function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
