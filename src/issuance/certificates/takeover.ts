import type { EntityManager } from "@mikro-orm/postgresql";
import { CertificateRequestEntity, type CertificateRequestRow } from "../../store/entities";
import type { IssuanceDeps } from "../deps";
import { finish } from "./finish";
import { outcomeOf } from "./outcome";
import { checkPlan, issueFieldMapper } from "./plan";
import { renewFieldMapper } from "./renew";
import { markFailed } from "./request-rows";
import { planFromStored } from "./stored-plan";
import { policyViolation } from "./submit";
import type { IssueOutcome } from "./types";

/**
 * Finishes a PENDING request whose first worker is gone (statusOnceFree found its lock free):
 * its plan rebuilt from the row and checked against the policy as it is now (as approval
 * checks it: a request that waited, for a crash or for an approver who claimed it, is signed
 * only if it still may be), then signed under its reserved serial by finish, which takes the
 * lock again, so of several replays racing for it one signs and the others answer what it
 * stored.
 */
export async function takeOver(
  deps: IssuanceDeps,
  em: EntityManager,
  request: CertificateRequestRow,
): Promise<IssueOutcome> {
  const plan = await planFromStored(deps.store, request);
  const mapField =
    request.kind === "RENEW" ? renewFieldMapper : issueFieldMapper(plan.key.kind === "CSR");
  const violations = checkPlan(plan, mapField);
  if (violations.length === 0) return finish(deps, plan, request);
  const err = policyViolation(violations, plan.profile.slug, "the request (checked again)");
  if (await markFailed(em, request.id, err, deps.now())) {
    err.metadata.certificate_request_id = request.id;
    throw err;
  }
  // Another replay settled it meanwhile: answer what it stored.
  const settled = await em.findOneOrFail(
    CertificateRequestEntity,
    { id: request.id },
    { refresh: true },
  );
  return outcomeOf(deps, em, settled);
}
