import { permissionDenied } from "../../errors";
import type { Call } from "../call";
import type { RenewalSettings } from "../profiles/types";
import type { Certificate } from "../repositories";

/**
 * Who may renew a certificate (issue 10.3). A certificate's owner is the access token that
 * holds its private key (Certificate.owner, set by sign.ts): the requester of an
 * issuance, the caller of a NEW or CSR renewal, and for a REUSE renewal the owner of the
 * certificate renewed. Renewal is open to
 *  - its owner;
 *  - an admin token;
 *  - any token that may act on the profile, when the profile sets
 *    renewal.allow_shared_renewal (replicas of one service, each with its own token).
 * A renewal grants no name a token could not get anyway (any issuer of the profile may issue
 * the same names); what needs guarding is the key and the lineage: a stored private key is
 * returned only to the owner (outcome.ts), whoever renews, and a refused renewal writes
 * nothing, so the owner can still renew. RevokeCertificate stays admin-only.
 */
export function assertMayRenew(
  call: Call,
  certificate: Pick<Certificate, "id" | "owner">,
  renewal: RenewalSettings,
): void {
  const { actor } = call;
  if (actor.id === certificate.owner || actor.role === "ADMIN") return;
  if (renewal.allowSharedRenewal) return;
  throw permissionDenied(
    "CERTIFICATE_NOT_OWNED",
    `access token "${actor.slug}" does not own certificate ${certificate.id} and its profile does not allow shared renewal (renewal.allow_shared_renewal); only the token that holds its key, or an admin, may renew it`,
    { metadata: { certificate_id: certificate.id, access_token: actor.slug } },
  );
}
