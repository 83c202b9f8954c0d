import { type Call, refuseIfAbandoned } from "../call";
import { rowKeyOf } from "../common/refs";
import type { IssuanceDeps } from "../deps";
import { profileReferenceMissing } from "../profiles/load";
import type { IssuanceRows } from "../repositories";
import { checkPolicy } from "./check";
import { requestNamed } from "./find";
import { requestFingerprint } from "./idempotency";
import { type RequestIdentity, recordRefusal, recordWaitingForApproval } from "./intent";
import { generateKey } from "./keys";
import { issueFieldMapper, planIssue, requestCsr } from "./plan";
import { findPrior, replay, replayWinner } from "./replay";
import { signThenStore } from "./sign-then-store";
import type { IssueInput, IssueOutcome } from "./types";

/**
 * IssueCertificate, one linear function (after Boulder's ca.IssueCertificate); renew.ts and
 * approval.ts run the same steps:
 *  1. a repeated request_id returns what the first call decided (replay);
 *  2. plan: profile, policy and issuer; defaults filled; identity and key from CSR or attributes;
 *  3. check the policy (every violation) and the issuer's state; a refusal is recorded FAILED;
 *  4. validate_only stops here; a profile that needs approval records PENDING_APPROVAL;
 *  5. the key, if certmint makes it;
 *  6. sign under a fresh serial, then store the request (ISSUED), the certificate and the
 *     audit record in one statement and one commit; nothing is written before (sign-then-store.ts).
 */
export async function issue(
  deps: IssuanceDeps,
  call: Call,
  input: IssueInput,
): Promise<IssueOutcome> {
  const who = issueIdentity(input);
  // With CSR threads, the CSR's signature is checked on one while the rows are read; its
  // outcome is looked at in step 2, so errors keep their order. Without, step 2 parses it:
  // started here, the parse only delayed the read (measured with bench/peers, 64 clients).
  const parsedCsr =
    input.source.kind === "CSR" && deps.csrs?.offThread
      ? requestCsr(deps.csrs, input.source.csrPem)
      : undefined;

  // 1. Replay. The prior request is read in the same round trip as the profile, its policy
  // and its CA (the store's issuance repository), and decides before anything about the
  // profile is checked.
  const rows = await readProfileAndPrior(deps, input, who);
  if (rows?.priorRequestId) {
    return replay(deps, call, await requestNamed(deps, rows.priorRequestId), who);
  }
  if (!rows) {
    const prior = who.idempotencyKey && !input.validateOnly && (await findPrior(deps, who));
    if (prior) return replay(deps, call, prior, who);
    throw profileReferenceMissing();
  }

  // 2. Plan. Errors before the profile is known are not recorded (no row to own them).
  const plan = await planIssue(deps.store, call, input, rows, parsedCsr);

  // 3. Check the policy. A caller that gave up meanwhile is refused before anything is written.
  const refusal = checkPolicy(deps, plan, issueFieldMapper(plan.key.kind === "CSR"), "the request");
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
  return signThenStore(deps, call, plan, who, key);
}

/** The request's identity: its caller, idempotency key and fingerprint. */
function issueIdentity(input: IssueInput): RequestIdentity {
  const fingerprint = requestFingerprint([
    "issue",
    input.profile,
    input.source,
    input.signatureAlgorithm ?? null,
    input.keyUsages,
    input.extendedKeyUsages,
    input.ttlSeconds ?? null,
    // Only when set, so that fingerprints stored before CA requests existed still match.
    ...(input.ca ? [{ ca: input.ca }] : []),
  ]);
  return { caller: input.caller, idempotencyKey: input.idempotencyKey, fingerprint, kind: "ISSUE" };
}

/**
 * One round trip: the profile (by id or slug), its policy and CA, and the prior request of the
 * same (caller, request_id) unless this is a dry run. Undefined for an empty profile reference.
 */
function readProfileAndPrior(
  deps: IssuanceDeps,
  input: IssueInput,
  who: RequestIdentity,
): Promise<IssuanceRows> | undefined {
  const key = rowKeyOf(input.profile);
  if (!key) return undefined;
  const prior =
    who.idempotencyKey && !input.validateOnly
      ? { caller: who.caller, idempotencyKey: who.idempotencyKey }
      : undefined;
  return deps.store.issuance.findProfileAndPrior(key, prior);
}
