import { AccessTokenEntity } from "./access-token";
import { AuditRecordEntity } from "./audit-record";
import { CertificateEntity } from "./certificate";
import { CertificateAuthorityEntity } from "./certificate-authority";
import { CertificatePolicyEntity } from "./certificate-policy";
import { CertificateProfileEntity } from "./certificate-profile";
import { CertificateRequestEntity } from "./certificate-request";
import { KekCheckEntity } from "./kek-check";

export * from "./access-token";
export * from "./audit-record";
export * from "./certificate";
export * from "./certificate-authority";
export * from "./certificate-policy";
export * from "./certificate-profile";
export * from "./certificate-request";
export * from "./kek-check";

/** Every entity, for the ORM configuration. */
export const ALL_ENTITIES = [
  CertificateAuthorityEntity,
  CertificatePolicyEntity,
  CertificateProfileEntity,
  CertificateRequestEntity,
  CertificateEntity,
  KekCheckEntity,
  AccessTokenEntity,
  AuditRecordEntity,
];
