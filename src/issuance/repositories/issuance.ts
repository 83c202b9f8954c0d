import type { AuditRecord } from "./audit";
import type { CertificateAuthority } from "./certificate-authorities";
import type { CertificatePolicy } from "./certificate-policies";
import type { CertificateProfile } from "./certificate-profiles";
import type { CertificateRequest, RequestStatus, StoredError } from "./certificate-requests";
import type { Certificate } from "./certificates";
import type { RowKey } from "./paging";

/** What IssueCertificate reads in one round trip: the prior request, the profile, its policy and CA. */
export interface IssuanceRows {
  /** The request of the same (caller, idempotency key), when one was asked for and exists. */
  priorRequestId: string | null;
  /** null: no such profile. */
  profile: CertificateProfile | null;
  /** The profile's policy; null without a profile. */
  policy: Pick<CertificatePolicy, "id" | "slug" | "version" | "spec"> | null;
  /** The profile's CA; null without a profile, and for self-signed profiles. */
  ca: CertificateAuthority | null;
  /**
   * Set when the rows were not read by this call but held from an earlier read (a lone call,
   * findProfileAndPrior's `mayUseHeld`): the id and tag of each, which storeIssuance checks
   * again (SignedIssuance.heldRows). The prior request was not looked for: a repeated
   * request_id shows as "duplicate" when storing.
   */
  held?: HeldRows;
}

/** The rows an issuance was decided on, as held: each row's id and tag (its xmin and version). */
export interface HeldRows {
  profile: RowTag;
  policy: RowTag;
  /** null for a self-signed profile. */
  ca: RowTag | null;
}

export interface RowTag {
  id: string;
  tag: string;
}

/** A PENDING request's failure: its error, recorded with the refusal's audit record. */
export interface RequestFailure {
  id: string;
  error: StoredError;
  updatedAt: Date;
}

/** How the stored certificate leaves its request: ISSUED, with a generated key kept or not. */
export interface IssuedRequest {
  id: string;
  updatedAt: Date;
  /** A generated key kept sealed for its requester (replays, or a fetch after approval). */
  sealedPrivateKey: Uint8Array | null;
  /** Until when it is kept for replays; null: until fetched after approval. */
  keyHeldUntil: Date | null;
}

/**
 * A certificate signed before anything about its request was written (sign-then-store.ts), and
 * what stores it: the request, already ISSUED (naming the certificate and, as reservedSerial,
 * its serial), and the audit record. A renewal (certificate.renewedFromId set) also links the
 * renewed certificate to it.
 */
export interface SignedIssuance {
  request: CertificateRequest;
  certificate: Certificate;
  audit: AuditRecord;
  /** Decided on held rows (IssuanceRows.held): stored only while each is still that row. */
  heldRows?: HeldRows;
  /**
   * The access token id of the call's caller (every call a token authenticates, by bearer
   * token or a client certificate bound to it: sign-then-store.ts): stored only while that
   * token is not revoked, its row held FOR SHARE by the storing statement to its commit (in a
   * batched store, each distinct caller's row once per statement); else "caller-revoked".
   * Unset for certmint's own calls and ACME accounts, which have no access_token row.
   */
  callerInForce?: string;
  /**
   * The acme_account id of an ACME finalize's caller (sign-then-store.ts): stored only while
   * that account's status is still 'valid', its row held FOR SHARE by the storing statement to
   * its commit (in a batched store, each distinct account's row once per statement), against
   * the UPDATE of its deactivation (RFC 8555 7.3.6); else "caller-revoked". Never set with
   * callerInForce.
   */
  accountInForce?: string;
  /**
   * The versions of the profile and policy the issuance was decided on: stored only while both
   * rows still have them, each held FOR SHARE by the storing statement to its commit (an edit's
   * FOR UPDATE / FOR NO KEY UPDATE waits for it, or it sees the edit); else "rules-changed".
   */
  rules?: DecidedRules;
}

/** The profile and policy rows an issuance was decided on, by id and version. */
export interface DecidedRules {
  profileId: string;
  profileVersion: number;
  policyId: string;
  policyVersion: number;
}

/**
 * How storing a signed issuance ended. Anything but "stored" wrote nothing at all:
 *  - "duplicate": a request of the same (caller, idempotency key) exists (a concurrent call's,
 *    committed first);
 *  - "renewed-meanwhile": the renewed certificate was renewed or revoked since it was read;
 *  - "serial-taken": another certificate of the CA has the serial (the unique index);
 *  - "rows-changed": the issuance was decided on held rows (SignedIssuance.heldRows) and one of
 *    them changed or went since: it is decided again on rows read now.
 */
