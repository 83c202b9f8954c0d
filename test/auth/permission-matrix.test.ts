/**
 * The permission matrix: every certmint.v1 RPC against every kind of credential, with the code
 * and ErrorInfo reason expected each time, and nothing written on refusal.
 *
 *  - no credential, malformed (`Bearer nonsense`, a `certmint_` secret of the wrong length),
 *    unknown, expired and revoked tokens: UNAUTHENTICATED, and not even an audit record;
 *  - a role the RPC is not open to: PERMISSION_DENIED ROLE_NOT_ALLOWED;
 *  - an issuer or approver acting on a profile its token does not list: PERMISSION_DENIED
 *    PROFILE_NOT_GRANTED when it names the profile (IssueCertificate), and NOT_FOUND, as for a
 *    missing id, when it names another profile's request or certificate by id;
 *  - the right role: the call goes through (a real request that succeeds).
 *
 * Who may call what is written down here from the proto (access_token_service.proto, Role),
 * not copied from src/auth/permissions.ts: the table is checked against it, and the server is
 * checked against both. Refusals use the same "probe" request the admin later sends
 * successfully, so a refusal that let the call through would show as a changed row. Every
 * table but audit_record is compared (row count and an md5 of its rows) before and after each
 * refused call; audit_record must gain exactly one row (status 7) for a PERMISSION_DENIED
 * refusal of a mutating RPC (status 5, reason PROFILE_NOT_GRANTED, for another profile's object
 * named by id), and none otherwise.
 *
 * The cases run in file order: all refusals first, then the successful calls, which consume
 * the resources the probes aimed at (a CA to delete, a certificate to revoke, ...).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, test } from "vitest";
import {
  AccessTokenServiceService,
  CreateAccessTokenRequest,
  Role as TokenRole,
} from "../../gen/ts/certmint/v1/access_token_service";
import {
  AuditServiceService,
  ListAuditRecordsRequest,
} from "../../gen/ts/certmint/v1/audit_service";
import {
  CertificateAuthorityServiceService,
  CreateExternalIntermediateCertificateAuthorityRequest,
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
  UpdateCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CertificatePolicyServiceService,
  CreateCertificatePolicyRequest,
  UpdateCertificatePolicyRequest,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CertificateProfileServiceService,
  CreateCertificateProfileRequest,
  ListAcmeAccountsRequest,
  ListAcmeExternalAccountKeysRequest,
  UpdateCertificateProfileRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateEventType,
  CertificateRequestStatus,
  CertificateServiceService,
  ListCertificateRequestsRequest,
  ListCertificatesRequest,
  RenewCertificateRequest,
  WatchCertificatesRequest,
  type WatchCertificatesResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason } from "../../gen/ts/certmint/v1/common";
import { METHOD_RULES } from "../../src/auth/permissions";
import { ROLES, type Role } from "../../src/issuance/call";
import { CA_EXTENSIONS, opensslRoot, opensslSign } from "../ca/helpers";
import { webPolicy } from "../policies/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { generatedKeyRequest } from "../support/issue-request";
import { TempDir } from "../support/openssl";
import { waitFor } from "../support/wait";

const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;
const NOT_FOUND = 5;

const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;
const PENDING_APPROVAL = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL;
const REJECTED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_REJECTED;

// ---- Every RPC, from the generated service definitions --------------------------------------

const SERVICE_DEFINITIONS = [
  CertificateServiceService,
  CertificateAuthorityServiceService,
  CertificatePolicyServiceService,
  CertificateProfileServiceService,
  AccessTokenServiceService,
  AuditServiceService,
];

/** Full paths of every certmint.v1 RPC, e.g. "/certmint.v1.CertificateService/IssueCertificate". */
const ALL_RPCS: string[] = SERVICE_DEFINITIONS.flatMap((s) =>
  Object.values(s).map((d) => d.path as string),
);

/** "CertificateService/IssueCertificate" for the test names. */
const short = (path: string) => path.replace("/certmint.v1.", "");
const methodOf = (path: string) => path.split("/").at(-1)!;

// ---- Who may call what, as the proto documents it (Role in access_token_service.proto) ------

/** Get*, List*, Watch* (GetRequestStatus, GetCertificateRevocationList, ListAuditRecords among them). */
const isReadOnly = (path: string) => /^(Get|List|Watch)/.test(methodOf(path));
/** What the certificate's holder reads (CertificateService.WatchCertificates' comment). */
const HOLDER_READS = ["GetRequestStatus", "WatchCertificates", "GetCurrentCertificate"];
/**
 * Issuers list their own requests, approvers their profiles' (the proto's Role comment). Since
 * stop 44 of 2026-12-06 an issuer also withdraws its own waiting request
 * (RejectCertificateRequest), and reads only its own requests by id (GetRequestStatus).
 */
const ISSUER_RPCS = [
  "IssueCertificate",
  "RenewCertificate",
  "ListCertificateRequests",
  "RejectCertificateRequest",
  ...HOLDER_READS,
];
const APPROVER_RPCS = [
  "ApproveCertificateRequest",
  "RejectCertificateRequest",
  "ListCertificateRequests",
  ...HOLDER_READS,
];

function allowedRoles(path: string): Role[] {
  const m = methodOf(path);
  const roles: Role[] = ["ADMIN"];
  if (path.startsWith("/certmint.v1.CertificateService/") && ISSUER_RPCS.includes(m))
    roles.push("ISSUER");
  if (path.startsWith("/certmint.v1.CertificateService/") && APPROVER_RPCS.includes(m))
    roles.push("APPROVER");
  if (isReadOnly(path)) roles.push("AUDITOR");
  return roles;
}

