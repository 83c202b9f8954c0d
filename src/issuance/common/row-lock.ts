import { CertmintError } from "../../errors";
import { referenceNotFound } from "./refs";

/** A conditional write (`where version = read version`) that matched no row: someone won the race. */
export const concurrentUpdate = (what: string) =>
  new CertmintError(
    "aborted",
    "CONCURRENT_UPDATE",
    `${what} changed meanwhile; read it again and retry`,
  );

/**
 * A row locked (or read again) after it was found by reference, and deleted in between: NOT_FOUND,
 * as the call would have been answered had it come after the deletion, which it now does (a
 * delete that lost to a delete, an update or a create whose policy went meanwhile). Until stop
 * 40 of 2026-12-05 this was ABORTED (CONCURRENT_DELETE), whose retry then answered NOT_FOUND (an
 * outside probe).
 */
export function stillThere<T>(row: T | null, gone: { what: string; ref: string }): T {
  if (row === null) {
    const e = referenceNotFound(gone.what, gone.ref);
    throw new CertmintError(e.kind, e.reason, `${e.message} (deleted meanwhile)`);
  }
  return row;
}
