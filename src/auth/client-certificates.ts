import { X509Certificate } from "node:crypto";
import { type CertmintError, quoted, unauthenticated } from "../errors";
import { certificateVouchers } from "../issuance/certificates/credential-lifetime";
import { normalizeDnsName, normalizeUri } from "../issuance/policy-engine";
import type {
  AccessTokenRepository,
  BoundCredential,
  Certificate,
  CertificateRepository,
  Credential,
  PresentedIdentities,
} from "../issuance/repositories";
import type { IssuingLink } from "../signer";
import type { CaDirectory, KnownCas } from "./ca-directory";
import type { CrlVerdict } from "./client-crls";
import type { PeerIdentity } from "./peer-identity";

/**
 * Client certificates as credentials (mTLS): which access token, if any, a verified client
 * certificate authenticates as (issue 10 item 1).
 *
 * A binding names one identity type and its value, and the CA that must be on the
 * certificate's issuing chain. The certificate presents
 *  - as URI SAN: its URI SAN, only when it has exactly one (SPIFFE X509-SVID 2: an SVID
 *    carries exactly one URI SAN, the SPIFFE ID; with several, none is the identity);
 *  - as DNS SAN: each of its DNS SANs (a wildcard SAN names no one host and presents nothing);
 *  - as common name: its subject CN, only when the subject has exactly one.
 * No type falls back to another: a CN that spells a SPIFFE ID never matches a URI binding.
 * Exactly one active binding must match; two (say a URI and a CN binding of one certificate)
 * are refused as ambiguous rather than resolved by a precedence the admin never chose.
 *
 * A certificate certmint issued itself authenticates as a binding's token only if that token
 * owns it (it requested it, or renewed it with a new key) or an admin token does: otherwise
 * any token whose profile may issue the bound identity under the bound CA (an issuer whose
 * policy allows `spiffe://prod.example/ns/*`, an ACME account) could mint itself the
 * credential of a stronger token, an admin's say, or of another token, and act as it.
 */

export type { Credential, PresentedIdentities };

export function presentedIdentities(peer: PeerIdentity): PresentedIdentities {
  const uri = peer.uris.length === 1 ? normalizeUri(peer.uris[0]!) : undefined;
  const dns = peer.dnsNames
    .map((name) => normalizeDnsName(name))
    .flatMap((n) => (n.ok && !n.value.includes("*") ? [n.value] : []));
  return {
    ...(uri?.ok ? { uri: uri.value } : {}),
    dns: [...new Set(dns)],
    ...(peer.commonName === undefined ? {} : { commonName: peer.commonName }),
  };
}

/**
 * One line naming what a certificate presents, for refusals. Each name through quoted()
 * (errors.ts): a CA the operator trusts may still have signed a subject that carries control,
 * bidi or zero-width characters (a CN is any UTF8String, RFC 5280 4.1.2.4), which a terminal or
 * UI showing the message would act on (U+202E reversing what follows it); until stop 46 of
 * 2026-12-06 they went out raw.
 */
function describe(p: PresentedIdentities, peer: PeerIdentity): string {
  const parts = [
    p.uri
      ? `URI SAN ${quoted(p.uri)}`
      : peer.uris.length > 1
        ? `${peer.uris.length} URI SANs (so no URI identity)`
        : "",
    p.dns.length > 0
      ? `DNS SAN${p.dns.length > 1 ? "s" : ""} ${p.dns
          .slice(0, 3)
          .map((d) => quoted(d))
          .join(", ")}${p.dns.length > 3 ? ", ..." : ""}`
      : "",
    p.commonName !== undefined ? `common name ${quoted(p.commonName)}` : "",
  ].filter(Boolean);
  if (parts.length > 0) return parts.join(", ");
  return peer.unreadable
    ? `names unreadable: ${peer.unreadable}`
    : "no URI SAN, DNS SAN or common name";
}