/** Roles limited to the profiles on their token (per-profile checks apply to them). */
const PROFILE_SCOPED: Role[] = ["ISSUER", "APPROVER"];

// ---- Fixtures ---------------------------------------------------------------------------------

interface Token {
  id: string;
  slug: string;
  secret: string;
}

/** What beforeAll creates; profile A is alpha/alpha-gated, profile B is beta/beta-gated. */
interface Fixtures {
  tokens: Record<"auditor" | "issuer" | "approver" | "expired" | "revoked", Token>;
  adminTokenId: string;
  /**
   * Certificates in alpha: one the probes renew (the admin renews it last), one the issuer
   * renews (its own: only a certificate's owner, or an admin, may renew it).
   */
  renewProbeCert: string;
  issuerRenewCert: string;
  /** An alpha certificate to revoke. */
  revokeCert: string;
  /** An alpha certificate on hold, to release. */
  holdCert: string;
  /** An ISSUED alpha request (nothing waiting), for GetRequestStatus. */
  alphaRequest: string;
  /** The issuer's own ISSUED alpha request (nothing waiting): what an issuer reads by id. */
  issuerRequest: string;
  /** PENDING_APPROVAL requests in alpha-gated. */
  approveProbe: string;
  approverApproves: string;
  rejectProbe: string;
  approverRejects: string;
  /** The issuer's own PENDING_APPROVAL request in alpha-gated, which it withdraws. */
  issuerWithdraws: string;
  /** A beta certificate, a beta request whose generated key waits, a pending beta request. */
  betaCert: string;
  betaKeyWaiting: string;
  betaPending: string;
  /** The external intermediate waiting for its certificate, and that certificate. */
  importCertificatePem: string;
  importChain: string[];
  /** An External Account Binding key of acme-web and a valid ACME account of it, to revoke. */
  eabKey: string;
  acmeAccount: string;
}

let h: TestCertmint;
let fx: Fixtures;
const tmp = new TempDir();
/** The tables compared before and after each refusal: all but audit_record. */
let tables: string[] = [];
const clientsByCredential = new Map<string, CertmintClients>();

async function issueAsAdmin(profile: string, name: string) {
  return call(h.certificates, "issueCertificate", generatedKeyRequest(profile, name));
}

async function createToken(
  slug: string,
  role: TokenRole,
  profiles: string[] = [],
  ttlSeconds?: number,
): Promise<Token> {
  const res = await call(
    h.accessTokens,
    "createAccessToken",
    CreateAccessTokenRequest.fromPartial({
      accessToken: { slug, role, certificateProfiles: profiles },
      ttl: ttlSeconds === undefined ? undefined : { seconds: String(ttlSeconds), nanos: 0 },
    }),
  );
  return { id: res.accessToken!.id, slug, secret: res.secret };
}

// ---- The requests -----------------------------------------------------------------------------

const CERT = "/certmint.v1.CertificateService/";
const CA = "/certmint.v1.CertificateAuthorityService/";
const POLICY = "/certmint.v1.CertificatePolicyService/";
const PROFILE = "/certmint.v1.CertificateProfileService/";
const TOKEN = "/certmint.v1.AccessTokenService/";
const AUDIT = "/certmint.v1.AuditService/";

type Send = (c: CertmintClients) => Promise<unknown>;

interface RpcRequests {
  /**
   * The request refused calls send: a real one, which would succeed (and change what a
   * mutating RPC changes) if the caller were let through. The admin's successful call is the
   * same request, unless `right` says otherwise.
   */
  probe: Send;
  /** The successful call of an allowed role, with its checks; defaults to the probe. */
  right?: (c: CertmintClients, role: Role) => Promise<void>;
  /** For profile-scoped RPCs: the call on profile B (beta), which the issuer or approver may not touch. */
  otherProfile?: Send;
}

