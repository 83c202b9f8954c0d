/**
 * The PKI vocabulary shared by every layer (signer, issuance, api): plain string unions whose
 * members mirror the proto enum value names without their prefix, so the api layer converts
 * with a table and the inner layers never import generated code.
 */

/** Key algorithms for CA keys and leaf keys. */
export const KEY_ALGORITHMS = [
  "RSA_2048",
  "RSA_3072",
  "RSA_4096",
  "EC_P256",
  "EC_P384",
  "ED25519",
] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** Signature algorithms a CA can sign with (RFC 4055, RFC 5758, RFC 8410). */
export const SIGNATURE_ALGORITHMS = [
  "SHA256_WITH_RSA",
  "SHA384_WITH_RSA",
  "SHA512_WITH_RSA",
  "ECDSA_WITH_SHA256",
  "ECDSA_WITH_SHA384",
  "ECDSA_WITH_SHA512",
  "ED25519",
] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

/** keyUsage bits, RFC 5280 4.2.1.3. */
export const KEY_USAGES = [
  "DIGITAL_SIGNATURE",
  "CONTENT_COMMITMENT", // formerly nonRepudiation
  "KEY_ENCIPHERMENT",
  "DATA_ENCIPHERMENT",
  "KEY_AGREEMENT",
  "KEY_CERT_SIGN",
  "CRL_SIGN",
  "ENCIPHER_ONLY",
  "DECIPHER_ONLY",
] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

/** extKeyUsage purposes, RFC 5280 4.2.1.12. */
export const EXTENDED_KEY_USAGES = [
  "SERVER_AUTH",
  "CLIENT_AUTH",
  "CODE_SIGNING",
  "EMAIL_PROTECTION",
  "TIME_STAMPING",
  "OCSP_SIGNING",
] as const;
export type ExtendedKeyUsage = (typeof EXTENDED_KEY_USAGES)[number];

/** OIDs of the extended key usages (RFC 5280 4.2.1.12). */
export const EKU_OIDS: Record<ExtendedKeyUsage, string> = {
  SERVER_AUTH: "1.3.6.1.5.5.7.3.1",
  CLIENT_AUTH: "1.3.6.1.5.5.7.3.2",
  CODE_SIGNING: "1.3.6.1.5.5.7.3.3",
  EMAIL_PROTECTION: "1.3.6.1.5.5.7.3.4",
  TIME_STAMPING: "1.3.6.1.5.5.7.3.8",
  OCSP_SIGNING: "1.3.6.1.5.5.7.3.9",
};

/** Subject attributes certmint understands (RFC 5280 4.1.2.4, RFC 4519). */
export const SUBJECT_ATTRIBUTES = [
  "COMMON_NAME",
  "ORGANIZATION",
  "ORGANIZATIONAL_UNIT",
  "COUNTRY",
  "STATE",
  "LOCALITY",
  "STREET_ADDRESS",
  "POSTAL_CODE",
  "SERIAL_NUMBER",
  "EMAIL_ADDRESS",
] as const;
export type SubjectAttribute = (typeof SUBJECT_ATTRIBUTES)[number];

/** OIDs of the subject attributes. */
export const SUBJECT_ATTRIBUTE_OIDS: Record<SubjectAttribute, string> = {
  COMMON_NAME: "2.5.4.3",
  ORGANIZATION: "2.5.4.10",
  ORGANIZATIONAL_UNIT: "2.5.4.11",
  COUNTRY: "2.5.4.6",
  STATE: "2.5.4.8",
  LOCALITY: "2.5.4.7",
  STREET_ADDRESS: "2.5.4.9",
  POSTAL_CODE: "2.5.4.17",
  SERIAL_NUMBER: "2.5.4.5",
  EMAIL_ADDRESS: "1.2.840.113549.1.9.1",
};

/**
 * Upper bounds of the attribute values, in characters: the ub-* values of RFC 5280 Appendix A
 * (street address and postal code from X.520).
 */
export const SUBJECT_ATTRIBUTE_UPPER_BOUNDS: Record<SubjectAttribute, number> = {
  COMMON_NAME: 64,
  ORGANIZATION: 64,
  ORGANIZATIONAL_UNIT: 64,
  COUNTRY: 2,
  STATE: 128,
  LOCALITY: 128,
  STREET_ADDRESS: 128,
  POSTAL_CODE: 40,
  SERIAL_NUMBER: 64,
  EMAIL_ADDRESS: 255,
};

/** A distinguished name as an ordered list of single-valued RDNs. */
export interface SubjectName {
  attributes: Array<{ type: SubjectAttribute; value: string }>;
}

/** Subject alternative names by type (RFC 5280 4.2.1.6). */
export interface SubjectAltNames {
  dns: string[];
  ip: string[];
  email: string[];
  uri: string[];
}

/** CRLReason codes, RFC 5280 5.3.1 (value 7 is unused by the RFC). */
export const REVOCATION_REASONS = {
  UNSPECIFIED: 0,
  KEY_COMPROMISE: 1,
  CA_COMPROMISE: 2,
  AFFILIATION_CHANGED: 3,
  SUPERSEDED: 4,
  CESSATION_OF_OPERATION: 5,
  CERTIFICATE_HOLD: 6,
  REMOVE_FROM_CRL: 8,
  PRIVILEGE_WITHDRAWN: 9,
  AA_COMPROMISE: 10,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

/**
 * Subtrees of names, by GeneralName type, in the forms of RFC 5280 4.2.1.10 (what a
 * nameConstraints extension carries):
 * - dns: "example.com" is that name and every name below it; "" is every DNS name;
 * - ip: CIDR ranges ("10.0.0.0/8", "2001:db8::/32"), encoded as address and mask;
 * - email: "alice@example.com" one mailbox, "example.com" every mailbox at that host,
 *   ".example.com" every mailbox at any host below it; "" every address;
 * - uri: the host of the URI: "prod.example" that host, ".example.com" any host below it;
 *   "" every URI.
 */
export interface GeneralSubtrees {
  dns: string[];
  ip: string[];
  email: string[];
  uri: string[];
}

/**
 * A CA's nameConstraints (RFC 5280 4.2.1.10): every name in a certificate below it must be
 * inside a permitted subtree of its type (when there is any of that type) and in no excluded
 * subtree.
 */
export interface NameConstraints {
  permitted: GeneralSubtrees;
  excluded: GeneralSubtrees;
}

export const emptySubtrees = (): GeneralSubtrees => ({ dns: [], ip: [], email: [], uri: [] });