/**
 * The credential a verified client certificate is bound to, or UNAUTHENTICATED:
 * CLIENT_CERTIFICATE_ISSUER_REVOKED (a CA on its issuing path was revoked),
 * CLIENT_CERTIFICATE_UNKNOWN (certmint's own CA signed it, yet certmint has no record of it),
 * CLIENT_CERTIFICATE_NOT_BOUND (also when certmint issued it to another token: mayPresent),
 * CLIENT_CERTIFICATE_AMBIGUOUS, or CLIENT_CERTIFICATE_BINDING_INCOMPLETE (only bindings made
 * before bindings named a CA match). A revoked or expired binding is returned as the
 * credential, so the caller refuses it with TOKEN_REVOKED or TOKEN_EXPIRED like a bearer token.
 *
 * Only the bindings the certificate could authenticate as count, for ambiguity and for
 * incompleteness alike: until stop 51 of 2026-12-07 a binding of another token counted before
 * the owner rule, so an issuer adding a guessed name to its own certificate learned from
 * AMBIGUOUS whether that name was bound (an outside probe, IDENTITY F4).
 */
export async function resolveClientCertificate(
  tokens: Pick<AccessTokenRepository, "findBindings" | "find">,
  certificates: Pick<CertificateRepository, "findIssued" | "findById">,
  cas: CaDirectory,
  peer: PeerIdentity,
  now: Date,
): Promise<Credential> {
  const presented = presentedIdentities(peer);
  const known = await cas.current();
  const links = known.set.issuingLinksOf(peer.der);
  const chain = new Set(links.map((link) => link.issuerSha256));
  const revokedIssuer = [...chain].find(
    (sha256) => known.revoked.has(sha256) || known.issuedCas.get(sha256)?.revoked,
  );
  if (revokedIssuer) {
    throw unauthenticated(
      "CLIENT_CERTIFICATE_ISSUER_REVOKED",
      `the client certificate (serial ${peer.serialNumber}) was issued under a certificate authority that certmint revoked (CA certificate SHA-256 ${revokedIssuer})`,
    );
  }
  refuseRevokedByCrl(known.crls.check(links, now), peer);
  const issued = await certificates.findIssued(peer.serialNumber, peer.fingerprintSha256);
  if (!issued && links.some((link) => link.depth === 0 && known.own.has(link.issuerSha256))) {
    throw unknownUnderOwnCa(peer);
  }
  const described = describe(presented, peer);
  const bindable = bindableCas(links, known);
  const owners = new Map<string, { role: string } | null>();
  const mayBe = (row: BoundCredential) => mayPresent(tokens, certificates, owners, issued, row);
  const candidates = await tokens.findBindings(presented);
  const matching: BoundCredential[] = [];
  for (const row of candidates) {
    if (row.clientCaSha256 !== null && bindable.has(row.clientCaSha256) && (await mayBe(row))) {
      matching.push(row);
    }
  }
  const active = matching.filter(
    (row) => !row.revokedAt && row.expiresAt.getTime() > now.getTime(),
  );
  if (active.length > 1) {
    throw unauthenticated(
      "CLIENT_CERTIFICATE_AMBIGUOUS",
      `the client certificate (${described}) matches ${active.length} access token bindings; an admin must revoke all but one (ListAccessTokens shows each token's binding)`,
    );
  }
  const chosen = active[0] ?? matching[0];
  if (chosen) {
    // Past the life of the credential that had it issued (credential-lifetime.ts): checked
    // after the binding is known, so that a certificate bound to no one still says so.
    const until = issued?.authenticatesUntil ?? null;
    if (until && until.getTime() <= now.getTime()) throw creatorExpired(peer.serialNumber, until);
    return {
      ...credentialOf(chosen),
      certificateAuthenticatesUntil: until,
      certificateVouchedBy: issued ? certificateVouchers(issued) : [],
    };
  }
  for (const row of candidates) {
    if (row.clientCaSha256 === null && (await mayBe(row))) {
      throw unauthenticated(
        "CLIENT_CERTIFICATE_BINDING_INCOMPLETE",
        `the client certificate (${described}) matches a binding that names no issuing CA (made before bindings named one); an admin must bind it again with its CA (client_certificate_binding) and revoke the old binding`,
      );
    }
  }
  throw notBound(described);
}

