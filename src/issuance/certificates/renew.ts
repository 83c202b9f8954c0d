import { type Call, refuseIfAbandoned } from "../call";
import type { IssuanceDeps } from "../deps";
import { requireProfileAccessById } from "../profiles/access";
import { checkPolicy } from "./check";
import { findCertificate, requestNamed } from "./find";
import { requestFingerprint } from "./idempotency";
import { type RequestIdentity, recordRefusal, recordWaitingForApproval } from "./intent";
import { generateKey } from "./keys";
import { assertRenewable, planRenewal, renewFieldMapper } from "./renewal-plan";
import { findPrior, replay, replayWinner } from "./replay";
import { signThenStore } from "./sign-then-store";
import type { IssueOutcome, RenewInput } from "./types";

/**
 * RenewCertificate: a successor with the same profile, subject and SANs, the original lifetime
 * unless a TTL is given, checked against the policy as it is now. Refused for revoked or
 * already renewed certificates and disabled CAs, and for a caller that may not renew this
 * certificate (ownership.ts). The two certificates point at each other. The steps of issue.ts:
 *  1. the certificate, on a profile the caller may act on; a repeated request_id replays;
 *  2. plan (renewal-plan.ts);
 *  3. check the policy; a refusal is recorded FAILED;
 *  4. validate_only stops here; a profile that needs approval records PENDING_APPROVAL;
 *  5. the key, if certmint makes it;
 *  6. sign, then store in one statement: the request, the certificate, the audit record and
 *     the renewed certificate's link to its successor (refused if it was renewed or revoked
 *     meanwhile, with nothing written).
 */
export async function renew(
  deps: IssuanceDeps,
  call: Call,
  input: RenewInput,
): Promise<IssueOutcome> {
  // 1. The certificate, and a replay. The prior request is read in the same round trip as the
  // certificate's profile, its policy and its CA.
  const old = await findCertificate(deps.store, input.certificateId, "certificate_id");
  await requireProfileAccessById(deps.store, call, old.profileId);
  const who = renewIdentity(input, old.id);
  const prior =
    who.idempotencyKey && !input.validateOnly
      ? { caller: who.caller, idempotencyKey: who.idempotencyKey }
      : undefined;
  const rows = old.profileId
    ? await deps.store.issuance.findProfileAndPrior({ id: old.profileId }, prior)
    : undefined;
  if (rows?.priorRequestId) {
    return replay(deps, call, await requestNamed(deps, rows.priorRequestId), who);
  }
  if (!rows && prior) {
    const found = await findPrior(deps, who);
    if (found) return replay(deps, call, found, who);
  }

  // 2. Plan.
  assertRenewable(old);
  // rows: read for every certificate with a profile, and assertRenewable refused any other.
  const plan = await planRenewal(deps, call, old, input, rows!);

  // 3. Check the policy. A caller that gave up meanwhile is refused before anything is written.
  const what = "the renewal (checked against the policy as it is now)";
  const refusal = checkPolicy(deps, plan, renewFieldMapper, what);
  refuseIfAbandoned(call);
  if (refusal) {
    if (!input.validateOnly && (await recordRefusal(deps, call, plan, who, refusal))) {
      return replayWinner(deps, call, who);
    }
    throw refusal;
  }

  // 4. Dry run, or wait for an approver.
  if (input.validateOnly) return { certificateRequestId: "", status: "PENDING", validated: true };
  if (plan.profile.requireApproval) {
    const waiting = await recordWaitingForApproval(deps, call, plan, who);
    if (waiting === "duplicate") return replayWinner(deps, call, who);
    return { certificateRequestId: waiting.id, status: "PENDING_APPROVAL" };
  }

  // 5. The key, if certmint makes it.
  const key = await generateKey(deps, call, plan, who);

  // 6. Sign (a fresh serial), then store request, certificate and audit record in one commit.
  return signThenStore(deps, call, plan, who, key, old);
}

function renewIdentity(input: RenewInput, oldId: string): RequestIdentity {
  const fingerprint = requestFingerprint([
    "renew",
    oldId,
    input.keySource ?? null,
    input.csrPem ?? null,
    input.keyAlgorithm ?? null,
    input.ttlSeconds ?? null,
  ]);
  return {
    caller: input.caller,
    idempotencyKey: input.idempotencyKey,
    fingerprint,
    kind: "RENEW",
    renewalOfCertificateId: oldId,
  };
}
