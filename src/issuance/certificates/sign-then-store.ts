import { CA_SIGNING_REFUSED, signingGuardError } from "../../database-outage";
import { CertmintError, failedPrecondition, isCertmintError, unauthenticated } from "../../errors";
import { spkiSha256Of } from "../../signer";
import { changeRecord, forgetChangeRecord } from "../audit/record";
import { noteRevokedAbove, requireActive } from "../ca/load";
import { refuseTakenCaName } from "../ca/new-ca";
import {
  type Call,
  credentialLineCut,
  isAcmeCall,
  refuseIfAbandoned,
  requesterInForce,
} from "../call";
import type { IssuanceDeps } from "../deps";
import { policyRowOf } from "../policies/compiled-cache";
import type {
  Certificate,
  CertificateRequest,
  DecidedRules,
  IssuanceStored,
  SignedIssuance,
} from "../repositories";
import { keyBlocked } from "./blocked-keys";
import { checkIssuerState } from "./check";
import { newRequest, type RequestIdentity, recordRefusal, reserveSerial } from "./intent";
import type { CertifiedKey } from "./keys";
import { issuedOutcome } from "./outcome";
import { assertRenewable } from "./renewal-plan";
import { findPrior, replay, replayWinner } from "./replay";
import { type SignedCertificate, sign } from "./sign";
import type { IssuancePlan, IssueOutcome } from "./types";

/**
 * How often a serial that is already taken is replaced before giving up. With 128 random bits
 * per serial (RFC 5280 4.1.2.2 asks for at least 64) a second conflict in a row does not
 * happen; the bound only keeps a broken random source from looping.
 */
const SERIAL_ATTEMPTS = 3;

/**
 * Thrown by signThenStore, having written nothing, for an issuance planned on held rows
 * (IssuancePlan.heldRows) that would be refused while signing or whose rows changed since:
 * issue.ts decides it again on rows read now. Never leaves issue().
 */
export class HeldRowsChanged extends Error {
  constructor() {
    super("the rows an issuance was planned on changed, or would refuse it");
  }
}

/**
 * The last step of issue and renew without approval: sign first, then store the request
 * (ISSUED), the certificate, the audit record and, for a renewal, the renewed certificate's
 * link to it, in one statement and one durable commit (storeIssuance). Nothing about the
 * request is written before it is signed: a signature that never left the process is not an
 * issuance, and the answer leaves only after the commit. The issue's guarantees hold so:
 *  - no certificate leaves certmint before it is durably stored: the answer is built from
 *    what committed, after the commit;
 *  - a serial is never reused: 128 random bits per serial, and the unique (CA, serial) index;
 *    on a conflict the statement wrote nothing, and the certificate is signed again under a
 *    new serial;
 *  - a request_id never yields two certificates: two concurrent calls with one (caller,
 *    request_id) may both sign, but the unique index lets one insert win (the other waits for
 *    its commit and inserts nothing); the loser drops its certificate, which never left the
 *    process, and answers what the winner stored, exactly as a replay does (replay.ts);
 *  - a crash leaves nothing to resolve: before the commit nothing was written, so a replay of
 *    the request_id simply issues; after it, the replay returns what was stored.
 * A refusal on the merits while signing (the issuer's state, checked again with the validity
 * as of now) is recorded FAILED as the policy step records one. PENDING requests (approval, and
 * rows written by versions that recorded the intent first) are finished under the request's
 * lock instead (sign-and-store.ts).
 */
