/**
 * Which errors mean "the database cannot be reached right now" (issue 11), as the driver
 * stack (pg, knex's pool, MikroORM's DriverException, which copies the driver error's `code`)
 * reports them. Such a call may succeed when retried: src/api/errors.ts answers UNAVAILABLE
 * with a RetryInfo. Anything else (a constraint, a bug, bad data, an embedded database's
 * internal error) is not an outage and stays INTERNAL. It reads only error codes and messages,
 * no driver API, so the API layer and the health check use it without depending on the store.
 * The same error answers on the HTTP ports: 503 with Retry-After for ACME (RFC 8555 6.7) and
 * the CRL and CA-certificate publication, tryLater for OCSP (RFC 6960 4.2.1), never a 500.
 */
import { CertmintError, isCertmintError } from "./errors";

/** Seconds a client should wait before retrying a call that met a database outage. */
export const OUTAGE_RETRY_SECONDS = 1;

/** Socket errors of a connection that was refused, dropped or could not be opened. */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  // Out of file descriptors: no connection can be opened until some close.
  "EMFILE",
  "ENFILE",
]);

/**
 * SQLSTATEs (PostgreSQL Appendix A): class 08 connection exceptions; 57P01 admin_shutdown
 * ("terminating connection due to administrator command"), 57P02 crash_shutdown, 57P03
 * cannot_connect_now (starting up or in recovery); 53300 too_many_connections.
 */
const SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);

/**
 * SQLSTATEs of a database that is up but could not run this statement now, for a reason that is
 * the operator's, not the caller's or certmint's (PostgreSQL Appendix A). The statement (and its
 * transaction) was rolled back and the same call may succeed when retried, so it is answered as
 * an outage (UNAVAILABLE with RetryInfo; 503 on the HTTP ports), never INTERNAL:
 * - 57014 query_canceled: an operator's pg_cancel_backend, or a statement_timeout set on the
 *   role or database. (A list query certmint bounds itself is told apart before it gets here:
 *   store/bounded-read.ts answers it as RESOURCE_EXHAUSTED LIST_QUERY_TIMEOUT.)
 * - 57P04 database_dropped, 57P05 idle_session_timeout, 25P03
 *   idle_in_transaction_session_timeout: the server ended the session.
 * - class 53 insufficient resources: 53100 disk_full, 53200 out_of_memory, 53400
 *   configuration_limit_exceeded (e.g. max_locks_per_transaction);
 * - class 58 system errors: 58000 system_error, 58030 io_error, 58P01 undefined_file, 58P02
 *   duplicate_file (the database's own files);
 * - 42501 insufficient_privilege: certmint's role lost a privilege, or (the embedded database)
 *   its files' modes deny it. An outside probe (2026-12-05) saw the last three answered INTERNAL,
 *   with a stack trace in the log per call, while an operator had made the data read-only.
 * - 25006 read_only_sql_transaction: a write on a hot standby (a failover left certmint on
 *   one, or a stale DNS name or pooler points at the old primary) or under
 *   default_transaction_read_only; answered INTERNAL until stop 39 of 2026-12-05 (a probe).
 */
const REFUSED_SQLSTATES = new Set([
  "57014",
  "57P04",
  "57P05",
  "25P03",
  "53100",
  "53200",
  "53400",
  "58000",
  "58030",
  "58P01",
  "58P02",
  "42501",
  "25006",
]);

/**
 * What an operator has to do something about, in words, for the refused SQLSTATEs whose code
 * alone says little to a reader of the log or of a client's error: a full disk used to reach
 * both only as "53100" behind "short of a resource" (test/probe/disk-full-*.test.ts), so
 * nobody looked at the disk. Said to the client too: it is the operator's condition, not data.
 */
const CONDITIONS: Record<string, string> = {
  "53100": "the database's disk is full",
  "53200": "the database is out of memory",
  "53400": "the database reached a configuration limit",
  "58030": "the database failed to read or write its files",
  "58000": "the database hit a system error",
  "58P01": "a file of the database is missing",
  // Seen when the data directory was removed under the embedded database (an outside probe,
  // stop 49): "exists already" alone sent the operator the wrong way.
  "58P02":
    "the database could not create one of its files (one is in the way, or its directory changed under it)",
  "42501":
    "the database refused certmint's role or process access (a privilege revoked, or its files' modes)",
  "25006":
    "the database is read-only (a hot standby after a failover, or default_transaction_read_only)",
  // Not the database's: this process's own limit (or the system's), which its connections,
  // its threads and the embedded database's files draw on (server/fd-budget.ts).
  EMFILE:
    "certmint has as many files and connections open as its file-descriptor limit allows (ulimit -n)",
  ENFILE: "the system has as many files open as it allows (fs.file-max)",
};

/** The words for an outage's cause (databaseOutage) when it names a condition, else undefined. */
export function outageCondition(cause: string): string | undefined {
  return CONDITIONS[cause];
}

/**
 * Messages of errors that carry no code: pg's for a connection that ended under it, knex's
 * for a pool that found no connection in time (DriverException keeps the message, prefixed by
 * the SQL, but not the error's name).
 */