const REQUESTS: Record<string, RpcRequests> = {
  [`${CERT}IssueCertificate`]: {
    probe: (c) =>
      call(c.certificates, "issueCertificate", generatedKeyRequest("alpha", "probe.example.com")),
    right: async (c, role) => {
      const res = await call(
        c.certificates,
        "issueCertificate",
        generatedKeyRequest("alpha", `${role.toLowerCase()}.example.com`),
      );
      expect(res.status).toBe(ISSUED);
      expect(res.certificate!.certificatePem).toContain("BEGIN CERTIFICATE");
    },
    otherProfile: (c) =>
      call(c.certificates, "issueCertificate", generatedKeyRequest("beta", "sneaky.example.com")),
  },
  [`${CERT}RenewCertificate`]: {
    probe: (c) =>
      call(
        c.certificates,
        "renewCertificate",
        RenewCertificateRequest.fromPartial({ certificateId: fx.renewProbeCert }),
      ),
    right: async (c, role) => {
      const res = await call(
        c.certificates,
        "renewCertificate",
        RenewCertificateRequest.fromPartial({
          certificateId: role === "ADMIN" ? fx.renewProbeCert : fx.issuerRenewCert,
        }),
      );
      expect(res.status).toBe(ISSUED);
    },
    otherProfile: (c) =>
      call(
        c.certificates,
        "renewCertificate",
        RenewCertificateRequest.fromPartial({ certificateId: fx.betaCert }),
      ),
  },
  [`${CERT}GetRequestStatus`]: {
    probe: (c) =>
      call(c.certificates, "getRequestStatus", { certificateRequestId: fx.alphaRequest }),
    right: async (c, role) => {
      // An issuer reads its own requests only (another's is NOT_FOUND, as ListCertificateRequests
      // does not show it: certificates/request-list.ts).
      const res = await call(c.certificates, "getRequestStatus", {
        certificateRequestId: role === "ISSUER" ? fx.issuerRequest : fx.alphaRequest,
      });
      expect(res.certificateRequest!.status).toBe(ISSUED);
    },
    // The generated key of this request waits for its one fetch: a refusal must not take it.
    otherProfile: (c) =>
      call(c.certificates, "getRequestStatus", { certificateRequestId: fx.betaKeyWaiting }),
  },
  [`${CERT}GetCertificate`]: {
    probe: (c) => call(c.certificates, "getCertificate", { certificate: fx.revokeCert }),
  },
  [`${CERT}GetCurrentCertificate`]: {
    probe: (c) => call(c.certificates, "getCurrentCertificate", { certificate: fx.renewProbeCert }),
    otherProfile: (c) =>
      call(c.certificates, "getCurrentCertificate", { certificate: fx.betaCert }),
  },
  [`${CERT}WatchCertificates`]: {
    // The first message of a watch of one certificate is its lineage's current certificate.
    probe: (c) => firstWatchEvent(c, { certificateId: fx.renewProbeCert }),
    otherProfile: (c) => firstWatchEvent(c, { certificateId: fx.betaCert }),
  },
  [`${CERT}ListCertificateRequests`]: {
    probe: (c) =>
      call(
        c.certificates,
        "listCertificateRequests",
        ListCertificateRequestsRequest.fromPartial({ certificateProfile: "alpha-gated" }),
      ),
    // Each role sees alpha-gated's requests that were not issued (the reject probe's stays
    // so, waiting or rejected): an issuer its own, and the issuer made them all.
    right: async (c) => {
      const res = await call(
        c.certificates,
        "listCertificateRequests",
        ListCertificateRequestsRequest.fromPartial({ certificateProfile: "alpha-gated" }),
      );
      expect(res.certificateRequests.map((r) => r.id)).toContain(fx.rejectProbe);
    },
    otherProfile: (c) =>
      call(
        c.certificates,
        "listCertificateRequests",
        ListCertificateRequestsRequest.fromPartial({ certificateProfile: "beta-gated" }),
      ),
  },
  [`${CERT}ListCertificates`]: {
    probe: (c) => call(c.certificates, "listCertificates", ListCertificatesRequest.fromPartial({})),
  },
  [`${CERT}RevokeCertificate`]: {
    probe: (c) =>
      call(c.certificates, "revokeCertificate", {
        certificate: fx.revokeCert,
        reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
      }),
  },
  [`${CERT}ReleaseCertificateHold`]: {
    probe: (c) => call(c.certificates, "releaseCertificateHold", { certificate: fx.holdCert }),
  },
  [`${CERT}ApproveCertificateRequest`]: {
    probe: (c) =>
      call(c.certificates, "approveCertificateRequest", {
        certificateRequestId: fx.approveProbe,
        comment: "probe",
      }),
    right: async (c, role) => {
      const res = await call(c.certificates, "approveCertificateRequest", {
        certificateRequestId: role === "ADMIN" ? fx.approveProbe : fx.approverApproves,
        comment: "fine",
      });
      expect(res.certificateRequest!.status).toBe(ISSUED);
    },
    otherProfile: (c) =>
      call(c.certificates, "approveCertificateRequest", {
        certificateRequestId: fx.betaPending,
        comment: "not mine",
      }),
  },
  [`${CERT}RejectCertificateRequest`]: {
    probe: (c) =>
      call(c.certificates, "rejectCertificateRequest", {
        certificateRequestId: fx.rejectProbe,
        reason: "probe",
      }),
    right: async (c, role) => {
      const res = await call(c.certificates, "rejectCertificateRequest", {
        certificateRequestId:
          role === "ADMIN"
            ? fx.rejectProbe
            : role === "ISSUER"
              ? fx.issuerWithdraws
              : fx.approverRejects,
        reason: "no",
      });
      expect(res.certificateRequest!.status).toBe(REJECTED);
    },
    otherProfile: (c) =>
      call(c.certificates, "rejectCertificateRequest", {
        certificateRequestId: fx.betaPending,
        reason: "not mine",
      }),
  },

  [`${CA}CreateRootCertificateAuthority`]: {
    probe: (c) =>
      call(
        c.authorities,
        "createRootCertificateAuthority",
        CreateRootCertificateAuthorityRequest.fromPartial({
          slug: "matrix-root",
          subject: { commonName: "Matrix Root" },
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        }),
      ),
  },
  [`${CA}CreateIntermediateCertificateAuthority`]: {
    probe: (c) =>
      call(
        c.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "matrix-intermediate",
          parentCertificateAuthority: "root",
          subject: { commonName: "Matrix Intermediate" },
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        }),
      ),
  },
  [`${CA}CreateExternalIntermediateCertificateAuthority`]: {
    probe: (c) =>
      call(
        c.authorities,
        "createExternalIntermediateCertificateAuthority",
        CreateExternalIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "matrix-external",
          subject: { commonName: "Matrix External" },
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        }),
      ),
  },
  [`${CA}ImportCertificateAuthorityCertificate`]: {
    probe: (c) =>
      call(c.authorities, "importCertificateAuthorityCertificate", {
        certificateAuthority: "pending-external",
        certificatePem: fx.importCertificatePem,
        certificateChainPem: fx.importChain,
      }),
  },
  [`${CA}GetCertificateAuthority`]: {
    probe: (c) => call(c.authorities, "getCertificateAuthority", { certificateAuthority: "root" }),
  },
  [`${CA}ListCertificateAuthorities`]: {
    probe: (c) =>
      call(c.authorities, "listCertificateAuthorities", { pageSize: 0, pageToken: "", status: 0 }),
  },
  [`${CA}UpdateCertificateAuthority`]: {
    probe: (c) =>
      call(
        c.authorities,
        "updateCertificateAuthority",
        UpdateCertificateAuthorityRequest.fromPartial({
          certificateAuthority: { slug: "root", description: "updated by the matrix" },
          updateMask: ["description"],
        }),
      ),
  },
  [`${CA}GetCertificateRevocationList`]: {
    probe: (c) =>
      call(c.authorities, "getCertificateRevocationList", {
        certificateAuthority: "root",
        encoding: 0,
        knownCrlNumber: "",
      }),
  },
  [`${CA}DeleteCertificateAuthority`]: {
    probe: (c) =>
      call(c.authorities, "deleteCertificateAuthority", {
        certificateAuthority: "doomed-ca",
        etag: "",
      }),
  },
  [`${CA}RevokeCertificateAuthority`]: {
    probe: (c) =>
      call(c.authorities, "revokeCertificateAuthority", {
        certificateAuthority: "revocable-intermediate",
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      }),
  },

  [`${POLICY}CreateCertificatePolicy`]: {
    probe: (c) =>
      call(
        c.policies,
        "createCertificatePolicy",
        CreateCertificatePolicyRequest.fromPartial({
          certificatePolicy: webPolicy("matrix-policy"),
          preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
        }),
      ),
  },
  [`${POLICY}GetCertificatePolicy`]: {
    probe: (c) => call(c.policies, "getCertificatePolicy", { certificatePolicy: "alpha-policy" }),
  },
  [`${POLICY}ListCertificatePolicies`]: {
    probe: (c) => call(c.policies, "listCertificatePolicies", { pageSize: 0, pageToken: "" }),
  },
  [`${POLICY}UpdateCertificatePolicy`]: {
    probe: (c) =>
      call(
        c.policies,
        "updateCertificatePolicy",
        UpdateCertificatePolicyRequest.fromPartial({
          certificatePolicy: { slug: "alpha-policy", description: "updated by the matrix" },
          updateMask: ["description"],
        }),
      ),
  },
  [`${POLICY}DeleteCertificatePolicy`]: {
    probe: (c) =>
      call(c.policies, "deleteCertificatePolicy", { certificatePolicy: "spare-policy", etag: "" }),
  },

  [`${PROFILE}CreateCertificateProfile`]: {
    probe: (c) =>
      call(
        c.profiles,
        "createCertificateProfile",
        CreateCertificateProfileRequest.fromPartial({
          certificateProfile: {
            slug: "matrix-profile",
            certificatePolicy: "alpha-policy",
            issuer: { $case: "certificateAuthority", value: "root" },
          },
        }),
      ),
  },
  [`${PROFILE}GetCertificateProfile`]: {
    probe: (c) => call(c.profiles, "getCertificateProfile", { certificateProfile: "alpha" }),
  },
  [`${PROFILE}ListCertificateProfiles`]: {
    probe: (c) => call(c.profiles, "listCertificateProfiles", { pageSize: 0, pageToken: "" }),
  },
  [`${PROFILE}UpdateCertificateProfile`]: {
    probe: (c) =>
      call(
        c.profiles,
        "updateCertificateProfile",
        UpdateCertificateProfileRequest.fromPartial({
          certificateProfile: { slug: "alpha", description: "updated by the matrix" },
          updateMask: ["description"],
        }),
      ),
  },
  [`${PROFILE}DeleteCertificateProfile`]: {
    probe: (c) =>
      call(c.profiles, "deleteCertificateProfile", {
        certificateProfile: "doomed",
        etag: "",
        force: false,
      }),
  },
  [`${PROFILE}CreateAcmeExternalAccountKey`]: {
    probe: (c) =>
      call(c.profiles, "createAcmeExternalAccountKey", { certificateProfile: "acme-web" }),
  },
  [`${PROFILE}ListAcmeExternalAccountKeys`]: {
    probe: (c) =>
      call(
        c.profiles,
        "listAcmeExternalAccountKeys",
        ListAcmeExternalAccountKeysRequest.fromPartial({ certificateProfile: "acme-web" }),
      ),
  },
  [`${PROFILE}RevokeAcmeExternalAccountKey`]: {
    probe: (c) => call(c.profiles, "revokeAcmeExternalAccountKey", { keyId: fx.eabKey }),
  },
  [`${PROFILE}ListAcmeAccounts`]: {
    probe: (c) =>
      call(
        c.profiles,
        "listAcmeAccounts",
        ListAcmeAccountsRequest.fromPartial({ certificateProfile: "acme-web" }),
      ),
  },
  [`${PROFILE}RevokeAcmeAccount`]: {
    probe: (c) => call(c.profiles, "revokeAcmeAccount", { acmeAccount: fx.acmeAccount }),
  },

  [`${TOKEN}CreateAccessToken`]: {
    probe: (c) =>
      call(
        c.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: "matrix-token", role: TokenRole.ROLE_AUDITOR },
        }),
      ),
  },
  [`${TOKEN}GetAccessToken`]: {
    probe: (c) => call(c.accessTokens, "getAccessToken", { accessToken: "auditor" }),
  },
  [`${TOKEN}ListAccessTokens`]: {
    probe: (c) => call(c.accessTokens, "listAccessTokens", { pageSize: 0, pageToken: "" }),
  },
  [`${TOKEN}RevokeAccessToken`]: {
    probe: (c) =>
      call(c.accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: "doomed-token",
      }),
  },

  [`${AUDIT}ListAuditRecords`]: {
    probe: (c) => call(c.audit, "listAuditRecords", ListAuditRecordsRequest.fromPartial({})),
  },
};

