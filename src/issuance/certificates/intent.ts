import { CertmintError } from "../../errors";
import { newSerialNumber, serialToHex } from "../../signer";
import { changeRecord, forgetChangeRecord } from "../audit/record";
import { type Call, credentialLineCut, requesterGone, requesterInForce } from "../call";
import { newRowId } from "../common/ids";
import { referenceNotFound } from "../common/refs";
import type { IssuanceObserver } from "../observer";
import type {
  CertificateRequest,
  IssuanceRepository,
  RequestStatus,
  StoredParams,
} from "../repositories";
import { recordedVouchers } from "./credential-lifetime";
import type { EquivalentRequests } from "./idempotency";
import { storedErrorOf } from "./outcome";
import type { IssuancePlan } from "./types";

/** Who asks, and how the request is known again: its caller, idempotency key and fingerprint. */
export interface RequestIdentity {
  caller: string;
  /** What the certificate will carry as authenticatesUntil (credential-lifetime.ts). */
  authenticatesUntil: Date | null;
  /**
   * Every token the certificate will rest on (credential-lifetime.ts vouchedBy); the row records
   * those besides its caller.
   */
  vouchedBy: string[];
  /** The caller's idempotency key (request_id in the API). */
  idempotencyKey?: string;
  fingerprint: string;
  /** The same request written otherwise (the profile by id or slug): replays accept these too. */
  equivalent?: EquivalentRequests;
  kind: "ISSUE" | "RENEW";
  renewalOfCertificateId?: string;
}

export interface IntentDeps {
  store: {
    issuance: Pick<IssuanceRepository, "recordRequest" | "markFailed" | "recordWaitingRequest">;
  };
  now: () => Date;
  /**
   * Requests one caller may have waiting for an approver (CERTMINT_PENDING_APPROVALS_PER_TOKEN);
   * unset: no cap.
   */
  pendingApprovalsPerToken?: number;
  /** Told of refusals (metrics), when given. */
  observer?: Pick<IssuanceObserver, "requestRefused">;
}

/**
 * A fresh serial for a certificate about to be signed (RFC 5280 4.1.2.2: positive, at least 64
 * random bits; certmint's carry 96 behind the issuing second, signer/serial.ts), kept on its request as reservedSerial.
 */
export const reserveSerial = (): string => serialToHex(newSerialNumber());

/**
 * Records a request that waits for an approver: PENDING_APPROVAL, its serial reserved only when
 * an approver claims it (approval.ts). One autocommitted statement; the request is where this
 * call's change ends, so its audit record rides in the same statement. (A request that needs no
 * approval writes nothing before it is signed: sign-then-store.ts.) "duplicate" when a
 * concurrent call with the same (caller, idempotency key) recorded first: nothing was written,
 * and the caller replays that one.
 */
export async function recordWaitingForApproval(
  deps: IntentDeps,
  call: Call,
  plan: IssuancePlan,
  who: RequestIdentity,
): Promise<CertificateRequest | "duplicate"> {
  const request = newRequest(plan, who, "PENDING_APPROVAL", deps.now(), {});
  const audit = changeRecord(
    call,
    { type: "certificate_request", id: request.id },
    request.createdAt,
  );
  const recorded = await deps.store.issuance.recordWaitingRequest(
    request,
    audit,
    deps.pendingApprovalsPerToken,
    requesterInForce(call),
  );
  if (recorded === "profile-gone") {
    forgetChangeRecord(call);
    throw referenceNotFound("certificate profile", plan.profile.slug);
  }
  if (recorded === "caller-revoked") {
    forgetChangeRecord(call);
    throw requesterGone(call, "nothing was recorded");
  }
  if (recorded === "line-cut") {
    forgetChangeRecord(call);
    throw credentialLineCut("nothing was recorded");
  }
  if (typeof recorded === "object") {
    forgetChangeRecord(call);
    if ("renewalWaiting" in recorded) throw renewalWaiting(who, recorded.renewalWaiting);
    throw tooManyWaiting(call, recorded.waiting);
  }
  if (recorded) return request;
  forgetChangeRecord(call);
  return "duplicate";
}

/** A second renewal of one certificate while one waits for approval: decide that one first. */
function renewalWaiting(who: RequestIdentity, waitingId: string): CertmintError {
  const renewed = who.renewalOfCertificateId ?? "";
  return new CertmintError(
    "failed_precondition",
    "RENEWAL_ALREADY_WAITING",
    `certificate ${renewed} already has a renewal waiting for approval (certificate request ${waitingId}); an approver decides that one first (or its requester replays its request_id)`,
    {
      metadata: { certificate_request_id: waitingId },
      preconditions: [
        {
          type: "CERTIFICATE_STATE",
          subject: `certificates/${renewed}`,
          description: `renewal ${waitingId} waits for approval`,
        },
      ],
    },
  );
}

/** The setting that caps one caller's requests waiting for approval. */
export const PENDING_APPROVALS_PER_TOKEN_SETTING = "CERTMINT_PENDING_APPROVALS_PER_TOKEN";

