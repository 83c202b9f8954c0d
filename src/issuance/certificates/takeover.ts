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
import { type ApprovalChecks, signAndStore } from "./sign-and-store";
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
 * An approval's takeover (approval.ts finishClaimed) passes `approval`: the checks an approval
 * makes under the request's lock (the requester and the approver not revoked, the profile still
 * enrolling the way the request came, the CA able to sign), so a claim taken over is held to
 * what a fresh approval is. Until stop 46 of 2026-12-06 a takeover signed without them: a claim
 * left by an approver that died was signed after its requester's token was revoked, or its
 * profile switched to ACME (test/approvals/stop46-takeover-checks.test.ts). A takeover without
 * them (a requester's replay)
 * still reads the profile under the lock, FOR SHARE to the commit, so a profile deleted before
 * ends the request FAILED NOT_FOUND there and a deletion after waits for the commit: left to the
 * store's trigger (CMP01, Migration20261206153000CertificateProfileGuard) its refusal aborted the
 * lock's transaction, the call answered INTERNAL and the request stayed PENDING.
 */
export async function takeOver(
  deps: IssuanceDeps,
  call: Call,
  request: CertificateRequest,
  options: {
    holdKeyForFetch?: boolean;
    /** An approval's checks under the lock, for the plan rebuilt here (approval.ts). */
    approval?: (plan: IssuancePlan) => ApprovalChecks;
  } = {},
): Promise<IssueOutcome> {
  let plan: IssuancePlan;
  try {
    plan = await planFromStored(deps.store, request);
  } catch (err) {
    // Its profile deleted (CERTIFICATE_PROFILE_NOT_FOUND), or its CA name taken meanwhile: the
    // request fails on its merits, as an approval's plan does (approval.ts step 3). Until stop
    // 46 of 2026-12-06 the refusal went out and the request stayed PENDING: each approval of it
    // answered OK and left it PENDING, for good.
    if (!isCertmintError(err) || err.kind === "internal") throw err;
    return fail(deps, call, request, err);
  }
  const mapField =
    request.kind === "RENEW" ? renewFieldMapper : issueFieldMapper(plan.key.kind === "CSR");
  const refusal = policyRefusal(plan, mapField, "the request (checked again)");
  if (refusal) return fail(deps, call, request, refusal);
  return signAndStore(deps, call, plan, request, {
    holdKeyForFetch: options.holdKeyForFetch,
    approval: options.approval?.(plan) ?? profileStillThere(request, plan),
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