/**
 * A certificate whose issuer is one of certmint's own CAs but which certmint has no record of.
 * Only certmint signs with those keys and it records every certificate it signs, so this is
 * not a certificate as certmint issued it: its bytes were changed (an ECDSA signature (r, s) is
 * as valid as (r, n - s), and the copy has another fingerprint), or it was issued after the
 * backup this database was restored from, or a CA key leaked. Until stop 51 of 2026-12-07 it was
 * trusted like an outside CA's certificate, with no owner and no revocation: a re-encoded copy
 * of an issuer's certificate for an admin's bound name authenticated as the admin, and a
 * revoked certificate's copy as its token (an outside probe, IDENTITY F0, F1).
 */
function unknownUnderOwnCa(peer: PeerIdentity) {
  return unauthenticated(
    "CLIENT_CERTIFICATE_UNKNOWN",
    `the client certificate (serial ${peer.serialNumber}, SHA-256 ${peer.fingerprintSha256}) names one of certmint's CAs as its issuer, but certmint has no record of it: present it exactly as certmint issued it (its bytes changed?), or have a new one issued if it was issued after the backup this database was restored from`,
  );
}

/**
 * The CAs a binding may name for this certificate: those on its issuing path, except the CAs
 * above a CA certificate that certmint issued through a profile (KnownCas.issuedCas: an
 * intermediate for SPIRE, Istio or a team, in the client CA bundle). Whoever holds that
 * intermediate's key signs any name it likes, so what it signs counts only for bindings that
 * name it or a CA below it: until stop 51 of 2026-12-07 a binding under the root accepted it,
 * and a team holding such an intermediate minted itself an admin's bound identity (an outside
 * probe, IDENTITY F2).
 */
function bindableCas(links: readonly IssuingLink[], known: KnownCas): Set<string> {
  const issuersOf = new Map<string, string[]>();
  for (const link of links) {
    const issuers = issuersOf.get(link.subjectSha256) ?? [];
    issuers.push(link.issuerSha256);
    issuersOf.set(link.subjectSha256, issuers);
  }
  const above = new Set<string>();
  const walk = (from: string) => {
    for (const issuer of issuersOf.get(from) ?? []) {
      if (above.has(issuer)) continue;
      above.add(issuer);
      walk(issuer);
    }
  };
  for (const link of links) if (known.issuedCas.has(link.issuerSha256)) walk(link.issuerSha256);
  return new Set(links.map((link) => link.issuerSha256).filter((sha256) => !above.has(sha256)));
}

/**
 * The one refusal of a certificate that authenticates as no token: whether no binding names its
 * identity, a binding of another CA does, or one does but certmint issued the certificate to
 * another token (mayPresent). The peer is not authenticated, and which identities
 * are bound is not for it to learn: until 2026-12-05 the last case had a reason of its own, so
 * an issuer allowed a bound identity's name could mint certificates for guessed identities and
 * learn which were bound, an admin's included (an outside probe).
 */
function notBound(certificate: string) {
  return unauthenticated(
    "CLIENT_CERTIFICATE_NOT_BOUND",
    `the client certificate (${certificate}) authenticates as no access token: no binding under a CA on its chain names it, or certmint issued it to another token than the bound one (which must request it itself, or an admin token after the binding); an admin can check ListAccessTokens and GetCertificate, and bind it with CreateAccessToken(client_certificate_binding)`,
  );
}

/**
 * UNAUTHENTICATED when a CRL of CERTMINT_TLS_CLIENT_CRL_FILE lists the certificate
 * (CLIENT_CERTIFICATE_REVOKED) or a CA certificate above it (CLIENT_CERTIFICATE_ISSUER_REVOKED),
 * or when the CRL of a CA on its path is no longer current (CLIENT_CERTIFICATE_CRL_STALE: its
 * status cannot be known, RFC 5280 6.3.3, so it is refused until the operator refreshes the file).
 */
