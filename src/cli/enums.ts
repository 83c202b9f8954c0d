/** Every proto enum the CLI reads or prints, with its command-line spelling (see EnumFlag). */
import {
  AccessTokenState,
  ClientCertificateIdentityType,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import {
  CertificateAuthorityStatus,
  CertificateAuthorityType,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CaCertificateRule,
  CertificatePolicyPreset,
  SubjectNamesInSans,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import {
  AcmeAccountStatus,
  EnrollmentMethod,
  PrivateKeyRetention,
  ValidityOverflow,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateRequestStatus,
  CertificateStatus,
  CertificateView,
  RenewalKeySource,
} from "../../gen/ts/certmint/v1/certificate_service";
import {
  ExtendedKeyUsage,
  KeyAlgorithm,
  KeyUsage,
  RevocationReason,
  SignatureAlgorithm,
} from "../../gen/ts/certmint/v1/common";
import { EnumFlag } from "./enum-flag";

export const KEY_ALGORITHM = new EnumFlag(KeyAlgorithm, "KEY_ALGORITHM_");
export const SIGNATURE_ALGORITHM = new EnumFlag(SignatureAlgorithm, "SIGNATURE_ALGORITHM_");
export const KEY_USAGE = new EnumFlag(KeyUsage, "KEY_USAGE_");
export const EXTENDED_KEY_USAGE = new EnumFlag(ExtendedKeyUsage, "EXTENDED_KEY_USAGE_");
export const REVOCATION_REASON = new EnumFlag(RevocationReason, "REVOCATION_REASON_");
export const CA_TYPE = new EnumFlag(CertificateAuthorityType, "CERTIFICATE_AUTHORITY_TYPE_");
export const CA_STATUS = new EnumFlag(CertificateAuthorityStatus, "CERTIFICATE_AUTHORITY_STATUS_");
export const PRESET = new EnumFlag(CertificatePolicyPreset, "CERTIFICATE_POLICY_PRESET_");
export const CA_CERTIFICATE_RULE = new EnumFlag(CaCertificateRule, "CA_CERTIFICATE_RULE_");
export const SUBJECT_NAMES_IN_SANS = new EnumFlag(SubjectNamesInSans, "SUBJECT_NAMES_IN_SANS_");
export const ENROLLMENT_METHOD = new EnumFlag(EnrollmentMethod, "ENROLLMENT_METHOD_");
export const VALIDITY_OVERFLOW = new EnumFlag(ValidityOverflow, "VALIDITY_OVERFLOW_");
export const KEY_RETENTION = new EnumFlag(PrivateKeyRetention, "PRIVATE_KEY_RETENTION_");
export const CERTIFICATE_STATUS = new EnumFlag(CertificateStatus, "CERTIFICATE_STATUS_");
export const CERTIFICATE_VIEW = new EnumFlag(CertificateView, "CERTIFICATE_VIEW_");
export const REQUEST_STATUS = new EnumFlag(CertificateRequestStatus, "CERTIFICATE_REQUEST_STATUS_");
export const RENEWAL_KEY_SOURCE = new EnumFlag(RenewalKeySource, "RENEWAL_KEY_SOURCE_");
export const ROLE = new EnumFlag(Role, "ROLE_");
export const TOKEN_STATE = new EnumFlag(AccessTokenState, "ACCESS_TOKEN_STATE_");
export const ACME_ACCOUNT_STATUS = new EnumFlag(AcmeAccountStatus, "ACME_ACCOUNT_STATUS_");
export const IDENTITY_TYPE = new EnumFlag(
  ClientCertificateIdentityType,
  "CLIENT_CERTIFICATE_IDENTITY_TYPE_",
);
