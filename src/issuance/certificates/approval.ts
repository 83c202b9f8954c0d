import type { EntityManager } from "@mikro-orm/postgresql";
import { failedPrecondition, isCertmintError, permissionDenied } from "../../errors";
import {
  CertificateProfileEntity,
  CertificateRequestEntity,
  type CertificateRequestRow,
} from "../../store/entities";
import { recordAudit } from "../audit/record";
import { currentCallScope } from "../call-scope";
import type { IssuanceDeps } from "../deps";
import { requireProfileAccessById } from "../profiles/access";
import { finish } from "./finish";
import { storedErrorOf } from "./outcome";
import { checkPlan, issueFieldMapper } from "./plan";
import { markFailed } from "./request-rows";
import { reserveSerial } from "./sign-and-store";
import { findRequest } from "./status";
import { planFromStored } from "./stored-plan";
import { policyViolation } from "./submit";

/**
 * Approves a PENDING_APPROVAL request: claims it (one approver wins), checks it again against
 * the policy as it is now, so approval is no way around the policy, then signs it. The
 * generated key, if any, waits sealed for the requester's GetRequestStatus. The token that
 * made the request never approves it (an admin token neither: four eyes), unless its profile
 * sets allow_self_approval.
 */
export async function approve(deps: IssuanceDeps, id: string): Promise<CertificateRequestRow> {
  const em = deps.orm.em.fork();
  const request = await findRequest(em, id);
  await requireProfileAccessById(em, request.profileId);
  await refuseSelfApproval(em, request);
  const claimed = await em.nativeUpdate(
    CertificateRequestEntity,
    { id: request.id, status: "PENDING_APPROVAL" },
    { status: "PENDING", reservedSerial: reserveSerial(), updatedAt: deps.now() },
  );
  if (claimed === 0) throw notPendingApproval(request);
  await em.refresh(request);
  let plan: Awaited<ReturnType<typeof planFromStored>>;
  try {
    plan = await planFromStored(deps.store, request);
    const violations = checkPlan(plan, issueFieldMapper(plan.key.kind === "CSR"));
    if (violations.length > 0) {
      throw policyViolation(violations, plan.profile.slug, "at approval, the request");
    }
  } catch (err) {
    if (!isCertmintError(err) || err.kind === "internal") throw err;
    // The approval happened; the request failed on its merits: record why, answer FAILED.
    await markFailed(em, request.id, err, deps.now());
    return em.findOneOrFail(CertificateRequestEntity, { id: request.id }, { refresh: true });
  }
  try {
    await finish(deps, plan, request.id, { holdKeyForFetch: true });
  } catch (err) {
    // finish recorded a refusal on the merits as FAILED; the approval call itself succeeded.
    if (!isCertmintError(err) || err.kind === "internal") throw err;
  }
  return em.findOneOrFail(CertificateRequestEntity, { id: request.id }, { refresh: true });
}

/** Rejects a PENDING_APPROVAL request with the approver's reason. */
export async function reject(
  deps: IssuanceDeps,
  id: string,
  reason: string,
): Promise<CertificateRequestRow> {
  const em = deps.orm.em.fork();
  const request = await findRequest(em, id);
  await requireProfileAccessById(em, request.profileId);
  const error = storedErrorOf(
    failedPrecondition(
      "REQUEST_REJECTED",
      reason.trim() ? `rejected by an approver: ${reason.trim()}` : "rejected by an approver",
    ),
  );
  await em.transactional(async (tx: EntityManager) => {
    const n = await tx.nativeUpdate(
      CertificateRequestEntity,
      { id: request.id, status: "PENDING_APPROVAL" },
      {
        status: "REJECTED",
        error,
        updatedAt: deps.now(),
      },
    );
    if (n === 0) throw notPendingApproval(request);
    await recordAudit(tx, { type: "certificate_request", id: request.id });
  });
  return em.findOneOrFail(CertificateRequestEntity, { id: request.id }, { refresh: true });
}

/** PERMISSION_DENIED when the caller made the request and its profile does not allow that. */
async function refuseSelfApproval(em: EntityManager, request: CertificateRequestRow) {
  const actor = currentCallScope()?.actor;
  if (!actor || actor.id !== request.caller) return;
  const profile = await em.findOne(
    CertificateProfileEntity,
    { id: request.profileId },
    { fields: ["slug", "allowSelfApproval"] },
  );
  if (profile?.allowSelfApproval) return;
  throw permissionDenied(
    "SELF_APPROVAL_NOT_ALLOWED",
    `access token "${actor.slug}" made certificate request ${request.id} and may not approve it; another approver must (or set allow_self_approval on profile "${profile?.slug ?? request.profileId}")`,
    { metadata: { certificate_request_id: request.id, access_token: actor.slug } },
  );
}

function notPendingApproval(request: CertificateRequestRow) {
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