// ---- Credentials ----------------------------------------------------------------------------

interface BadCredential {
  name: string;
  /** The bearer token sent after "Bearer " (undefined: no authorization header at all). */
  token: () => string | undefined;
  reason: string;
}

const UNKNOWN_TOKEN = `certmint_${randomBytes(32).toString("base64url")}`;

const BAD_CREDENTIALS: BadCredential[] = [
  { name: "no credential", token: () => undefined, reason: "CREDENTIALS_MISSING" },
  { name: "malformed: Bearer nonsense", token: () => "nonsense", reason: "TOKEN_MALFORMED" },
  {
    name: "malformed: certmint_ and 42 characters",
    token: () => `certmint_${"A".repeat(42)}`,
    reason: "TOKEN_MALFORMED",
  },
  {
    name: "malformed: certmint_ and 44 characters",
    token: () => `certmint_${"A".repeat(44)}`,
    reason: "TOKEN_MALFORMED",
  },
  { name: "unknown token", token: () => UNKNOWN_TOKEN, reason: "TOKEN_UNKNOWN" },
  { name: "expired admin token", token: () => fx.tokens.expired.secret, reason: "TOKEN_EXPIRED" },
  { name: "revoked admin token", token: () => fx.tokens.revoked.secret, reason: "TOKEN_REVOKED" },
];

