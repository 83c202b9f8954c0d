import type {
  ExtendedKeyUsage,
  KeyAlgorithm,
  KeyUsage,
  RevocationReason,
  SignatureAlgorithm,
  SubjectAltNames,
  SubjectName,
} from "../../model/pki";
import type { RevokedEntry, SerialStatus } from "./certificate-authorities";

/** A CRL's revokedCertificates entries, DER, one after another (signer EncodedRevokedEntries). */
export interface EncodedCrlEntries {
  der: Buffer;
  count: number;
}

import type { PageQuery } from "./paging";

/** An issued certificate and its metadata. Serial numbers are unique per issuing CA. */
export interface Certificate {
  id: string;
  /** Lower-case hex, no colons. */
  serialNumber: string;
  /** Null for self-signed certificates. */
  caId: string | null;
  /** Null once the profile is deleted; the certificate is kept. */
  profileId: string | null;
  certificateRequestId: string;
  /** The access token that holds the private key (certificates/ownership.ts). */
  owner: string;
  /**
   * Until when it may authenticate as a client certificate binding's token
   * (certificates/credential-lifetime.ts); null or absent: no bound but its notAfter and its
   * binding's expiry.
   */
  authenticatesUntil?: Date | null;
  /**
   * The access tokens whose authority its issuance rests on (credential-lifetime.ts); null or
   * absent before stop 56 of 2026-12-07.
   */
  vouchedBy?: string[] | null;
  subject: SubjectName;
  commonName: string;
  sans: SubjectAltNames;
  /** Lower-cased CN and SANs, one per line, for name_contains searches. */
  searchNames: string;
  keyAlgorithm: KeyAlgorithm;
  signatureAlgorithm: SignatureAlgorithm;
  keyUsages: KeyUsage[];
  extendedKeyUsages: ExtendedKeyUsage[];
  isCa: boolean;
  notBefore: Date;
  notAfter: Date;
  fingerprintSha256: string;
  /** SHA-256 (hex) of the certified key's SubjectPublicKeyInfo; null only for a row the backfill could not parse. */
  spkiSha256: string | null;
  certificatePem: string;
  chainPem: string[];
  revokedAt: Date | null;
  revocationReason: RevocationReason | null;
  /**
   * When its key was known or suspected to be compromised, or it otherwise became invalid
   * (RFC 5280 5.3.2), as its revocation was told; null or absent when it was not.
   */
  invalidityDate?: Date | null;
  renewedFromId: string | null;
  renewedById: string | null;
  /** Kept only when the profile says STORE_ENCRYPTED; sealed. */
  sealedPrivateKey: Uint8Array | null;
  createdAt: Date;
}

/** A certificate as it leaves the use cases: never its sealed key. */
export type CertificateView = Omit<Certificate, "sealedPrivateKey">;

export const certificateView = ({ sealedPrivateKey: _, ...view }: Certificate) =>
  view as CertificateView;

/**
 * A certificate's status, computed at read time, first that applies: REVOKED (revoked itself),
 * ISSUER_REVOKED (its issuing CA or one above it was revoked), EXPIRED, ACTIVE
 * (certificates/queries.ts certificateStatus).
 */
export type CertificateState = "ACTIVE" | "REVOKED" | "EXPIRED" | "ISSUER_REVOKED";

/**
 * The revocation that stands over what a CA signed: that CA's own, or that of the nearest CA
 * above it that was revoked (ca/revoke.ts revokedAbove, which OCSP answers from: ca/ocsp.ts
 * underRevokedCa).
 */
export interface IssuerRevocation {
  /** The revoked CA: the signing CA itself or the nearest revoked CA above it. */
  revokedCaId: string;
  revokedAt: Date;
  revocationReason: RevocationReason | null;
  /** That CA's revocation's invalidity date (RFC 5280 5.3.2), published for what it signed. */
  invalidityDate: Date | null;
}

/** By the id of the CA that signed: every CA revoked or below a revoked CA, and no other. */
export type IssuerRevocations = ReadonlyMap<string, IssuerRevocation>;

/**
 * How much of each certificate a list reads (AIP-157 views): BASIC leaves the PEMs out, which
 * are most of a listed row's bytes, so an inventory or expiry report neither reads nor sends
 * them.
 */
export type CertificateListView = "BASIC" | "FULL";

/** A certificate of a list page: never its sealed key; its PEMs only in the FULL view. */
export type ListedCertificate = Omit<CertificateView, "certificatePem" | "chainPem"> &
  Partial<Pick<CertificateView, "certificatePem" | "chainPem">>;

