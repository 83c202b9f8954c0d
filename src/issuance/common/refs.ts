import type { EntitySchema } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { invalidField, notFound, quoted } from "../../errors";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Slugs: lower-case letters, digits and '-', 1 to 63 characters, starting with a letter. */
const SLUG = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const isUuid = (s: string): boolean => UUID.test(s);

/** Checks a new slug; the message says the rule. */
export function checkSlug(slug: string, field = "slug"): string {
  if (!SLUG.test(slug) || slug.includes("--")) {
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
 * Finds a row by a reference that is its UUID id or its slug (every reference in the API
 * accepts either). NOT_FOUND names what was looked for.
 */
export async function findByRef<T extends object>(
  em: EntityManager,
  entity: EntitySchema<T>,
  ref: string,
  what: string,
  field: string,
): Promise<T> {
  const trimmed = ref.trim();
  if (trimmed === "") throw referenceMissing(what, field);
  const where = isUuid(trimmed) ? { id: trimmed.toLowerCase() } : { slug: trimmed };
  // biome-ignore lint/suspicious/noExplicitAny: both shapes are valid filters of these entities
  const row = await em.findOne(entity, where as any);
  if (!row) throw referenceNotFound(what, trimmed);
  return row;
}

/** INVALID_ARGUMENT for an empty reference (shared with readers that bypass findByRef). */
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