/** Clients sending this token (one set per token, made once). */
function clientsFor(token: string | undefined): CertmintClients {
  const key = token ?? "";
  let c = clientsByCredential.get(key);
  if (!c) {
    c = token === h.adminToken ? h : h.clientsAs(token);
    clientsByCredential.set(key, c);
  }
  return c;
}

function clientsOfRole(role: Role): CertmintClients {
  if (role === "ADMIN") return clientsFor(h.adminToken);
  const slug = role.toLowerCase() as "auditor" | "issuer" | "approver";
  return clientsFor(fx.tokens[slug].secret);
}

/** The id of the access token a role's clients send (audit records name it as actor). */
function tokenIdOfRole(role: Role): string {
  if (role === "ADMIN") return fx.adminTokenId;
  return fx.tokens[role.toLowerCase() as "auditor" | "issuer" | "approver"].id;
}

// ---- "Nothing written" ----------------------------------------------------------------------

/** Per table (all but audit_record): "rows:md5 of the rows in a stable order". */
async function snapshot(): Promise<Record<string, string>> {
  const sql = tables
    .map(
      (t) =>
        `select '${t}' as t, count(*) || ':' || coalesce(md5(string_agg(x::text, ',' order by x::text)), '') as s from "${t}" x`,
    )
    .join(" union all ");
  const rows = await h.db.query<{ t: string; s: string }>(sql);
  return Object.fromEntries(rows.map((r) => [r.t, r.s]));
}

type AuditRow = {
  id: string;
  actor_id: string | null;
  method: string;
  status_code: number;
  error_reason: string;
};

async function auditIds(): Promise<string[]> {
  const rows = await h.db.query<{ id: string }>("select id from audit_record");
  return rows.map((r) => r.id);
}

async function auditRowsAfter(before: string[]): Promise<Omit<AuditRow, "id">[]> {
  const rows = await h.db.query<AuditRow>(
    "select id, actor_id, method, status_code, error_reason from audit_record where not (id = any($1::uuid[])) order by created_at",
    [before],
  );
  return rows.map(({ id: _id, ...rest }) => rest);
}

/**
 * Sends a call that must be refused with `code`/`reason`; nothing but (for `audited`) one
 * audit record of the refusal may be written.
 */
/** Opens a watch, waits for its first event, and ends it; rejects with the stream's error. */
function firstWatchEvent(
  c: CertmintClients,
  scope: { certificateId: string },
): Promise<WatchCertificatesResponse> {
  return new Promise((resolve, reject) => {
    const stream = c.certificates.watchCertificates(
      WatchCertificatesRequest.fromPartial({
        scope: { $case: "certificateId", value: scope.certificateId },
      }),
    );
    stream.on("data", (event: WatchCertificatesResponse) => {
      expect(event.type).toBe(CertificateEventType.CERTIFICATE_EVENT_TYPE_CURRENT);
      resolve(event);
      stream.cancel();
    });
    // After a cancel the stream reports CANCELLED: the promise is settled by then.
    stream.on("error", reject);
  });
}

async function expectRefusal(
  send: () => Promise<unknown>,
  expected: { code: number; reason: string },
  /** The refusal's audit record; its reason is the client's unless `reason` says otherwise. */
  audited?: { actorId: string; method: string; reason?: string },
): Promise<void> {
  const before = await snapshot();
  const auditBefore = await auditIds();
  const err = await expectRpcError(send());
  expect({ code: err.code, reason: err.reason }, err.message).toEqual(expected);
  expect(await snapshot()).toEqual(before);
  expect(await auditRowsAfter(auditBefore)).toEqual(
    audited
      ? [
          {
            actor_id: audited.actorId,
            method: audited.method,
            status_code: expected.code,
            error_reason: audited.reason ?? expected.reason,
          },
        ]
      : [],
  );
}

// ---- Setup --------------------------------------------------------------------------------

