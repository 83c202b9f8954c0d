import type { EntityManager } from "@mikro-orm/postgresql";
import {
  type CertmintError,
  type FieldViolation,
  invalidArgument,
  isCertmintError,
} from "../../errors";
import { currentCallScope, refuseIfAbandoned } from "../call-scope";
import type { IssuanceDeps } from "../deps";
import { finish } from "./finish";
import { replay } from "./issue";
import { checkPlan, type FieldMapper } from "./plan";
import { insertRequest, type RequestIdentity } from "./request-rows";
import { certifiedKeyOf, checkIssuerState } from "./sign-and-store";
import type { IssuancePlan, IssueOutcome } from "./types";

/** Every violation of a plan as one INVALID_ARGUMENT (google.rpc.BadRequest lists them all). */
export function policyViolation(
  violations: FieldViolation[],
  profileSlug: string,
  what: string,
): CertmintError {
  return invalidArgument(
    "POLICY_VIOLATION",
    `${what} breaks ${violations.length} rule(s) of profile "${profileSlug}": ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`,
    { violations },
  );
}

/**
 * Steps 4-7, shared by IssueCertificate and RenewCertificate once the plan is built:
 *  4. check the policy (every violation) and the issuer's state; a refusal is recorded FAILED;
 *  5. validate_only stops here; a profile that needs approval stores PENDING_APPROVAL;
 *  6. generate the key, if certmint makes it; reserve the serial and commit the request;
 *  7. sign and store (finish), holding the request's lock.
 * A concurrent call that inserted the same (caller, request_id) first wins: this call replays it.
 */
export async function submit(
  deps: IssuanceDeps,
  em: EntityManager,
  plan: IssuancePlan,
  who: RequestIdentity,
  options: { mapField: FieldMapper; validateOnly: boolean; what: string },
): Promise<IssueOutcome> {
  const violations = checkPlan(plan, options.mapField);
  let refusal: CertmintError | undefined;
  if (violations.length > 0) {
    refusal = policyViolation(violations, plan.profile.slug, options.what);
  } else {
    try {
      checkIssuerState(deps, plan);
    } catch (err) {
      if (!isCertmintError(err)) throw err;
      refusal = err;
    }
  }
  // The last point where giving up leaves nothing behind (the next step commits the request).
  refuseIfAbandoned();
  const replayWinner = () => replay(deps, undefined, who.fingerprint, who.requestId!, who.caller);
  if (refusal) {
    if (!options.validateOnly) {
      const row = await insertRequest(em, plan, who, "FAILED", deps.now(), refusal);
      if (row === "duplicate") return replayWinner();
      refusal.metadata.certificate_request_id = row.id;
    }
    throw refusal;
  }
  if (options.validateOnly) return { certificateRequestId: "", status: "PENDING", validated: true };
  const status = plan.profile.requireApproval ? "PENDING_APPROVAL" : "PENDING";
  // The key is made before the request is recorded, so the request goes from its commit to
  // its lock at once (a replay that finds it PENDING and unlocked finds its worker gone), in
  // this caller's fair share of the RSA pool: a call refused for a full queue
  // (RESOURCE_EXHAUSTED) or given up while its key waits (cancel, deadline) leaves nothing
  // behind and may retry its request_id.
  const key =
    status === "PENDING"
      ? await certifiedKeyOf(deps, plan, {
          caller: who.caller,
          signal: currentCallScope()?.signal,
        })
      : undefined;
  if (key?.privateKey) refuseIfAbandoned(); // generating it may have outlasted the caller
  const row = await insertRequest(em, plan, who, status, deps.now());
  if (row === "duplicate") return replayWinner();
  if (status === "PENDING_APPROVAL") return { certificateRequestId: row.id, status };
  return finish(deps, plan, row, { key });
}
