import {
  ForeignKeyConstraintViolationException,
  UniqueConstraintViolationException,
} from "@mikro-orm/core";
import { StillReferenced, UniqueConflict } from "../issuance/repositories";

/**
 * A row as MikroORM loads it: the entities carry the domain's types (src/store/entities), and
 * a nullable column reads as null, or undefined when a query did not load it.
 */
export type Loaded<T> = { [K in keyof T]: null extends T[K] ? T[K] | undefined : T[K] };

/**
 * The domain record of a loaded row: a plain copy, nulls as null. The entities and the records
 * are checked against each other here, by type: a column whose type differs does not compile.
 */
export function fromRow<T extends object>(row: Loaded<T>): T {
  const record: Record<string, unknown> = { ...row };
  for (const key of Object.keys(record)) if (record[key] === undefined) record[key] = null;
  return record as T;
}

export const fromRows = <T extends object>(rows: ReadonlyArray<Loaded<T>>): T[] =>
  rows.map((row) => fromRow<T>(row));

/**
 * Runs a write and turns the violations the domain decides about into its own errors: a unique
 * index (`keys` maps the index names to the key the domain knows, e.g. "slug") into
 * UniqueConflict, a foreign key into StillReferenced. Anything else is rethrown as it is.
 */
export async function translatingConflicts<T>(
  write: () => Promise<T>,
  keys: Readonly<Record<string, string>> = {},
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) {
      const index = Object.keys(keys).find((name) => String(err.message).includes(name));
      if (index) throw new UniqueConflict(keys[index]!, { cause: err });
    }
    if (err instanceof ForeignKeyConstraintViolationException) {
      throw new StillReferenced({ cause: err });
    }
    throw err;
  }
}
