import { type FieldViolation, fieldViolation, invalidArgument, quoted } from "../../errors";

/** Output-only or identifying fields: never set by an update (AIP-134, AIP-203). */
const IMMUTABLE_PATHS = new Set(["id", "slug", "etag", "create_time", "update_time"]);

/**
 * Resolves an update mask (AIP-134) against the paths a resource accepts: each path to its
 * change, "*" to every top-level change. An empty mask, and every unknown or immutable path,
 * is INVALID_ARGUMENT (UPDATE_MASK_INVALID), all listed at once. Shared by policies and
 * profiles; it belongs in common/ once that directory is free to change.
 */
export function resolveUpdateMask<Change>(
  mask: readonly string[],
  paths: ReadonlyMap<string, Change>,
  everything: readonly Change[],
  resource: string,
  example: string,
): Change[] {
  const violations: FieldViolation[] = [];
  if (mask.length === 0) {
    violations.push(
      fieldViolation(
        "update_mask",
        "UPDATE_MASK_EMPTY",
        `name the fields to change, e.g. ${example}`,
      ),
    );
  }
  const changes: Change[] = [];
  mask.forEach((path, i) => {
    const change = paths.get(path);
    if (path === "*") changes.push(...everything);
    else if (change !== undefined) changes.push(change);
    else {
      const immutable = IMMUTABLE_PATHS.has(path);
      violations.push(
        fieldViolation(
          `update_mask.paths[${i}]`,
          immutable ? "UPDATE_MASK_PATH_IMMUTABLE" : "UPDATE_MASK_PATH_UNKNOWN",
          immutable
            ? `${quoted(path)} cannot be changed`
            : `${quoted(path)} is not a field of ${resource} that can be updated`,
        ),
      );
    }
  });
  if (violations.length > 0) {
    throw invalidArgument("UPDATE_MASK_INVALID", "update_mask is invalid", { violations });
  }
  return changes;
}