beforeAll(async () => {
  // Every bad credential below is tried on every RPC from one address: the per-address limit
  // of failed authentications (test/auth/gate-limits.test.ts) would answer RESOURCE_EXHAUSTED.
  h = await startTestCertmint({ CERTMINT_AUTH_FAILURE_LIMIT_PER_SECOND: "0" });
  const root = await createRoot(h, "root");
  await createRoot(h, "doomed-ca");
  for (const [slug, requireApproval] of [
    ["alpha", false],
    ["alpha-gated", true],
    ["beta", false],
    ["beta-gated", true],
    ["doomed", false],
    ["acme-web", false],
  ] as const) {
    // The admin approves its own beta-gated request below: that profile allows it.
    await createProfileRows(h, {
      slug,
      caId: root.id,
      requireApproval,
      allowSelfApproval: slug === "beta-gated",
    });
  }
  // An ACME profile, for its External Account Binding keys.
  await h.db.query(
    `update certificate_profile set enrollment_method = 'ACME' where slug = 'acme-web'`,
  );
  await call(
    h.authorities,
    "createIntermediateCertificateAuthority",
    CreateIntermediateCertificateAuthorityRequest.fromPartial({
      slug: "revocable-intermediate",
      parentCertificateAuthority: "root",
      subject: { commonName: "Revocable Intermediate" },
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
    }),
  );
  await call(
    h.policies,
    "createCertificatePolicy",
    CreateCertificatePolicyRequest.fromPartial({
      certificatePolicy: webPolicy("spare-policy"),
      preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
    }),
  );

  // An external intermediate waiting for the certificate an outside root signs.
  const ext = await call(
    h.authorities,
    "createExternalIntermediateCertificateAuthority",
    CreateExternalIntermediateCertificateAuthorityRequest.fromPartial({
      slug: "pending-external",
      subject: { commonName: "Pending External" },
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
    }),
  );
  const outside = opensslRoot(tmp);
  const importCertificatePem = opensslSign(tmp, ext.csrPem, outside, CA_EXTENSIONS);

  const renewProbe = await issueAsAdmin("alpha", "renew-probe.example.com");
  // Its generated key is held for replays, and GetRequestStatus hands a held key to its
  // requester (an audited hand-out): dropped here, so the read probed below is a plain read.
  await h.db.query(
    "update certificate_request set sealed_private_key = null, key_held_until = null where id = $1",
    [renewProbe.certificateRequestId],
  );
  const toRevoke = await issueAsAdmin("alpha", "revoke-me.example.com");
  const onHold = await issueAsAdmin("alpha", "hold-me.example.com");
  await call(h.certificates, "revokeCertificate", {
    certificate: onHold.certificate!.certificateId,
    reason: RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD,
  });
  const beta = await issueAsAdmin("beta", "beta.example.com");
  const pending = async (profile: string, name: string, as?: CertmintClients) => {
    const res = as
      ? await call(as.certificates, "issueCertificate", generatedKeyRequest(profile, name))
      : await issueAsAdmin(profile, name);
    expect(res.status).toBe(PENDING_APPROVAL);
    return res.certificateRequestId;
  };
  const betaKeyWaiting = await pending("beta-gated", "beta-waiting.example.com");
  const approved = await call(h.certificates, "approveCertificateRequest", {
    certificateRequestId: betaKeyWaiting,
    comment: "",
  });
  expect(approved.certificateRequest!.status).toBe(ISSUED);
  const [waiting] = await h.db.query(
    "select sealed_private_key is not null as waits from certificate_request where id = $1",
    [betaKeyWaiting],
  );
  expect(waiting!.waits).toBe(true);

  const A = ["alpha", "alpha-gated"];
  const revoked = await createToken("revoked", TokenRole.ROLE_ADMIN);
  const issuer = await createToken("issuer", TokenRole.ROLE_ISSUER, A);
  // The issuer's own certificate (it renews it), and its requests that approvers decide (the
  // admin among them: a requester never approves its own request).
  const asIssuer = clientsFor(issuer.secret);
  const issuerRenew = await call(
    asIssuer.certificates,
    "issueCertificate",
    generatedKeyRequest("alpha", "issuer-renew.example.com"),
  );
  // As renewProbe's: the read of the issuer's own request below is a plain read.
  await h.db.query(
    "update certificate_request set sealed_private_key = null, key_held_until = null where id = $1",
    [issuerRenew.certificateRequestId],
  );
  fx = {
    tokens: {
      auditor: await createToken("auditor", TokenRole.ROLE_AUDITOR),
      issuer,
      approver: await createToken("approver", TokenRole.ROLE_APPROVER, A),
      // Never used before it is moved into the past (the server caches token rows).
      expired: await createToken("expired", TokenRole.ROLE_ADMIN, [], 60),
      revoked,
    },
    adminTokenId: "",
    renewProbeCert: renewProbe.certificate!.certificateId,
    issuerRenewCert: issuerRenew.certificate!.certificateId,
    revokeCert: toRevoke.certificate!.certificateId,
    holdCert: onHold.certificate!.certificateId,
    alphaRequest: renewProbe.certificateRequestId,
    issuerRequest: issuerRenew.certificateRequestId,
    approveProbe: await pending("alpha-gated", "approve-probe.example.com", asIssuer),
    approverApproves: await pending("alpha-gated", "approver-approves.example.com", asIssuer),
    rejectProbe: await pending("alpha-gated", "reject-probe.example.com", asIssuer),
    approverRejects: await pending("alpha-gated", "approver-rejects.example.com", asIssuer),
    issuerWithdraws: await pending("alpha-gated", "issuer-withdraws.example.com", asIssuer),
    betaCert: beta.certificate!.certificateId,
    betaKeyWaiting,
    betaPending: await pending("beta-gated", "beta-pending.example.com"),
    importCertificatePem,
    importChain: [outside.pem],
    eabKey: (
      await call(h.profiles, "createAcmeExternalAccountKey", { certificateProfile: "acme-web" })
    ).keyId,
    acmeAccount: randomUUID(),
  };
  // An account as src/acme stores one (its JWK is not read by the admin's calls).
  await h.db.query(
    `insert into acme_account (id, profile_id, key_thumbprint, jwk, status, contact, created_at, updated_at)
     select $1, id, 'matrix-thumbprint', '{}'::jsonb, 'valid', '[]'::jsonb, now(), now()
       from certificate_profile where slug = 'acme-web'`,
    [fx.acmeAccount],
  );
  await createToken("doomed-token", TokenRole.ROLE_AUDITOR);

  // The revoked token works, and is cached, before it is revoked: revocation must evict it.
  await call(clientsFor(revoked.secret).authorities, "listCertificateAuthorities", {
    pageSize: 0,
    pageToken: "",
    status: 0,
  });
  await call(h.accessTokens, "revokeAccessToken", {
    revokeCreatedTokens: false,
    accessToken: "revoked",
  });
  await h.db.query(
    "update access_token set expires_at = now() - interval '1 minute' where slug = 'expired'",
  );
  const [admin] = await h.db.query<{ id: string }>(
    "select id from access_token where creator_id is null and role = 'ADMIN'",
  );
  fx.adminTokenId = admin!.id;

  // Certificate events get their cursor shortly after they commit (the server's sequencer):
  // the snapshots below must not see the fixtures' events numbered between two of them.
  await waitFor("the fixtures' certificate events numbered", async () => {
    const [row] = await h.db.query<{ n: string }>(
      "select count(*) as n from certificate_event where position is null",
    );
    return Number(row!.n) === 0;
  });
  tables = (
    await h.db.query<{ table_name: string }>(
      `select table_name from information_schema.tables
        where table_schema = current_schema() and table_type = 'BASE TABLE' and table_name <> 'audit_record'
        order by 1`,
    )
  ).map((r) => r.table_name);
});

