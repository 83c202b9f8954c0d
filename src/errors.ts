/**
 * The one domain error type (after Boulder's berrors): every layer below the API throws
 * CertmintError with a kind; src/api/errors.ts maps kinds to gRPC status codes in one place.
 * Anything that is not a CertmintError reaches the client as INTERNAL with no details.
 *
 * Messages must be safe to show a caller: never key material, tokens or stack traces.
 */

/** What went wrong, independent of transport. Exhaustively mapped to gRPC codes. */
export type ErrorKind =
  | "invalid_argument" // the request itself is malformed or breaks a rule
  | "failed_precondition" // the request is fine but the system state refuses it
  | "not_found"
  | "already_exists"
  | "aborted" // optimistic concurrency: a stale version or etag
  | "permission_denied"
  | "unauthenticated"
  | "resource_exhausted"
  | "unimplemented"
  | "unavailable" // transient: starting up or shutting down; retry
  | "deadline_exceeded" // the caller's deadline passed before the work was done
  | "internal";

/** One broken rule on one request field (google.rpc.BadRequest.FieldViolation). */
export interface FieldViolation {
  /** The request field, in proto field-path form, e.g. "attributes.dns_names[1]". */
  field: string;
  /** What rule it broke, in words a user can act on. */
  description: string;
  /** Stable machine-readable reason, e.g. "SAN_DENIED". */
  reason?: string;
}

/** One unmet precondition (google.rpc.PreconditionFailure.Violation). */
export interface PreconditionViolation {
  /** Kind of precondition, e.g. "CA_STATUS". */
  type: string;
  /** The resource it is about, e.g. "certificate_authorities/root-ca". */
  subject: string;
  description: string;
}

export interface CertmintErrorOptions {
  /** Field violations for invalid_argument (BadRequest). */
  violations?: FieldViolation[];
  /** Precondition violations for failed_precondition (PreconditionFailure). */
  preconditions?: PreconditionViolation[];
  /** Extra ErrorInfo metadata (string values only; never secrets). */
  metadata?: Record<string, string>;
  /** Seconds after which a retry may succeed (resource_exhausted -> RetryInfo). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class CertmintError extends Error {
  override readonly name = "CertmintError";
  readonly violations: FieldViolation[];
  readonly preconditions: PreconditionViolation[];
  readonly metadata: Record<string, string>;
  readonly retryAfterSeconds?: number;

  /**
   * @param kind   what went wrong
   * @param reason stable UPPER_SNAKE_CASE reason for google.rpc.ErrorInfo (e.g. "CSR_SIGNATURE_INVALID")
   * @param message one sentence a user can act on
   */
  constructor(
    readonly kind: ErrorKind,
    readonly reason: string,
    message: string,
    options: CertmintErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.violations = options.violations ?? [];
    this.preconditions = options.preconditions ?? [];
    this.metadata = options.metadata ?? {};
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Shorthands for the common kinds, so call sites stay one line. */
export const invalidArgument = (reason: string, message: string, opts?: CertmintErrorOptions) =>
  new CertmintError("invalid_argument", reason, message, opts);
export const failedPrecondition = (reason: string, message: string, opts?: CertmintErrorOptions) =>
  new CertmintError("failed_precondition", reason, message, opts);
export const notFound = (reason: string, message: string, opts?: CertmintErrorOptions) =>
  new CertmintError("not_found", reason, message, opts);
export const alreadyExists = (reason: string, message: string, opts?: CertmintErrorOptions) =>
  new CertmintError("already_exists", reason, message, opts);
export const permissionDenied = (reason: string, message: string, opts?: CertmintErrorOptions) =>
  new CertmintError("permission_denied", reason, message, opts);
export const unauthenticated = (reason: string, message: string, opts?: CertmintErrorOptions) =>
  new CertmintError("unauthenticated", reason, message, opts);
export const internalError = (reason: string, message: string, opts?: CertmintErrorOptions) =>
  new CertmintError("internal", reason, message, opts);

export const isCertmintError = (e: unknown): e is CertmintError => e instanceof CertmintError;

/** One broken rule on one request field: the one way every layer builds a field violation. */
export const fieldViolation = (
  field: string,
  reason: string,
  description: string,
): FieldViolation => ({ field, description, reason });

/**
 * INVALID_ARGUMENT about one request field: one violation on `field` whose reason is the
 * error's own, e.g. invalidField("DURATION_INVALID", "ttl must be ...", "ttl", "positive
 * whole seconds").
 */
export const invalidField = (
  reason: string,
  message: string,
  field: string,
  description: string,
  opts?: Omit<CertmintErrorOptions, "violations">,
) =>
  invalidArgument(reason, message, {
    ...opts,
    violations: [fieldViolation(field, reason, description)],
  });

/** At most `max` characters of `text` (code points, never half a pair), "…" marking a cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const points = Array.from(text.slice(0, 2 * max)); // max code points take at most 2 * max units
  if (points.length <= max && text.length <= 2 * max) return text;
  return `${points.slice(0, max - 1).join("")}…`;
}

/**
 * `word` after "a" or "an", as a message says it: "an admin token", "an issuer token", "an
 * EC_P256 key", "an RSA_2048 key", "a P-256 key". A word in capitals (an enum name) is read
 * letter by letter, so it takes "an" where its first letter's name starts with a vowel sound.
 */
export const withArticle = (word: string): string => {
  const spelled = /^[A-Z0-9_]+$/.test(word) && /^[AEFHILMNORSX]/.test(word);
  return `${spelled || /^[aeiou]/i.test(word) ? "an" : "a"} ${word}`;
};

/**
 * What JSON.stringify leaves raw but a message must not carry: DEL and the C1 controls (U+009B
 * is CSI on some terminals), format characters (Cf: the UAX #9 bidi embeddings, overrides and
 * isolates U+202A-U+202E and U+2066-U+2069, which make "abc<U+202E>gnp.exe" read "abcexe.png";
 * the zero-width U+200B-U+200F and U+FEFF), the line and paragraph separators U+2028/U+2029
 * and noncharacters. C0 controls and lone surrogates JSON.stringify escapes itself.
 */
const UNQUOTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}]/gu;

