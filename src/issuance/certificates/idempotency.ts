import { alreadyExists, CertmintError, invalidField, quoted } from "../../errors";
import { digestHex } from "../../signer/digest";
import { type Call, remainingMs } from "../call";
import type { CertificateRequest, IssuanceRepository } from "../repositories";

/** The longest request_id (idempotency rows are kept, beyond Google CA Service's 60 minutes). */
export const REQUEST_ID_MAX_LENGTH = 128;

/**
 * How long a call waits for a request another call is finishing (the request's lock) when the
 * caller set no deadline; with a deadline, until shortly before it.
 */
export const IN_PROGRESS_WAIT_MS = 60_000;
/** Time left to answer once the wait for the lock ends at the caller's deadline. */
const ANSWER_MARGIN_MS = 250;

/** The request_ids of server-driven renewals (auto-renewal/renewer.ts autoRenewalRequestId). */
export const AUTO_RENEWAL_REQUEST_ID_PREFIX = "certmint-auto-renewal:";

/** A request_id in the server-driven renewer's namespace. */
export const isAutoRenewalRequestId = (requestId: string | undefined): boolean =>
  requestId?.startsWith(AUTO_RENEWAL_REQUEST_ID_PREFIX) === true;

/**
 * A caller's request_id in the renewer's namespace that names no request it made before: the
 * renewer's are the only new ones. A caller may replay one the renewer recorded in its name
 * (README "Server-driven renewal"), never record one first: until stop 60 of 2026-12-08 an owner
 * could plant `certmint-auto-renewal:<certificate>:<attempt>` ahead of the renewer, which then
 * failed its renewal REQUEST_ID_REUSED (an outside probe, F3).
 */
export function reservedRequestId(requestId: string): CertmintError {
  return invalidField(
    "REQUEST_ID_RESERVED",
    `request_id ${quoted(requestId, 128)} starts with ${AUTO_RENEWAL_REQUEST_ID_PREFIX}, which is reserved for server-driven renewals: such a request_id only replays a renewal the server made; choose another request_id`,
    "request_id",
    `must not start with ${AUTO_RENEWAL_REQUEST_ID_PREFIX} unless it replays a server-driven renewal`,
  );
}

/** SHA-256 of the canonical request, so a reused request_id with another request is refused. */
export function requestFingerprint(parts: unknown): string {
  return digestHex("sha256", JSON.stringify(parts));
}

/**
 * Other fingerprints of the same request: the profile named by id where it was named by slug,
 * or the other way round (every reference accepts either). Computed only when the fingerprint
 * differs (two digests, off the hot path), and only for a prior request on that same profile.
 */
export interface EquivalentRequests {
  profileId: string;
  fingerprints: () => string[];
}

/** The same request_id with a different request: ALREADY_EXISTS, never a second certificate. */
export function assertSameRequest(
  prior: Pick<CertificateRequest, "id" | "requestFingerprint" | "profileId">,
  fingerprint: string,
  requestId: string,
  equivalent?: EquivalentRequests,
): void {
  if (prior.requestFingerprint === fingerprint) return;
  // Until stop 40 of 2026-12-05 a replay naming the profile by id after the first call named it
  // by slug was "a different request" (an outside probe): a client layer that resolves slugs
  // could never get its certificate and key back.
  if (
    equivalent &&
    prior.profileId === equivalent.profileId &&
    equivalent.fingerprints().includes(prior.requestFingerprint)
  ) {
    return;
  }
  throw alreadyExists(
    "REQUEST_ID_REUSED",
    `request_id ${quoted(requestId, 128)} was already used for a different request (certificate request ${prior.id}); use a new request_id`,
    { metadata: { certificate_request_id: prior.id } },
  );
}

/**
 * How long this call may wait for a request's lock: until shortly before its deadline, on the
 * monotonic clock (remainingMs), so a wall clock stepped back does not let the wait (and the
 * pooled connection it holds) outlast the caller. `monotonicNow`: performance.now(), for tests.
 */
export function lockWaitMs(call: Pick<Call, "deadlineAt">, monotonicNow?: number): number {
  const left = remainingMs(call, monotonicNow);
  if (left === Infinity) return IN_PROGRESS_WAIT_MS;
  return Math.max(1, left - ANSWER_MARGIN_MS);
}

/** The request is still being finished by another call after this call's wait. */
export function requestInProgress(id: string): CertmintError {
  return new CertmintError(
    "aborted",
    "REQUEST_IN_PROGRESS",
    `certificate request ${id} is still being issued; retry with the same request_id`,
    { metadata: { certificate_request_id: id } },
  );
}

/**
 * Waits until no other call is finishing the request (its lock, the store's withRequestLock, held by
 * a call on this or another replica while it signs), bounded by this call's deadline, and
 * returns the status it left: PENDING means the call that reserved its serial is gone (its
 * replica died), and the request can be taken over.
 */
export async function statusOnceFree(
  deps: { store: { issuance: Pick<IssuanceRepository, "withRequestLock"> } },
  call: Call,
  id: string,
): Promise<string | null> {
  const status = await deps.store.issuance.withRequestLock(
    id,
    lockWaitMs(call),
    async (locked) => locked.status,
  );
  if (status === "busy") throw requestInProgress(id);
  return status;
}