afterAll(async () => {
  await h?.stop();
  tmp.remove();
});

// ---- The matrix -----------------------------------------------------------------------------

describe("the RPCs of the matrix", () => {
  it("are every certmint.v1 RPC: 42 in the generated services, each in METHOD_RULES and here", () => {
    const counts = SERVICE_DEFINITIONS.map((s) => Object.keys(s).length);
    expect(counts).toEqual([12, 10, 5, 10, 4, 1]);
    expect(new Set(ALL_RPCS).size).toBe(42);
    expect([...ALL_RPCS].sort()).toEqual(Object.keys(METHOD_RULES).sort());
    expect([...ALL_RPCS].sort()).toEqual(Object.keys(REQUESTS).sort());
  });

  it("METHOD_RULES grants each RPC the roles the proto documents, and marks the writes", () => {
    const table = Object.fromEntries(
      Object.entries(METHOD_RULES).map(([path, rule]) => [
        path,
        { roles: [...rule.roles].sort(), mutating: rule.mutating },
      ]),
    );
    const documented = Object.fromEntries(
      ALL_RPCS.map((path) => [
        path,
        { roles: allowedRoles(path).sort(), mutating: !isReadOnly(path) },
      ]),
    );
    expect(table).toEqual(documented);
  });

  it("the snapshot covers every table that a refusal could write", () => {
    for (const t of ["access_token", "certificate", "certificate_authority", "certificate_policy"])
      expect(tables).toContain(t);
    for (const t of ["certificate_profile", "certificate_request"]) expect(tables).toContain(t);
    expect(tables).not.toContain("audit_record");
  });
});

describe.each(
  BAD_CREDENTIALS.map((c): [string, BadCredential] => [
    `${c.name}: UNAUTHENTICATED ${c.reason}, nothing written`,
    c,
  ]),
)("%s", (_title, cred) => {
  test.each(ALL_RPCS.map(short))("%s", async (name) => {
    const path = `/certmint.v1.${name}`;
    await expectRefusal(() => REQUESTS[path]!.probe(clientsFor(cred.token())), {
      code: UNAUTHENTICATED,
      reason: cred.reason,
    });
  });
});

/** [test name, RPC path, role]: the test name comes first, as %s prints it whole. */
type Case = [string, string, Role];

const WRONG_ROLE_CASES: Case[] = ALL_RPCS.flatMap((path) =>
  ROLES.filter((role) => !allowedRoles(path).includes(role)).map(
    (role): Case => [`${short(path)} as ${role}`, path, role],
  ),
);

describe("wrong role: PERMISSION_DENIED ROLE_NOT_ALLOWED; only a mutating call's refusal is audited", () => {
  test.each(WRONG_ROLE_CASES)("%s", async (_name, path, role) => {
    await expectRefusal(
      () => REQUESTS[path]!.probe(clientsOfRole(role)),
      { code: PERMISSION_DENIED, reason: "ROLE_NOT_ALLOWED" },
      isReadOnly(path) ? undefined : { actorId: tokenIdOfRole(role), method: path },
    );
  });
});

const OTHER_PROFILE_CASES: Case[] = ALL_RPCS.flatMap((path) =>
  allowedRoles(path)
    .filter((role) => PROFILE_SCOPED.includes(role))
    .map((role): Case => [`${short(path)} as ${role} on profile B`, path, role]),
);

