import { CertmintError } from "../../errors";
import { spkiSha256Of } from "../../signer";
import { type Call, refuseIfAbandoned, SYSTEM_ACTOR } from "../call";
import type { IssuanceDeps } from "../deps";
import type { Certificate } from "../repositories";
import { keyBlocked } from "./blocked-keys";
import { checkPolicy } from "./check";
import { type RequestIdentity, recordRefusal, recordWaitingForApproval } from "./intent";
import { generateKey } from "./keys";
import type { FieldMapper } from "./plan";
import { replayWinner } from "./replay";
import { signThenStore } from "./sign-then-store";
import type { IssuancePlan, IssueOutcome } from "./types";

/** How a planned request is checked and named (issue.ts, renew.ts). */
export interface Decision {
  /** Maps a plan field to the request field a violation names. */
  mapField: FieldMapper;
  /** How a refusal names what was checked: "the request", "the renewal ...". */
  what: string;
  validateOnly: boolean;
  /** The certificate a renewal succeeds. */
  renewalOf?: Certificate;
}

/**
 * A key revoked for key compromise, for the answers that store no certificate now: a dry run,
 * and a request that would wait for an approver (it would only fail when approved, after
 * filling the queue). Issuance itself is refused by the store (blocked-keys.ts), at no read's
 * cost. Until 2026-12-05 both answered as if the key were fine (found by an outside probe).
 */
async function blockedKeyRefusal(
  deps: IssuanceDeps,
  plan: IssuancePlan,
  decision: Decision,
): Promise<CertmintError | undefined> {
  if (plan.key.kind === "GENERATE") return undefined;
  if (!decision.validateOnly && !plan.profile.requireApproval) return undefined;
  const blocked = await deps.store.certificates.isKeyBlocked(spkiSha256Of(plan.key.publicKey));
  return blocked ? keyBlocked(plan) : undefined;
}

/**
 * Steps 3 to 6 of IssueCertificate and RenewCertificate, the same for both once planned:
 *  3. check the policy; a refusal is recorded FAILED (unless a dry run), or, when a concurrent
 *     call with the same request_id recorded first, that call's outcome is answered;
 *  4. validate_only stops here; a profile that needs approval records PENDING_APPROVAL;
 *  5. the key, if certmint makes it;
 *  6. sign under a fresh serial, then store request, certificate and audit record in one
 *     commit (sign-then-store.ts).
 */
export async function decideAndIssue(
  deps: IssuanceDeps,
  call: Call,
  plan: IssuancePlan,
  who: RequestIdentity,
  decision: Decision,
): Promise<IssueOutcome> {
  // 3. A caller that gave up meanwhile is refused before anything is written.
  const refusal =
    checkPolicy(deps, plan, decision.mapField, decision.what) ??
    (await blockedKeyRefusal(deps, plan, decision));
  refuseIfAbandoned(call);
  if (refusal) {
    if (decision.validateOnly) throw refusal;
    await refuseUnrecorded(deps, call, refusal);
    if (await recordRefusal(deps, call, plan, who, refusal)) return replayWinner(deps, call, who);
    throw refusal;
  }

  // 4. Dry run, or wait for an approver.
  if (decision.validateOnly) {
    return { certificateRequestId: "", status: "PENDING", validated: true };
  }
  if (plan.profile.requireApproval) {
    const waiting = await recordWaitingForApproval(deps, call, plan, who);
    if (waiting === "duplicate") return replayWinner(deps, call, who);
    return { certificateRequestId: waiting.id, status: "PENDING_APPROVAL" };
  }

  // 5. The key, if certmint makes it.
  const key = await generateKey(deps, call, plan, who);

  // 6. Sign (a fresh serial), then store request, certificate and audit record in one commit.
  return signThenStore(deps, call, plan, who, key, decision.renewalOf);
}

/**
 * RESOURCE_EXHAUSTED (REFUSALS_LIMITED) once the caller's token has had more refusals recorded
 * than CERTMINT_REFUSAL_LIMIT_* allows: each is a FAILED request and an audit record, and until
 * 2026-12-05 one issuer wrote 315 of each a second, with no bound but its call rate (an
 * outside probe). Such a refusal records nothing; its message still says why the request was
 * refused, so the caller can fix it.
 */
async function refuseUnrecorded(
  deps: IssuanceDeps,
  call: Call,
  refusal: CertmintError,
): Promise<void> {
  // Not certmint's own calls (automatic renewal): their refusals are recorded, with a backoff
  // per certificate, and one bucket shared by every tenant's renewals would turn them into
  // unrecorded retries (a reviewer of the first version).
  if (!deps.refusalLimit || call.actor.id === SYSTEM_ACTOR.id) return;
  const taken = deps.refusalLimit.take(call.actor.id);
  const wait = typeof taken === "number" ? taken : await taken;
  if (wait <= 0) return;
  throw new CertmintError(
    "resource_exhausted",
    "REFUSALS_LIMITED",
    `access token "${call.actor.slug}" has had too many refused requests recorded (CERTMINT_REFUSAL_LIMIT_PER_SECOND); retry in ${Math.ceil(wait * 1000)} ms once the requests are fixed. This one was refused too: ${refusal.message}`,
    {
      retryAfterSeconds: Math.max(1, Math.ceil(wait)),
      metadata: { refusal_reason: refusal.reason },
      violations: refusal.violations,
    },
  );
}