/**
 * The refusal (RESOURCE_EXHAUSTED, nothing written) of a request that would wait for approval
 * when its caller already has pendingApprovalsPerToken waiting. Each waiting request is a row
 * that stays until an approver decides it, and approvers read them as a queue: without a cap
 * one issuer token of an approval profile, at its rate limit, wrote a thousand a second,
 * burying everyone else's requests in the approvers' queue and growing the table without end.
 * The count and the insert are one transaction under a lock on the caller
 * (recordWaitingRequest), so calls of one caller at work together cannot pass it together.
 */
function tooManyWaiting(call: Call, waiting: number): CertmintError {
  return new CertmintError(
    "resource_exhausted",
    "PENDING_APPROVALS_EXHAUSTED",
    `access token "${call.actor.slug}" already has ${waiting} requests waiting for approval (${PENDING_APPROVALS_PER_TOKEN_SETTING}); an approver must approve or reject some of them first`,
    { metadata: { setting: PENDING_APPROVALS_PER_TOKEN_SETTING, waiting: String(waiting) } },
  );
}

/**
 * Records a refusal on the merits as a FAILED request with its reason, and the refusal's audit
 * record in the same statement; the refusal then names the request (certificate_request_id).
 * "duplicate" as recordWaitingForApproval.
 */
export async function recordRefusal(
  deps: IntentDeps,
  call: Call,
  plan: IssuancePlan,
  who: RequestIdentity,
  refusal: CertmintError,
): Promise<"duplicate" | undefined> {
  const request = newRequest(plan, who, "FAILED", deps.now(), { error: refusal });
  const recorded = await record(deps, call, request, refusal);
  if (recorded === "duplicate") return recorded;
  refusal.metadata.certificate_request_id = request.id;
  deps.observer?.requestRefused(refusalReasons(refusal));
  return undefined;
}

/** The distinct reasons of a refusal: its violations' reasons, else its own. */
function refusalReasons(refusal: CertmintError): string[] {
  const reasons = new Set(refusal.violations.map((v) => v.reason ?? refusal.reason));
  return reasons.size > 0 ? [...reasons] : [refusal.reason];
}

/**
 * Marks a PENDING request FAILED with the error that stopped it, and records the refusal in the
 * audit trail in the same statement (autocommitted). False when it was no longer PENDING.
 */
export function markFailed(
  deps: IntentDeps,
  call: Call,
  id: string,
  error: CertmintError,
): Promise<boolean> {
  const now = deps.now();
  return deps.store.issuance.markFailed(
    { id, error: storedErrorOf(error), updatedAt: now },
    changeRecord(call, { type: "certificate_request", id }, now, error),
  );
}

/** What the request keeps of its plan: enough for approval (or a takeover) to sign it later. */
export function storedParams(plan: IssuancePlan): StoredParams {
  return {
    keySource: plan.key.kind,
    keyAlgorithm: plan.keyAlgorithm,
    reusedSpki:
      plan.key.kind === "REUSE"
        ? plan.key.publicKey.export({ type: "spki", format: "der" }).toString("base64")
        : undefined,
    signatureAlgorithm: plan.signatureAlgorithm,
    keyUsages: plan.keyUsages,
    extendedKeyUsages: plan.extendedKeyUsages,
    ttlSeconds: plan.ttlSeconds,
    ...(plan.isCa ? { isCa: true, pathLength: plan.pathLength } : {}),
  };
}

/** A new request row of this plan and identity (nothing is written here). */
export function newRequest(
  plan: IssuancePlan,
  who: RequestIdentity,
  status: RequestStatus,
  now: Date,
  extra: { serial?: string | null; error?: CertmintError },
): CertificateRequest {
  return {
    id: newRowId(),
    profileId: plan.profile.id,
    caller: who.caller,
    authenticatesUntil: who.authenticatesUntil,
    vouchedBy: recordedVouchers(who.vouchedBy, who.caller),
    idempotencyKey: who.idempotencyKey ?? null,
    requestFingerprint: who.fingerprint,
    kind: who.kind,
    status,
    subject: plan.subject,
    sans: plan.sans,
    params: storedParams(plan),
    csrPem: plan.key.kind === "CSR" ? plan.key.csrPem : null,
    sealedPrivateKey: null,
    keyHeldUntil: null,
    renewalOfCertificateId: who.renewalOfCertificateId ?? null,
    certificateId: null,
    reservedSerial: extra.serial ?? null,
    claimedBy: null,
    error: extra.error ? storedErrorOf(extra.error) : null,
    createdAt: now,
    updatedAt: now,
  };
}

/** Inserts the request with its audit record (one statement); "duplicate" as recordWaitingForApproval. */
async function record(
  deps: IntentDeps,
  call: Call,
  request: CertificateRequest,
  failure?: CertmintError,
): Promise<CertificateRequest | "duplicate"> {
  const audit = changeRecord(
    call,
    { type: "certificate_request", id: request.id },
    request.createdAt,
    failure,
  );
  if (await deps.store.issuance.recordRequest(request, audit)) return request;
  // Nothing was inserted, so neither was the record: this call ends as a replay, which the
  // API layer records.
  forgetChangeRecord(call);
  return "duplicate";
}
