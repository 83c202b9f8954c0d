import { CertmintError, failedPrecondition, isCertmintError } from "../../errors";
import { spkiSha256Of } from "../../signer";
import { changeRecord, forgetChangeRecord } from "../audit/record";
import { noteRevokedAboveWith, requireActive } from "../ca/load";
import { refuseTakenCaName } from "../ca/new-ca";
import { type Call, refuseIfAbandoned } from "../call";
import type { IssuanceDeps } from "../deps";
import type { Certificate, CertificateRequest, LockedRequest } from "../repositories";
import { keyBlocked } from "./blocked-keys";
import { checkIssuerState } from "./check";
import { certificateNamed, requestNamed } from "./find";
import { lockWaitMs, requestInProgress } from "./idempotency";
import { type CertifiedKey, certifiedKeyOf } from "./keys";
import { issuedOutcome, outcomeOf, storedErrorOf } from "./outcome";
import { assertRenewable } from "./renewal-plan";
import { type SignedCertificate, type SignOptions, sign } from "./sign";
import type { IssuancePlan, IssueOutcome } from "./types";

/** The request was completed by another call while this one held the lock: nothing is stored. */
class RequestSettled extends Error {
  override readonly name = "RequestSettled";
}

/**
 * What an approval checks again under the request's lock, and how a refusal there ends. Its
 * checks before the claim (approval.ts: the requester not revoked, the profile still enrolling
 * the way the request came, the CA able to sign) read rows nobody locked, so a revocation or an
 * edit committed between them and the commit of the certificate went unseen: an outside probe
 * (stop 45 of 2026-12-06) had a certificate stored two seconds after RevokeAccessToken of its
 * requester answered OK, and one after its profile switched to ACME. `recheck` reads them again
 * under locks held to the commit (LockedRequest.requesterNow, profileNow), so a change either
 * committed before and is seen, or waits for this transaction.
 */
export interface ApprovalChecks {
  /** The request's updatedAt before the claim, restored when it waits for approval again. */
  waitingSince: Date;
  /** Run first under the lock; throws a refusal (a CertmintError) to sign nothing. */
  recheck(locked: LockedRequest): Promise<void>;
  /**
   * For a refusal under the lock (recheck's, or the issuer's state: CA disabled meanwhile), the
   * answer when the request is to wait for approval again, as the same refusal before the claim
   * leaves it (the claim undone, nothing else written); undefined: the request ends FAILED.
   */
  waitsAgain(refusal: CertmintError): CertmintError | undefined;
}

/** Refusals after which signAndStore put the request back to PENDING_APPROVAL (waitsAgain). */
const refusedWaiting = new WeakSet<CertmintError>();

/** Whether signAndStore's refusal left the request waiting for approval (ApprovalChecks). */
export function leftWaiting(err: unknown): boolean {
  return err instanceof CertmintError && refusedWaiting.has(err);
}

/**
 * The last step of an approval and of a takeover: signs a PENDING request (serial reserved and
 * committed: an approver claimed it, or a version of certmint that recorded the intent before
 * signing wrote it) and stores its certificate, holding the request's lock from before signing
 * until the certificate is committed, so one call at a time finishes it, on every replica. A
 * call that finds the lock held (a replay while the holder signs, on this replica or another)
 * waits for it, bounded by its deadline, and answers what the holder stored, never an error
 * because another call won. A refusal on the merits (CA revoked meanwhile, validity) marks
 * the request FAILED with its reason, in the lock's transaction; an approval's refusal for what
 * an admin can change (its requester revoked, its profile enrolling otherwise, its CA disabled
 * meanwhile) puts it back to PENDING_APPROVAL instead (ApprovalChecks). A crash between signing and
 * commit leaves a PENDING request whose certificate nobody received; replaying its request_id
 * signs it again under the same serial (takeover.ts). Issue and renew without approval write
 * nothing before signing and need no lock (sign-then-store.ts).
 */
export async function signAndStore(
  deps: IssuanceDeps,
  call: Call,
  plan: IssuancePlan,
  request: CertificateRequest,
  options: { holdKeyForFetch?: boolean; approval?: ApprovalChecks } = {},
): Promise<IssueOutcome> {
  const renewalOf = request.renewalOfCertificateId
    ? await certificateNamed(deps.store, request.renewalOfCertificateId)
    : undefined;
  // Before the lock: generating a key (RSA: up to seconds) needs no database. An approval or
  // a takeover generates in the requester's share of the RSA pool, never refused for a full
  // queue: nobody sent it in a burst.
  const key = await certifiedKeyOf(deps, plan, { caller: request.caller, bounded: false });
  const result = await settleLocked(deps, call, request, options.approval, (locked) =>
    signAndStoreLocked(deps, call, plan, request, key, locked, {
      renewalOf,
      holdKeyForFetch: options.holdKeyForFetch,
    }),
  );
  if ("settled" in result) return result.settled;
  return issuedOutcome(deps, call, plan, request.id, result.signed, renewalOf !== undefined);
}

