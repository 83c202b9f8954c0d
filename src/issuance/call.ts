import { CertmintError, clip, permissionDenied, quoted, unauthenticated } from "../errors";

/** The four roles a token grants (proto certmint.v1.Role; the permission table is src/auth/permissions.ts). */
export const ROLES = ["ADMIN", "ISSUER", "APPROVER", "AUDITOR"] as const;
export type Role = (typeof ROLES)[number];

/** Roles whose access is limited to the profiles listed on their token. */
export const PROFILE_SCOPED_ROLES: readonly Role[] = ["ISSUER", "APPROVER"];

/** Who makes a call: the access token that authenticated it. */
export interface Actor {
  readonly id: string;
  readonly slug: string;
  readonly role: Role;
  /** For ISSUER and APPROVER: the only profiles the actor may act on. */
  readonly profileIds: readonly string[];
  /**
   * When a client certificate authenticated the call (src/auth/authenticator.ts): its SHA-256
   * fingerprint (lower-case hex, as Certificate.fingerprintSha256). The token may renew that
   * very certificate (certificates/ownership.ts).
   */
  readonly clientCertificateSha256?: string;
  /**
   * The latest time a certificate this caller has issued may authenticate to certmint
   * (certificates/credential-lifetime.ts): its token's expiry (none for certmint's first admin
   * token), or its client certificate's own bound if earlier. Undefined: none.
   */
  readonly credentialsUntil?: Date;
  /**
   * The access tokens whose authority this caller's credential rests on
   * (certificates/credential-lifetime.ts): its own token, and for a client certificate certmint
   * issued, the tokens that certificate was vouched for by (or its requester, for one issued
   * before stop 56). Undefined for certmint's own calls.
   */
  readonly vouchers?: readonly string[];
}

/**
 * The call a use case serves, passed to it explicitly: who makes it (per-profile access,
 * ownership, four eyes), what its audit record says, and how long its caller waits. The API
 * layer makes one per gRPC call (src/api/unary.ts); start-up tasks make one with certmint
 * itself as the actor (systemCall). There is no ambient default: a use case cannot run
 * without knowing its actor.
 */
export interface Call {
  readonly actor: Actor;
  /** Full RPC name, e.g. "/certmint.v1.CertificateService/IssueCertificate". */
  readonly method: string;
  /** The call's x-request-id (src/server/call-logging.ts): a trace id, not an idempotency key. */
  readonly traceId: string;
  /** The caller's address (grpc-js getPeer()). */
  readonly peer: string;
  /**
   * When the caller stops waiting, if it set a deadline (bounds waits for another call): a time
   * of the monotonic clock (performance.now(), ms), converted once when the call arrived
   * (monotonicDeadline). Read it through remainingMs, never against Date.now().
   */
  readonly deadlineAt?: number;
  /** Aborted once nobody waits for the answer (a key queued for generation is dropped). */
  readonly signal?: AbortSignal;
  /** True once the caller cancelled or its deadline passed. */
  readonly abandoned?: () => boolean;
  /**
   * Waits for `wait` outside the calls at work (src/api/fair-admission.ts): for a wait on
   * something with its own fair queue (an RSA key), so the waiting call holds no place.
   */
  readonly whileOutside?: <T>(wait: Promise<T>) => Promise<T>;
  /**
   * Throws (RESOURCE_EXHAUSTED, UNREAD_ANSWERS) when this call's answer would be refused anyway
   * because its connection or token already leaves too many answers unread
   * (src/api/unread-answers.ts): checked before expensive work (a list page), which is then not
   * done for an answer nobody will take.
   */
  readonly checkAnswerable?: () => void;
  /** The gRPC status code an error reaches the caller with (src/api/errors.ts codeOf). */
  readonly statusCodeOf?: (err: unknown) => number;
  /**
   * The id of the audit record this call's change wrote in its own transaction, once written
   * (audit/record.ts); the API layer records the call itself when it is unset, and checks it
   * committed before recording a failure.
   */
  auditRecordId?: string;
  /**
   * The certificate this call signed and stored, once committed (certificates/outcome.ts
   * issuedOutcome; a replay of a request_id issues nothing and leaves it unset): the API layer
   * names it in the call's log line (server/call-logging.ts), the one record of an issuance
   * outside the database (README: Backups, and what a restore means).
   */
  issued?: IssuedNote;
}

