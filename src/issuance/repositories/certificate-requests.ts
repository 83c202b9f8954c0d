import type { FieldViolation } from "../../errors";
import type {
  ExtendedKeyUsage,
  KeyAlgorithm,
  KeyUsage,
  SignatureAlgorithm,
  SubjectAltNames,
  SubjectName,
} from "../../model/pki";
import type { PageQuery } from "./paging";

export type RequestStatus = "PENDING_APPROVAL" | "PENDING" | "ISSUED" | "FAILED" | "REJECTED";

/** What a request keeps of its plan (JSON), enough to rebuild it at approval or takeover. */
export interface StoredParams {
  keySource: "CSR" | "GENERATE" | "REUSE";
  keyAlgorithm: KeyAlgorithm;
  /** SPKI DER, base64, for REUSE. */
  reusedSpki?: string;
  signatureAlgorithm: SignatureAlgorithm;
  keyUsages: KeyUsage[];
  extendedKeyUsages: ExtendedKeyUsage[];
  ttlSeconds: number;
  /** A CA request, and its path length (absent: unlimited); absent on leaf requests. */
  isCa?: boolean;
  pathLength?: number;
}

/** The failure recorded on a FAILED or REJECTED request (google.rpc.Status-shaped). */
export interface StoredError {
  code: string;
  reason: string;
  message: string;
  violations: FieldViolation[];
}

/**
 * One IssueCertificate or RenewCertificate call. Without approval it is written once, ISSUED,
 * in the statement that stores its certificate (signed just before: nothing left the process
 * until that commits), or FAILED with a refusal; with approval it is written PENDING_APPROVAL
 * and its serial reserved (PENDING) when an approver claims it, before that is signed.
 */
export interface CertificateRequest {
  /** The request's row id: certificate_request_id in the API. */
  id: string;
  profileId: string;
  /** The access token that made it; idempotency keys are unique per caller. */
  caller: string;
  /** What the certificate it yields carries as authenticatesUntil (Certificate). */
  authenticatesUntil?: Date | null;
  /** What the certificate it yields carries as vouchedBy (Certificate). */
  vouchedBy?: string[] | null;
  /** The caller's idempotency key (request_id in the API), if it gave one. */
  idempotencyKey: string | null;
  /** SHA-256 of the canonical request, to refuse a reused idempotency key with another request. */
  requestFingerprint: string;
  kind: "ISSUE" | "RENEW";
  status: RequestStatus;
  subject: SubjectName;
  sans: SubjectAltNames;
  params: StoredParams;
  csrPem: string | null;
  /**
   * A generated key, sealed, for its requester only: until keyHeldUntil for replays (a lost
   * answer), or (keyHeldUntil null) until the first fetch after approval.
   */
  sealedPrivateKey: Uint8Array | null;
  keyHeldUntil: Date | null;
  renewalOfCertificateId: string | null;
  certificateId: string | null;
  /** The serial reserved before signing (hex). */
  reservedSerial: string | null;
  /**
   * The approver (its actor id) whose approval claimed the request, while it is PENDING; a
   * takeover of the claim makes that approval's checks again (takeover.ts). Null or absent: no
   * approval claimed it, or one before stop 47 of 2026-12-06 did (nothing recorded it then).
   */
  claimedBy?: string | null;
  error: StoredError | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A request as it leaves the use cases: never a sealed key. */
export type CertificateRequestView = Omit<CertificateRequest, "sealedPrivateKey">;

export const requestView = ({ sealedPrivateKey: _, ...view }: CertificateRequest) =>
  view as CertificateRequestView;

/** What ListCertificateRequests reads: requests that did not end ISSUED, filters with AND. */
export interface RequestFilter {
  /** One status (never ISSUED); every status but ISSUED when undefined. */
  status?: Exclude<RequestStatus, "ISSUED">;
  /** Only requests to one of these profiles (an empty list: none). */
  profileIds?: readonly string[];
  /** Only requests this caller made. */
  caller?: string;
}

export interface RequestRepository {
  findById(id: string): Promise<CertificateRequest | null>;
  /**
   * Requests that did not end ISSUED, oldest first by (created_at, id), after the page's cursor:
   * each page a range of certificate_request_unissued_index.
   */
  listUnissued(filter: RequestFilter, page: PageQuery): Promise<CertificateRequest[]>;
  /** Requests of a profile waiting for approval or being signed after one (PENDING_APPROVAL, PENDING). */
  countWaiting(profileId: string): Promise<number>;
  /** The requests with these ids that exist, in no particular order. */
  findByIds(ids: readonly string[]): Promise<CertificateRequest[]>;
  /** The request a caller made with this idempotency key, read fresh. */
  findByIdempotencyKey(caller: string, idempotencyKey: string): Promise<CertificateRequest | null>;
  /**
   * PENDING_APPROVAL -> PENDING with its serial reserved, claimed by `approver` (claimedBy);
   * false when it was not waiting.
   */
  claimForSigning(
    id: string,
    reservedSerial: string,
    now: Date,
    approver: string,
  ): Promise<boolean>;
  /** PENDING_APPROVAL -> REJECTED with the approver's reason; false when it was not waiting. */
  reject(id: string, error: StoredError, now: Date): Promise<boolean>;
  /**
   * Every PENDING_APPROVAL request `caller` made -> REJECTED with `error` (its token revoked:
   * access-tokens/revoke.ts), skipping one an approval holds locked at that moment; their ids.
   */
  rejectWaitingOf(caller: string, error: StoredError, now: Date): Promise<string[]>;
  /**
   * The same for every PENDING_APPROVAL request that rests on one of `tokenIds` besides its
   * caller (its vouchedBy: a cut line's, access-tokens/revoke.ts); their ids.
   */
  rejectWaitingVouchedBy(
    tokenIds: readonly string[],
    error: StoredError,
    now: Date,
  ): Promise<string[]>;
  /**
   * A generated key held sealed on its request, for its requester: one an approval signed
   * starts its replay window at its first hand-out (keyHeldUntil = `until`); one an issuance
   * without approval holds has had its window since it was stored. Every hand-out until the
   * window ends returns it, in one statement, so a requester whose answer was lost fetches it
   * again; the sweep deletes it after. With `until` null (no replay window) the first hand-out
   * of an approval's key deletes it: exactly one caller gets it. Undefined when none is held.
   */
  handOutApprovedKey(id: string, until: Date | null, now: Date): Promise<Uint8Array | undefined>;
  /** Deletes the generated keys kept for replays whose time ran out; how many. */
  deleteExpiredHeldKeys(now: Date): Promise<number>;
}
