/**
 * The one table of limits on what a request may carry: every string field and every repeated
 * field of every message a certmint RPC accepts, by its full proto name. src/api/request-check.ts
 * enforces it on the wire bytes of each request before anything else looks at them. A field
 * added to the contract without its line here is held to DEFAULT_FIELD_LIMIT, so it never
 * arrives unbounded, and test/api/request-limits.test.ts fails until it has its own line. Each
 * field's proto comment carries limitSentence() of its entry (the same test compares them), so
 * every generated client documents the same numbers.
 *
 * Lengths are counted in characters (Unicode code points), as the RFC 5280 upper bounds are.
 */

import { REQUEST_ID_MAX_LENGTH } from "../issuance/certificates/idempotency";
import { SAN_MAX_CHARS, SAN_MAX_PER_TYPE, SUBJECT_ATTRIBUTE_MAX_VALUES } from "../model/limits";
import {
  EXTENDED_KEY_USAGES,
  KEY_ALGORITHMS,
  KEY_USAGES,
  SIGNATURE_ALGORITHMS,
  SUBJECT_ATTRIBUTE_UPPER_BOUNDS as UB,
} from "../model/pki";
import { DEFAULT_CSR_MAX_BYTES } from "../signer";

export interface FieldLimit {
  /** Repeated fields: how many values. */
  readonly maxItems?: number;
  /** String fields (each value of a repeated one): how many characters; bytes fields: bytes. */
  readonly maxChars?: number;
  /** What the values of a repeated field are called in the documentation ("values"). */
  readonly items?: string;
  /**
   * Free text people read (descriptions, an approval's comment, a rejection's reason): one
   * line of printable characters, checked by api/request-check.ts (freeTextProblem).
   */
  readonly freeText?: boolean;
}

/** An id (UUID), slug (63) or certificate serial number (20 octets in hex with colons, 59). */
const REFERENCE: FieldLimit = { maxChars: 64 };
/** Slugs: 1 to 63 characters (src/issuance/common/refs.ts). */
const SLUG: FieldLimit = { maxChars: 63 };
/** Free text for operators and approvers: one line of printable characters. */
const TEXT: FieldLimit = { maxChars: 1024, freeText: true };
/** Etags are quoted version numbers ('"12"'). */
const ETAG: FieldLimit = { maxChars: 64 };
/** A cRLNumber in decimal: at most 20 octets (RFC 5280 5.2.3), 49 digits. */
const CRL_NUMBER: FieldLimit = { maxChars: 49 };
/** Page tokens are opaque; room for a cursor and its MAC. */
const PAGE_TOKEN: FieldLimit = { maxChars: 512 };
/** One PEM object: a CSR or a certificate (CSRs are parsed with the same 64 KiB limit). */
const PEM: FieldLimit = { maxChars: DEFAULT_CSR_MAX_BYTES };
/** A chain of PEM certificates, nearest first. */
const PEM_CHAIN: FieldLimit = { ...PEM, maxItems: 16, items: "certificates" };
/** Patterns of one policy rule list; 2048 fits the longest name (a URI) a pattern can match. */
const patterns = (maxChars: number): FieldLimit => ({ maxItems: 100, maxChars, items: "patterns" });
/** Subject value patterns: a value of the longest attribute (emailAddress) plus wildcards. */
const VALUE_PATTERNS = patterns(256);
const NAME_PATTERNS = patterns(SAN_MAX_CHARS.uri);
/** Name-constraint subtrees of one type (RFC 5280 4.2.1.10), as many as a policy rule list. */
const subtrees = (maxChars: number): FieldLimit => ({ maxItems: 100, maxChars, items: "subtrees" });
/** A list of enum values: as many as the enum has (repeats are pointless). */
const enums = (values: readonly string[]): FieldLimit => ({ maxItems: values.length });
const KEY_USAGE_LIST = enums(KEY_USAGES);
const EKU_LIST = enums(EXTENDED_KEY_USAGES);
const sans = (type: keyof typeof SAN_MAX_CHARS): FieldLimit => ({
  maxItems: SAN_MAX_PER_TYPE,
  maxChars: SAN_MAX_CHARS[type],
  items: "names",
});

