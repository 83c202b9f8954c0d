import { CertmintError } from "../../errors";
import { CertificateRequestEntity } from "../../store/entities";
import { rowKeyOf } from "../common/refs";
import type { IssuanceDeps } from "../deps";
import { profileReferenceMissing } from "../profiles/load";
import { assertSameRequest, findPrior, requestFingerprint, statusOnceFree } from "./idempotency";
import { outcomeOf } from "./outcome";
import { issueFieldMapper, planIssue } from "./plan";
import type { RequestIdentity } from "./request-rows";
import { submit } from "./submit";
import { takeOver } from "./takeover";
import type { IssueInput, IssueOutcome } from "./types";

/**
 * IssueCertificate, one linear function (after Boulder's ca.IssueCertificate):
 *  0. a repeated request_id returns what the first call decided;
 *  1-3. resolve profile, policy and issuer; fill defaults; identity and key from CSR or attributes;
 *  4. check the policy, collecting every violation; a refusal is recorded as FAILED;
 *  5. validate_only stops here; a profile that needs approval stores PENDING_APPROVAL;
 *  6. reserve the serial and record the request (committed) before signing;
 *  7. sign, then store the certificate and mark the request ISSUED in one transaction.
 */
export async function issue(deps: IssuanceDeps, input: IssueInput): Promise<IssueOutcome> {
  const em = deps.orm.em.fork();
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
  const who: RequestIdentity = {
    caller: input.caller,
    requestId: input.requestId,
    fingerprint,
    kind: "ISSUE",
  };

  // 0. Idempotency, read in the same round trip as the profile, its policy and its CA
  // (store/raw-read.ts); a prior request decides before anything about the profile is checked.
  const prior =
    input.requestId && !input.validateOnly
      ? { caller: input.caller, requestId: input.requestId }
      : undefined;
  const key = rowKeyOf(input.profile);
  // An empty reference leaves only the prior request to look up (REFERENCE_MISSING after it).
  const rows = key
    ? await deps.store.issuance.findProfileAndPrior(
        key,
        prior && { caller: prior.caller, idempotencyKey: prior.requestId },
      )
    : undefined;
  const priorId = rows
    ? rows.priorRequestId
    : prior && (await findPrior(em, prior.caller, prior.requestId))?.id;
  if (priorId) return replay(deps, priorId, fingerprint, prior!.requestId);
  if (!rows) throw profileReferenceMissing();

  // 1-3. The plan. Errors before the profile is known are not recorded (there is no row to own them).
  const plan = await planIssue(deps.store, input, rows);

  // 4-7. Check, record, sign and store.
  return submit(deps, em, plan, who, {
    mapField: issueFieldMapper(input.source.kind === "CSR"),
    validateOnly: input.validateOnly,
    what: "the request",
  });
}

/** A repeated request_id: the same answer as the first call, never a second certificate. */
export async function replay(
  deps: IssuanceDeps,
  priorId: string | undefined,
  fingerprint: string,
  requestId: string,
  caller?: string,
): Promise<IssueOutcome> {
  const em = deps.orm.em.fork();
  const prior = priorId
    ? await em.findOneOrFail(CertificateRequestEntity, { id: priorId })
    : await findPrior(em, caller!, requestId);
  if (!prior)
    throw new CertmintError("internal", "REQUEST_VANISHED", "the certificate request disappeared");
  assertSameRequest(prior, fingerprint, requestId);
  if (prior.status === "PENDING") {
    // Another call is signing it (it holds the request's lock: wait for it, bounded by this
    // call's deadline), or the call that reserved its serial is gone (its replica died: the
    // lock is free and the request still PENDING): nobody received a certificate, so take it
    // over and sign it under the same reserved serial.
    if ((await statusOnceFree(em, prior.id)) === "PENDING") return takeOver(deps, em, prior);
    await em.refresh(prior);
  }
  return outcomeOf(deps, em, prior);
}