/**
 * A takeover of an approval's claim whose request is refused on its merits before it could be
 * signed (`refusal`: its plan, e.g. its profile gone, or the policy as it is now): the
 * approval's checks still come first, under the request's lock, as a fresh approval makes them
 * before it plans (approval.ts step 1), so the refusal that leaves the request waiting (its
 * requester revoked, its profile enrolling otherwise, its CA disabled) wins over the one that
 * ends it FAILED whichever moment the takeover comes. Until stop 47 of 2026-12-06 a takeover
 * checked the policy first: a claimed request whose requester was revoked and that broke the
 * policy ended FAILED POLICY_VIOLATION, where a fresh approval left it to be rejected with its
 * requester (test/approvals/stop47-replay-takeover.test.ts). Throws the refusal (the request
 * FAILED with it, or waiting again: leftWaiting), or answers what another call stored.
 */
export async function refuseUnderLock(
  deps: IssuanceDeps,
  call: Call,
  request: CertificateRequest,
  approval: ApprovalChecks,
  refusal: CertmintError,
): Promise<IssueOutcome> {
  const result = await settleLocked(deps, call, request, approval, async () => {
    throw refusal;
  });
  if ("settled" in result) return result.settled;
  throw new CertmintError("internal", "REFUSAL_SIGNED", "a refused request was signed");
}

/**
 * The request's lock around `work` (the signing and storing), with an approval's checks first
 * and the ending of a refusal in the lock's transaction: back to PENDING_APPROVAL when the
 * approval says so (waitsAgain), else FAILED with its reason. Throws the refusal (or "busy" as
 * REQUEST_IN_PROGRESS); `settled` when another call completed the request first.
 */
async function settleLocked(
  deps: IssuanceDeps,
  call: Call,
  request: CertificateRequest,
  approval: ApprovalChecks | undefined,
  work: (locked: LockedRequest) => Promise<SignedCertificate>,
): Promise<{ signed: SignedCertificate } | { settled: IssueOutcome }> {
  let result: SignedCertificate | CertmintError | "busy";
  try {
    result = await deps.store.issuance.withRequestLock(
      request.id,
      lockWaitMs(call),
      async (locked) => {
        if (locked.status !== "PENDING") throw new RequestSettled();
        try {
          // First, before the locks signAndStoreLocked takes (names, key, CA signing), so a
          // refusal here has written nothing.
          await approval?.recheck(locked);
          return await work(locked);
        } catch (err) {
          if (!isCertmintError(err) || err.kind === "internal") throw err;
          // What the approver could not decide and an admin can change: the request waits
          // again, as the same refusal before the claim leaves it; one rule whichever side of
          // the claim the change landed (an outside probe, stop 45 of 2026-12-06: a CA disabled
          // during an approval ended the request FAILED, a moment earlier it stayed waiting).
          const again = approval?.waitsAgain(err);
          if (again) {
            if (!(await locked.backToApproval(request.id, approval!.waitingSince))) {
              throw new RequestSettled();
            }
            refusedWaiting.add(again);
            return again;
          }
          const now = deps.now();
          const failed = await locked.markFailed(
            { id: request.id, error: storedErrorOf(err), updatedAt: now },
            changeRecord(call, { type: "certificate_request", id: request.id }, now, err),
          );
          if (!failed) throw new RequestSettled();
          err.metadata.certificate_request_id = request.id;
          return err;
        }
      },
    );
  } catch (err) {
    // Another call completed it first (the lock's transaction rolled back whatever this call
    // wrote, its audit record too): answer what that call stored, as a replay would.
    if (!(err instanceof RequestSettled)) throw err;
    forgetChangeRecord(call);
    return { settled: await outcomeOf(deps, call, await requestNamed(deps, request.id)) };
  }
  if (result === "busy") throw requestInProgress(request.id);
  if (result instanceof CertmintError) throw result;
  return { signed: result };
}

/**
 * Under the request's lock: the issuer's state checked again (it may have changed since the
 * request was recorded), sign, then store (a renewal first links the renewed certificate).
 */
