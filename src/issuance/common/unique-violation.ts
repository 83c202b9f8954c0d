import { UniqueConstraintViolationException } from "@mikro-orm/core";

/** True when a write failed on the named unique index or constraint. */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  return (
    err instanceof UniqueConstraintViolationException && String(err.message).includes(constraint)
  );
}
