import { isCertmintError } from "../../errors";
import type { ParsedCsr } from "../../signer/csr";
import type { Call } from "../call";
import { checkReference, rowKeyOf } from "../common/refs";
import type { IssuanceDeps } from "../deps";
import { profileReferenceMissing } from "../profiles/load";
import type { HeldRows, IssuanceRows } from "../repositories";
import { checkPolicy } from "./check";
import { authenticatesUntil, vouchedBy } from "./credential-lifetime";
import { decideAndIssue } from "./decide";
import { requestNamed } from "./find";
import { isAutoRenewalRequestId, requestFingerprint, reservedRequestId } from "./idempotency";
import type { RequestIdentity } from "./intent";
import { generateKey } from "./keys";
import { issueFieldMapper, planIssue, requestCsr } from "./plan";
import { findPrior, replay } from "./replay";
import { HeldRowsChanged, signThenStore } from "./sign-then-store";
import type { IssuancePlan, IssueInput, IssueOutcome } from "./types";

/**
 * IssueCertificate, one linear function (after Boulder's ca.IssueCertificate); renew.ts and
 * approval.ts run the same steps, and steps 3 to 6 are decide.ts's for both issue and renew:
 *  1. a repeated request_id returns what the first call decided (replay);
 *  2. plan: profile, policy and issuer; defaults filled; identity and key from CSR or attributes;
 *  3. check the policy (every violation) and the issuer's state; a refusal is recorded FAILED;
 *  4. validate_only stops here; a profile that needs approval records PENDING_APPROVAL;
 *  5. the key, if certmint makes it;
 *  6. sign under a fresh serial, then store the request (ISSUED), the certificate and the
 *     audit record in one statement and one commit; nothing is written before (sign-then-store.ts).
 * A lone call may run on rows held from an earlier read instead (issueOnHeldRows).
 */
export async function issue(
  deps: IssuanceDeps,
  call: Call,
  input: IssueInput,
): Promise<IssueOutcome> {
  const who = issueIdentity(input, call);
  // With CSR threads, the CSR's signature is checked on one while the rows are read; its
  // outcome is looked at in step 2, so errors keep their order. Without, step 2 parses it:
  // started here, the parse only delayed the read (measured with bench/peers, 64 clients).
  const parsedCsr =
    input.source.kind === "CSR" && deps.csrs?.offThread
      ? requestCsr(deps.csrs, input.source.csrPem)
      : undefined;
  // A request_id in the renewer's namespace is only ever a replay (reservedRequestId): looked
  // for before anything, never on held rows (which leave a replay to the store).
  return issueWith(deps, call, input, who, parsedCsr, !isAutoRenewalRequestId(who.idempotencyKey));
}

async function issueWith(
  deps: IssuanceDeps,
  call: Call,
  input: IssueInput,
  who: RequestIdentity,
  parsedCsr: Promise<ParsedCsr> | undefined,
  mayUseHeld: boolean,
  decidedAgain = 0,
): Promise<IssueOutcome> {
  // 1. Replay. The prior request is read in the same round trip as the profile, its policy
  // and its CA (the store's issuance repository), and decides before anything about the
  // profile is checked.
  const rows = await readProfileAndPrior(deps, input, who, mayUseHeld);
  if (rows?.profile) who = withProfileForms(input, who, rows.profile);
  if (rows?.held) {
    // Undefined: nothing was written, and the request is decided again on rows read now.
    return (
      (await issueOnHeldRows(deps, call, input, who, rows, rows.held, parsedCsr)) ??
      issueWith(deps, call, input, who, parsedCsr, false)
    );
  }
  if (rows?.priorRequestId) {
    return replay(deps, call, await requestNamed(deps, rows.priorRequestId), who);
  }
  if (!rows) {
    const prior = who.idempotencyKey && !input.validateOnly && (await findPrior(deps, who));
    if (prior) return replay(deps, call, prior, who);
    throw profileReferenceMissing();
  }

  if (isAutoRenewalRequestId(who.idempotencyKey)) throw reservedRequestId(who.idempotencyKey!);

  // 2. Plan. Errors before the profile is known are not recorded (no row to own them).
  const plan = await planIssue(deps.store, call, input, rows, parsedCsr);

  // 3-6. Check, stop for a dry run or an approver, generate the key, sign and store.
  try {
    return await decideAndIssue(deps, call, plan, who, {
      mapField: issueFieldMapper(plan.key.kind === "CSR"),
      what: "the request",
      validateOnly: input.validateOnly,
    });
  } catch (err) {
    // The profile or policy was edited while it was signed: nothing was stored, and the call is
    // decided again on the rules as they are now, as a call that came after the edit (bounded:
    // an edit per signature is no steady state). Its key, if generated, is made again.
    if (!(isCertmintError(err) && err.reason === "RULES_CHANGED") || decidedAgain >= REDECISIONS) {
      throw err;
    }
    return issueWith(deps, call, input, who, parsedCsr, false, decidedAgain + 1);
  }
}

