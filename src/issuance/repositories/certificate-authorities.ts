import type {
  KeyAlgorithm,
  RevocationReason,
  SignatureAlgorithm,
  SubjectName,
} from "../../model/pki";
import type { PageQuery, RowKey } from "./paging";

export type CaType = "ROOT" | "INTERMEDIATE" | "EXTERNAL_INTERMEDIATE";
export type CaStatus = "ACTIVE" | "DISABLED" | "PENDING_CERTIFICATE";

/** A CA whose key certmint holds. The private key is kept only sealed (AES-256-GCM). */
export interface CertificateAuthority {
  id: string;
  slug: string;
  description: string;
  type: CaType;
  status: CaStatus;
  subject: SubjectName;
  keyAlgorithm: KeyAlgorithm;
  signatureAlgorithm: SignatureAlgorithm;
  parentId: string | null;
  certificatePem: string | null;
  /** PEM certificates above this CA, nearest first. */
  chainPem: string[];
  serialNumber: string | null;
  notBefore: Date | null;
  notAfter: Date | null;
  maxPathLength: number | null;
  csrPem: string | null;
  /** Sealed PKCS#8 private key, bound to the CA id (ca/keyring.ts). */
  sealedPrivateKey: Uint8Array;
  /** Last cRLNumber issued (RFC 5280 5.2.3). */
  crlNumber: string;
  /** When its parent revoked it; null for a CA in good standing. */
  revokedAt: Date | null;
  revocationReason: RevocationReason | null;
  /** RFC 5280 5.3.2, as its revocation was told; null or absent when it was not. */
  invalidityDate?: Date | null;
  /** Revocations of what it issued, counted in each revoking transaction (ca/publication.ts). */
  revocationCount: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A CA as it leaves the use cases: never its sealed key. */
export type CertificateAuthorityView = Omit<CertificateAuthority, "sealedPrivateKey">;

export const caView = ({ sealedPrivateKey: _, ...view }: CertificateAuthority) =>
  view as CertificateAuthorityView;

/** The number and thisUpdate of a CRL a CA is about to sign (CaRepository.nextCrl). */
export interface CrlSlot {
  crlNumber: bigint;
  thisUpdate: Date;
  /**
   * The thisUpdate of the CA's CRL numbered just before this one; null for its first CRL (or
   * the first since thisUpdates were recorded, Migration20261204300000CrlThisUpdate).
   */
  previousThisUpdate: Date | null;
}

/** A revoked certificate or CA, as a CRL lists it (RFC 5280 5.1.2.6). */
export interface RevokedEntry {
  serialNumber: string;
  revokedAt: Date;
  revocationReason: RevocationReason | null;
  /** RFC 5280 5.3.2; null or absent when none was given. */
  invalidityDate?: Date | null;
}

/** Whether a serial a CA signed is revoked, as an OCSP response tells it (RFC 6960 2.2). */
export interface SerialStatus {
  serialNumber: string;
  revokedAt: Date | null;
  revocationReason: RevocationReason | null;
  /** RFC 5280 5.3.2; null or absent when none was given. */
  invalidityDate?: Date | null;
}

/** Which row a conditional update may change: the version read, or a status it must still have. */
export interface CaMatch {
  id: string;
  version?: number;
  status?: CaStatus;
}

export interface CaRepository {
  find(key: RowKey): Promise<CertificateAuthority | null>;
  findMany(ids: readonly string[]): Promise<CertificateAuthority[]>;
  /** The CA whose certificate has this serial (a CA certificate named where a leaf was meant). */
  findBySerial(serialNumber: string): Promise<CertificateAuthority | null>;
  slugTaken(slug: string): Promise<boolean>;
  /**
   * The subjects and slugs of the CAs one issuer has certified: the intermediates below
   * `parentId`, or with null every root. In a transaction, a lock on that issuer's names is
   * taken first (until the transaction ends), so two creates of one name cannot both pass.
   */
  siblingSubjects(
    parentId: string | null,
  ): Promise<Array<Pick<CertificateAuthority, "slug" | "subject">>>;
  /** UniqueConflict("slug") when a racing create took the slug. */
  insert(ca: CertificateAuthority): Promise<void>;
  /** Re-reads the row locked until the transaction ends (FOR UPDATE); null when it is gone. */
  lockForUpdate(id: string): Promise<CertificateAuthority | null>;
  /** Changes the matching row; false when none matched (another call won the race). */
  update(match: CaMatch, changes: Partial<Omit<CertificateAuthority, "id">>): Promise<boolean>;
  /** False when the version moved on; StillReferenced when rows still refer to it. */
  delete(id: string, version: number): Promise<boolean>;
  /** Every ACTIVE CA below this one becomes DISABLED (its version bumped). */
  disableDescendants(id: string, now: Date): Promise<void>;
  /** Counts a revocation against the CA whose CRL lists it (ca/publication.ts compares it). */
  countRevocation(id: string): Promise<void>;
  /**
   * In a transaction that revokes or disables a CA: takes the signing locks of the CA and of
   * every CA below it exclusively, until the transaction ends. An insert of a certificate or a
   * CA they sign (the store's trigger takes the lock shared, then reads the signer's status)
   * is then either committed before, or refused after (CaSigningRefused).
   */
  lockSigning(id: string): Promise<void>;
  /** The CA's revocation count now; null when there is no such CA. */
  revocationCount(id: string): Promise<string | null>;
  /**
   * Takes the CA's next cRLNumber and that CRL's thisUpdate, together and atomically (one
   * statement on the CA's row, whichever replica signs): the number only ever grows (RFC 5280
   * 5.2.3), and the thisUpdate is the later of `now` (whole seconds) and the thisUpdate of the
   * CRL numbered before it, so it never goes back either (ca/crl.ts says why).
   */
  nextCrl(id: string, now: Date): Promise<CrlSlot>;
  /** CAs signed by this one that are revoked and not expired at `now`. */
  revokedChildren(id: string, now: Date): Promise<RevokedEntry[]>;
  /**
   * Every CA signed by this one not expired at `now`, revoked or not: what the CRL of a revoked
   * CA lists (ca/crl.ts), as its OCSP answers every one of them revoked.
   */
  childrenListed(id: string, now: Date): Promise<SerialStatus[]>;
  /** The CAs signed by this one whose certificate has one of these serials. */
  childStatuses(id: string, serialNumbers: readonly string[]): Promise<SerialStatus[]>;
  /** Slugs of the CAs signed by this one, by slug. */
  childSlugs(id: string): Promise<string[]>;
  /** Every CA that has its certificate: id, certificate, chain and when it was revoked. */
  withCertificates(): Promise<
    Array<Pick<CertificateAuthority, "id" | "certificatePem" | "chainPem" | "revokedAt">>
  >;
  listOldestFirst(page: PageQuery & { status?: CaStatus }): Promise<CertificateAuthority[]>;
}