const MESSAGES = [
  "Connection terminated",
  "connection error and is not queryable",
  "Client was closed and is not queryable",
  "Timeout acquiring a connection",
];

/**
 * The reason an error is a database outage (a code, for the log), or undefined when it is
 * not one. Follows `cause` a few levels, for errors that wrap the driver's.
 */
export function databaseOutage(err: unknown): string | undefined {
  for (const e of causeChain(err)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") {
      if (
        SOCKET_CODES.has(code) ||
        SQLSTATES.has(code) ||
        REFUSED_SQLSTATES.has(code) ||
        /^08[0-9A-Z]{3}$/.test(code)
      ) {
        return code;
      }
    }
    const known = MESSAGES.find((m) => e.message.includes(m));
    if (known) return known;
  }
  return undefined;
}

/** An error and those it wraps (`cause`), a few levels deep: drivers and the ORM wrap theirs. */
function* causeChain(err: unknown): Generator<Error> {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    yield current;
    current = (current as { cause?: unknown }).cause;
  }
}

/**
 * A thrown error as a client should see it when it is a database outage: UNAVAILABLE
 * (DATABASE_UNAVAILABLE) with a retry delay, since the same call may succeed in a moment;
 * undefined when it is not one (a CertmintError never is: it is already what it says).
 */
export function outageError(err: unknown): CertmintError | undefined {
  if (isCertmintError(err)) return undefined;
  const cause = databaseOutage(err);
  if (cause === undefined) return undefined;
  // The SQLSTATE goes to the client as ErrorInfo metadata: it names the condition without
  // quoting the statement (a driver error's message can carry SQL and its values).
  const condition = outageCondition(cause);
  return REFUSED_SQLSTATES.has(cause)
    ? new CertmintError(
        "unavailable",
        "DATABASE_UNAVAILABLE",
        condition
          ? `certmint's database could not run this call's statement right now: ${condition} (an operator of certmint must fix that); retry later (retrying is safe: a call repeated with the same request_id never issues twice)`
          : "certmint's database could not run this call's statement right now (it was cancelled or the database is short of a resource; the server log has the cause); retry shortly (retrying is safe: a call repeated with the same request_id never issues twice)",
        { retryAfterSeconds: OUTAGE_RETRY_SECONDS, metadata: { sqlstate: cause } },
      )
    : new CertmintError(
        "unavailable",
        "DATABASE_UNAVAILABLE",
        "certmint cannot reach its database right now; retry shortly (retrying is safe: a call repeated with the same request_id never issues twice)",
        { retryAfterSeconds: OUTAGE_RETRY_SECONDS },
      );
}

/**
 * SQLSTATEs of a transaction that lost a race with another (PostgreSQL Appendix A): 40001
 * serialization_failure, 40P01 deadlock_detected (PostgreSQL rolled this one back to break
 * the cycle), 55P03 lock_not_available. Nothing of the transaction committed, and the same
 * call may succeed at once: gRPC's ABORTED ("a concurrency issue such as a transaction
 * abort"), never INTERNAL.
 */
const CONFLICT_SQLSTATES = new Set(["40001", "40P01", "55P03"]);

/** The SQLSTATE when an error is a transaction conflict (above), else undefined. */
export function transactionConflict(err: unknown): string | undefined {
  for (const e of causeChain(err)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONFLICT_SQLSTATES.has(code)) return code;
  }
  return undefined;
}

/** A thrown transaction conflict as a client should see it: ABORTED, retry. */
export function conflictError(err: unknown): CertmintError | undefined {
  if (isCertmintError(err) || transactionConflict(err) === undefined) return undefined;
  return new CertmintError(
    "aborted",
    "TRANSACTION_CONFLICT",
    "the call's transaction lost a race with another and was rolled back, nothing changed; retry it (retrying is safe: a call repeated with the same request_id never issues twice)",
    { retryAfterSeconds: OUTAGE_RETRY_SECONDS },
  );
}

/**
 * The store's refusal of a certificate or CA whose signing CA was revoked or disabled while it
 * was being signed (SQLSTATE CMC01, Migration20261205300000CaSigningGuard): nothing was
 * written, and the call fails as it would have had it started after the change.
 */
export function signingGuardError(err: unknown): CertmintError | undefined {
  if (isCertmintError(err)) return undefined;
  if (![...causeChain(err)].some((e) => (e as { code?: unknown }).code === CA_SIGNING_REFUSED)) {
    return undefined;
  }
  return new CertmintError(
    "failed_precondition",
    "CA_NOT_ACTIVE",
    "the signing certificate authority was revoked or disabled while this call signed; nothing was stored",
    {
      preconditions: [
        {
          type: "CA_STATUS",
          subject: "issuer",
          description: "revoked or disabled during the call",
        },
      ],
    },
  );
}

/** SQLSTATE of certmint_refuse_inactive_issuer (Migration20261205300000CaSigningGuard). */
export const CA_SIGNING_REFUSED = "CMC01";