function refuseRevokedByCrl(verdict: CrlVerdict | undefined, peer: PeerIdentity): void {
  if (verdict === undefined) return;
  if (verdict.kind === "stale") {
    throw unauthenticated(
      "CLIENT_CERTIFICATE_CRL_STALE",
      `the CRL of the client certificate's issuing CA (${verdict.issuer}) in CERTMINT_TLS_CLIENT_CRL_FILE is ${verdict.nextUpdate ? `past its nextUpdate (${verdict.nextUpdate.toISOString()})` : "without a nextUpdate"}, so its revocation status is unknown; the operator must put a current CRL in that file`,
    );
  }
  if (verdict.depth === 0) {
    throw unauthenticated(
      "CLIENT_CERTIFICATE_REVOKED",
      `the client certificate (serial ${peer.serialNumber}) is on its CA's CRL (CERTMINT_TLS_CLIENT_CRL_FILE)`,
    );
  }
  throw unauthenticated(
    "CLIENT_CERTIFICATE_ISSUER_REVOKED",
    `the client certificate (serial ${peer.serialNumber}) was issued under a CA certificate (serial ${verdict.serialNumber}) that its own issuer's CRL lists (CERTMINT_TLS_CLIENT_CRL_FILE)`,
  );
}

/**
 * Whether this certificate may authenticate as the binding's token: any certificate of an
 * outside CA (not in certmint's records: trusted as its CA issued it); one certmint issued only
 * if its owner (certificates/ownership.ts) is that token, or an admin token and the key was
 * certified after the binding was made (keyPredatesBinding). An admin token that has since been
 * revoked still counts (the first admin token is meant to be revoked once others exist).
 * Otherwise any token whose profile may issue the bound identity under the bound CA could mint
 * itself the credential of a stronger token and act as it. `owners` keeps the owner looked up
 * for this certificate across the bindings checked.
 */
async function mayPresent(
  tokens: Pick<AccessTokenRepository, "find">,
  certificates: Pick<CertificateRepository, "findById">,
  owners: Map<string, { role: string } | null>,
  issued: Certificate | null,
  bound: BoundCredential,
): Promise<boolean> {
  if (!issued || issued.owner === bound.id) return true;
  if (!owners.has(issued.owner)) owners.set(issued.owner, await tokens.find({ id: issued.owner }));
  if (owners.get(issued.owner)?.role !== "ADMIN") return false;
  return !(await keyPredatesBinding(certificates, issued, bound.createdAt));
}

/** How far back keyPredatesBinding follows renewals that kept the key; past it, refused. */
const MAX_KEY_RENEWALS = 1_000;

/**
 * Whether an admin-owned certificate, or its key, was certified before the binding it presents
 * was made. An admin token's certificate counts for the binding as it stands, never for a later
 * one: otherwise the certificate of a workload whose token was revoked (held by whoever kept its
 * key) would authenticate as whatever token the identity is bound to next, an admin's say. A
 * renewal that kept the key (renewedFromId, same public key) is as old as the first certificate
 * of that key.
 */
async function keyPredatesBinding(
  certificates: Pick<CertificateRepository, "findById">,
  issued: Certificate,
  boundAt: Date,
): Promise<boolean> {
  // The same millisecond counts as before: which came first cannot be told.
  if (issued.createdAt.getTime() <= boundAt.getTime()) return true;
  const key = publicKeyDer(issued.certificatePem);
  let previousId = issued.renewedFromId;
  for (let step = 0; previousId; step++) {
    if (step >= MAX_KEY_RENEWALS) return true;
    const previous = await certificates.findById(previousId);
    if (!previous || !publicKeyDer(previous.certificatePem).equals(key)) return false;
    if (previous.createdAt.getTime() <= boundAt.getTime()) return true;
    previousId = previous.renewedFromId;
  }
  return false;
}

const publicKeyDer = (pem: string): Buffer =>
  new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });

export function credentialOf(row: Credential): Credential {
  return {
    id: row.id,
    slug: row.slug,
    role: row.role,
    profileIds: row.profileIds,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt ?? null,
    ...(row.creatorId !== undefined ? { creatorId: row.creatorId } : {}),
  };
}

/**
 * UNAUTHENTICATED CLIENT_CERTIFICATE_CREATOR_EXPIRED: a certificate certmint issued, past the
 * life of the credential that had it issued (certificates/credential-lifetime.ts).
 */
export function creatorExpired(serialNumber: string, until: Date): CertmintError {
  return unauthenticated(
    "CLIENT_CERTIFICATE_CREATOR_EXPIRED",
    `the client certificate (serial ${serialNumber}) authenticated until ${until.toISOString()}: the access token that had it issued (or the credential that token used) expired then, and a certificate a token has issued authenticates no longer than that token, as the tokens it creates; have a token in force issue a new one`,
  );
}
