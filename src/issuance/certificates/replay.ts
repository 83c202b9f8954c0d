import { CertmintError } from "../../errors";
import type { Call } from "../call";
import type { IssuanceDeps } from "../deps";
import type { CertificateRequest } from "../repositories";
import { finishClaimOnReplay } from "./approval";
import { requestNamed } from "./find";
import { assertSameRequest, statusOnceFree } from "./idempotency";
import type { RequestIdentity } from "./intent";
import { outcomeOf } from "./outcome";
import { takeOver } from "./takeover";
import type { IssueOutcome } from "./types";

/** The request the caller made before with this idempotency key, if any (read fresh). */
export function findPrior(
  deps: Pick<IssuanceDeps, "store">,
  who: Pick<RequestIdentity, "caller" | "idempotencyKey">,
): Promise<CertificateRequest | null> {
  return deps.store.requests.findByIdempotencyKey(who.caller, who.idempotencyKey!);
}

/**
 * A repeated request_id: the same answer as the first call, never a second certificate; the
 * same request_id with another request is ALREADY_EXISTS.
 */
export async function replay(
  deps: IssuanceDeps,
  call: Call,
  prior: CertificateRequest,
  who: Pick<RequestIdentity, "fingerprint" | "idempotencyKey" | "equivalent">,
): Promise<IssueOutcome> {
  assertSameRequest(prior, who.fingerprint, who.idempotencyKey!, who.equivalent);
  if (prior.status === "PENDING") {
    // Only an approved request (or one a version that recorded the intent before signing
    // left) is ever PENDING. Another call is signing it (it holds the request's lock: wait for
    // it, bounded by this call's deadline), or the call that reserved its serial is gone (its
    // replica died: the lock is free and the request still PENDING): nobody received a
    // certificate, so take it over and sign it under the same reserved serial.
    if ((await statusOnceFree(deps, call, prior.id)) !== "PENDING") {
      return outcomeOf(deps, call, await requestNamed(deps, prior.id));
    }
    // Read again: the claim as it is now, with the approver it names (claimedBy).
    const claimed = await requestNamed(deps, prior.id);
    if (claimed.status !== "PENDING") return outcomeOf(deps, call, claimed);
    // An approval's claim: finished as that approval, its checks made again (approval.ts).
    // Until stop 47 of 2026-12-06 it was signed after the policy check only.
    if (claimed.claimedBy) {
      return finishClaimOnReplay(deps, call, { ...claimed, claimedBy: claimed.claimedBy });
    }
    // No approval recorded on it: a claim or a recorded intent of a version before the column.
    return takeOver(deps, call, claimed);
  }
  return outcomeOf(deps, call, prior);
}

/** A concurrent call recorded the same (caller, request_id) first: this call replays it. */
export async function replayWinner(
  deps: IssuanceDeps,
  call: Call,
  who: RequestIdentity,
): Promise<IssueOutcome> {
  const winner = await findPrior(deps, who);
  if (!winner) {
    throw new CertmintError("internal", "REQUEST_VANISHED", "the certificate request disappeared");
  }
  return replay(deps, call, winner, who);
}
