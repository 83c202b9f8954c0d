import type { Actor } from "../call";
import type { Certificate } from "../repositories";

/**
 * A certificate certmint issues is a credential too: it authenticates as a client certificate
 * binding's token when that token requested it, or an admin token did after the binding was
 * made (auth/client-certificates.ts mayPresent). What a token creates lasts no longer than the
 * token (access-tokens/lifetime.ts), and that holds for these certificates as it does for the
 * tokens it creates: each records, as `authenticatesUntil`, the earliest of
 *  - the expiry of the token whose call had it issued, unless that token bounds nothing it
 *    creates (certmint's first admin token: lifetime.ts boundsWhatItCreates);
 *  - the bound of the client certificate that call authenticated with (a workload renewing the
 *    certificate an admin issued it, over mTLS, renews within the admin's life);
 *  - for a renewal, the bound of the certificate renewed (a renewal continues its lineage, so
 *    neither certmint's server-driven renewal nor a longer-lived caller lifts it).
 * Past it, authentication refuses the certificate (CLIENT_CERTIFICATE_CREATOR_EXPIRED), while
 * the certificate itself stays valid for whatever else it serves (TLS to other services): its
 * notAfter is the profile's, not cut. Until stop 56 of 2026-12-07 an admin token with an hour
 * left issued a year-long client certificate for an existing admin binding, so one leak of a
 * CI job's hour-long admin token was an admin credential for a year.
 *
 * Recorded on the request when it is made (an approval signs it later, on the requester's
 * behalf) and copied to its certificate. Certificates issued before stop 56 got theirs at the
 * upgrade, rebuilt from their requests' callers and lineages
 * (Migration20261207210000LegacyCredentialLifetime).
 */
export function authenticatesUntil(
  actor: Pick<Actor, "credentialsUntil">,
  renewalOf?: Pick<Certificate, "authenticatesUntil">,
): Date | null {
  return earliest(actor.credentialsUntil ?? null, renewalOf?.authenticatesUntil ?? null);
}

/**
 * The access tokens whose authority the new certificate rests on, for RevokeAccessToken with
 * revoke_created_tokens (access-tokens/line.ts), which takes the certificates its line vouched
 * for as well as those it requested: the caller's (its token, and the tokens its client
 * certificate was vouched for by) and, for a renewal, the certificate renewed's (or its owner,
 * for one issued before stop 56). Otherwise a workload's renewal over mTLS with a new key, its
 * own (Certificate.owner), outlived the cut of the leaked admin line that issued its first
 * certificate.
 */
export function vouchedBy(
  actor: Pick<Actor, "vouchers">,
  renewalOf?: Pick<Certificate, "vouchedBy" | "owner">,
): string[] {
  const lineage = renewalOf ? certificateVouchers(renewalOf) : [];
  return [...new Set([...(actor.vouchers ?? []), ...lineage])];
}

/**
 * Every token a certificate rests on: its owner and its recorded vouchers. A row records only
 * the vouchers besides the one who keeps it (a request's caller, a certificate's owner), null
 * when there are none: the usual issuance, an issuer's own, records nothing (the line's walk
 * reads the owner already), and a row made before stop 56 reads as its owner alone.
 */
export function certificateVouchers(c: Pick<Certificate, "vouchedBy" | "owner">): string[] {
  return c.vouchedBy ? [...new Set([c.owner, ...c.vouchedBy])] : [c.owner];
}

/** `vouchers` without `keeper` (the row's caller or owner), as a row records them: null if none. */
export function recordedVouchers(
  vouchers: readonly string[] | null | undefined,
  keeper: string,
): string[] | null {
  const others = (vouchers ?? []).filter((id) => id !== keeper);
  return others.length > 0 ? others : null;
}

/**
 * What a token or an EAB key made by this caller records as its vouchers besides its creator
 * (the caller): the tokens the caller's client certificate rests on; null when the caller called
 * with its own secret (its creator alone vouches, as lines have always been walked).
 */
export function lineVouchers(actor: Pick<Actor, "id" | "vouchers">): string[] | null {
  return recordedVouchers(actor.vouchers, actor.id);
}

/** The earlier of two bounds, null meaning none. */
export function earliest(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a.getTime() <= b.getTime() ? a : b;
}
