import type { Role } from "../issuance/call-scope";

/**
 * Who may call what: every certmint RPC, its roles, and whether it changes anything (and so
 * writes an audit record). ISSUER and APPROVER are further limited to the profiles on their
 * token; the use cases check that once they know the profile (requireProfileAccess).
 * A method missing here is refused for everyone: a new RPC is closed until it is listed.
 */
export interface MethodRule {
  readonly roles: readonly Role[];
  readonly mutating: boolean;
}

const READ: MethodRule = { roles: ["ADMIN", "AUDITOR"], mutating: false };
const ADMIN_WRITE: MethodRule = { roles: ["ADMIN"], mutating: true };

const CERT = "/certmint.v1.CertificateService/";
const CA = "/certmint.v1.CertificateAuthorityService/";
const POLICY = "/certmint.v1.CertificatePolicyService/";
const PROFILE = "/certmint.v1.CertificateProfileService/";
const TOKEN = "/certmint.v1.AccessTokenService/";
const AUDIT = "/certmint.v1.AuditService/";

export const METHOD_RULES: Readonly<Record<string, MethodRule>> = {
  [`${CERT}IssueCertificate`]: { roles: ["ADMIN", "ISSUER"], mutating: true },
  [`${CERT}RenewCertificate`]: { roles: ["ADMIN", "ISSUER"], mutating: true },
  [`${CERT}GetRequestStatus`]: {
    roles: ["ADMIN", "AUDITOR", "ISSUER", "APPROVER"],
    mutating: false,
  },
  [`${CERT}GetCertificate`]: READ,
  [`${CERT}ListCertificates`]: READ,
  [`${CERT}RevokeCertificate`]: ADMIN_WRITE,
  [`${CERT}ApproveCertificateRequest`]: { roles: ["ADMIN", "APPROVER"], mutating: true },
  [`${CERT}RejectCertificateRequest`]: { roles: ["ADMIN", "APPROVER"], mutating: true },
  // Reads a sidecar makes with its issuer token; issuers and approvers see their profiles only
  // (the use cases check), and a private key goes to a certificate's owner only.
  [`${CERT}WatchCertificates`]: {
    roles: ["ADMIN", "AUDITOR", "ISSUER", "APPROVER"],
    mutating: false,
  },
  [`${CERT}GetCurrentCertificate`]: {
    roles: ["ADMIN", "AUDITOR", "ISSUER", "APPROVER"],
    mutating: false,
  },

  [`${CA}CreateRootCertificateAuthority`]: ADMIN_WRITE,
  [`${CA}CreateIntermediateCertificateAuthority`]: ADMIN_WRITE,
  [`${CA}CreateExternalIntermediateCertificateAuthority`]: ADMIN_WRITE,
  [`${CA}ImportCertificateAuthorityCertificate`]: ADMIN_WRITE,
  [`${CA}GetCertificateAuthority`]: READ,
  [`${CA}ListCertificateAuthorities`]: READ,
  [`${CA}UpdateCertificateAuthority`]: ADMIN_WRITE,
  [`${CA}GetCertificateRevocationList`]: READ,
  [`${CA}DeleteCertificateAuthority`]: ADMIN_WRITE,
  [`${CA}RevokeCertificateAuthority`]: ADMIN_WRITE,

  [`${POLICY}CreateCertificatePolicy`]: ADMIN_WRITE,
  [`${POLICY}GetCertificatePolicy`]: READ,
  [`${POLICY}ListCertificatePolicies`]: READ,
  [`${POLICY}UpdateCertificatePolicy`]: ADMIN_WRITE,
  [`${POLICY}DeleteCertificatePolicy`]: ADMIN_WRITE,

  [`${PROFILE}CreateCertificateProfile`]: ADMIN_WRITE,
  [`${PROFILE}GetCertificateProfile`]: READ,
  [`${PROFILE}ListCertificateProfiles`]: READ,
  [`${PROFILE}UpdateCertificateProfile`]: ADMIN_WRITE,
  [`${PROFILE}DeleteCertificateProfile`]: ADMIN_WRITE,

  [`${TOKEN}CreateAccessToken`]: ADMIN_WRITE,
  [`${TOKEN}GetAccessToken`]: READ,
  [`${TOKEN}ListAccessTokens`]: READ,
  [`${TOKEN}RevokeAccessToken`]: ADMIN_WRITE,

  [`${AUDIT}ListAuditRecords`]: READ,
};

const CLOSED: MethodRule = { roles: [], mutating: true };

export function ruleFor(method: string): MethodRule {
  return METHOD_RULES[method] ?? CLOSED;
}