export const REQUEST_FIELD_LIMITS: Readonly<Record<string, FieldLimit>> = {
  // common.proto: the subject (RFC 5280 Appendix A upper bounds) and SANs.
  "certmint.v1.Subject.country": { maxChars: UB.COUNTRY },
  "certmint.v1.Subject.state": { maxChars: UB.STATE },
  "certmint.v1.Subject.locality": { maxChars: UB.LOCALITY },
  "certmint.v1.Subject.organization": {
    maxItems: SUBJECT_ATTRIBUTE_MAX_VALUES.ORGANIZATION,
    maxChars: UB.ORGANIZATION,
  },
  "certmint.v1.Subject.organizational_unit": {
    maxItems: SUBJECT_ATTRIBUTE_MAX_VALUES.ORGANIZATIONAL_UNIT,
    maxChars: UB.ORGANIZATIONAL_UNIT,
  },
  "certmint.v1.Subject.common_name": { maxChars: UB.COMMON_NAME },
  "certmint.v1.Subject.street_address": { maxChars: UB.STREET_ADDRESS },
  "certmint.v1.Subject.postal_code": { maxChars: UB.POSTAL_CODE },
  "certmint.v1.Subject.serial_number": { maxChars: UB.SERIAL_NUMBER },
  "certmint.v1.Subject.email_address": { maxChars: UB.EMAIL_ADDRESS },
  "certmint.v1.SubjectAlternativeNames.dns_names": sans("dns"),
  "certmint.v1.SubjectAlternativeNames.ip_addresses": sans("ip"),
  "certmint.v1.SubjectAlternativeNames.email_addresses": sans("email"),
  "certmint.v1.SubjectAlternativeNames.uris": sans("uri"),
  // The update_mask of every Update RPC.
  "google.protobuf.FieldMask.paths": { maxItems: 32, maxChars: 64, items: "paths" },

  // certificate_service.proto
  "certmint.v1.IssueCertificateRequest.certificate_profile": REFERENCE,
  "certmint.v1.IssueCertificateRequest.request_id": { maxChars: REQUEST_ID_MAX_LENGTH },
  "certmint.v1.IssueCertificateRequest.csr_pem": PEM,
  "certmint.v1.IssueCertificateRequest.key_usages": KEY_USAGE_LIST,
  "certmint.v1.IssueCertificateRequest.extended_key_usages": EKU_LIST,
  "certmint.v1.RenewCertificateRequest.certificate_id": REFERENCE,
  "certmint.v1.RenewCertificateRequest.request_id": { maxChars: REQUEST_ID_MAX_LENGTH },
  "certmint.v1.RenewCertificateRequest.csr_pem": PEM,
  "certmint.v1.GetRequestStatusRequest.certificate_request_id": REFERENCE,
  "certmint.v1.GetCertificateRequest.certificate": REFERENCE,
  "certmint.v1.ListCertificateRequestsRequest.page_token": PAGE_TOKEN,
  "certmint.v1.ListCertificateRequestsRequest.certificate_profile": REFERENCE,
  "certmint.v1.ListCertificatesRequest.page_token": PAGE_TOKEN,
  "certmint.v1.ListCertificatesRequest.certificate_profile": REFERENCE,
  "certmint.v1.ListCertificatesRequest.certificate_authority": REFERENCE,
  "certmint.v1.ListCertificatesRequest.name_contains": { maxChars: 253 },
  "certmint.v1.RevokeCertificateRequest.certificate": REFERENCE,
  "certmint.v1.ReleaseCertificateHoldRequest.certificate": REFERENCE,
  "certmint.v1.RevokeCertificateAuthorityRequest.certificate_authority": REFERENCE,
  "certmint.v1.ApproveCertificateRequestRequest.certificate_request_id": REFERENCE,
  "certmint.v1.ApproveCertificateRequestRequest.comment": TEXT,
  "certmint.v1.RejectCertificateRequestRequest.certificate_request_id": REFERENCE,
  "certmint.v1.RejectCertificateRequestRequest.reason": TEXT,
  "certmint.v1.WatchCertificatesRequest.certificate_id": REFERENCE,
  "certmint.v1.WatchCertificatesRequest.certificate_profile": REFERENCE,
  "certmint.v1.WatchCertificatesRequest.after_cursor": { maxChars: 64 },
  "certmint.v1.GetCurrentCertificateRequest.certificate": REFERENCE,

  // certificate_authority_service.proto (CertificateAuthority travels in updates).
  "certmint.v1.CertificateAuthority.id": REFERENCE,
  "certmint.v1.CertificateAuthority.slug": SLUG,
  "certmint.v1.CertificateAuthority.description": TEXT,
  "certmint.v1.CertificateAuthority.parent_certificate_authority_id": REFERENCE,
  "certmint.v1.CertificateAuthority.certificate_pem": PEM,
  "certmint.v1.CertificateAuthority.certificate_chain_pem": PEM_CHAIN,
  "certmint.v1.CertificateAuthority.serial_number": REFERENCE,
  "certmint.v1.CertificateAuthority.csr_pem": PEM,
  "certmint.v1.CertificateAuthority.etag": ETAG,
  "certmint.v1.CreateRootCertificateAuthorityRequest.slug": SLUG,
  "certmint.v1.CreateRootCertificateAuthorityRequest.description": TEXT,
  "certmint.v1.CreateIntermediateCertificateAuthorityRequest.slug": SLUG,
  "certmint.v1.CreateIntermediateCertificateAuthorityRequest.description": TEXT,
  "certmint.v1.CreateIntermediateCertificateAuthorityRequest.parent_certificate_authority":
    REFERENCE,
  "certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest.slug": SLUG,
  "certmint.v1.CreateExternalIntermediateCertificateAuthorityRequest.description": TEXT,
  "certmint.v1.ImportCertificateAuthorityCertificateRequest.certificate_authority": REFERENCE,
  "certmint.v1.ImportCertificateAuthorityCertificateRequest.certificate_pem": PEM,
  "certmint.v1.ImportCertificateAuthorityCertificateRequest.certificate_chain_pem": PEM_CHAIN,
  "certmint.v1.GetCertificateAuthorityRequest.certificate_authority": REFERENCE,
  "certmint.v1.ListCertificateAuthoritiesRequest.page_token": PAGE_TOKEN,
  "certmint.v1.GetCertificateRevocationListRequest.certificate_authority": REFERENCE,
  "certmint.v1.GetCertificateRevocationListRequest.known_crl_number": CRL_NUMBER,
  "certmint.v1.DeleteCertificateAuthorityRequest.certificate_authority": REFERENCE,
  "certmint.v1.DeleteCertificateAuthorityRequest.etag": ETAG,

  // certificate_policy_service.proto
  "certmint.v1.CertificatePolicy.id": REFERENCE,
  "certmint.v1.CertificatePolicy.slug": SLUG,
  "certmint.v1.CertificatePolicy.description": TEXT,
  "certmint.v1.CertificatePolicy.etag": ETAG,
  "certmint.v1.ValueRule.allowed": VALUE_PATTERNS,
  "certmint.v1.ValueRule.denied": VALUE_PATTERNS,
  "certmint.v1.NameRule.allowed": NAME_PATTERNS,
  "certmint.v1.NameRule.denied": NAME_PATTERNS,
  "certmint.v1.GeneralSubtrees.dns_names": subtrees(SAN_MAX_CHARS.dns),
  "certmint.v1.GeneralSubtrees.ip_ranges": subtrees(SAN_MAX_CHARS.ip + 4),
  "certmint.v1.GeneralSubtrees.email_addresses": subtrees(SAN_MAX_CHARS.email),
  "certmint.v1.GeneralSubtrees.uri_hosts": subtrees(SAN_MAX_CHARS.dns),
  "certmint.v1.KeyUsageRule.allowed": KEY_USAGE_LIST,
  "certmint.v1.KeyUsageRule.required": KEY_USAGE_LIST,
  "certmint.v1.KeyUsageRule.denied": KEY_USAGE_LIST,
  "certmint.v1.ExtendedKeyUsageRule.allowed": EKU_LIST,
  "certmint.v1.ExtendedKeyUsageRule.required": EKU_LIST,
  "certmint.v1.ExtendedKeyUsageRule.denied": EKU_LIST,
  "certmint.v1.KeyAlgorithmRule.allowed": enums(KEY_ALGORITHMS),
  "certmint.v1.SignatureAlgorithmRule.allowed": enums(SIGNATURE_ALGORITHMS),
  "certmint.v1.GetCertificatePolicyRequest.certificate_policy": REFERENCE,
  "certmint.v1.ListCertificatePoliciesRequest.page_token": PAGE_TOKEN,
  "certmint.v1.DeleteCertificatePolicyRequest.certificate_policy": REFERENCE,
  "certmint.v1.DeleteCertificatePolicyRequest.etag": ETAG,

  // certificate_profile_service.proto
  "certmint.v1.CertificateProfile.id": REFERENCE,
  "certmint.v1.CertificateProfile.slug": SLUG,
  "certmint.v1.CertificateProfile.description": TEXT,
  "certmint.v1.CertificateProfile.certificate_policy": REFERENCE,
  "certmint.v1.CertificateProfile.certificate_authority": REFERENCE,
  "certmint.v1.CertificateProfile.etag": ETAG,
  "certmint.v1.ProfileDefaults.key_usages": KEY_USAGE_LIST,
  "certmint.v1.ProfileDefaults.extended_key_usages": EKU_LIST,
  "certmint.v1.GetCertificateProfileRequest.certificate_profile": REFERENCE,
  "certmint.v1.ListCertificateProfilesRequest.page_token": PAGE_TOKEN,
  "certmint.v1.DeleteCertificateProfileRequest.certificate_profile": REFERENCE,
  "certmint.v1.DeleteCertificateProfileRequest.etag": ETAG,
  "certmint.v1.CreateAcmeExternalAccountKeyRequest.certificate_profile": REFERENCE,
  "certmint.v1.ListAcmeExternalAccountKeysRequest.certificate_profile": REFERENCE,
  "certmint.v1.ListAcmeExternalAccountKeysRequest.page_token": PAGE_TOKEN,
  "certmint.v1.RevokeAcmeExternalAccountKeyRequest.key_id": REFERENCE,
  "certmint.v1.ListAcmeAccountsRequest.certificate_profile": REFERENCE,
  "certmint.v1.ListAcmeAccountsRequest.page_token": PAGE_TOKEN,
  "certmint.v1.RevokeAcmeAccountRequest.acme_account": REFERENCE,

  // access_token_service.proto
  "certmint.v1.AccessToken.id": REFERENCE,
  "certmint.v1.AccessToken.slug": SLUG,
  "certmint.v1.AccessToken.description": TEXT,
  "certmint.v1.AccessToken.certificate_profiles": { ...REFERENCE, maxItems: 100 },
  // What src/issuance/access-tokens/create.ts accepts (MAX_IDENTITY_LENGTH).
  "certmint.v1.AccessToken.client_certificate_identity": { maxChars: 1024 },
  "certmint.v1.AccessToken.creator": REFERENCE,
  "certmint.v1.CreateAccessTokenRequest.request_id": { maxChars: REQUEST_ID_MAX_LENGTH },
  "certmint.v1.ClientCertificateBinding.value": { maxChars: 1024 },
  "certmint.v1.ClientCertificateBinding.certificate_authority": REFERENCE,
  /** 64 hex digits, with the colons openssl prints between pairs. */
  "certmint.v1.ClientCertificateBinding.issuer_certificate_sha256": { maxChars: 95 },
  "certmint.v1.GetAccessTokenRequest.access_token": REFERENCE,
  "certmint.v1.ListAccessTokensRequest.page_token": PAGE_TOKEN,
  "certmint.v1.RevokeAccessTokenRequest.access_token": REFERENCE,

  // audit_service.proto: filters.
  "certmint.v1.ListAuditRecordsRequest.page_token": PAGE_TOKEN,
  "certmint.v1.ListAuditRecordsRequest.actor": REFERENCE,
  "certmint.v1.ListAuditRecordsRequest.method": { maxChars: 128 },
  "certmint.v1.ListAuditRecordsRequest.resource_type": REFERENCE,
  "certmint.v1.ListAuditRecordsRequest.resource_id": REFERENCE,
};

/** The limit of a request field the table does not name yet (see above). */
export const DEFAULT_FIELD_LIMIT: FieldLimit = { maxItems: 100, maxChars: 1024 };

/** The limit a request field is held to: its entry, else DEFAULT_FIELD_LIMIT. */
export const fieldLimit = (key: string): FieldLimit =>
  REQUEST_FIELD_LIMITS[key] ?? DEFAULT_FIELD_LIMIT;

/**
 * The sentence a field's proto comment carries for its limit, e.g. "At most 10 values of at
 * most 64 characters each." (test/api/request-limits.test.ts checks every comment).
 */
export function limitSentence(limit: FieldLimit): string {
  const chars = limit.maxChars === undefined ? "" : `${limit.maxChars} characters`;
  if (limit.maxItems === undefined) return `At most ${chars}.`;
  const items = `${limit.maxItems} ${limit.items ?? "values"}`;
  return chars ? `At most ${items} of at most ${chars} each.` : `At most ${items}.`;
}
