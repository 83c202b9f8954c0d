import type { Call } from "../call";
import type { IssuanceDeps } from "../deps";
import type { CertificateRequest } from "../repositories";
import { policyRefusal } from "./check";
import { requestNamed } from "./find";
import { markFailed } from "./intent";
import { outcomeOf } from "./outcome";
import { issueFieldMapper } from "./plan";
import { renewFieldMapper } from "./renewal-plan";
import { signAndStore } from "./sign-and-store";
import { planFromStored } from "./stored-plan";
import type { IssueOutcome } from "./types";

/**
 * Finishes a PENDING request whose first worker is gone (statusOnceFree found its lock free):
 * its plan rebuilt from the row and checked against the policy as it is now (as approval
 * checks it: a request that waited, for a crash or for an approver who claimed it, is signed
 * only if it still may be), then signed under its reserved serial by signAndStore, which takes
 * the lock again, so of several replays racing for it one signs and the others answer what it
 * stored.
 */
export async function takeOver(
  deps: IssuanceDeps,
  call: Call,
  request: CertificateRequest,
  options: { holdKeyForFetch?: boolean } = {},
): Promise<IssueOutcome> {
  const plan = await planFromStored(deps.store, request);
  const mapField =
    request.kind === "RENEW" ? renewFieldMapper : issueFieldMapper(plan.key.kind === "CSR");
  const refusal = policyRefusal(plan, mapField, "the request (checked again)");
  if (!refusal) return signAndStore(deps, call, plan, request, options);
  if (await markFailed(deps, call, request.id, refusal)) {
    refusal.metadata.certificate_request_id = request.id;
    throw refusal;
  }
  // Another replay settled it meanwhile: answer what it stored.
  return outcomeOf(deps, call, await requestNamed(deps, request.id));
}
