import { failedPrecondition, isCertmintError, permissionDenied } from "../../errors";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import type { IssuanceDeps } from "../deps";
import { requireProfileAccessById } from "../profiles/access";
import { type CertificateRequest, type CertificateRequestView, requestView } from "../repositories";
import { policyRefusal } from "./check";
import { findRequest, requestNamed } from "./find";
import { markFailed, reserveSerial } from "./intent";
import { storedErrorOf } from "./outcome";
import { issueFieldMapper } from "./plan";
import { signAndStore } from "./sign-and-store";
import { planFromStored } from "./stored-plan";

/**
 * ApproveCertificateRequest, the steps of issue.ts for a request that waited: the token that
 * made the request never approves it (an admin token neither: four eyes), unless its profile
 * sets allow_self_approval; approval is no way around the policy.
 *  1. the request, on a profile the caller may act on, not the caller's own;
 *  2. claim it (one approver wins) and reserve its serial;
 *  3. plan from the stored request, checked against the policy as it is now; a refusal marks
 *     it FAILED (the approval itself succeeded);
 *  4. sign and store; a generated key waits sealed for the requester's GetRequestStatus.
 */
export async function approve(
  deps: IssuanceDeps,
  call: Call,
  id: string,
): Promise<CertificateRequestView> {
  // 1. The request.
  const waiting = await findRequest(deps.store, id);
  await requireProfileAccessById(deps.store, call, waiting.profileId);
  await refuseSelfApproval(deps, call, waiting);

  // 2. Claim it, with its serial.
  if (!(await deps.store.requests.claimForSigning(waiting.id, reserveSerial(), deps.now()))) {
    throw notPendingApproval(waiting);
  }
  const request = await requestNamed(deps, waiting.id);

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
    await signAndStore(deps, call, plan, request, { holdKeyForFetch: true });
  } catch (err) {
    // A refusal on the merits was recorded FAILED; the approval call itself succeeded.
    if (!isCertmintError(err) || err.kind === "internal") throw err;
  }
  return requestView(await requestNamed(deps, request.id));
}

/** RejectCertificateRequest: a PENDING_APPROVAL request REJECTED with the approver's reason. */
export async function reject(
  deps: IssuanceDeps,
  call: Call,
  id: string,
  reason: string,
): Promise<CertificateRequestView> {
  const request = await findRequest(deps.store, id);
  await requireProfileAccessById(deps.store, call, request.profileId);
  const error = storedErrorOf(
    failedPrecondition(
      "REQUEST_REJECTED",
      reason.trim() ? `rejected by an approver: ${reason.trim()}` : "rejected by an approver",
    ),
  );
  const now = deps.now();
  await deps.store.transaction(async (tx) => {
    if (!(await tx.requests.reject(request.id, error, now))) throw notPendingApproval(request);
    await tx.audit.insert(changeRecord(call, { type: "certificate_request", id: request.id }, now));
  });
  return requestView(await requestNamed(deps, request.id));
}

/** PERMISSION_DENIED when the caller made the request and its profile does not allow that. */
async function refuseSelfApproval(deps: IssuanceDeps, call: Call, request: CertificateRequest) {
  const { actor } = call;
  if (actor.id !== request.caller) return;
  const profile = await deps.store.profiles.find({ id: request.profileId });
  if (profile?.allowSelfApproval) return;
  throw permissionDenied(
    "SELF_APPROVAL_NOT_ALLOWED",
    `access token "${actor.slug}" made certificate request ${request.id} and may not approve it; another approver must (or set allow_self_approval on profile "${profile?.slug ?? request.profileId}")`,
    { metadata: { certificate_request_id: request.id, access_token: actor.slug } },
  );
}

function notPendingApproval(request: CertificateRequest) {
  return failedPrecondition(
    "REQUEST_NOT_PENDING_APPROVAL",
    `certificate request ${request.id} is ${request.status}, not PENDING_APPROVAL`,
    {
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