/** ListCertificates' filters, resolved (references to ids, the name needle lower-cased). */
export interface CertificateFilter {
  profileId?: string;
  caId?: string;
  /** Computed at `now`, and against `revokedIssuers` (ISSUER_REVOKED). */
  state?: CertificateState;
  now: Date;
  /**
   * The CAs revoked or below a revoked CA, read once before the page (they are few): a state
   * filter is decided on the certificate's ca_id against these, as each row's status is shown.
   * Empty: none.
   */
  revokedIssuers?: IssuerRevocations;
  expiresBefore?: Date;
  /** Matched as a substring of one name (searchNames), literally. */
  nameContains?: string;
}

/** Certificates of one profile in use that expire soon (not revoked, not renewed). */
export interface ExpiringByProfile {
  /** Null for certificates whose profile was deleted. */
  profileSlug: string | null;
  /** Expiring after `now` and by `soon`; by `later` (which counts the first ones too). */
  bySoon: number;
  byLater: number;
}

export interface CertificateRepository {
  findById(id: string): Promise<Certificate | null>;
  /**
   * The CA certificates (basicConstraints cA) the CA `caId` signed through profiles, whatever
   * their state: their subjects and keys, for the one-name-per-CA rule (ca/new-ca.ts).
   */
  caCertificatesIssuedBy(
    caId: string,
  ): Promise<Array<Pick<Certificate, "id" | "subject" | "spkiSha256">>>;
  /** The certificates with these ids that exist, in no particular order. */
  findByIds(ids: readonly string[]): Promise<Certificate[]>;
  /** At most `limit` certificates with this serial (serials are unique per CA only). */
  findBySerial(serialNumber: string, limit: number): Promise<Certificate[]>;
  /**
   * How many certificates of the profile are still valid at `now` (not expired, revoked or
   * renewed), counting up to `atMost`.
   */
  countValidOfProfile(profileId: string, now: Date, atMost: number): Promise<number>;
  /**
   * The certificate with this serial and SHA-256 fingerprint (of its DER), if certmint issued it.
   * Looked up by the serial's index, the fingerprint telling same-serial certificates of other
   * CAs apart: the fingerprint has no index of its own (a random key, an 8 KB page image in the
   * WAL per issuance at 10^6 certificates, issue 14).
   */
  findIssued(serialNumber: string, fingerprintSha256: string): Promise<Certificate | null>;
  /**
   * Blocks a key revoked for key compromise (its SubjectPublicKeyInfo's SHA-256): no
   * certificate of it is stored again (Migration20261205000000BlockedKeys). In the revoking
   * transaction only; returns the key's certificates not revoked yet, on hold, or revoked for
   * another reason than keyCompromise (which becomes theirs), those whose issuance raced the
   * block included (it waits for them to commit).
   */
  blockKey(spkiSha256: string, certificateId: string, now: Date): Promise<Certificate[]>;
  /** Whether a key was blocked (a plain read, for answers that store no certificate). */
  isKeyBlocked(spkiSha256: string): Promise<boolean>;
  /**
   * Certificates revoked for key compromise before keys were blocked, whose key is still to be
   * blocked (Migration20261205500000KeyCompromiseBackfill); empty once done.
   */
  keyBlockBackfill(): Promise<string[]>;
  /** One of those done. */
  forgetKeyBlockBackfill(certificateId: string): Promise<void>;
  /**
   * Inside a transaction: waits for any other transaction changing the certificate's
   * revocation (a hold released, a revocation) and holds it off until this one ends, so the
   * statements after it judge its latest state.
   */
  lockRevocation(id: string): Promise<void>;
  /**
   * Sets revokedAt, the reason and the invalidity date (null: none) unless it is revoked
   * already; false then.
   */
  markRevoked(
    id: string,
    reason: RevocationReason,
    now: Date,
    invalidityDate?: Date | null,
  ): Promise<boolean>;
  /**
   * A revoked certificate whose reason was not keyCompromise gets that reason, keeping its
   * revocation time (RFC 5280 5.3.1), and the invalidity date when one is given (else it keeps
   * its own); false when it is not revoked or has that reason already.
   */
  markKeyCompromised(id: string, invalidityDate?: Date | null): Promise<boolean>;
  /**
   * A certificate revoked for keyCompromise gets the invalidity date given when it has none or
   * a later one (the date only moves earlier: RFC 5280 5.3.2); false otherwise.
   */
  backdateInvalidity(id: string, invalidityDate: Date): Promise<boolean>;
  /**
   * A certificate on hold (CERTIFICATE_HOLD) gets another reason, keeping its revocation time
   * (RFC 5280 5.3.1 lets a hold become final), and the invalidity date given (null: none);
   * false when it is not on hold.
   */
  finishHold(id: string, reason: RevocationReason, invalidityDate?: Date | null): Promise<boolean>;
  /**
   * A certificate on hold is not revoked any more (its reason and time cleared), unless its key
   * is blocked (read under the key's lock, as an issuance reads it); false when it is not on
   * hold or its key is blocked.
   */
  releaseHold(id: string): Promise<boolean>;
  /**
   * Deletes every private key certmint holds sealed for these certificates: the certificate's
   * own (STORE_ENCRYPTED) and the one its request keeps for replays, for a renewal's owner, or
   * for the requester of an approved request. A key declared compromised is handed out no more.
   */
  forgetPrivateKeys(ids: readonly string[]): Promise<void>;
  /** Certificates of this CA that are revoked and not expired at `now`, soonest expiry first. */
  revokedIssuedBy(caId: string, now: Date): Promise<RevokedEntry[]>;
  /**
   * Every certificate of this CA not expired at `now`, revoked or not, soonest expiry first:
   * what the CRL of a revoked CA lists (ca/crl.ts), as its OCSP answers each one revoked.
   */
  issuedByRevokedCa(caId: string, now: Date): Promise<SerialStatus[]>;
  /**
   * revokedIssuedBy's certificates as a CRL's revokedCertificates entries, kept by the store
   * (RFC 5280 5.1.2.6, byte for byte as signer/crl.ts writes them), or null when one of them
   * has none (an invalid serial or time, an unknown reason or REMOVE_FROM_CRL): revokedIssuedBy's
   * entries then go to buildCrl, which says what is wrong. Optional: a store without it serves
   * revokedIssuedBy alone. Why: a CRL of 10^5 entries read as rows and encoded in the server
   * held its event loop (issue 14).
   */
  revokedEntriesDer?(caId: string, now: Date): Promise<EncodedCrlEntries | null>;
  /** The certificates this CA issued that have one of these serials. */
  statusesIssuedBy(caId: string, serialNumbers: readonly string[]): Promise<SerialStatus[]>;
  countIssuedBy(caId: string): Promise<number>;
  /**
   * Certificates in use (not revoked, not renewed) expiring after `now` and by `later`, per
   * profile; `bySoon` counts those expiring by `soon` (before `later`).
   */
  countExpiring(now: Date, soon: Date, later: Date): Promise<ExpiringByProfile[]>;
  /**
   * Of these CA certificates (a client CA bundle's), those certmint issued through a profile
   * (an intermediate for another system: SPIRE, Istio), with their revocation: a client
   * certificate under one authenticates only through bindings that name it or a CA below it,
   * and not at all once it is revoked (auth/client-certificates.ts).
   */
  issuedAmong(
    certificates: ReadonlyArray<{ serialNumber: string; fingerprintSha256: string }>,
  ): Promise<Array<{ fingerprintSha256: string; revoked: boolean }>>;
  /** Whether the certificate with this serial and fingerprint is one certmint issued and revoked. */
  isRevoked(serialNumber: string, fingerprintSha256: string): Promise<boolean>;
  /**
   * Newest first by (created_at, id); `after` is the last row of the previous page. The sealed
   * key is never read; the PEMs only in the FULL view.
   */
  /**
   * Every CA revoked or below a revoked CA, with the revocation that stands over what it
   * signed (the nearest revoked CA at or above it). One read of the CA table: CAs are few.
   */
  revokedIssuers(): Promise<IssuerRevocations>;
  listNewestFirst(
    filter: CertificateFilter,
    page: PageQuery,
    view: CertificateListView,
  ): Promise<ListedCertificate[]>;
  /**
   * The id of the newest successor of `id`, following renewedById (itself when never renewed):
   * the newest certificate of its lineage (a lineage is linear), found without walking it.
   */
  newestSuccessorOf(id: string): Promise<string>;
  /** Where `id` stands in its lineage (a lineage watch's filter); its own lineage if unknown. */
  lineagePlace(id: string): Promise<LineagePlace>;
}

/**
 * Where a certificate stands in its lineage: the certificates linked by renewals, each renewed
 * at most once, so a lineage is a line from its first certificate to its newest.
 */
export interface LineagePlace {
  /** The id of the lineage's first certificate (one renewed from no other). */
  lineageId: string;
  /** Renewals from the first certificate to this one: 0 for the first. */
  depth: number;
}
