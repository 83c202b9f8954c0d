import { invalidField, notFound, quoted } from "../../errors";
import type { RowKey } from "../repositories";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Slugs: lower-case letters, digits and '-', 1 to 63 characters, starting with a letter. */
const SLUG = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const isUuid = (s: string): boolean => UUID.test(s);

/** Whether `s` follows the slug rule every slug was made by (checkSlug, since 2026-11-26). */
const isSlug = (s: string): boolean => SLUG.test(s) && !s.includes("--");

/** Checks a new slug; the message says the rule. */
export function checkSlug(slug: string, field = "slug"): string {
  if (!isSlug(slug)) {
    throw invalidField(
      "SLUG_INVALID",
      `${field} must be 1-63 lower-case letters, digits or single '-', starting with a letter and not ending with '-' (got ${quoted(slug)})`,
      field,
      "not a valid slug",
    );
  }
  return slug;
}

/**
 * A reference as every API reference reads: trimmed, a UUID is an id (lower-cased), anything
 * else a slug; null when empty.
 */
export function rowKeyOf(ref: string): RowKey | null {
  const trimmed = ref.trim();
  if (trimmed === "") return null;
  return isUuid(trimmed) ? { id: trimmed.toLowerCase() } : { slug: trimmed };
}

/**
 * INVALID_ARGUMENT for a reference that is neither a UUID nor a slug ("WEB-POLICY", "my policy"):
 * nothing can have it, and NOT_FOUND would tell a clean-up script that a Delete of "WEB-POLICY"
 * found it gone while "web-policy" stays. Until stop 50 of 2026-12-06 (an outside probe) such a
 * reference was looked up as a slug and answered NOT_FOUND, while certificate references were
 * already refused this way (CERTIFICATE_REFERENCE_INVALID).
 */
export function checkReference(key: RowKey, what: string, field: string): void {
  if (!("slug" in key) || isSlug(key.slug)) return;
  throw invalidField(
    `${what.toUpperCase().replace(/ /g, "_")}_REFERENCE_INVALID`,
    `${field} must be the ${what}'s id (a UUID) or its slug (lower-case letters, digits and single '-', starting with a letter), got ${quoted(key.slug)}`,
    field,
    "neither a UUID nor a slug",
  );
}

/**
 * Resolves a reference that is a UUID id or a slug (every reference in the API accepts
 * either) with `find`: INVALID_ARGUMENT on `field` when empty or neither, NOT_FOUND naming what
 * was looked for when nothing has it.
 */
export async function resolveRef<T>(
  ref: string,
  what: string,
  field: string,
  find: (key: RowKey) => Promise<T | null>,
): Promise<T> {
  const key = rowKeyOf(ref);
  if (!key) throw referenceMissing(what, field);
  checkReference(key, what, field);
  const found = await find(key);
  if (!found) throw referenceNotFound(what, ref.trim());
  return found;
}

/**
 * What an Update names with its message's `id` and `slug`: either names the object; when both
 * are given, `slug` is kept here and checked against the object `id` names (checkNamedSlug).
 * Before 2026-12-05 the slug was ignored, and an update naming two objects changed the one of
 * the id without a word.
 */
export function updateTarget(given: { id?: string; slug?: string } | undefined): {
  ref: string;
  namedSlug?: string;
} {
  const id = given?.id?.trim() ?? "";
  const slug = given?.slug?.trim() ?? "";
  if (id && slug) return { ref: id, namedSlug: slug };
  return { ref: id || slug };
}

/** INVALID_ARGUMENT when an update's `slug` is not the slug of the object its `id` names. */
export function checkNamedSlug(
  namedSlug: string | undefined,
  row: { id: string; slug: string },
  message: string,
  what: string,
): void {
  if (namedSlug === undefined || namedSlug === row.slug) return;
  throw invalidField(
    "REFERENCE_CONFLICT",
    `${message}.id and ${message}.slug name two different objects (the id is "${row.slug}"'s, not ${quoted(namedSlug)}'s); send one of them, or both of the same ${what}`,
    `${message}.slug`,
    `not the slug of ${message}.id`,
  );
}

/** INVALID_ARGUMENT for an empty reference (resolveRef, and the issuance read that bypasses it). */
export function referenceMissing(what: string, field: string) {
  return invalidField(
    "REFERENCE_MISSING",
    `${field} is required (an id or a slug)`,
    field,
    `name the ${what} by id or slug`,
  );
}

/** NOT_FOUND for a reference that names nothing, e.g. CERTIFICATE_PROFILE_NOT_FOUND. */
export function referenceNotFound(what: string, trimmedRef: string) {
  return notFound(
    `${what.toUpperCase().replace(/ /g, "_")}_NOT_FOUND`,
    `no ${what} ${quoted(trimmedRef)}`,
  );
}