/** Each UTF-16 unit as \uXXXX, the JSON escape (a noncharacter above U+FFFF is two). */
const jsonEscapeUnits = (ch: string): string =>
  Array.from(
    { length: ch.length },
    (_, i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`,
  ).join("");

/**
 * Client input quoted in a message: JSON-escaped, and what JSON leaves raw but a terminal or UI
 * would act on escaped the same way (UNQUOTABLE), so control, bidi and zero-width characters
 * show as \u001b, \u202e, \u200b, never raw (until stop 46 of 2026-12-06 U+202E, U+2066,
 * U+200B and U+2028 went out raw: an outside probe); and at most 64 characters of it, so an
 * error never carries a caller's megabytes back. Still a JSON string: JSON.parse gives the input.
 */
export const quoted = (input: string, max = 64): string =>
  JSON.stringify(clip(input, max)).replace(UNQUOTABLE, jsonEscapeUnits);

/**
 * The RetryInfo delay of SERVER_NOT_READY and SERVER_STOPPING, wherever they are raised (unary
 * calls, watches, key generation): a retry may succeed in a moment (this server once ready, or
 * another replica, or this one restarted). README, Errors: "RetryInfo ... when a retry may
 * succeed"; until stop 43 of 2026-12-06 none came with one (an outside probe).
 */
export const STARTING_OR_STOPPING_RETRY_SECONDS = 1;

/**
 * SQLSTATE of certmint_refuse_stale_kek (Migration20261206140000KekIdGuard): a sealed key whose
 * key-encryption key is no longer the database's current one (kek_check.kek_id).
 */
export const KEK_ROTATED_SQLSTATE = "CMR01";

/**
 * The database's refusal of a key sealed under a KEK that a rotation replaced while this server
 * ran (src/kek-rotation): the statement stored nothing. FAILED_PRECONDITION, not UNAVAILABLE:
 * retrying on this server can never succeed (it holds the old KEK until restarted), and the
 * operator, not the caller, has to act. A call that seals no key (a CSR) still works. Found by
 * reading the driver's SQLSTATE on the error or a cause it wraps; undefined for anything else.
 */
export function kekRotatedError(err: unknown): CertmintError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (isCertmintError(current)) return undefined;
    if ((current as { code?: unknown }).code === KEK_ROTATED_SQLSTATE) {
      const message =
        "the key-encryption key was rotated while this server ran: restart it with the new CERTMINT_KEK_FILE (or CERTMINT_KEK); nothing was stored";
      return failedPrecondition("KEK_ROTATED", message, {
        preconditions: [{ type: "KEK", subject: "key-encryption key", description: message }],
        cause: err,
      });
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
