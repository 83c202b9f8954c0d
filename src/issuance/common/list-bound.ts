import { CertmintError } from "../../errors";
import { type Call, remainingMs } from "../call";
import { type ReadBound, ReadStopped } from "../repositories";

/**
 * The time bound of a list page whose filter no index may serve (ListCertificates,
 * ListAuditRecords): the store runs the page's statement within it (store/bounded-read.ts), and
 * a read it stopped becomes an error that says how to narrow the query.
 */

/** The setting that bounds a list page's query. */
export const LIST_QUERY_TIMEOUT_SETTING = "CERTMINT_LIST_QUERY_TIMEOUT_MS";

/**
 * How long a page's query may run: `settingMs` (0: no limit), or the time left before the
 * call's deadline when that is shorter (`byDeadline`; on the monotonic clock, remainingMs);
 * stopped early when the caller goes away. `monotonicNow`: performance.now(), for tests.
 */
export function listReadBound(
  settingMs: number,
  call: Pick<Call, "deadlineAt" | "signal">,
  monotonicNow?: number,
): { bound: ReadBound; byDeadline: boolean } {
  const left = remainingMs(call, monotonicNow);
  const byDeadline = left !== Infinity && (settingMs === 0 || left < settingMs);
  return {
    bound: { timeoutMs: byDeadline ? Math.max(1, left) : settingMs, signal: call.signal },
    byDeadline,
  };
}

/** What a list tells a caller whose query ran out of time. */
export interface ListQueryAdvice {
  /** What the list reads, as in "the certificate query". */
  subject: string;
  /** Why this query may read much more than a page: "" or sentences, each with a leading space. */
  why: string;
  /** How to narrow it: a sentence, "Narrow it: ...". */
  narrow: string;
}

/**
 * A page's read, its ReadStopped turned into the caller's error (listStopped); anything else
 * passes as it is.
 */
export function readWithinBound<T>(
  read: Promise<T>,
  bound: ReadBound,
  byDeadline: boolean,
  advice: () => ListQueryAdvice,
): Promise<T> {
  return read.catch((err: unknown) => {
    if (err instanceof ReadStopped) throw listStopped(err, bound, byDeadline, advice());
    throw err;
  });
}

/**
 * A page's query PostgreSQL cancelled. Past the setting: RESOURCE_EXHAUSTED, saying how to
 * narrow the query (`advice`). Past the call's deadline, or cancelled by the caller:
 * DEADLINE_EXCEEDED, as any call the caller stopped waiting for (grpc-js has answered it
 * already). Never UNAVAILABLE or INTERNAL: the database is fine, the query was too wide.
 */
export function listStopped(
  err: ReadStopped,
  bound: ReadBound,
  byDeadline: boolean,
  advice: ListQueryAdvice,
): CertmintError {
  if (err.why === "cancelled" || byDeadline) {
    return new CertmintError(
      "deadline_exceeded",
      err.why === "cancelled" ? "CALL_CANCELLED" : "DEADLINE_EXCEEDED",
      `the caller stopped waiting (cancel or deadline) while the ${advice.subject} query ran; it was cancelled`,
    );
  }
  return new CertmintError(
    "resource_exhausted",
    "LIST_QUERY_TIMEOUT",
    `the ${advice.subject} query ran longer than ${bound.timeoutMs} ms (${LIST_QUERY_TIMEOUT_SETTING}) and was cancelled.${advice.why} ${advice.narrow}`,
    {
      metadata: { setting: LIST_QUERY_TIMEOUT_SETTING, timeout_ms: String(bound.timeoutMs) },
      cause: err,
    },
  );
}