/** What the log line of a call that issued a certificate says of it: never a key, never the CSR. */
export interface IssuedNote {
  readonly certificateId: string;
  /** Lower-case hex, as the API returns it (Certificate.serial_number). */
  readonly serialNumber: string;
  /** The issuing CA's slug, or "self-signed". */
  readonly ca: string;
  /** The issuing CA's id; undefined for a self-signed certificate. */
  readonly caId?: string;
  readonly notAfter: Date;
}

/**
 * An issued certificate as its call's log line names it: enough to put it on its CA's CRL
 * without the database (a serial is unique per issuing CA, RFC 5280 4.1.2.2, and a CRL lists
 * what it revokes by serial, 5.1.2.6), and to know until when it stays valid; never its key,
 * CSR or PEM. The same fields name what an ACME finalize issued (server/call-logging.ts, the call's line; acme/handlers/orders.ts, its
 * "ACME certificate issued" line) and what automatic renewal did (auto-renewal/renewer.ts, the
 * "automatic renewal" line): one shape for every line that names an issuance.
 */
export function issuedFields(issued: IssuedNote) {
  return {
    certificateId: issued.certificateId,
    serial: issued.serialNumber,
    ca: issued.ca,
    ...(issued.caId === undefined ? {} : { caId: issued.caId }),
    notAfter: issued.notAfter.toISOString(),
  };
}

/** The audit actor of what certmint does on its own (the nil UUID, slug "certmint"). */
export const SYSTEM_ACTOR: Actor = {
  id: "00000000-0000-0000-0000-000000000000",
  slug: "certmint",
  role: "ADMIN",
  profileIds: [],
};

/** A call certmint makes itself (start-up tasks), audited under `method`. */
export const systemCall = (method: string): Call => ({
  actor: SYSTEM_ACTOR,
  method,
  traceId: "",
  peer: "",
});

/**
 * A gRPC deadline as a time of the monotonic clock (performance.now(), ms); undefined for none
 * (grpc-js says Infinity). grpc-js hands the handler a wall-clock time, Date.now() at the
 * call's arrival plus its grpc-timeout (server-interceptors.ts), and ends the call itself on a
 * monotonic timer. Compared with Date.now() later (until 2026-12-04), a wall clock stepped
 * forward during the call (NTP correcting a clock that ran behind, a VM resumed) made
 * certmint refuse a call its caller still waited for (DEADLINE_EXCEEDED, an hour early for a
 * step of an hour), and one stepped back let lock waits and statement bounds outlast the
 * deadline by the step. What the caller sent is a duration (grpc-timeout, gRPC's
 * PROTOCOL-HTTP2.md), so it is kept as one: the time left when the call arrived, counted from
 * the monotonic clock's reading then. Called once per call, as it arrives
 * (server/call-logging.ts; api/unary.ts for a call that interceptor did not see).
 */
export function monotonicDeadline(
  deadline: Date | number | undefined,
  wallNow = Date.now(),
  monotonicNow = performance.now(),
): number | undefined {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (at === undefined || !Number.isFinite(at)) return undefined;
  return monotonicNow + (at - wallNow);
}

/**
 * Milliseconds left before the call's deadline, on the monotonic clock (0 or less once it
 * passed); Infinity when the caller set none. The one place a call's remaining time is
 * computed: the abandoned-call checks (api/unary.ts), lock waits (lockWaitMs) and statement
 * bounds (listReadBound) all read it.
 */
export function remainingMs(
  call: Pick<Call, "deadlineAt">,
  monotonicNow = performance.now(),
): number {
  return call.deadlineAt === undefined ? Infinity : call.deadlineAt - monotonicNow;
}

/**
 * Refuses (DEADLINE_EXCEEDED) to start a write the caller no longer waits for. Called before
 * the first write of a call, so an abandoned call leaves nothing behind.
 */
export function refuseIfAbandoned(call: Call): void {
  if (call.abandoned?.()) {
    throw new CertmintError(
      "deadline_exceeded",
      "DEADLINE_EXCEEDED",
      "the call's deadline passed (or the caller cancelled) before certmint wrote anything",
    );
  }
}

