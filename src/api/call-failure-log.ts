import type { Logger } from "pino";
import { databaseOutage, outageCondition, transactionConflict } from "../database-outage";
import { isCertmintError } from "../errors";
import { throttledWarnings } from "../server/throttled-warnings";

/** What a failed call met, as far as its log line and its audit record care. */
export interface CallFailure {
  /** The database outage's cause, when the call met one (reported as UNAVAILABLE). */
  outage?: string;
  /** The transaction conflict's cause (deadlock, serialization failure), reported as ABORTED. */
  conflict?: string;
}

/**
 * Logs a failed call once, for unary calls and streams alike: an outage and a lost race by their
 * cause alone (a driver error's message can quote SQL), at warn, an outage's once per cause per
 * 10 s (server/throttled-warnings.ts: the others at debug); anything else that is not a
 * CertmintError at error, with its stack (a bug). A CertmintError is the caller's answer, not
 * the operator's problem, and the call's access line already carries its code.
 */
export function logCallFailure(
  logger: Logger,
  err: unknown,
  method: string,
  requestId: string,
): CallFailure {
  // The one refusal the operator must act on: this server's KEK was rotated away under it
  // (Migration20261206140000KekIdGuard); every new sealed key is refused until it restarts.
  if (isCertmintError(err) && err.reason === "KEK_ROTATED") {
    throttledWarnings(logger).warn(
      logger,
      "kek-rotated",
      { method, requestId },
      "the key-encryption key was rotated while this server ran: restart it with the new CERTMINT_KEK_FILE",
    );
    return {};
  }
  if (isCertmintError(err)) return {};
  const outage = databaseOutage(err);
  if (outage) {
    throttledWarnings(logger).warn(
      logger,
      `outage:${outage}`,
      // condition: the cause in words (a full disk), for the operator who reads this line.
      { cause: outage, condition: outageCondition(outage), method, requestId },
      "database unavailable",
    );
    return { outage };
  }
  const conflict = transactionConflict(err);
  if (conflict) {
    logger.warn({ cause: conflict, method, requestId }, "transaction conflict");
    return { conflict };
  }
  logger.error({ err, method, requestId }, "unhandled error in handler");
  return {};
}
