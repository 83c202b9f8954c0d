import { isCertmintError } from "../../errors";
import type { KeyPair } from "../../signer";
import {
  CertificateEntity,
  CertificateRequestEntity,
  type CertificateRequestRow,
} from "../../store/entities";
import type { IssuanceDeps } from "../deps";
import { markFailed } from "./request-rows";
import { signAndStore } from "./sign-and-store";
import type { IssuancePlan, IssueOutcome } from "./types";

/**
 * Signs a PENDING request (serial reserved, intent committed) and returns its outcome. A
 * renewal links old and new certificates in the same transaction. A refusal on the merits
 * (CA disabled meanwhile, validity) marks the request FAILED with its reason.
 */
export async function finish(
  deps: IssuanceDeps,
  plan: IssuancePlan,
  request: CertificateRequestRow | string,
  options: { holdKeyForFetch?: boolean; keyPair?: KeyPair } = {},
): Promise<IssueOutcome> {
  const em = deps.orm.em.fork();
  // The row just inserted is passed as is: one round trip fewer on the hot path.
  const row =
    typeof request === "string"
      ? await em.findOneOrFail(CertificateRequestEntity, { id: request })
      : request;
  const renewalOf = row.renewalOfCertificateId
    ? await em.findOneOrFail(CertificateEntity, { id: row.renewalOfCertificateId })
    : undefined;
  try {
    const result = await signAndStore(deps, plan, row, {
      renewalOf,
      holdKeyForFetch: options.holdKeyForFetch,
      keyPair: options.keyPair,
    });
    return {
      certificateRequestId: row.id,
      status: "ISSUED",
      certificate: result.view,
      privateKeyPem: result.privateKeyPem,
    };
  } catch (err) {
    if (isCertmintError(err) && err.kind !== "internal") {
      await markFailed(em, row.id, err, deps.now());
      err.metadata.certificate_request_id = row.id;
    }
    throw err;
  }
}