/**
 * What an issuer or approver gets for profile B: PERMISSION_DENIED when it names the profile
 * itself; NOT_FOUND, as for an id that does not exist, when it names one of B's objects by id
 * (the audit record of a refused change says PROFILE_NOT_GRANTED, for admins).
 */
const OTHER_PROFILE_REFUSAL: Record<string, { code: number; reason: string }> = {
  IssueCertificate: { code: PERMISSION_DENIED, reason: "PROFILE_NOT_GRANTED" },
  RenewCertificate: { code: NOT_FOUND, reason: "CERTIFICATE_NOT_FOUND" },
  GetRequestStatus: { code: NOT_FOUND, reason: "CERTIFICATE_REQUEST_NOT_FOUND" },
  ListCertificateRequests: { code: PERMISSION_DENIED, reason: "PROFILE_NOT_GRANTED" },
  ApproveCertificateRequest: { code: NOT_FOUND, reason: "CERTIFICATE_REQUEST_NOT_FOUND" },
  RejectCertificateRequest: { code: NOT_FOUND, reason: "CERTIFICATE_REQUEST_NOT_FOUND" },
  WatchCertificates: { code: NOT_FOUND, reason: "CERTIFICATE_NOT_FOUND" },
  GetCurrentCertificate: { code: NOT_FOUND, reason: "CERTIFICATE_NOT_FOUND" },
};

describe("right role, another profile: PERMISSION_DENIED by profile, NOT_FOUND by id", () => {
  it("covers the profile-scoped RPCs", () => {
    expect(OTHER_PROFILE_CASES.map(([, path, role]) => `${methodOf(path)} ${role}`)).toEqual([
      "IssueCertificate ISSUER",
      "RenewCertificate ISSUER",
      "GetRequestStatus ISSUER",
      "GetRequestStatus APPROVER",
      "ApproveCertificateRequest APPROVER",
      "RejectCertificateRequest ISSUER",
      "RejectCertificateRequest APPROVER",
      "ListCertificateRequests ISSUER",
      "ListCertificateRequests APPROVER",
      "WatchCertificates ISSUER",
      "WatchCertificates APPROVER",
      "GetCurrentCertificate ISSUER",
      "GetCurrentCertificate APPROVER",
    ]);
  });

  test.each(OTHER_PROFILE_CASES)("%s", async (_name, path, role) => {
    await expectRefusal(
      () => REQUESTS[path]!.otherProfile!(clientsOfRole(role)),
      OTHER_PROFILE_REFUSAL[methodOf(path)]!,
      isReadOnly(path)
        ? undefined
        : { actorId: tokenIdOfRole(role), method: path, reason: "PROFILE_NOT_GRANTED" },
    );
  });
});

const RIGHT_CASES: Case[] = ALL_RPCS.flatMap((path) =>
  allowedRoles(path).map((role): Case => [`${short(path)} as ${role}`, path, role]),
);

describe("right role (on its own profile): the call succeeds; a write is audited once", () => {
  test.each(RIGHT_CASES)("%s", async (_name, path, role) => {
    const auditBefore = await auditIds();
    const rpc = REQUESTS[path]!;
    const c = clientsOfRole(role);
    if (rpc.right) await rpc.right(c, role);
    else await rpc.probe(c);
    // The probe certificate of WatchCertificates is the admin's, its key kept: the admin's
    // watch hands the key over in its CURRENT event, and that hand-over is audited.
    const keyHandedOver = path === `${CERT}WatchCertificates` && role === "ADMIN";
    expect(await auditRowsAfter(auditBefore)).toEqual(
      isReadOnly(path) && !keyHandedOver
        ? []
        : [{ actor_id: tokenIdOfRole(role), method: path, status_code: 0, error_reason: "" }],
    );
  });
});

describe("a generated key waiting for approval", () => {
  // GetRequestStatus is open to every role that may read the request, but the generated key
  // that waited for approval goes only to the access token that made the request
  // (certificate_request.caller): an auditor or approver reading first must not take it.
  it("an auditor's GetRequestStatus leaves the generated key waiting for its requester", async () => {
    const issuer = clientsOfRole("ISSUER");
    const req = await call(
      issuer.certificates,
      "issueCertificate",
      generatedKeyRequest("alpha-gated", "key-for-issuer.example.com"),
    );
    expect(req.status).toBe(PENDING_APPROVAL);
    await call(clientsOfRole("APPROVER").certificates, "approveCertificateRequest", {
      certificateRequestId: req.certificateRequestId,
      comment: "",
    });
    const auditBefore = await auditIds();
    const seenByAuditor = await call(clientsOfRole("AUDITOR").certificates, "getRequestStatus", {
      certificateRequestId: req.certificateRequestId,
    });
    expect(seenByAuditor.certificateRequest!.status).toBe(ISSUED);
    expect(seenByAuditor.privateKeyPem).toBe("");
    const seenByIssuer = await call(issuer.certificates, "getRequestStatus", {
      certificateRequestId: req.certificateRequestId,
    });
    expect(seenByIssuer.privateKeyPem).toContain("BEGIN PRIVATE KEY");
    // Only the key's hand-over is audited (the requester's read that took it), not the reads.
    expect(await auditRowsAfter(auditBefore)).toEqual([
      {
        actor_id: tokenIdOfRole("ISSUER"),
        method: "/certmint.v1.CertificateService/GetRequestStatus",
        status_code: 0,
        error_reason: "",
      },
    ]);
  });
});