export async function signThenStore(
  deps: IssuanceDeps,
  call: Call,
  plan: IssuancePlan,
  who: RequestIdentity,
  key: CertifiedKey,
  renewalOf?: Certificate,
): Promise<IssueOutcome> {
  for (let attempt = 1; ; attempt++) {
    // A caller that stopped waiting (deadline, cancel) gets nothing signed, and nothing is
    // written: its request_id stays free for a retry.
    refuseIfAbandoned(call);
    const request = newRequest(plan, who, "ISSUED", deps.now(), { serial: reserveSerial() });
    let signed: SignedCertificate;
    try {
      const validity = checkIssuerState(deps, plan);
      signed = await sign(deps, plan, request, key, validity, { renewalOf });
    } catch (err) {
      if (!isCertmintError(err) || err.kind === "internal") throw err;
      // Not refused on held rows: they may be older than the reason (issue.ts reads again).
      if (plan.heldRows) throw new HeldRowsChanged();
      if (await recordRefusal(deps, call, plan, who, err)) return replayWinner(deps, call, who);
      throw err;
    }
    const stored = await storeSigned(deps, call, plan, key, renewalOf, {
      request: issuedRow(request, signed),
      certificate: signed.certificate,
      audit: changeRecord(
        call,
        { type: "certificate_request", id: request.id },
        signed.request.updatedAt,
      ),
      heldRows: plan.heldRows,
    });
    if (stored === "stored") {
      return issuedOutcome(deps, call, plan, request.id, signed, renewalOf !== undefined);
    }
    // Nothing was written, the audit record neither: this call's certificate is dropped.
    forgetChangeRecord(call);
    if (stored === "rows-changed") throw new HeldRowsChanged();
    if (stored === "rules-changed") {
      if (plan.heldRows) throw new HeldRowsChanged();
      throw rulesChanged(plan);
    }
    if (stored === "caller-revoked") {
      if (isAcmeCall(call)) {
        // RFC 8555 7.3.6: a deactivated account's requests are refused `unauthorized` (an
        // admin's revocation too, 7.1.2: RevokeAcmeAccount); the ACME finalize
        // (acme/handlers/orders.ts) answers so and makes the order invalid.
        throw unauthenticated(
          "ACCOUNT_DEACTIVATED",
          `ACME account ${call.actor.id} was deactivated or revoked while this order was being finalized (RFC 8555 7.3.6, 7.1.2); nothing was stored`,
        );
      }
      throw unauthenticated(
        "TOKEN_REVOKED",
        `access token "${call.actor.slug}" was revoked before this certificate could be stored; nothing was stored`,
      );
    }
    if (stored === "line-cut") throw credentialLineCut("nothing was stored");
    if (stored === "key-blocked" || stored === "ca-inactive") {
      const refusal = stored === "key-blocked" ? keyBlocked(plan) : await issuerRefusal(deps, plan);
      if (await recordRefusal(deps, call, plan, who, refusal)) return replayWinner(deps, call, who);
      throw refusal;
    }
    if (stored === "serial-taken" && attempt < SERIAL_ATTEMPTS) continue;
    if (stored === "duplicate") return replayWinner(deps, call, who);
    if (stored === "renewed-meanwhile") return renewedMeanwhile(deps, call, who);
    throw new CertmintError(
      "internal",
      "SERIAL_CONFLICT",
      `${SERIAL_ATTEMPTS} fresh serials in a row were already taken`,
    );
  }
}

/**
 * Stores the signed issuance.
 *  - An ACME finalize is stored only while its account's status is still 'valid', its row held
 *    FOR SHARE likewise (SignedIssuance.accountInForce): deactivated meanwhile (RFC 8555
 *    7.3.6), it stores nothing (UNAUTHENTICATED ACCOUNT_DEACTIVATED, an ACME `unauthorized`).
 *  - An issuance by an access token (any role) is stored only while the token is not revoked,
 *    its row held FOR SHARE by the same statement to its commit (SignedIssuance.callerInForce):
 *    once RevokeAccessToken of it answered OK it stores nothing ("caller-revoked", answered
 *    UNAUTHENTICATED TOKEN_REVOKED). A certificate is a credential (an admin binding, or another
 *    service's mTLS client); until stop 45 of 2026-12-06 an admin's issuance in flight stored its
 *    certificate seconds after the admin's revocation (an outside probe), until stop 46 an
 *    issuer's. Still one statement and one round trip, batched with concurrent calls' (the
 *    batch locks each distinct caller's row once): a transaction across round trips would hold
 *    its locks for as long as a stalled network keeps its session
 *    (test/probe/outage-stall.test.ts).
 *  - A new CA certificate is stored under its issuer's names lock, after the one-name-per-CA
 *    rule is decided again on the names committed by then (RFC 5280 4.1.2.6; plan.ts decided
 *    it outside any transaction); a refusal (ALREADY_EXISTS CA_SUBJECT_TAKEN) writes nothing, as
 *    one at planning does. A renewal continues its certificate's entity and is not checked.
 */
async function storeSigned(
  deps: IssuanceDeps,
  call: Call,
  plan: IssuancePlan,
  key: CertifiedKey,
  renewalOf: Certificate | undefined,
  signedIssuance: SignedIssuance,
): Promise<IssuanceStored> {
  const ca = plan.ca;
  // Every caller with an access_token row: a bearer token, or a client certificate bound to a
  // token (the actor is that token), of any role. An issuer's certificate is a credential too
  // (mTLS clients of other services); until stop 46 of 2026-12-06 only an admin's store was
  // guarded, and an issuer's issuance in flight stored its certificate after RevokeAccessToken
  // of it answered OK. certmint's own calls (SYSTEM_ACTOR, automatic renewal: the nil UUID)
  // and ACME accounts (acme/acting.ts: an account id, no token row) have none.
  // An ACME finalize's account (the actor) is held instead, stored only while its status is
  // still 'valid' (accountInForce): deactivated (RFC 8555 7.3.6: the server "MUST NOT accept
  // further requests authorized by that account's key") once its finalize had started, it
  // stores nothing ("caller-revoked"). Until stop 47 of 2026-12-06 a finalize checked the
  // account when it started, not when it stored, and an account deactivated meanwhile still got
  // the certificate.
  const rules = rulesOf(plan);
  const issuance: SignedIssuance = {
    ...signedIssuance,
    ...requesterInForce(call),
    ...(rules ? { rules } : {}),
  };
  try {
    if (!ca || !plan.isCa || renewalOf) return await deps.store.issuance.storeIssuance(issuance);
    const spki = spkiSha256Of(key.publicKey);
    return await deps.store.issuance.storeCaIssuance(issuance, ca.id, (now) =>
      refuseTakenCaName(now.names, ca.id, plan.subject, spki),
    );
  } catch (err) {
    // Nothing was written (a refusal, or a profile deleted meanwhile: NOT_FOUND), the audit
    // record neither: the API layer records the failure instead.
    forgetChangeRecord(call);
    throw err;
  }
}