/** Whether the calling actor may act on this profile. */
export function mayActOnProfile(call: Call, profileId: string | null): boolean {
  if (!PROFILE_SCOPED_ROLES.includes(call.actor.role)) return true;
  return profileId !== null && call.actor.profileIds.includes(profileId);
}

/**
 * Refuses (PERMISSION_DENIED) when the calling issuer or approver may not act on this
 * profile. Called by the use cases as soon as they know the profile, before they write
 * anything, so a refusal leaves no trace but its audit record. Admins and auditors act on
 * every profile (the method-level check in src/auth/permissions.ts decides what they may call).
 * For a profile the caller named itself (it knows the profile exists); an object the caller
 * names by id or serial is looked up with profiles/access.ts instead, where another profile's
 * object is NOT_FOUND, as a missing one.
 */
export function requireProfileAccess(
  call: Call,
  profile: { id: string | null },
  /**
   * The profile as the caller named it (slug or id): the refusal repeats it and nothing else,
   * so a caller that named a profile by id does not learn its slug.
   */
  named: string,
) {
  if (mayActOnProfile(call, profile.id)) return;
  const { actor } = call;
  const ref = named.trim();
  throw permissionDenied(
    "PROFILE_NOT_GRANTED",
    `access token "${actor.slug}" (${actor.role.toLowerCase()}) may not act on certificate profile ${quoted(ref)}; an admin can create a token that lists it`,
    { metadata: { certificate_profile: clip(ref, 64), access_token: actor.slug } },
  );
}

/**
 * A call made for an ACME account (acme/acting.ts accountCall: the actor is the acme_account
 * id, the method "/acme/..."): a finalize is the only ACME call that records a request.
 */
export function isAcmeCall(call: Call): boolean {
  return call.method.startsWith("/acme/");
}

/**
 * Whose standing a write of this call's request must hold to its commit (FOR SHARE in the same
 * transaction or statement), so that a revocation committed first is seen and one that comes
 * later waits: the caller's access token (every token row: a bearer token, or a client
 * certificate bound to one), or an ACME caller's account (valid); certmint's own calls
 * (SYSTEM_ACTOR) have none. The store of a signed certificate (sign-then-store.ts) and the
 * record of a request that waits for approval (intent.ts) both take it.
 */
export function requesterInForce(call: Call): { callerInForce?: string; accountInForce?: string } {
  if (call.actor.id === SYSTEM_ACTOR.id) return {};
  return isAcmeCall(call) ? { accountInForce: call.actor.id } : { callerInForce: call.actor.id };
}

/**
 * What a call whose requester lost its standing before its request could be written answers
 * (nothing was written): an ACME account deactivated or revoked (RFC 8555 7.3.6, 7.1.2: the
 * finalize answers `unauthorized` and makes the order invalid, acme/handlers/orders.ts), or a
 * revoked access token.
 */
/**
 * What a call answers whose request rests on a token whose line was cut (RevokeAccessToken
 * with revoke_created_tokens) before it could be written, nothing written: the client
 * certificate it was made with, or the certificate it renews, was vouched for by a token of
 * that line (store/repositories/issuance.ts vouchersHeld; access-tokens/caller.ts).
 */
export function credentialLineCut(
  what: string,
  token?: { slug: string; lineCutAt: Date | null },
): CertmintError {
  const named = token
    ? `access token "${token.slug}", whose line was revoked${token.lineCutAt ? ` at ${token.lineCutAt.toISOString()}` : ""}`
    : "an access token whose line was revoked";
  return unauthenticated(
    "CREDENTIAL_LINE_CUT",
    `this request rests on ${named} (revoke_created_tokens: the client certificate it was made with, or the certificate it renews, was vouched for by that token); ${what}`,
  );
}

export function requesterGone(call: Call, what: string): CertmintError {
  if (isAcmeCall(call)) {
    return unauthenticated(
      "ACCOUNT_DEACTIVATED",
      `ACME account ${call.actor.id} was deactivated or revoked while this order was being finalized (RFC 8555 7.3.6, 7.1.2); ${what}`,
    );
  }
  return unauthenticated(
    "TOKEN_REVOKED",
    `access token "${call.actor.slug}" was revoked before this request could be recorded; ${what}`,
  );
}