export type IssuanceStored =
  | "stored"
  | "duplicate"
  | "renewed-meanwhile"
  | "serial-taken"
  | "rows-changed"
  /** The certificate's key was revoked for key compromise (blocked_key): nothing was written. */
  | "key-blocked"
  /** Its CA was revoked or disabled while it was signed (certmint_ca_signs): nothing written. */
  | "ca-inactive"
  /**
   * SignedIssuance.callerInForce was revoked, or SignedIssuance.accountInForce deactivated (or
   * revoked), before the store: nothing written.
   */
  | "caller-revoked"
  /**
   * A token it rests on besides its caller (Certificate.vouchedBy) had its line cut
   * (RevokeAccessToken with revoke_created_tokens) before the store: nothing written.
   */
  | "line-cut"
  /**
   * Its profile or policy was edited since the issuance was decided (SignedIssuance.rules), or
   * deleted: nothing written; the call is decided again on the rules as they are now.
   */
  | "rules-changed";

/**
 * The names a CA certifies, as committed when they were read under its names lock: the CAs
 * created below it, and the CA certificates it signed through profiles (with their keys). What
 * the one-name-per-CA rule (RFC 5280 4.1.2.6, ca/new-ca.ts) is decided on.
 */
export interface CaNamesUnder {
  cas: Array<Pick<CertificateAuthority, "slug" | "subject">>;
  certificates: Array<Pick<Certificate, "id" | "subject" | "spkiSha256">>;
}

/** A request whose lock this call holds: what it may write, in the lock's transaction. */
export interface LockedRequest {
  /** The request's status once the lock was held (null: no such request). */
  readonly status: RequestStatus | null;
  /**
   * Stores the certificate, marks the request ISSUED and writes the audit record, in one
   * statement; false when the request was no longer PENDING (nothing is stored).
   */
  storeIssued(
    certificate: Certificate,
    request: IssuedRequest,
    audit: AuditRecord,
  ): Promise<boolean>;
  /**
   * Whether a key (its SubjectPublicKeyInfo's SHA-256) was revoked for key compromise; asked
   * before storeIssued, whose insert would otherwise fail the lock's transaction. Holds the
   * key's shared lock to the commit, so the answer stands until then (blocked-keys.ts).
   */
  keyBlocked(spkiSha256: string): Promise<boolean>;
  /**
   * The issuing CA as it is now (status and revocation), or null if it is gone; holds the CA's
   * shared signing lock to the commit (certmint_ca_signs), so a disable or revocation waits for
   * this transaction and the answer stands until then. Asked before storeIssued, whose insert
   * the store's trigger would otherwise refuse by failing the lock's transaction, leaving the
   * request PENDING (an outside probe, stop 40 of 2026-12-05).
   */
  issuerNow(caId: string): Promise<Pick<CertificateAuthority, "status" | "revokedAt"> | null>;
  /**
   * The names the CA `issuerId` certifies, read after taking its names lock (the one a
   * CreateIntermediate's store takes, held to the commit): a CA or CA certificate of that issuer
   * committed before is seen, and one racing this transaction waits for it. Asked before
   * storeIssued by an approval of a CA certificate.
   */
  caNames(issuerId: string): Promise<CaNamesUnder>;
  /** Links a renewed certificate to its successor unless it was renewed or revoked meanwhile. */
  linkRenewal(renewedId: string, successorId: string): Promise<boolean>;
  /** The renewal state of a certificate as committed now (read in the lock's transaction). */
  renewedNow(
    certificateId: string,
  ): Promise<{ revokedAt: Date | null; renewedById: string | null } | null>;
  /** markFailed, in the lock's transaction. */
  markFailed(failure: RequestFailure, audit: AuditRecord): Promise<boolean>;
  /**
   * The request's caller as it stands now: its access token (slug, revocation), else its ACME
   * account (status), else null (a caller that names neither). Holds that row FOR SHARE to the
   * commit, so a revocation or deactivation (an UPDATE of the row) committed before is seen,
   * and one after waits for this transaction: an approval's check of its requester stands
   * until its certificate is committed (an outside probe, stop 45 of 2026-12-06: a certificate
   * was stored two seconds after its requester's token was revoked).
   */
  requesterNow(caller: string): Promise<LockedRequester | null>;
  /**
   * The request's profile as it is now (null: deleted), its row held FOR SHARE to the commit,
   * so an UpdateCertificateProfile (enrollment_method) committed before is seen and one after
   * waits for this transaction.
   */
  profileNow(
    profileId: string,
  ): Promise<Pick<
    CertificateProfile,
    "slug" | "enrollmentMethod" | "caId" | "allowSelfApproval" | "version" | "policyId"
  > | null>;
  /** A policy's version as it is now, its row held FOR SHARE to the commit; null: gone. */
  policyVersionNow(policyId: string): Promise<number | null>;
  /**
   * A CA as it is now (null: gone), read on the lock's connection without taking its signing
   * lock (issuerNow takes that, after the names lock: sign-and-store.ts keeps that order).
   * Everything read while the request's lock is held goes through LockedRequest: on the
   * embedded database the pool has one connection, the lock's, and a read on another waited
   * for it until the pool gave up (UNAVAILABLE after 60 s; until stop 47 of 2026-12-06 an
   * approval's checks read the profile and the CA that way).
   */
  caNow(
    caId: string,
  ): Promise<Pick<
    CertificateAuthority,
    "id" | "slug" | "status" | "revokedAt" | "parentId" | "certificatePem"
  > | null>;
  /**
   * The nearest revoked CA at or above `caId` (its slug, time and reason), or null: one
   * recursive statement on the lock's connection (ca/load.ts noteRevokedAbove's walk).
   */
  revokedAbove(
    caId: string,
  ): Promise<{ slug: string; revokedAt: Date; revocationReason: string | null } | null>;
  /**
   * A claimed request (PENDING, serial reserved) put back to PENDING_APPROVAL, its serial no
   * longer reserved and `updatedAt` restored, as if no approval had claimed it: an approval
   * refused under the lock for what the approver cannot decide (ApprovalChecks in
   * sign-and-store.ts). False when it was no longer PENDING (nothing written).
   */
  backToApproval(id: string, updatedAt: Date): Promise<boolean>;
}

