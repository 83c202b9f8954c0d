import type { StoredError } from "./certificate-requests";

/** A due certificate the renewer has claimed (a lease, so no other replica takes it meanwhile). */
export interface ClaimedCertificate {
  id: string;
  owner: string;
  profileId: string;
  /** Failed attempts so far: the attempt number, which names the renewal's idempotency key. */
  failures: number;
  /** The profile's default TTL, if it has one (the successor gets it). */
  profileTtlSeconds: number | null;
}

/** The renewer's columns of a certificate (only the renewer writes them). */
export interface StoredRenewal {
  /** FAILED or AWAITING_APPROVAL; null while nothing went wrong. */
  state: string | null;
  failures: number;
  error: StoredError | null;
  retryAt: Date | null;
  /** Set while a renewer holds the certificate. */
  leaseUntil: Date | null;
}

/**
 * Server-driven renewal's bookkeeping on certificates (issue 13). A claim is a lease: row
 * locks keep two replicas from claiming the same certificate at the same moment, and the
 * lease keeps every other replica off it until it runs out, so a replica that dies (SIGKILL)
 * leaves its certificates to be taken over, by the same code path, once their leases pass.
 */
export interface RenewalRepository {
  /**
   * Claims at most `limit` due certificates of auto_renew profiles (active, renewal time come,
   * not held by a lease, backoff over) for `leaseSeconds`, fairly between profiles: round
   * robin, each profile's earliest renewal time first, so every profile with a due certificate
   * gets one of `limit` (when there are no more such profiles than `limit`) whatever the
   * backlog of another. The turn starts after `afterProfileId` (the profile of the last
   * certificate the previous claim returned), so across claims the remainder goes round too,
   * and profiles beyond `limit` get theirs in the next claims. Returned in round-robin order.
   */
  claimDue(
    now: Date,
    limit: number,
    leaseSeconds: number,
    afterProfileId?: string | null,
  ): Promise<ClaimedCertificate[]>;
  /** Renewed (or settled by another path): the lease and any failure are cleared. */
  markSettled(id: string): Promise<void>;
  /** The renewal waits for an approver: not claimed again until its request is settled. */
  markAwaitingApproval(id: string, requestId: string): Promise<void>;
  /**
   * A deleted profile's certificates that server-driven renewal would have renewed (valid, not
   * renewed, auto_renew_at set): out of the renewer's index, state FAILED with `error`, and a
   * RENEWAL_FAILED event each, in the deletion's transaction. Returns how many.
   */
  endForDeletedProfile(profileId: string, error: StoredError, now: Date): Promise<number>;
  /**
   * A failed attempt: state FAILED with its error, the failure counted, the next attempt after
   * `retryAt`, and a RENEWAL_FAILED event, together. False when the certificate was renewed or
   * revoked meanwhile (nothing recorded).
   */
  markFailedAttempt(
    cert: { id: string; failures: number },
    error: StoredError,
    retryAt: Date,
  ): Promise<boolean>;
  /**
   * The profile's certificates whose last renewal was refused for one of `reasons` (an admin's
   * decision the profile's update just undid: ENROLLMENT_METHOD_MISMATCH when it enrolls by API
   * once more, CA_REVOKED when it names another issuer) are due again at `now`, not after the
   * longest wait (auto-renewal/renewer.ts LONGEST_WAIT_REASONS). Returns how many.
   */
  retryRefusals(profileId: string, reasons: readonly string[], now: Date): Promise<number>;
  /**
   * EXPIRING events, once per certificate, for active certificates past their renewal time
   * that nothing renews (no auto_renew, or its renewal failed or waits for approval); at most
   * `limit`. Returns how many were written.
   */
  noteExpiring(now: Date, limit: number): Promise<number>;
  /**
   * Certificates of auto_renew profiles that expired unrenewed leave the renewer's index; those
   * nothing told yet (no attempt failed: the server was down through their renewal time and
   * their end) are marked FAILED with `error` and get a RENEWAL_FAILED event, once each; at
   * most `limit` a call. Returns how many were told.
   */
  noteExpiredUnrenewed(now: Date, limit: number, error: StoredError): Promise<number>;
  /** The renewal columns of these certificates, by id. */
  renewalsOf(ids: readonly string[]): Promise<Map<string, StoredRenewal>>;
}
