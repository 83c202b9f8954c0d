import { failedPrecondition, isCertmintError } from "../../errors";
import { caIssuer } from "../ca/load";
import type { Call } from "../call";
import type { IssuanceDeps } from "../deps";
import { findCertificateFor } from "../profiles/access";
import type { Certificate } from "../repositories";
import { authenticatesUntil, vouchedBy } from "./credential-lifetime";
import { decideAndIssue } from "./decide";
import { requestNamed } from "./find";
import { isAutoRenewalRequestId, requestFingerprint, reservedRequestId } from "./idempotency";
import type { RequestIdentity } from "./intent";
import { assertRenewable, planRenewal, renewFieldMapper } from "./renewal-plan";
import { findPrior, replay } from "./replay";
import type { IssuancePlan, IssueOutcome, RenewInput } from "./types";

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
  decidedAgain = 0,
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
  const who = renewIdentity(input, old, call);
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
  if (!input.automatic && isAutoRenewalRequestId(who.idempotencyKey)) {
    throw reservedRequestId(who.idempotencyKey!);
  }

  // 2. Plan.
  // A deleted profile leaves its certificates' profile_id as it was: the row is gone, not the
  // reference. Refused on the certificate's state, as assertRenewable would (until stop 51 of
  // 2026-12-07 NOT_FOUND CERTIFICATE_PROFILE_NOT_FOUND, naming a field the request does not
  // have: an outside probe, RENEWAL F3).
  if (rows && !rows.profile) assertRenewable({ ...old, profileId: null });
  assertRenewable(old);
  // rows: read for every certificate with a profile, and assertRenewable refused any other.
  const plan = await planRenewal(deps, call, old, input, rows!);
  if (input.automatic) refuseRenewalThatEndsNoLater(deps, plan, old);

  // 3-6. Check against the policy as it is now, stop for a dry run or an approver, generate
  // the key, sign and store (with the old certificate's link to its successor).
  try {
    return await decideAndIssue(deps, call, plan, who, {
      mapField: renewFieldMapper,
      what: "the renewal (checked against the policy as it is now)",
      validateOnly: input.validateOnly,
      renewalOf: old,
    });
  } catch (err) {
    // As issue.ts: the profile or policy was edited while it was signed, nothing was stored,
    // and the renewal is decided again on the rules as they are now.
    if (!(isCertmintError(err) && err.reason === "RULES_CHANGED") || decidedAgain >= 3) throw err;
    return renew(deps, call, input, decidedAgain + 1);
  }
}

function renewIdentity(
  input: RenewInput,
  old: Pick<Certificate, "id" | "authenticatesUntil" | "vouchedBy" | "owner">,
  call: Call,
): RequestIdentity {
  const oldId = old.id;
  // A server-driven renewal's TTL is the profile's default at that moment, which nothing tells
  // the owner: its replay by the owner (README "Server-driven renewal") names the certificate
  // and the request_id, and is the same request whatever TTL it sends (until stop 51 of
  // 2026-12-07 it was REQUEST_ID_REUSED unless it sent that TTL: an outside probe, RENEWAL F5).
  const automatic = isAutoRenewalRequestId(input.idempotencyKey);
  const fingerprint = requestFingerprint([
    "renew",
    oldId,
    input.keySource ?? null,
    input.csrPem ?? null,
    input.keyAlgorithm ?? null,
    automatic ? null : (input.ttlSeconds ?? null),
  ]);
  return {
    caller: input.caller,
    authenticatesUntil: authenticatesUntil(call.actor, old),
    vouchedBy: vouchedBy(call.actor, old),
    idempotencyKey: input.idempotencyKey,
    fingerprint,
    kind: "RENEW",
    renewalOfCertificateId: oldId,
  };
}

/**
 * A server-driven renewal whose certificate would end no later than the one it renews: its
 * issuing CA (or a CA above it) ends first, and a profile that truncates validity to it cuts
 * every successor to that same end. Refused (FAILED_PRECONDITION RENEWAL_WOULD_NOT_EXTEND), so
 * the renewer records the failure (RENEWAL_FAILED to watchers, retried with backoff) instead of renewing on
 * every tick: once a successor was cut to the CA's end its renewal time had passed, and until
 * stop 40 of 2026-12-05 the renewer made a new certificate and key every second until the CA
 * expired (an outside probe: 57 successors of one certificate in the CA's last minute).
 * The way out is a new CA for the profile (see the README, "Rolling a CA over").
 */
function refuseRenewalThatEndsNoLater(
  deps: IssuanceDeps,
  plan: IssuancePlan,
  old: Pick<Certificate, "id" | "notAfter">,
): void {
  if (!plan.ca) return;
  // The earliest end on the CA's path, an outside chain's included (signer/issuer.ts). A
  // renewal with a shorter TTL that ends before the old certificate is fine (rotating a key
  // early): only an issuer that ends no later than the old certificate makes every successor so.
  const issuerEnd = caIssuer(deps, plan.ca).pathNotAfter ?? plan.ca.notAfter;
  if (!issuerEnd || issuerEnd.getTime() > old.notAfter.getTime()) return;
  throw failedPrecondition(
    "RENEWAL_WOULD_NOT_EXTEND",
    `certificate ${old.id} lasts until ${old.notAfter.toISOString()}, and certificate authority "${plan.ca.slug}" (or a CA above it) ends at ${issuerEnd.toISOString()}: no renewal can end later; give profile "${plan.profile.slug}" a CA that lasts longer (create one, then UpdateCertificateProfile certificate_authority) and renew then`,
    {
      preconditions: [
        {
          type: "ISSUER_VALIDITY",
          subject: `certificate_authorities/${plan.ca.slug}`,
          description: `ends at ${issuerEnd.toISOString()}, no later than certificate ${old.id}`,
        },
      ],
    },
  );
}