/** LockedRequest.requesterNow: an access token, or an ACME account (src/acme/acting.ts). */
export type LockedRequester =
  | { kind: "token"; slug: string; revokedAt: Date | null }
  | { kind: "account"; status: string };

/**
 * The issuance hot path (src/store/repositories/issuance.ts): each method one round trip, as a
 * named prepared statement, so a fresh issuance without approval costs two (the read, then
 * storeIssuance) and one durable commit.
 */
export interface IssuanceRepository {
  /**
   * The profile (by id or slug), its policy and CA, and the prior request of (caller, key).
   * With `mayUseHeld`, a lone call (no other issuance reading or storing in this process) gets
   * the rows this process read last instead, without a round trip, marked `held`; the caller
   * then stores only through storeIssuance with heldRows, and decides a refusal again on rows
   * read afresh.
   */
  findProfileAndPrior(
    profile: RowKey,
    prior?: { caller: string; idempotencyKey: string },
    mayUseHeld?: boolean,
  ): Promise<IssuanceRows>;
  /**
   * Records a request (autocommitted), with `audit` in the same statement when given. False
   * when a request with the same (caller, idempotency key) exists: nothing was written.
   */
  recordRequest(request: CertificateRequest, audit?: AuditRecord): Promise<boolean>;
  /**
   * Records a request that waits for an approver (PENDING_APPROVAL) unless its caller already
   * has `cap` of them waiting (no cap: undefined): then nothing is written and the answer is
   * how many wait. Exact under concurrency, on every replica: calls of one caller count one
   * after another. Holds the profile's row against its deletion until the commit;
   * "profile-gone" when it was deleted meanwhile (nothing written). A renewal is refused while
   * another renewal of the same certificate waits ({ renewalWaiting: its id }). With a
   * `requester`, its token (not revoked) or ACME account (valid) is held FOR SHARE to the commit;
   * "caller-revoked" when it no longer is (nothing written). True and false as recordRequest.
   */
  recordWaitingRequest(
    request: CertificateRequest,
    audit: AuditRecord,
    cap: number | undefined,
    requester?: { callerInForce?: string; accountInForce?: string },
  ): Promise<WaitingRecorded>;
  /**
   * Stores a certificate signed before its request was recorded, in one autocommitted statement
   * (one durable commit): the request ISSUED, the certificate, the audit record and, for a
   * renewal, the renewed certificate's link to it; all of them or (see IssuanceStored) none.
   */
  storeIssuance(issuance: SignedIssuance): Promise<IssuanceStored>;
  /**
   * storeIssuance for a new CA certificate of the CA `caNamesOf` (no renewal), in a transaction
   * of its own that first takes the issuer's names lock (LockedRequest.caNames) and hands
   * `check` the names the issuer certifies now; `check` throws to refuse, and then nothing is
   * written. Two CA certificates of one name (or one racing a CreateIntermediate), on one
   * replica or two, are so decided one after the other: the second sees the first.
   */
  storeCaIssuance(
    issuance: SignedIssuance,
    caNamesOf: string,
    check: (now: { names: CaNamesUnder }) => void,
  ): Promise<IssuanceStored>;
  /** Marks a PENDING request FAILED with its audit record (autocommitted); false if not PENDING. */
  markFailed(failure: RequestFailure, audit: AuditRecord): Promise<boolean>;
  /**
   * Runs `fn` in a transaction holding the request's lock (one call at a time finishes a
   * request, on every replica), waiting at most `waitMs` for it: commits what `fn` wrote,
   * rolls back if it throws. "busy" when another call still held it after `waitMs`.
   */
  withRequestLock<T>(
    requestId: string,
    waitMs: number,
    fn: (locked: LockedRequest) => Promise<T>,
  ): Promise<T | "busy">;
  /**
   * Since start-up: lone issuances that ran on held rows (findProfileAndPrior's mayUseHeld),
   * and of those, the ones whose rows had changed when storing. Absent: never held.
   */
  readonly heldRowCounts?: { readonly used: number; readonly changed: number };
}

/** What recordWaitingRequest did (see there). */
export type WaitingRecorded =
  | boolean
  | { waiting: number }
  | { renewalWaiting: string }
  | "profile-gone"
  | "caller-revoked"
  | "line-cut";
