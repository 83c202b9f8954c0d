import { AccessTokenServiceService } from "../../gen/ts/certmint/v1/access_token_service";
import { AuditServiceService } from "../../gen/ts/certmint/v1/audit_service";
import { CertificateAuthorityServiceService } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificatePolicyServiceService } from "../../gen/ts/certmint/v1/certificate_policy_service";
import { CertificateProfileServiceService } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { CertificateServiceService } from "../../gen/ts/certmint/v1/certificate_service";
import type { Role } from "../issuance/call";

/**
 * Who may call what: every certmint RPC, its roles, and whether it changes anything (and so
 * writes an audit record). ISSUER and APPROVER are further limited to the profiles on their
 * token; the use cases check that once they know the profile (requireProfileAccess).
 * The rules are keyed by the generated service definitions' methods, so a new RPC does not
 * compile until it has one; a path not here is refused for everyone.
 */
export interface MethodRule {
  readonly roles: readonly Role[];
  readonly mutating: boolean;
}

const READ: MethodRule = { roles: ["ADMIN", "AUDITOR"], mutating: false };
const ADMIN_WRITE: MethodRule = { roles: ["ADMIN"], mutating: true };

/** A rule for every method of a generated service: a new RPC does not compile until it has one. */
type RulesOf<S> = { readonly [M in keyof S]: MethodRule };

const certificateRules: RulesOf<typeof CertificateServiceService> = {
  issueCertificate: { roles: ["ADMIN", "ISSUER"], mutating: true },
  renewCertificate: { roles: ["ADMIN", "ISSUER"], mutating: true },
  getRequestStatus: { roles: ["ADMIN", "AUDITOR", "ISSUER", "APPROVER"], mutating: false },
  getCertificate: READ,
  listCertificates: READ,
  revokeCertificate: ADMIN_WRITE,
  // Undoes a CERTIFICATE_HOLD revocation: whoever may revoke, and no one else.
  releaseCertificateHold: ADMIN_WRITE,
  approveCertificateRequest: { roles: ["ADMIN", "APPROVER"], mutating: true },
  // Approvers' queue; issuers see their own requests only, approvers their profiles' (the use
  // case filters: certificates/request-list.ts).
  listCertificateRequests: { roles: ["ADMIN", "AUDITOR", "ISSUER", "APPROVER"], mutating: false },
  // Issuers too, for their own requests only (a requester withdraws one: the use case checks,
  // certificates/approval.ts reject).
  rejectCertificateRequest: { roles: ["ADMIN", "APPROVER", "ISSUER"], mutating: true },
  // Reads a sidecar makes with its issuer token; issuers and approvers see their profiles only
  // (the use cases check), and a private key goes to a certificate's owner only.
  watchCertificates: { roles: ["ADMIN", "AUDITOR", "ISSUER", "APPROVER"], mutating: false },
  getCurrentCertificate: { roles: ["ADMIN", "AUDITOR", "ISSUER", "APPROVER"], mutating: false },
};

const caRules: RulesOf<typeof CertificateAuthorityServiceService> = {
  createRootCertificateAuthority: ADMIN_WRITE,
  createIntermediateCertificateAuthority: ADMIN_WRITE,
  createExternalIntermediateCertificateAuthority: ADMIN_WRITE,
  importCertificateAuthorityCertificate: ADMIN_WRITE,
  getCertificateAuthority: READ,
  listCertificateAuthorities: READ,
  updateCertificateAuthority: ADMIN_WRITE,
  getCertificateRevocationList: READ,
  deleteCertificateAuthority: ADMIN_WRITE,
  revokeCertificateAuthority: ADMIN_WRITE,
};

const policyRules: RulesOf<typeof CertificatePolicyServiceService> = {
  createCertificatePolicy: ADMIN_WRITE,
  getCertificatePolicy: READ,
  listCertificatePolicies: READ,
  updateCertificatePolicy: ADMIN_WRITE,
  deleteCertificatePolicy: ADMIN_WRITE,
};

const profileRules: RulesOf<typeof CertificateProfileServiceService> = {
  createCertificateProfile: ADMIN_WRITE,
  getCertificateProfile: READ,
  listCertificateProfiles: READ,
  updateCertificateProfile: ADMIN_WRITE,
  deleteCertificateProfile: ADMIN_WRITE,
  createAcmeExternalAccountKey: ADMIN_WRITE,
  listAcmeExternalAccountKeys: READ,
  revokeAcmeExternalAccountKey: ADMIN_WRITE,
  listAcmeAccounts: READ,
  revokeAcmeAccount: ADMIN_WRITE,
};

const tokenRules: RulesOf<typeof AccessTokenServiceService> = {
  createAccessToken: ADMIN_WRITE,
  getAccessToken: READ,
  listAccessTokens: READ,
  revokeAccessToken: ADMIN_WRITE,
};

const auditRules: RulesOf<typeof AuditServiceService> = {
  listAuditRecords: READ,
};

/** The rules by full method path ("/certmint.v1.CertificateService/IssueCertificate"). */
function byPath<S extends Record<string, { path: string }>>(
  service: S,
  rules: RulesOf<S>,
): Array<[string, MethodRule]> {
  return Object.entries(service).map(([method, def]) => [def.path, rules[method as keyof S]]);
}

export const METHOD_RULES: Readonly<Record<string, MethodRule>> = Object.fromEntries([
  ...byPath(CertificateServiceService, certificateRules),
  ...byPath(CertificateAuthorityServiceService, caRules),
  ...byPath(CertificatePolicyServiceService, policyRules),
  ...byPath(CertificateProfileServiceService, profileRules),
  ...byPath(AccessTokenServiceService, tokenRules),
  ...byPath(AuditServiceService, auditRules),
]);

const CLOSED: MethodRule = { roles: [], mutating: true };

export function ruleFor(method: string): MethodRule {
  return METHOD_RULES[method] ?? CLOSED;
}
