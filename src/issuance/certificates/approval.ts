import {
  CertmintError,
  failedPrecondition,
  isCertmintError,
  permissionDenied,
  unauthenticated,
} from "../../errors";
import { changeTransaction } from "../access-tokens/caller";
import { updatedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import { type CallerStanding, standingOf } from "../auto-renewal/standing";
import { noteRevokedAboveWith, requireActive } from "../ca/load";
import { type Call, SYSTEM_ACTOR } from "../call";
import { referenceNotFound } from "../common/refs";
import type { IssuanceDeps } from "../deps";
import { findRequestFor, hiddenRequest } from "../profiles/access";
import { requireCa } from "../profiles/load";
import {
  type CertificateProfile,
  type CertificateRequest,
  type CertificateRequestView,
  type LockedRequest,
  type LockedRequester,
  requestView,
} from "../repositories";
import { policyRefusal } from "./check";
import { CLAIM_TAKEOVER_AFTER_MS } from "./claims";
import { requestNamed } from "./find";
import { statusOnceFree } from "./idempotency";
import { markFailed, reserveSerial } from "./intent";
import { outcomeOf, storedErrorOf } from "./outcome";
import { issueFieldMapper, refuseOtherEnrollment } from "./plan";
import { mayReadRequest } from "./request-list";
import { type ApprovalChecks, leftWaiting, signAndStore } from "./sign-and-store";
import { rulesChanged, rulesOf } from "./sign-then-store";
import { planFromStored } from "./stored-plan";
import { takeOver } from "./takeover";
import type { IssuancePlan, IssueOutcome } from "./types";

/**
 * ApproveCertificateRequest, the steps of issue.ts for a request that waited: the token that
 * made the request never approves it (an admin token neither: four eyes), unless its profile
 * sets allow_self_approval; approval is no way around the policy.
 *  1. the request, on a profile the caller may act on (else NOT_FOUND, as a missing one), not
 *     the caller's own, whose requester is not revoked (a deactivated ACME account neither),
 *     made the way its profile enrolls now, and whose CA can sign now (refuseWhileUnsignable:
 *     each refusal leaves it PENDING_APPROVAL, unchanged);
 *  2. claim it (one approver wins) and reserve its serial;
 *  3. plan from the stored request, checked against the policy as it is now; a refusal marks
 *     it FAILED (the approval itself succeeded);
 *  4. sign and store, under the request's lock, after the checks of step 1 made again there
 *     (checksUnderLock): a revocation of the requester, or a switch of the profile to another
 *     enrollment method, committed since step 1 is seen, and one after waits for the commit;
 *     such a refusal, or the CA disabled meanwhile, undoes the claim: the request waits
 *     for approval again, as step 1 would have left it, and the approver is told the same.
 *     A generated key waits sealed for the requester's GetRequestStatus.
 */
export async function approve(
  deps: IssuanceDeps,
  call: Call,
  id: string,
): Promise<CertificateRequestView> {
  // 1. The request (another profile's is NOT_FOUND, as a missing one: profiles/access.ts).
  const waiting = await findRequestFor(deps.store, call, id, deps);
  // The state first: a request that waits for no approval is FAILED_PRECONDITION for everyone,
  // its requester included (self-approval's answer pointed at a setting that would not help).
  // claimForSigning checks it again, atomically.
  if (waiting.status === "PENDING") {
    await refuseSelfApproval(deps, call, waiting);
    return finishClaimed(deps, call, waiting);
  }
  if (waiting.status !== "PENDING_APPROVAL") {
    if (await approvedBySameCaller(deps, call, waiting)) return requestView(waiting);
    throw notPendingApproval(waiting);
  }
  await refuseSelfApproval(deps, call, waiting);
  await refuseRevokedRequester(deps, waiting).catch(async (err: unknown) => {
    throw await rejectedWithRequester(deps, call, waiting, err);
  });
  await refuseWhileUnsignable(deps, waiting);

  // 2. Claim it, with its serial.
  // The claim names its approver (claimedBy), so whoever takes it over makes this approval's
  // checks again (takeover.ts).
  const claimed = await deps.store.requests.claimForSigning(
    waiting.id,
    reserveSerial(),
    deps.now(),
    call.actor.id,
  );
  if (!claimed) {
    throw notPendingApproval(waiting);
  }
  const request = await requestNamed(deps, waiting.id);

  try {
    return await planSignAndStore(deps, call, request, waiting);
  } catch (err) {
    // The call ends with the request possibly still claimed (an outage while it signed): the
    // approver's retry to this process may take it over at once (finishClaimed).
    noteAbandonedClaim(request);
    throw err;
  }
}

/** Steps 3 and 4 of approve, on the request it claimed. */
async function planSignAndStore(
  deps: IssuanceDeps,
  call: Call,
  request: CertificateRequest,
  waiting: CertificateRequest,
): Promise<CertificateRequestView> {
  // 3. Plan and check.
  let plan: Awaited<ReturnType<typeof planFromStored>>;
  try {
    plan = await planFromStored(deps.store, request);
    const mapField = issueFieldMapper(plan.key.kind === "CSR");
    const refusal = policyRefusal(plan, mapField, "at approval, the request");
    if (refusal) throw refusal;
  } catch (err) {
    if (!isCertmintError(err) || err.kind === "internal") throw err;
    // The approval happened; the request failed on its merits: record why, answer FAILED.
    await markFailed(deps, call, request.id, err);
    return requestView(await requestNamed(deps, request.id));
  }

  // 4. Sign and store.
  try {
    await signAndStore(deps, call, plan, request, {
      holdKeyForFetch: true,
      approval: checksUnderLock(call.actor.id, waiting, plan),
    });
  } catch (err) {
    // The request waits for approval again (the claim undone): refused, as before the claim.
    if (leftWaiting(err)) throw await rejectedWithRequester(deps, call, request, err);
    // A refusal on the merits was recorded FAILED; the approval call itself succeeded.
    if (!isCertmintError(err) || err.kind === "internal") throw err;
  }
  return requestView(await requestNamed(deps, request.id));
}

/**
 * Step 1's checks of the requester and the enrollment method, made again under the request's
 * lock on rows locked to the commit (LockedRequest.requesterNow, profileNow: FOR SHARE, which a
 * RevokeAccessToken's, an ACME deactivation's and an UpdateCertificateProfile's UPDATE wait
 * for). Until stop 45 of 2026-12-06 only step 1 looked, on rows nobody locked: an approval that
 * passed it and then waited (on the request's row, on a busy database) stored its certificate
 * after the requester's token was revoked, or the profile switched to ACME, and both calls
 * were answered OK (an outside probe). Each refusal, and a CA disabled (or back to waiting for
 * its certificate) meanwhile, leaves the request PENDING_APPROVAL as step 1 would, so its
 * outcome does not depend on which side of the claim the change landed; a profile deleted or a
 * CA revoked or deleted meanwhile still ends it FAILED (final: nothing an approver could undo).
 *
 * `approver`: the approval's actor, this call's, or for a takeover of a claim by its
 * requester's replay the approver the claim names (claimedBy); step 1's self-approval check and
 * CA check are made here too (the CA's unlocked, as step 1's: its signing lock is taken later,
 * after the names lock, sign-and-store.ts), so a takeover, which has no step 1, makes every
 * check of one, in its order. `plan` is undefined when the takeover could not rebuild it (its
 * refusal comes after these checks: sign-and-store.ts refuseUnderLock). It is given no store:
 * everything it reads goes through the LockedRequest, on the lock's own connection (the
 * embedded database has no other; LockedRequest.caNow).
 */
function checksUnderLock(
  approver: string,
  waiting: CertificateRequest,
  plan: IssuancePlan | undefined,
): ApprovalChecks {
  const refused = new WeakSet<CertmintError>();
  const refuse = (err: CertmintError | undefined) => {
    if (!err) return;
    refused.add(err);
    throw err;
  };
  return {
    waitingSince: waiting.updatedAt,
    recheck: async (locked) => {
      // The approver's own token first, read the same way: once RevokeAccessToken of it has
      // answered OK, it signs nothing, whatever a process's credential cache still says and
      // however long the call waited. Until stop 45 of 2026-12-06 an approval in flight signed
      // seconds after its approver's revocation (an outside probe: a leaked admin token's
      // approval of a certificate an admin binding accepts).
      // Every read here goes through `locked`, on the connection that holds the request's lock
      // (the embedded database has no other: LockedRequest.caNow), in this order: the tokens,
      // then the profile (a profile's deletion locks its tokens first, then the profile).
      let selfApprover: string | undefined;
      if (approver !== SYSTEM_ACTOR.id) {
        const token = await locked.requesterNow(approver);
        if (token?.kind === "token" && token.revokedAt) {
          refuse(
            unauthenticated(
              "TOKEN_REVOKED",
              `access token "${token.slug}" was revoked at ${token.revokedAt.toISOString()}, before this approval could be made; nothing was signed, and the request still waits for approval`,
            ),
          );
        }
        if (approver === waiting.caller) {
          selfApprover = token?.kind === "token" ? token.slug : approver;
        }
      }
      const requester = await locked.requesterNow(waiting.caller);
      const profile = await locked.profileNow(waiting.profileId);
      // Its requester approving its own request, on a profile that no longer allows it.
      if (selfApprover !== undefined) {
        refuse(selfApprovalRefusalOf(selfApprover, waiting, profile ?? undefined));
      }
      refuse(requesterRefusal(waiting, lockedStanding(requester)));
      // Gone meanwhile (a deletion waits while the request is claimed: PENDING counts as
      // waiting, profiles/delete.ts): FAILED, as planFromStored ends it.
      if (!profile) {
        throw referenceNotFound("certificate profile", plan?.profile.slug ?? waiting.profileId);
      }
      // As refuseWhileUnsignable: a profile that enrolls by API approves an ACME order's too.
      if (profile.enrollmentMethod !== "API") {
        refuse(enrollmentRefusal(waiting, profile, requester?.kind === "account"));
      }
      // The profile and policy the approval checked the request against, still as they were:
      // an edit since (it waits for this transaction from here on) may refuse what they
      // allowed, so the request waits for approval again, to be approved on the rules as they
      // are now. Until stop 50 of 2026-12-06 an approval checked before the lock and stored
      // after an edit that tightened them had answered (an outside probe).
      const decided = plan && rulesOf(plan);
      if (decided) {
        const policyVersion = await locked.policyVersionNow(decided.policyId);
        if (
          profile.version !== decided.profileVersion ||
          profile.policyId !== decided.policyId ||
          policyVersion !== decided.policyVersion
        ) {
          refuse(rulesChanged(plan!));
        }
      }
      // As refuseWhileUnsignable, before the plan's refusals (a takeover's: refuseUnderLock).
      const caId = plan ? plan.ca?.id : (profile.caId ?? undefined);
      if (caId) refuse(await caWaitsNow(locked, waiting, caId, profile.slug));
    },
    waitsAgain: (err) => {
      if (refused.has(err)) return err;
      if (err.reason !== "CA_DISABLED" && err.reason !== "CA_PENDING_CERTIFICATE") return;
      if (!plan?.ca) return;
      return caWaitRefusal(err, waiting, plan.ca.slug, plan.profile.slug);
    },
  };
}

/**
 * A requester's replay of its request_id (replay.ts) that finds it claimed by an approval whose
 * call is gone (PENDING, its lock free, the claim naming its approver: claimedBy) finishes the
 * approval as another approver's takeover does (finishClaimed): under the request's lock the
 * checks that approval makes, for that approver, first, then the plan and the policy as they
 * are now (takeover.ts). Until stop 47 of 2026-12-06 the replay checked only the policy and that
 * the profile was still there: a claim was signed after its approver's token was revoked, its
 * profile switched to ACME enrollment or its CA disabled (which ended it FAILED, where a fresh
 * approval leaves it waiting) (test/approvals/stop47-replay-takeover.test.ts). A refusal that
 * leaves the request waiting undoes the claim (PENDING_APPROVAL, no serial reserved), and the
 * replay answers what a replay of a waiting request answers, its first call's answer: the
 * refusal is for an approver to act on, and an approver's revoked token is no reason to tell
 * the requester UNAUTHENTICATED. Its requester revoked meanwhile (the revocation committed after
 * this call authenticated) rejects it, as a fresh approval does, and answers that refusal; a
 * refusal on the merits ends it FAILED and is the answer, as a replay's of a FAILED request.
 */
export async function finishClaimOnReplay(
  deps: IssuanceDeps,
  call: Call,
  request: CertificateRequest & { claimedBy: string },
): Promise<IssueOutcome> {
  try {
    return await takeOver(deps, call, request, {
      approval: (plan) => checksUnderLock(request.claimedBy, request, plan),
    });
  } catch (err) {
    if (!leftWaiting(err)) throw err;
    const answer = await rejectedWithRequester(deps, call, request, err);
    if (answer !== err) throw answer;
    // The claim undone is this call's change: its record names the request and the change, as
    // an approval's refusal is recorded after its lock's transaction (the API layer would
    // record an OK replay without either).
    await deps.store.audit.insert(
      changeRecord(
        call,
        { type: "certificate_request", id: request.id },
        deps.now(),
        undefined,
        updatedFields({ status: "PENDING" }, { status: "PENDING_APPROVAL" }),
      ),
    );
    return outcomeOf(deps, call, await requestNamed(deps, request.id));
  }
}

/** standingOf (auto-renewal/standing.ts), of the requester as read under the lock. */
function lockedStanding(requester: LockedRequester | null): CallerStanding {
  if (requester?.kind === "token" && requester.revokedAt) {
    return { state: "TOKEN_REVOKED", slug: requester.slug };
  }
  if (requester?.kind === "account" && requester.status !== "valid") {
    return { state: "ACCOUNT_DEACTIVATED", status: requester.status };
  }
  return { state: "ACTIVE" };
}

export { CLAIM_TAKEOVER_AFTER_MS };

/**
 * Claims whose approval call in this process ended with an error while the request may still
 * be claimed (a database outage while it was planned, signed or stored: the call answered
 * UNAVAILABLE), by request id, with the claim's time. Such a claim has no call under way here,
 * so an approval of it on this process takes it over at once instead of after
 * CLAIM_TAKEOVER_AFTER_MS: until stop 60 of 2026-12-08 the approver's retry, as the outage's
 * RetryInfo asked, was refused "an approval of it is under way" for two minutes (an outside
 * probe). Another process cannot know, and waits the two minutes. Bounded: the oldest go first.
 */
const abandonedClaims = new Map<string, number>();
const ABANDONED_CLAIMS_KEPT = 10_000;

function noteAbandonedClaim(request: Pick<CertificateRequest, "id" | "updatedAt">): void {
  abandonedClaims.delete(request.id);
  if (abandonedClaims.size >= ABANDONED_CLAIMS_KEPT) {
    const oldest = abandonedClaims.keys().next();
    if (!oldest.done) abandonedClaims.delete(oldest.value);
  }
  abandonedClaims.set(request.id, request.updatedAt.getTime());
}

/** Whether this claim is one this process's approval call left (noteAbandonedClaim). */
const abandonedHere = (request: Pick<CertificateRequest, "id" | "updatedAt">): boolean =>
  abandonedClaims.get(request.id) === request.updatedAt.getTime();

/**
 * Approve of a PENDING request: an approver claimed it (its serial is reserved), and that call
 * may have ended before the certificate was stored (its process killed, or stopped past its
 * grace period). Found by an outside probe (2026-12-05): such a request stayed PENDING for good,
 * since Approve and Reject answered REQUEST_NOT_PENDING_APPROVAL and only the requester's replay
 * of its request_id finished it. Now an approval of a claim older than CLAIM_TAKEOVER_AFTER_MS
 * does what the replay does: if a call still signs it (it holds the request's lock), this waits
 * for it, bounded by the deadline; if nobody holds it, this call finishes the approval
 * (takeover.ts: checked against the policy as it is now, then under the request's lock the
 * checks of a fresh approval, checksUnderLock, whose refusals leave it PENDING_APPROVAL again;
 * signed under the reserved serial, a generated key held for the requester to fetch, as an
 * approval holds it). A younger claim, or
 * one finished meanwhile, is REQUEST_NOT_PENDING_APPROVAL, as for any later approval: one
 * approval wins (approvers racing on a busy machine all saw the claim, and all succeeded).
 */
async function finishClaimed(
  deps: IssuanceDeps,
  call: Call,
  request: CertificateRequest,
): Promise<CertificateRequestView> {
  const age = deps.now().getTime() - request.updatedAt.getTime();
  if (age < CLAIM_TAKEOVER_AFTER_MS && !abandonedHere(request)) {
    throw notPendingApproval(
      request,
      `: an approval of it is under way (claimed at ${request.updatedAt.toISOString()}); if it does not finish, approve it again after ${new Date(request.updatedAt.getTime() + CLAIM_TAKEOVER_AFTER_MS).toISOString()}`,
      Math.ceil((CLAIM_TAKEOVER_AFTER_MS - age) / 1000),
    );
  }
  if ((await statusOnceFree(deps, call, request.id)) !== "PENDING") {
    throw notPendingApproval(await requestNamed(deps, request.id));
  }
  try {
    // Under the lock, the checks a fresh approval makes there (checksUnderLock): until stop 46
    // of 2026-12-06 a takeover signed without them, so a claim left by an approver that died
    // was signed after its requester's token was revoked or its profile switched to ACME; now
    // it is refused as a fresh approval is, the request waiting again.
    await takeOver(deps, call, request, {
      holdKeyForFetch: true,
      approval: (plan) => checksUnderLock(call.actor.id, request, plan),
    });
  } catch (err) {
    // The request waits for approval again (the claim undone): refused, as a fresh approval.
    if (leftWaiting(err)) throw await rejectedWithRequester(deps, call, request, err);
    // A refusal on the merits was recorded FAILED; the approval call itself succeeded.
    if (!isCertmintError(err) || err.kind === "internal") throw err;
  }
  return requestView(await requestNamed(deps, request.id));
}

/**
 * RejectCertificateRequest: a PENDING_APPROVAL request REJECTED with the approver's reason. Its
 * requester may withdraw it too (an issuer included: src/auth/permissions.ts), REJECTED as
 * "withdrawn by its requester"; a withdrawn request no longer counts against the requester's
 * CERTMINT_PENDING_APPROVALS_PER_TOKEN. An issuer names only its own requests: another's is
 * NOT_FOUND, as a missing id (request-list.ts mayReadRequest). Until stop 44 of 2026-12-06 an
 * issuer could not withdraw a wrong request and had to wait for an approver (an outside probe).
 */
export async function reject(
  deps: IssuanceDeps,
  call: Call,
  id: string,
  reason: string,
): Promise<CertificateRequestView> {
  const request = await findRequestFor(deps.store, call, id, deps);
  if (!mayReadRequest(call.actor, request)) throw await hiddenRequest(call, request, id, deps);
  const why = reason.trim();
  const withdrawn = request.caller === call.actor.id;
  // One reason for both (REQUEST_REJECTED, what clients already check); the message says who.
  const by = withdrawn ? "withdrawn by its requester" : "rejected by an approver";
  const error = storedErrorOf(failedPrecondition("REQUEST_REJECTED", why ? `${by}: ${why}` : by));
  const now = deps.now();
  // The caller's token held in force to the commit (caller.ts): a revoked approver rejects nothing.
  await changeTransaction(deps, { call }, async (tx) => {
    if (!(await tx.requests.reject(request.id, error, now))) throw notPendingApproval(request);
    await tx.audit.insert(changeRecord(call, { type: "certificate_request", id: request.id }, now));
  });
  return requestView(await requestNamed(deps, request.id));
}

/**
 * Whether this caller's own approval issued the request: a retry of an approval whose answer was
 * lost (UNAVAILABLE after the commit, a dropped connection) then answers as the approval did,
 * not FAILED_PRECONDITION, so an approver's retry loop does not take its success for a failure
 * (an outside probe, 2026-12-05). Read from the audit trail, where the approval's record (this
 * token, this method and request, status OK) commits with the certificate.
 */
async function approvedBySameCaller(
  deps: IssuanceDeps,
  call: Call,
  request: CertificateRequest,
): Promise<boolean> {
  if (request.status !== "ISSUED") return false;
  // Its claim named this approver, and whoever finished it (the requester's replay, takeover.ts)
  // finished this approval: until stop 60 of 2026-12-08 the approver's retry was refused "is
  // ISSUED" then, where a retry of an approval it finished itself answers OK (an outside probe).
  if (request.claimedBy === call.actor.id) return true;
  const records = await deps.store.audit.listNewestFirst(
    {
      actorId: call.actor.id,
      method: call.method,
      resourceType: "certificate_request",
      resourceId: request.id,
      failuresOnly: false,
    },
    { limit: 10 },
  );
  return records.some((r) => r.statusCode === 0);
}

/** PERMISSION_DENIED when the caller made the request and its profile does not allow that. */
async function refuseSelfApproval(deps: IssuanceDeps, call: Call, request: CertificateRequest) {
  const { actor } = call;
  if (actor.id !== request.caller) return;
  const refusal = await selfApprovalRefusal(deps, actor.slug, request);
  if (refusal) throw refusal;
}

/**
 * refuseSelfApproval's refusal of an approval by the request's own requester (`slug`), unless
 * its profile allows that (undefined); checksUnderLock's too.
 */
async function selfApprovalRefusal(
  deps: IssuanceDeps,
  slug: string,
  request: CertificateRequest,
): Promise<CertmintError | undefined> {
  const profile = await deps.store.profiles.find({ id: request.profileId });
  return selfApprovalRefusalOf(slug, request, profile ?? undefined);
}

/** selfApprovalRefusal on a profile read already (checksUnderLock: LockedRequest.profileNow). */
function selfApprovalRefusalOf(
  slug: string,
  request: CertificateRequest,
  profile: Pick<CertificateProfile, "slug" | "allowSelfApproval"> | undefined,
): CertmintError | undefined {
  if (profile?.allowSelfApproval) return;
  return permissionDenied(
    "SELF_APPROVAL_NOT_ALLOWED",
    `access token "${slug}" made certificate request ${request.id} and may not approve it; another approver must${profile ? ` (or set allow_self_approval on profile "${profile.slug}")` : ""}`,
    { metadata: { certificate_request_id: request.id, access_token: slug } },
  );
}

/**
 * FAILED_PRECONDITION when the token that made a waiting request has been revoked since
 * (REQUESTER_REVOKED), or the ACME account whose order made it is deactivated or revoked
 * (REQUESTER_DEACTIVATED): a certificate, and a generated key, for a holder that may no
 * longer have them. Nothing is signed; the approval then rejects the request
 * (rejectedWithRequester). A requester whose token merely
 * expired is approved as before (tokens are rotated). Only a PENDING_APPROVAL request is
 * checked: anything else is REQUEST_NOT_PENDING_APPROVAL, as before.
 */
async function refuseRevokedRequester(deps: IssuanceDeps, request: CertificateRequest) {
  if (request.status !== "PENDING_APPROVAL") return;
  const refusal = requesterRefusal(request, await standingOf(deps.store, request.caller));
  if (refusal) throw refusal;
}

/**
 * A request whose requester was found revoked (or deactivated) by an approval is REJECTED then
 * and there, audited under the approver, as RevokeAccessToken rejects the waiting requests it
 * can lock (access-tokens/revoke.ts): one an approval held at that moment was skipped, and until
 * stop 46 of 2026-12-06 it stayed PENDING_APPROVAL for good, in every approver's queue and
 * blocking its profile's deletion (an outside probe: 4 of 160). The approver is still answered
 * the refusal (REQUESTER_REVOKED / REQUESTER_DEACTIVATED), its message saying the request was
 * rejected. Any other error, or a request no longer waiting, is returned as it is.
 */
async function rejectedWithRequester(
  deps: IssuanceDeps,
  call: Call,
  request: CertificateRequest,
  err: unknown,
): Promise<unknown> {
  if (
    !isCertmintError(err) ||
    (err.reason !== "REQUESTER_REVOKED" && err.reason !== "REQUESTER_DEACTIVATED")
  ) {
    return err;
  }
  const slug = err.metadata.access_token;
  const revoked = err.reason === "REQUESTER_REVOKED";
  // An ACME account deactivated by its holder (or with a token line), or revoked by an admin.
  const ended = err.metadata.acme_account_status ?? "deactivated";
  const why = revoked
    ? `rejected with its requester: access token "${slug ?? request.caller}" was revoked`
    : `rejected with its requester: the ACME account that made it was ${ended}`;
  const requester = revoked
    ? `access token "${slug ?? request.caller}", which has been revoked since`
    : `an ACME account ${ended} since`;
  const refusal = new CertmintError(
    err.kind,
    err.reason,
    `certificate request ${request.id} was made by ${requester}; it cannot be approved and is now REJECTED; have a token that may hold the certificate request it again`,
    { preconditions: err.preconditions, metadata: err.metadata, violations: err.violations },
  );
  const now = deps.now();
  const rejected = await changeTransaction(deps, { call }, async (tx) => {
    const done = await tx.requests.reject(
      request.id,
      storedErrorOf(failedPrecondition("REQUEST_REJECTED", why)),
      now,
    );
    if (done) {
      // The call's one record: its refusal, with the change it made (the API layer writes no
      // second one once this committed).
      await tx.audit.insert(
        changeRecord(
          call,
          { type: "certificate_request", id: request.id },
          now,
          refusal,
          updatedFields({ status: "PENDING_APPROVAL" }, { status: "REJECTED" }),
        ),
      );
    }
    return done;
  });
  return rejected ? refusal : err;
}

/** refuseRevokedRequester's refusal for a standing (undefined: none); checksUnderLock's too. */
function requesterRefusal(
  request: CertificateRequest,
  standing: CallerStanding,
): CertmintError | undefined {
  if (standing.state === "ACTIVE") return;
  const subject = `certificate_requests/${request.id}`;
  if (standing.state === "TOKEN_REVOKED") {
    return failedPrecondition(
      "REQUESTER_REVOKED",
      `certificate request ${request.id} was made by access token "${standing.slug}", which has been revoked since; it cannot be approved: reject it (RejectCertificateRequest), and have a token that may hold the certificate request it again`,
      {
        preconditions: [
          {
            type: "REQUESTER_STATUS",
            subject,
            description: `the requesting access token "${standing.slug}" is revoked`,
          },
        ],
        metadata: { certificate_request_id: request.id, access_token: standing.slug },
      },
    );
  }
  return failedPrecondition(
    "REQUESTER_DEACTIVATED",
    `certificate request ${request.id} was made by an ACME account that is ${standing.status} now; it cannot be approved: reject it (RejectCertificateRequest)`,
    {
      preconditions: [
        {
          type: "REQUESTER_STATUS",
          subject,
          description: `the requesting ACME account is ${standing.status}`,
        },
      ],
      metadata: { certificate_request_id: request.id, acme_account_status: standing.status },
    },
  );
}

/**
 * Refusals that leave a waiting request PENDING_APPROVAL, unchanged (nothing is written; the
 * API layer audits the refused call), for what the approver cannot decide on the request's
 * merits and an admin can change:
 *  - the profile enrolls by ACME now and the request came through the certmint API (its names
 *    proved by nothing): ENROLLMENT_METHOD_MISMATCH (plan.ts refuseOtherEnrollment); approve
 *    it once the profile enrolls by API again, or reject it. A request an ACME order made
 *    (its caller an ACME account) was proved by its challenges and is approved as before.
 *  - the profile's CA is DISABLED (a reversible state: UpdateCertificateAuthority) or still
 *    waits for its certificate: CA_DISABLED / CA_PENDING_CERTIFICATE, saying to make it active
 *    and approve again. Until stop 44 of 2026-12-06 the approval ended such a request FAILED
 *    for good, and its requester's replay still answered "CA is disabled" once the CA was
 *    active again: a new request and a second approval were needed (an outside probe).
 * A revoked CA (or one below a revoked CA) is not refused here: a CA's revocation is final
 * (certificateHold is refused for a CA, ca/revoke.ts; RFC 5280 5.3.1), the CA never signs again
 * and cannot be enabled, so the approval ends the request FAILED with CA_REVOKED as before
 * (signAndStore), which its requester's replay reports; pointing the profile at another CA is
 * a new decision about a new issuer, made on a new request. A CA
 * revoked after this check (the race with its signing lock) also ends the request FAILED, under
 * that lock (sign-and-store.ts); one disabled after it leaves the request waiting, as here
 * (checksUnderLock; until stop 45 of 2026-12-06 it ended FAILED: an outside probe).
 */
async function refuseWhileUnsignable(deps: IssuanceDeps, request: CertificateRequest) {
  const profile = await deps.store.profiles.find({ id: request.profileId });
  // A profile gone meanwhile: the plan (planFromStored) ends the request FAILED, as before.
  if (!profile) return;
  if (profile.enrollmentMethod !== "API") {
    // An ACME order's request has an ACME account as its caller (src/acme/acting.ts).
    const byAccount =
      UUID.test(request.caller) && (await deps.store.acme.account(request.caller)) !== undefined;
    const refusal = enrollmentRefusal(request, profile, byAccount);
    if (refusal) throw refusal;
  }
  if (!profile.caId) return;
  const ca = await requireCa(deps.store.cas, profile.caId);
  try {
    requireActive(ca);
  } catch (err) {
    if (!isCertmintError(err) || err.reason === "CA_REVOKED") return;
    throw caWaitRefusal(err, request, ca.slug, profile.slug);
  }
}

/**
 * refuseWhileUnsignable's CA check, for checksUnderLock: undefined when the CA signs now, is
 * revoked (the request then ends FAILED CA_REVOKED under its signing lock) or is gone (FAILED
 * there too: sign-and-store.ts caGone).
 */
async function caWaitsNow(
  locked: Pick<LockedRequest, "caNow" | "revokedAbove">,
  request: CertificateRequest,
  caId: string,
  profileSlug: string,
): Promise<CertmintError | undefined> {
  const ca = await locked.caNow(caId);
  if (!ca) return;
  await noteRevokedAboveWith(locked.revokedAbove, ca);
  try {
    requireActive(ca);
    return;
  } catch (err) {
    if (!isCertmintError(err)) throw err;
    if (err.reason === "CA_REVOKED") return;
    return caWaitRefusal(err, request, ca.slug, profileSlug);
  }
}

/**
 * ENROLLMENT_METHOD_MISMATCH for a request made through the certmint API (or, byAccount, an
 * ACME order) on a profile that enrolls otherwise now, saying it still waits; undefined when the
 * profile enrolls that way. refuseWhileUnsignable's, and checksUnderLock's.
 */
function enrollmentRefusal(
  request: CertificateRequest,
  profile: Pick<CertificateProfile, "slug" | "enrollmentMethod">,
  byAccount: boolean,
): CertmintError | undefined {
  try {
    refuseOtherEnrollment(
      byAccount ? "ACME" : "API",
      profile,
      `approving a request made through ${byAccount ? "ACME" : "the certmint API"}`,
    );
    return;
  } catch (err) {
    if (!isCertmintError(err)) throw err;
    return failedPrecondition(
      err.reason,
      `${err.message}. Certificate request ${request.id} still waits for approval, unchanged: reject it (RejectCertificateRequest), or approve it once the profile enrolls by ${byAccount ? "ACME" : "API"} again`,
      {
        preconditions: err.preconditions,
        metadata: { ...err.metadata, certificate_request_id: request.id },
      },
    );
  }
}

/**
 * A CA that cannot sign now but can be made to (CA_DISABLED, CA_PENDING_CERTIFICATE: `err`,
 * requireActive's), told as a refusal that leaves the request waiting: refuseWhileUnsignable's,
 * and checksUnderLock's for a CA disabled after it.
 */
function caWaitRefusal(
  err: CertmintError,
  request: CertificateRequest,
  caSlug: string,
  profileSlug: string,
): CertmintError {
  const state =
    err.reason === "CA_DISABLED"
      ? "enable it (UpdateCertificateAuthority, status CERTIFICATE_AUTHORITY_STATUS_ACTIVE)"
      : "import its certificate (ImportCertificateAuthorityCertificate)";
  return failedPrecondition(
    err.reason,
    `${err.message.replace(/;.*$/, "")}, so certificate request ${request.id} cannot be signed now; it still waits for approval, unchanged: ${state} and approve it again (or reject it with RejectCertificateRequest)`,
    {
      preconditions: [
        ...err.preconditions,
        {
          type: "REQUEST_STATUS",
          subject: `certificate_requests/${request.id}`,
          description: "still PENDING_APPROVAL",
        },
      ],
      metadata: {
        certificate_request_id: request.id,
        certificate_authority: caSlug,
        certificate_profile: profileSlug,
      },
    },
  );
}

function notPendingApproval(request: CertificateRequest, more = "", retryAfterSeconds?: number) {
  return failedPrecondition(
    "REQUEST_NOT_PENDING_APPROVAL",
    `certificate request ${request.id} is ${request.status}, not PENDING_APPROVAL${more}`,
    {
      // A claim that may be taken over later: when (RetryInfo).
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      preconditions: [
        {
          type: "REQUEST_STATUS",
          subject: `certificate_requests/${request.id}`,
          description: `status is ${request.status}`,
        },
      ],
    },
  );
}

/** Token and ACME account ids are UUIDs; a caller of another form names neither. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
