import { type CertmintError, isCertmintError } from "../../errors";
import type { Call } from "../call";
import { referenceNotFound } from "../common/refs";
import type { IssuanceDeps } from "../deps";
import type { CertificateRequest } from "../repositories";
import { policyRefusal } from "./check";
import { requestNamed } from "./find";
import { markFailed } from "./intent";
import { outcomeOf } from "./outcome";
import { issueFieldMapper } from "./plan";
import { renewFieldMapper } from "./renewal-plan";
import { type ApprovalChecks, refuseUnderLock, signAndStore } from "./sign-and-store";
import { planFromStored } from "./stored-plan";
import type { IssuancePlan, IssueOutcome } from "./types";

/**
 * Finishes a PENDING request whose first worker is gone (statusOnceFree found its lock free):
 * its plan rebuilt from the row and checked against the policy as it is now (as approval
 * checks it: a request that waited, for a crash or for an approver who claimed it, is signed
 * only if it still may be), then signed under its reserved serial by signAndStore, which takes
 * the lock again, so of several replays racing for it one signs and the others answer what it
 * stored.
 *
 * A claim an approval made (`approval` given: approval.ts, by finishClaimed for another
 * approver, or by finishClaimOnReplay for the requester's replay of a request whose claim
 * records its approver) is held to what a fresh approval is: under the request's lock the
 * checks an approval makes (approval.ts checksUnderLock: the approver and the requester not
 * revoked, the profile still enrolling the way the request came, the CA able to sign), and
 * in the approval's order: those first, then the plan's and the policy's refusals, which end
 * the request FAILED (refuseUnderLock), as a fresh approval checks the requester before it
 * plans. Until stop 46 of 2026-12-06 a takeover signed without them (an approval's takeover:
 * test/approvals/stop46-takeover-checks.test.ts), until stop 47 a requester's replay still did,
 * and checked the policy first (test/approvals/stop47-replay-takeover.test.ts). A takeover
 * without them (a PENDING row no approval is known to have claimed: an older version's claim
 * or recorded intent) still reads the profile under the lock, FOR SHARE to the commit, so a
 * profile deleted before ends the request FAILED NOT_FOUND there and a deletion after waits for
 * the commit: left to the store's trigger (CMP01, Migration20261206153000CertificateProfileGuard)
 * its refusal aborted the lock's transaction, the call answered INTERNAL and the request stayed
 * PENDING.
 */
export async function takeOver(
  deps: IssuanceDeps,
  call: Call,
  request: CertificateRequest,
  options: {
    holdKeyForFetch?: boolean;
    /**
     * An approval's checks under the lock, for the plan rebuilt here (approval.ts); undefined
     * when the plan could not be rebuilt (its refusal is then made after the checks).
     */
    approval?: (plan: IssuancePlan | undefined) => ApprovalChecks;
  } = {},
): Promise<IssueOutcome> {
  let plan: IssuancePlan | undefined;
  let refusal: CertmintError | undefined;
  try {
    plan = await planFromStored(deps.store, request);
  } catch (err) {
    // Its profile deleted (CERTIFICATE_PROFILE_NOT_FOUND), or its CA name taken meanwhile: the
    // request fails on its merits, as an approval's plan does (approval.ts step 3). Until stop
    // 46 of 2026-12-06 the refusal went out and the request stayed PENDING: each approval of it
    // answered OK and left it PENDING, for good.
    if (!isCertmintError(err) || err.kind === "internal") throw err;
    refusal = err;
  }
  if (plan) {
    const mapField =
      request.kind === "RENEW" ? renewFieldMapper : issueFieldMapper(plan.key.kind === "CSR");
    refusal = policyRefusal(plan, mapField, "the request (checked again)");
  }
  if (refusal) {
    // An approval's claim: its checks first, as a fresh approval's (refuseUnderLock).
    if (options.approval) {
      return refuseUnderLock(deps, call, request, options.approval(plan), refusal);
    }
    return fail(deps, call, request, refusal);
  }
  return signAndStore(deps, call, plan!, request, {
    holdKeyForFetch: options.holdKeyForFetch,
    approval: options.approval?.(plan) ?? profileStillThere(request, plan!),
  });
}

/** The request ended FAILED with `refusal`, thrown; or, settled by another call, its outcome. */
async function fail(
  deps: IssuanceDeps,
  call: Call,
  request: CertificateRequest,
  refusal: CertmintError,
): Promise<IssueOutcome> {
  if (await markFailed(deps, call, request.id, refusal)) {
    refusal.metadata.certificate_request_id = request.id;
    throw refusal;
  }
  // Another replay settled it meanwhile: answer what it stored.
  return outcomeOf(deps, call, await requestNamed(deps, request.id));
}

/**
 * A takeover's check under the lock when no approval makes it: the profile still there, its row
 * held FOR SHARE to the commit (LockedRequest.profileNow), so the certificate's insert never
 * meets the store's CMP01 (whose refusal would end the lock's transaction before the request
 * could be marked FAILED in it). A refusal ends the request FAILED (nothing waits again).
 */
function profileStillThere(request: CertificateRequest, plan: IssuancePlan): ApprovalChecks {
  return {
    waitingSince: request.updatedAt,
    recheck: async (locked) => {
      if (!(await locked.profileNow(request.profileId))) {
        throw referenceNotFound("certificate profile", plan.profile.slug);
      }
    },
    waitsAgain: () => undefined,
  };
}
