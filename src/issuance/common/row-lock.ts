import { type EntitySchema, LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { CertmintError } from "../../errors";

/**
 * Re-reads a row inside a transaction with a row lock, so the checks that follow see the row as
 * it stays until commit: FOR UPDATE before changing or deleting it, FOR SHARE to keep it from
 * changing while something that depends on it is written (a profile checked against its policy).
 */
export async function lockRow<T extends { id: string }>(
  tx: EntityManager,
  entity: EntitySchema<T>,
  id: string,
  mode: "update" | "share",
): Promise<T> {
  const lockMode = mode === "update" ? LockMode.PESSIMISTIC_WRITE : LockMode.PESSIMISTIC_READ;
  // biome-ignore lint/suspicious/noExplicitAny: { id } is a valid filter of every entity here
  const row = await tx.findOne(entity, { id } as any, { lockMode, refresh: true });
  if (!row) {
    // Found a moment ago by reference, deleted before the lock: as if it had been stale.
    throw new CertmintError("aborted", "CONCURRENT_DELETE", "the resource was deleted meanwhile");
  }
  return row;
}

/** A conditional write (`where version = read version`) that matched no row: someone won the race. */
export const concurrentUpdate = (what: string) =>
  new CertmintError(
    "aborted",
    "CONCURRENT_UPDATE",
    `${what} changed meanwhile; read it again and retry`,
  );

/** A row locked after it was found by reference; deleted in between: as if it had been stale. */
export function stillThere<T>(row: T | null): T {
  if (row === null) {
    throw new CertmintError("aborted", "CONCURRENT_DELETE", "the resource was deleted meanwhile");
  }
  return row;
}