/** How often a call whose rules changed while it was signed is decided again (RULES_CHANGED). */
const REDECISIONS = 3;

/**
 * A lone call's issuance on the rows held from the last read (IssuanceRepository
 * findProfileAndPrior), without a round trip of its own: only the straight path, planned,
 * checked, signed and stored with the rows' tags, which the store checks again (nothing is
 * stored unless each row is still the one it was decided on). Anything else is decided on rows
 * read now, having written nothing (undefined): a refusal, whether by the policy, the profile's
 * access or the issuer's state (the rows may be older than the reason), an approval to wait
 * for, and rows that changed since. A repeated request_id, not looked for here, shows as a
 * duplicate when storing and is replayed as a concurrent call's would be.
 */
async function issueOnHeldRows(
  deps: IssuanceDeps,
  call: Call,
  input: IssueInput,
  who: RequestIdentity,
  rows: IssuanceRows,
  held: HeldRows,
  parsedCsr: Promise<ParsedCsr> | undefined,
): Promise<IssueOutcome | undefined> {
  let plan: IssuancePlan;
  try {
    plan = await planIssue(deps.store, call, input, rows, parsedCsr);
    if (checkPolicy(deps, plan, issueFieldMapper(plan.key.kind === "CSR"), "the request")) {
      return undefined;
    }
  } catch (err) {
    if (isCertmintError(err)) return undefined;
    throw err;
  }
  if (plan.profile.requireApproval) return undefined;
  try {
    const key = await generateKey(deps, call, plan, who);
    return await signThenStore(deps, call, { ...plan, heldRows: held }, who, key);
  } catch (err) {
    if (err instanceof HeldRowsChanged) return undefined;
    throw err;
  }
}

/** The request's identity: its caller, idempotency key and fingerprint. */
function issueIdentity(input: IssueInput, call: Call): RequestIdentity {
  return {
    caller: input.caller,
    authenticatesUntil: authenticatesUntil(call.actor),
    vouchedBy: vouchedBy(call.actor),
    idempotencyKey: input.idempotencyKey,
    fingerprint: issueFingerprint(input, input.profile),
    kind: "ISSUE",
  };
}

function issueFingerprint(input: IssueInput, profileRef: string): string {
  return requestFingerprint([
    "issue",
    profileRef,
    input.source,
    input.signatureAlgorithm ?? null,
    input.keyUsages,
    input.extendedKeyUsages,
    input.ttlSeconds ?? null,
    // Only when set, so that fingerprints stored before CA requests existed still match.
    ...(input.ca ? [{ ca: input.ca }] : []),
  ]);
}

/** Once the profile is known: the same request naming it by id or by slug (assertSameRequest). */
function withProfileForms(
  input: IssueInput,
  who: RequestIdentity,
  profile: { id: string; slug: string } | null,
): RequestIdentity {
  if (!profile) return who;
  return {
    ...who,
    equivalent: {
      profileId: profile.id,
      fingerprints: () => [profile.id, profile.slug].map((ref) => issueFingerprint(input, ref)),
    },
  };
}

/**
 * One round trip: the profile (by id or slug), its policy and CA, and the prior request of the
 * same (caller, request_id) unless this is a dry run. Undefined for an empty profile reference.
 * Held rows only for a CSR that is to be issued: a dry run answers on rows read now, and a key
 * certmint generates is not generated for a request_id that turns out to be a replay.
 */
function readProfileAndPrior(
  deps: IssuanceDeps,
  input: IssueInput,
  who: RequestIdentity,
  mayUseHeld: boolean,
): Promise<IssuanceRows> | undefined {
  const key = rowKeyOf(input.profile);
  if (!key) return undefined;
  // A reference nothing can have names no prior request either (none was stored for it).
  checkReference(key, "certificate profile", "certificate_profile");
  const prior =
    who.idempotencyKey && !input.validateOnly
      ? { caller: who.caller, idempotencyKey: who.idempotencyKey }
      : undefined;
  const held = mayUseHeld && input.source.kind === "CSR" && !input.validateOnly;
  return deps.store.issuance.findProfileAndPrior(key, prior, held);
}
