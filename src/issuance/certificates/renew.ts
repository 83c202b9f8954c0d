import type { Call } from "../call";
import type { IssuanceDeps } from "../deps";
import { findCertificateFor } from "../profiles/access";
import { decideAndIssue } from "./decide";
import { requestNamed } from "./find";
import { requestFingerprint } from "./idempotency";
import type { RequestIdentity } from "./intent";
import { assertRenewable, planRenewal, renewFieldMapper } from "./renewal-plan";
import { findPrior, replay } from "./replay";
import type { IssueOutcome, RenewInput } from "./types";

/**
 * RenewCertificate: a successor with the same profile, subject and SANs, the original lifetime
 * unless a TTL is given, checked against the policy as it is now. Refused for revoked or
 * already renewed certificates and disabled CAs, and for a caller that may not renew this
 * certificate (ownership.ts). The two certificates point at each other. The steps of issue.ts
 * (3 to 6 in decide.ts):
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
  // 1. The certificate (another profile's is NOT_FOUND, as a missing one: profiles/access.ts),
  // and a replay. The prior request is read in the same round trip as the certificate's
  // profile, its policy and its CA.
  const old = await findCertificateFor(
    deps.store,
    call,
    input.certificateId,
    "certificate_id",
    deps,
  );
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

  // 3-6. Check against the policy as it is now, stop for a dry run or an approver, generate
  // the key, sign and store (with the old certificate's link to its successor).
  return decideAndIssue(deps, call, plan, who, {
    mapField: renewFieldMapper,
    what: "the renewal (checked against the policy as it is now)",
    validateOnly: input.validateOnly,
    renewalOf: old,
  });
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