async function signAndStoreLocked(
  deps: IssuanceDeps,
  call: Call,
  plan: IssuancePlan,
  request: CertificateRequest,
  key: CertifiedKey,
  locked: LockedRequest,
  options: SignOptions,
): Promise<SignedCertificate> {
  const validity = checkIssuerState(deps, plan);
  // A caller that stopped waiting (deadline, cancel) before its certificate is signed gets
  // nothing signed: the request is recorded FAILED, and a retry needs a new request_id. An
  // approval signs for a requester who is not on this call, so the approver's deadline does
  // not apply.
  if (!options.holdKeyForFetch) refuseIfAbandoned(call);
  // A new CA certificate: one name per CA under one issuer (RFC 5280 4.1.2.6), decided again
  // under the issuer's names lock, held to the commit (stored-plan.ts read outside it). First,
  // before the locks below: a CreateIntermediate takes this lock before its CA's signing lock.
  if (plan.ca && plan.isCa && !options.renewalOf) {
    refuseTakenCaName(
      await locked.caNames(plan.ca.id),
      plan.ca.id,
      plan.subject,
      spkiSha256Of(key.publicKey),
    );
  }
  // Asked here, not left to the store's trigger: its refusal would end the lock's transaction,
  // and the request could not be marked FAILED in it. The key's lock is held to the commit.
  if (await locked.keyBlocked(spkiSha256Of(key.publicKey))) throw keyBlocked(plan);
  // The same for the issuer: plan.ca was read before the lock, and a disable or revocation
  // committed since would make the store's trigger refuse the insert (the request then stayed
  // PENDING, its approver told CA_NOT_ACTIVE: an outside probe, stop 40 of 2026-12-05). Read
  // under the CA's signing lock, held to the commit, and refused with the request marked FAILED
  // (an approval's request waits again while its CA is only disabled: ApprovalChecks).
  if (plan.ca) {
    const now = await locked.issuerNow(plan.ca.id);
    if (!now) throw caGone(plan.ca.slug);
    // Disabled by a revocation above it (ca/revoke.ts disables the tree): requireActive names
    // that revocation (CA_REVOKED, the request FAILED) only once noteRevokedAbove has looked;
    // else the approval waited again, told to enable a CA that can never sign again.
    await noteRevokedAboveWith(locked.revokedAbove, { ...plan.ca, ...now });
    requireActive({ ...plan.ca, ...now });
  }
  // A renewal of a certificate revoked or renewed meanwhile (while it waited for approval, say)
  // is refused before anything is signed, with the reason RenewCertificate gives: until stop 51
  // of 2026-12-07 an approval signed a successor, the link refused it, and the requester was
  // told CERTIFICATE_ALREADY_RENEWED of a certificate that was revoked (an outside probe,
  // RENEWAL F1). The link (store) still decides a race after this read.
  if (options.renewalOf) await refuseUnrenewable(locked, options.renewalOf);
  const signed = await sign(deps, plan, request, key, validity, options);
  await store(call, locked, signed, options.renewalOf);
  return signed;
}

/** renewal-plan.ts assertRenewable on the renewed certificate as committed now. */
async function refuseUnrenewable(locked: LockedRequest, renewalOf: Certificate): Promise<void> {
  const now = await locked.renewedNow(renewalOf.id);
  if (now) assertRenewable({ ...renewalOf, ...now });
}

/**
 * The storing step, in the lock's transaction: a renewal links the renewed certificate to its
 * successor (refused if it was renewed or revoked meanwhile; the transaction rolls the link
 * back if nothing is stored), then the certificate, the request marked ISSUED and the audit
 * record go in one statement.
 */
async function store(
  call: Call,
  locked: LockedRequest,
  signed: SignedCertificate,
  renewalOf: Certificate | undefined,
): Promise<void> {
  if (renewalOf && !(await locked.linkRenewal(renewalOf.id, signed.certificate.id))) {
    await refuseUnrenewable(locked, renewalOf);
    throw failedPrecondition(
      "CERTIFICATE_ALREADY_RENEWED",
      "the certificate was renewed or revoked meanwhile",
    );
  }
  const audit = changeRecord(
    call,
    { type: "certificate_request", id: signed.request.id },
    signed.request.updatedAt,
  );
  if (!(await locked.storeIssued(signed.certificate, signed.request, audit))) {
    throw new RequestSettled();
  }
}

/** The issuing CA was deleted after the request was planned (its row is gone). */
function caGone(slug: string): CertmintError {
  return failedPrecondition(
    "CA_NOT_ACTIVE",
    `certificate authority "${slug}" was deleted while the request waited; it signs nothing`,
    {
      preconditions: [
        {
          type: "CA_STATUS",
          subject: `certificate_authorities/${slug}`,
          description: "deleted",
        },
      ],
    },
  );
}
