import { isCertmintError } from "../errors";
import { earliest } from "../issuance/certificates/credential-lifetime";
import type {
  AccessToken,
  AccessTokenRepository,
  CaRepository,
  CertificateRepository,
} from "../issuance/repositories";
import { CaDirectory, NO_CLIENT_TRUST } from "./ca-directory";
import { resolveClientCertificate } from "./client-certificates";
import { storedCertificateIdentity } from "./peer-identity";

/**
 * Which admin credentials are usable: the one definition the last-admin guard
 * (access-tokens/last-admin.ts: RevokeAccessToken, RevokeCertificate,
 * RevokeCertificateAuthority) and the start-up's first admin token (bootstrap.ts) share.
 *
 * An admin token in force (not revoked, not expired) is usable when
 *  - it is a bearer token (no client certificate binding): its secret authenticates it;
 *  - its binding names a certmint CA and at least one certificate certmint issued
 *    authenticates as it now: not revoked (a hold included), valid now, usable for TLS
 *    client authentication (RFC 5280 4.2.1.12), and accepted by authentication's own code
 *    (client-certificates.ts resolveClientCertificate: the identity presented, no CA on its
 *    issuing path revoked, issued to the token or to an admin after the binding, no
 *    ambiguity), against the CAs as the caller's transaction sees them.
 * A binding no certificate was ever issued for, or whose certificates are all revoked, expired
 * or below a revoked CA, is not: nobody can present it. Nor is a binding to a CA outside
 * certmint (issuer_certificate_sha256): certmint cannot see that CA's certificates, so it cannot
 * tell a working one from one whose hash was mistyped (an outside probe of stop 44 locked a
 * database out for good with a binding to a hash of 64 zeros). Until stop 44 of 2026-12-06 every
 * binding that named a CA counted, so the last bearer admin token could be revoked into a
 * lockout that even a restart did not end (an outside probe).
 *
 * Each usable credential says until when it stays usable (`until`: the token's expiry, or the
 * certificate's notAfter if earlier); given `lastingUntil`, it is `lasting` only if it stays
 * usable past that time. The guard counts lasting ones only (last-admin.ts: an admin token
 * that expires a minute later kept the last long-lived one from being revoked, and then
 * expired into a lockout, an outside probe of stop 45, 2026-12-06, F2).
 *
 * Not judged here: whether this server's TLS client CA bundle (CERTMINT_TLS_CLIENT_CA_FILE)
 * trusts the chain, which is each replica's own configuration.
 */
export interface UsableAdmin {
  readonly id: string;
  readonly slug: string;
  /** "bearer", or the id of a certificate that authenticates as it. */
  readonly via: string;
  /** When it stops being usable: the token's expiry, or its certificate's notAfter if earlier. */
  readonly until: Date;
  /** Whether it stays usable past `lastingUntil` (always, when none was asked). */
  readonly lasting: boolean;
}

export interface AdminCredentialStore {
  tokens: Pick<
    AccessTokenRepository,
    "adminsInForce" | "certificatesPresenting" | "findBindings" | "find"
  >;
  certificates: Pick<CertificateRepository, "findIssued" | "findById">;
  cas: Pick<CaRepository, "withCertificates">;
}

/** How many certificates of one binding are tried, the newest first. */
const CANDIDATES_PER_BINDING = 16;

/**
 * The usable admin credentials at `now`, read through `store` (a transaction's, so that the
 * revocation it holds counts), each `lasting` if it stays usable past `lastingUntil`.
 * `firstOnly` stops at the first lasting one found.
 */
export async function usableAdminCredentials(
  store: AdminCredentialStore,
  now: Date,
  firstOnly = false,
  lastingUntil?: Date,
): Promise<UsableAdmin[]> {
  const admins = await store.tokens.adminsInForce(now);
  const found: UsableAdmin[] = [];
  const add = (admin: AccessToken, via: string, until: Date): boolean => {
    const lasting = !lastingUntil || until.getTime() > lastingUntil.getTime();
    found.push({ id: admin.id, slug: admin.slug, via, until, lasting });
    return firstOnly && lasting;
  };
  // Bearer tokens first: no certificate to look at.
  for (const admin of admins) {
    const via = withoutCertificate(admin);
    if (via && add(admin, via, admin.expiresAt)) return found;
  }
  const bound = admins.filter((a) => a.clientIdentity && a.clientCaId && a.clientCaSha256);
  if (bound.length === 0) return found;
  // The CAs as this transaction sees them (a CA revoked in it included), not the cache of
  // authentication, which another replica's revocation reaches within seconds only.
  const cas = new CaDirectory(store.cas, NO_CLIENT_TRUST, 0);
  for (const admin of bound) {
    // The longest-lived certificate that authenticates as it (candidates come the latest
    // notAfter first).
    const certificate = await presentedCertificate(store, cas, admin, now);
    if (!certificate) continue;
    const until =
      certificate.notAfter.getTime() < admin.expiresAt.getTime()
        ? certificate.notAfter
        : admin.expiresAt;
    if (add(admin, certificate.id, until)) return found;
  }
  return found;
}

function withoutCertificate(admin: AccessToken): string | undefined {
  return admin.clientIdentity === null ? "bearer" : undefined;
}

/**
 * Whether an admin bearer token is in force: what the start-up's recovery asks (bootstrap.ts).
 * A binding, however usable it looks from the database, may not be presentable to this server
 * (no mTLS here, a client CA bundle without its CA): a restart must end any lockout.
 */
export async function hasAdminBearerToken(
  store: Pick<AdminCredentialStore, "tokens">,
  now: Date,
): Promise<boolean> {
  return (await store.tokens.adminsInForce(now)).some((a) => a.clientIdentity === null);
}

/**
 * A certificate certmint issued that authenticates as `admin` now, if any: the one usable the
 * longest (its notAfter, or its authenticatesUntil if earlier), as `notAfter`.
 */
async function presentedCertificate(
  store: AdminCredentialStore,
  cas: CaDirectory,
  admin: AccessToken,
  now: Date,
): Promise<{ id: string; notAfter: Date } | undefined> {
  const candidates = await store.tokens.certificatesPresenting(admin, now, CANDIDATES_PER_BINDING);
  let best: { id: string; notAfter: Date } | undefined;
  for (const certificate of candidates) {
    // The identity exactly as a TLS peer's is read (auth/peer-identity.ts).
    const peer = storedCertificateIdentity(certificate);
    if (!peer) continue;
    try {
      const credential = await resolveClientCertificate(
        store.tokens,
        store.certificates,
        cas,
        peer,
        now,
      );
      if (credential.id !== admin.id) continue;
      // Usable until its notAfter, or until the credential that had it issued expires if
      // earlier (certificates/credential-lifetime.ts); the candidates come the latest notAfter
      // first, so the first without such a bound is the longest-lived.
      const until =
        earliest(certificate.notAfter, credential.certificateAuthenticatesUntil ?? null) ??
        certificate.notAfter;
      if (!best || until.getTime() > best.notAfter.getTime()) {
        best = { id: certificate.id, notAfter: until };
      }
      if (until.getTime() === certificate.notAfter.getTime()) return best;
    } catch (err) {
      if (!isCertmintError(err) || err.kind !== "unauthenticated") throw err;
    }
  }
  return best;
}
