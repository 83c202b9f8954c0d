import { CertmintError } from "../../errors";

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