/**
 * The profile and policy versions the plan was decided on (SignedIssuance.rules): stored only
 * while they are current, under a lock an edit of either waits for. Undefined when the policy's
 * row is not known (a compiled policy not from the cache), which stores as before.
 */
export function rulesOf(plan: IssuancePlan): DecidedRules | undefined {
  const policy = policyRowOf(plan.policy);
  if (!policy) return undefined;
  return {
    profileId: plan.profile.id,
    profileVersion: plan.profile.version,
    policyId: policy.id,
    policyVersion: policy.version,
  };
}

/**
 * The call's profile or policy was edited (or deleted) after it was decided: nothing was stored.
 * IssueCertificate and ACME finalize decide again at once on the rules as they are now
 * (issue.ts); a renewal answers ABORTED, to be retried, which decides it on them too.
 */
export function rulesChanged(plan: IssuancePlan): CertmintError {
  return new CertmintError(
    "aborted",
    "RULES_CHANGED",
    `certificate profile "${plan.profile.slug}" or its policy was changed while this certificate was signed; nothing was stored: retry, and it is decided on the rules as they are now`,
  );
}

/** The request as it is stored: ISSUED, naming its certificate, a generated key held or not. */
function issuedRow(request: CertificateRequest, signed: SignedCertificate): CertificateRequest {
  return {
    ...request,
    certificateId: signed.certificate.id,
    updatedAt: signed.request.updatedAt,
    sealedPrivateKey: signed.request.sealedPrivateKey,
    keyHeldUntil: signed.request.keyHeldUntil,
  };
}

/**
 * The renewed certificate was renewed or revoked since it was read. When that was a concurrent
 * call with the same request_id (it linked its own successor first), this call replays it;
 * otherwise the renewal is refused, and nothing was written.
 */
async function renewedMeanwhile(
  deps: IssuanceDeps,
  call: Call,
  who: RequestIdentity,
): Promise<IssueOutcome> {
  const winner = who.idempotencyKey ? await findPrior(deps, who) : null;
  if (winner) return replay(deps, call, winner, who);
  // Which of the two, as a renewal that started after it is told: CERTIFICATE_REVOKED, or
  // CERTIFICATE_ALREADY_RENEWED naming the successor. Until stop 40 of 2026-12-05 a renewal
  // that lost to a revocation was told ALREADY_RENEWED, and a client looked for a successor
  // that does not exist (an outside probe).
  const now = who.renewalOfCertificateId
    ? await deps.store.certificates.findById(who.renewalOfCertificateId)
    : null;
  if (now) assertRenewable(now);
  throw failedPrecondition(
    "CERTIFICATE_ALREADY_RENEWED",
    "the certificate was renewed or revoked meanwhile",
  );
}

/**
 * Why the store refused a certificate whose CA was revoked or disabled while it was signed
 * (certmint_ca_signs): the CA as it is now says so (CA_REVOKED, CA_DISABLED), as it would have
 * to a call that started after the change. A CA above it revoked meanwhile left it DISABLED
 * (ca/revoke.ts disables every CA below a revoked one), which requireActive names as the
 * revocation only once noteRevokedAbove has looked: until stop 46 of 2026-12-06 it did not
 * here, and the losers of that race were told CA_DISABLED, "enable it", which is refused for
 * good: a CA's revocation is final (certificateHold, RFC 5280 5.3.1, is refused for a CA,
 * ca/revoke.ts), so nothing below it signs again.
 */
async function issuerRefusal(deps: IssuanceDeps, plan: IssuancePlan): Promise<CertmintError> {
  const now = plan.ca ? await deps.store.cas.find({ id: plan.ca.id }) : null;
  if (now) await noteRevokedAbove(deps.store.cas, now);
  try {
    if (now) requireActive(now);
  } catch (err) {
    if (isCertmintError(err)) return err;
    throw err;
  }
  return signingGuardError({ code: CA_SIGNING_REFUSED }) as CertmintError;
}
