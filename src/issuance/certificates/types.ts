import type { KeyObject } from "node:crypto";
import type {
  ExtendedKeyUsage,
  KeyAlgorithm,
  KeyUsage,
  NameConstraints,
  RevocationReason,
  SignatureAlgorithm,
  SubjectAltNames,
  SubjectName,
} from "../../model/pki";
import type { CompiledPolicy } from "../policy-engine";
import type {
  CertificateAuthority,
  CertificateProfile,
  HeldRows,
  RequestStatus,
} from "../repositories";

export type { RequestStatus, StoredError, StoredParams } from "../repositories";

/** Where the certified key comes from. */
export type KeySource =
  | { kind: "CSR"; csrPem: string; publicKey: KeyObject }
  | { kind: "GENERATE"; keyAlgorithm: KeyAlgorithm }
  | { kind: "REUSE"; publicKey: KeyObject };

/** IssueCertificate, in domain terms. */
export interface IssueInput {
  /** The authenticated caller; request ids are unique per caller. */
  caller: string;
  profile: string;
  /** The caller's idempotency key (request_id in the API). */
  idempotencyKey?: string;
  source:
    | { kind: "CSR"; csrPem: string }
    | {
        kind: "ATTRIBUTES";
        subject: SubjectName;
        sans: SubjectAltNames;
        keyAlgorithm?: KeyAlgorithm;
      };
  signatureAlgorithm?: SignatureAlgorithm;
  /** Asks for a CA certificate (IssueCertificateRequest.ca_certificate). */
  ca?: { pathLength?: number };
  keyUsages: KeyUsage[];
  extendedKeyUsages: ExtendedKeyUsage[];
  ttlSeconds?: number;
  validateOnly: boolean;
}

export type RenewKeySource = "NEW" | "REUSE" | "CSR";

export interface RenewInput {
  caller: string;
  certificateId: string;
  /** The caller's idempotency key (request_id in the API). */
  idempotencyKey?: string;
  keySource?: RenewKeySource;
  csrPem?: string;
  keyAlgorithm?: KeyAlgorithm;
  ttlSeconds?: number;
  validateOnly: boolean;
  /**
   * Made by server-driven renewal (auto-renewal/renewer.ts): refused when it could not end
   * later than the certificate (renew.ts refuseRenewalThatEndsNoLater). A client's renewal is
   * not: re-keying a certificate that ends with its CA is a reason to renew.
   */
  automatic?: boolean;
}

/**
 * Everything needed to sign: resolved from the request, the profile's defaults and the
 * policy, checked, and stored on the request row (params) so approval can sign it later.
 */
export interface IssuancePlan {
  profile: CertificateProfile;
  policy: CompiledPolicy;
  /** null for self-signed profiles. */
  ca: CertificateAuthority | null;
  /** The subject the certificate carries: names in it normalised (names.ts certifiedNames). */
  subject: SubjectName;
  /** The subject as the request gave it (policy violations quote it). */
  requestedSubject?: SubjectName;
  /** The names the certificate carries: normalised, duplicates removed, subject names copied. */
  sans: SubjectAltNames;
  /** The names as the request gave them (policy violations index into these). */
  requestedSans?: SubjectAltNames;
  key: KeySource;
  keyAlgorithm: KeyAlgorithm;
  signatureAlgorithm: SignatureAlgorithm;
  keyUsages: KeyUsage[];
  extendedKeyUsages: ExtendedKeyUsage[];
  ttlSeconds: number;
  /** The usages are the renewed certificate's own (PolicyRequest.usagesOfRenewed). */
  usagesOfRenewed?: boolean;
  /** A CA certificate (basicConstraints cA=TRUE); absent = end entity. */
  isCa?: boolean;
  /** pathLenConstraint of a CA certificate; absent = unlimited. */
  pathLength?: number;
  /** nameConstraints of a CA certificate, from the policy (policy-engine/name-constraints.ts). */
  nameConstraints?: NameConstraints;
  /**
   * Planned on rows held from an earlier read (IssuanceRows.held): stored only while they are
   * still those rows, and never refused on them (issue.ts decides again on rows read now).
   */
  heldRows?: HeldRows;
}

/** A certificate as handed to its requester. */
export interface IssuedView {
  certificateId: string;
  certificatePem: string;
  chainPem: string[];
  issuingCaPem: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

export interface IssueOutcome {
  certificateRequestId: string;
  status: RequestStatus;
  certificate?: IssuedView;
  privateKeyPem?: string;
  /** validate_only: every check passed, nothing stored. */
  validated?: boolean;
}

export interface RevokeInput {
  certificate: string;
  reason: RevocationReason;
  /**
   * For KEY_COMPROMISE, which certificates of the key go with it: "KEY" (the default), every
   * certificate of the key, and the key is blocked (blocked-keys.ts); "LINEAGE", only the
   * renewals of the one named that kept its key, and nothing is blocked: an ACME account's
   * word, which proves no hold of the key (the account may hold a certificate for a key it
   * never had, from a CSR it replayed).
   */
  keyCompromiseScope?: "KEY" | "LINEAGE";
  /** RFC 5280 5.3.2 (invalidity-date.ts); undefined when none is given. */
  invalidityDate?: Date;
}
