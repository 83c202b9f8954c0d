import type {
  ExtendedKeyUsage,
  KeyAlgorithm,
  KeyUsage,
  SignatureAlgorithm,
  SubjectName,
} from "../../model/pki";

/**
 * The JSON shapes stored in certificate_profile (defaults, renewal) and the enums of its text
 * columns. The lifecycle use cases (issue, renew) read profiles in these shapes.
 */
export interface ProfileDefaults {
  ttlSeconds?: number;
  subject?: SubjectName;
  keyAlgorithm?: KeyAlgorithm;
  signatureAlgorithm?: SignatureAlgorithm;
  keyUsages?: KeyUsage[];
  extendedKeyUsages?: ExtendedKeyUsage[];
}

export interface RenewalSettings {
  autoRenew: boolean;
  /** Must be shorter than the default TTL. 0 when unset. */
  renewBeforeDays: number;
  /**
   * Any token that may act on the profile may renew its certificates, not only their owner
   * (certificates/ownership.ts); a stored key still goes to its owner only.
   */
  allowSharedRenewal?: boolean;
  /**
   * Renew this many seconds before notAfter (proto renewal.renew_before); overrides
   * renewBeforeDays. 0 or absent: renewBeforeDays, else two thirds of the lifetime
   * (auto-renewal/renew-before.ts).
   */
  renewBeforeSeconds?: number;
}

export type EnrollmentMethod = "API" | "ACME" | "EST";
export type ValidityOverflow = "FAIL" | "TRUNCATE";
export type PrivateKeyRetention = "RETURN_ONCE" | "STORE_ENCRYPTED";

/** Default TTL of certificates when neither request nor profile gives one: 30 days. */
export const FALLBACK_TTL_SECONDS = 30 * 86_400;
