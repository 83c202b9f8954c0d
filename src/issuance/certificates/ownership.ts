import { permissionDenied } from "../../errors";
import type { Actor, Call } from "../call";
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
 *
 * Also open to the token a client certificate authenticated as, for exactly that certificate
 * (the one it presented on this call): the TLS handshake proved that the caller holds its key,
 * and authentication accepted it as this token's (issued to it, or by an admin after the
 * binding: auth/client-certificates.ts), so the key and lineage are the caller's own. This is
 * the README's mTLS bootstrap (an admin issues a bound workload's first client certificate,
 * the workload renews it itself, as step-ca's `step ca renew` renews a certificate with its own
 * mTLS identity). Until stop 44 of 2026-12-06 that renewal was CERTIFICATE_NOT_OWNED (an
 * outside probe): the admin that issued it owned it. Another certificate the workload did not
 * present stays refused.
 */
export function assertMayRenew(
  call: Call,
  certificate: Pick<Certificate, "id" | "owner" | "fingerprintSha256">,
  renewal: RenewalSettings,
): void {
  const { actor } = call;
  if (actor.id === certificate.owner || actor.role === "ADMIN") return;
  if (presentedCertificateOf(actor) === certificate.fingerprintSha256) return;
  if (renewal.allowSharedRenewal) return;
  throw permissionDenied(
    "CERTIFICATE_NOT_OWNED",
    `access token "${actor.slug}" does not own certificate ${certificate.id} and its profile does not allow shared renewal (renewal.allow_shared_renewal); only the token that holds its key, or an admin, may renew it`,
    { metadata: { certificate_id: certificate.id, access_token: actor.slug } },
  );
}

/** The fingerprint of the client certificate this actor authenticated with, if it did. */
export function presentedCertificateOf(actor: Actor): string | undefined {
  return actor.clientCertificateSha256;
}
