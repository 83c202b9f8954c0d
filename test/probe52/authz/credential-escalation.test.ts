/**
 * Probe 52 (AUTHZ): escalation through the certificates a token may renew, on the compiled
 * server (dist/src/main.js) and a second process on its database that requires client
 * certificates. Black-box: the gRPC API and rows in PostgreSQL.
 *
 *  - The README's mTLS bootstrap lets a bound workload renew "exactly the certificate it
 *    presents". That is an exception to who may renew (the owner rule), not to which profiles a
 *    token may act on: a certificate on a profile its token does not list stays NOT_FOUND, as
 *    any other profile's object ("An issuer or approver learns nothing of other profiles").
 *  - Renewing keeps the profile's policy: a TTL past the policy's max_ttl makes no longer-lived
 *    credential.
 *  - A sharing issuer (renewal.allow_shared_renewal) that renews an admin's client certificate
 *    gets no key with REUSE, and with NEW a certificate that is its own, never the admin's
 *    credential ("A certificate certmint issued authenticates only as its own token").
 *  - A binding that names certmint's own CA by its certificate's SHA-256 (as an outside CA is
 *    named) is held to the owner rule all the same: an issuer's certificate for the bound name
 *    is not that token.
 *  - A renewal waiting for approval is told (RENEWAL_ALREADY_WAITING, naming the request) only
 *    to a caller that may renew the certificate: a co-issuer that may not is CERTIFICATE_NOT_OWNED
 *    and an issuer of another profile NOT_FOUND, neither learning the owner's request.
 *  - A TLS server's certificate (serverAuth only) from the bound CA, for the name an admin's
 *    binding holds, is no client credential, even one an admin requested ("with the clientAuth
 *    purpose, if the certificate names purposes").
 *  - No request, whatever it asks for, yields a certificate that could sign others (cA=TRUE or
 *    keyCertSign) on a profile for end entities.
 */
import { X509Certificate } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  ListAccessTokensRequest,
} from "../../../gen/ts/certmint/v1/access_token_service";
import { ListAuditRecordsRequest } from "../../../gen/ts/certmint/v1/audit_service";
import {
  GetCertificateAuthorityRequest,
  ListCertificateAuthoritiesRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CreateAcmeExternalAccountKeyRequest,
  CreateCertificateProfileRequest,
  EnrollmentMethod,
  ListAcmeExternalAccountKeysRequest,
  UpdateCertificateProfileRequest,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  ApproveCertificateRequestRequest,
  CertificateRequestStatus,
  GetCurrentCertificateRequest,
  IssueCertificateRequest,
  ListCertificateRequestsRequest,
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { type LiveCertmint, Role, startLive, token } from "../../probe49/api/live";
import {
  bindDnsName,
  createSvcPki,
  createSvcProfile,
  issueForNames,
  type MtlsProcess,
  outcomeOf,
  PROFILE,
  ROOT,
  startMtlsProcess,
} from "../../probe51/identity/svc-pki";
import { type CertmintClients, call, expectRpcError } from "../../support/harness";
import type { ClientCert } from "../../support/mtls-server";
import { opensslOk, TempDir } from "../../support/openssl";
import { allTablesButAudit, eventsNumbered, snapshotTables } from "./rows";

const ADMIN_NAME = "ops.svc.example";
const TEAM_NAME = "team.svc.example";
/** A profile on the svc-clients policy that the team's token does not list. */
const OTHER = "svc-other";
/** A profile on the same policy whose issuers share renewals. */
const SHARED = "svc-shared";
/** A profile on the same policy whose certificates (and renewals) wait for approval. */
const GATED = "svc-gated";

const renew = (
  as: CertmintClients,
  certificateId: string,
  extra: Partial<RenewCertificateRequest> = {},
) =>
  call(
    as.certificates,
    "renewCertificate",
    RenewCertificateRequest.fromPartial({ certificateId, ...extra }),
  );

/** A call of the caller's own (its request list): who the certificate authenticates as. */
const whoAmI = (clients: CertmintClients) =>
  outcomeOf(
    call(
      clients.certificates,
      "listCertificateRequests",
      ListCertificateRequestsRequest.fromPartial({ pageSize: 1 }),
    ),
  );

describe("probe52 authz: escalation through certificates a token may renew", () => {
  let live: LiveCertmint;
  let mtls: MtlsProcess;
  let tables: string[];
  const tmp = new TempDir();

  beforeAll(async () => {
    live = await startLive();
    const rootPem = await createSvcPki(live);
    await createSvcProfile(live, OTHER);
    await createSvcProfile(live, SHARED);
    await createSvcProfile(live, GATED, { requireApproval: true });
    await call(
      live.admin.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: { slug: SHARED, renewal: { allowSharedRenewal: true } },
        updateMask: ["renewal.allow_shared_renewal"],
      }),
    );
    await bindDnsName(live, "ops-admin", Role.ROLE_ADMIN, ADMIN_NAME);
    await bindDnsName(live, "team", Role.ROLE_ISSUER, TEAM_NAME, [PROFILE]);
    mtls = await startMtlsProcess({
      databaseUrl: live.db.url,
      kek: live.kek,
      dataDir: live.server.dataDir,
      clientCaPem: rootPem,
    });
    tables = await allTablesButAudit(live.db);
  }, 240_000);

  afterAll(async () => {
    await mtls?.stop();
    await live?.stop();
    tmp.remove();
  });

  const unchangedBy = async (act: () => Promise<void>) => {
    await eventsNumbered(live.db);
    const before = await snapshotTables(live.db, tables);
    await act();
    expect(await snapshotTables(live.db, tables)).toEqual(before);
  };

  it("a bound issuer presenting an admin's certificate on a profile its token does not list renews nothing: NOT_FOUND", async () => {
    // The admin issues the workload's certificate on the wrong profile (a mistake, or a profile
    // meant for something else): it authenticates as the team (the binding names the root).
    const onOther = await issueForNames(live.admin, [TEAM_NAME], OTHER);
    const team = mtls.over(onOther);
    expect(await whoAmI(team)).toEqual({ code: status.OK, reason: "" });
    // The token lists svc-clients only: svc-other is not the team's to act on.
    expect(
      await expectRpcError(
        call(
          team.certificates,
          "getCurrentCertificate",
          GetCurrentCertificateRequest.fromPartial({ certificate: onOther.id }),
        ),
      ),
    ).toMatchObject({ code: status.NOT_FOUND, reason: "CERTIFICATE_NOT_FOUND" });
    for (const keySource of [
      RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
      RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    ]) {
      await unchangedBy(async () => {
        const err = await expectRpcError(renew(team, onOther.id, { keySource }));
        expect({ code: err.code, reason: err.reason }).toEqual({
          code: status.NOT_FOUND,
          reason: "CERTIFICATE_NOT_FOUND",
        });
      });
    }
  });

  it("the bound issuer renewing its presented certificate gets no longer life than the policy's max_ttl", async () => {
    const first = await issueForNames(live.admin, [TEAM_NAME]);
    const team = mtls.over(first);
    const maxTtlMs = 7 * 86_400_000;
    const asked = { seconds: String(365 * 86_400), nanos: 0 };
    const outcome = await outcomeOf(
      renew(team, first.id, { keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE, ttl: asked }),
    );
    if (outcome.code === status.OK) {
      const rows = await live.db.query<{ not_before: Date; not_after: Date }>(
        "select not_before, not_after from certificate where renewed_from_id = $1",
        [first.id],
      );
      for (const r of rows)
        expect(r.not_after.getTime() - r.not_before.getTime()).toBeLessThanOrEqual(
          maxTtlMs + 3_600_000,
        );
    } else {
      expect(outcome.code).toBe(status.INVALID_ARGUMENT);
    }
  });

  it("a sharing issuer renewing an admin's client certificate gets no key (REUSE), and with NEW a certificate that is not the admin", async () => {
    const sharer = await token(live, "sharer", Role.ROLE_ISSUER, [SHARED]);
    const adminCert = await issueForNames(live.admin, [ADMIN_NAME], SHARED);
    // The admin's certificate is the admin's credential.
    expect(await whoAmI(mtls.over(adminCert))).toEqual({ code: status.OK, reason: "" });

    const reused = await renew(sharer.clients, adminCert.id, {
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
    });
    expect(reused.privateKeyPem).toBe("");

    const fresh = await renew(sharer.clients, reused.certificate!.certificateId, {
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    });
    expect(fresh.privateKeyPem).toContain("PRIVATE KEY");
    const stolen: ClientCert = {
      certPem: fresh.certificate!.certificatePem + fresh.certificate!.issuingCaCertificatePem,
      keyPem: fresh.privateKeyPem,
    };
    // The new certificate for the admin's name is the sharer's: it authenticates as no one.
    const before = await live.count("access_token");
    const err = await expectRpcError(
      call(
        mtls.over(stolen).accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: "stolen", role: Role.ROLE_ADMIN },
        }),
      ),
    );
    expect({ code: err.code, reason: err.reason }).toEqual({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_NOT_BOUND",
    });
    expect(await live.count("access_token")).toBe(before);
  });

  it("an issuer's CSR asking for cA=TRUE and keyCertSign never yields a certificate that signs others", async () => {
    const team = await token(live, "csr-team", Role.ROLE_ISSUER, [PROFILE]);
    const key = tmp.file("ca-key.pem", "");
    opensslOk(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
    const csrPem = opensslOk([
      "req",
      "-new",
      "-key",
      key,
      "-subj",
      "/CN=rogue.svc.example",
      "-addext",
      "subjectAltName=DNS:rogue.svc.example",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
      "-addext",
      "extendedKeyUsage=anyExtendedKeyUsage,serverAuth,clientAuth",
    ]);
    const before = await live.count("certificate");
    const outcome = await outcomeOf(
      call(
        team.clients.certificates,
        "issueCertificate",
        IssueCertificateRequest.fromPartial({
          certificateProfile: PROFILE,
          source: { $case: "csrPem", value: csrPem },
        }),
      ),
    );
    if (outcome.code !== status.OK) {
      expect(outcome.code).toBe(status.INVALID_ARGUMENT);
      expect(await live.count("certificate")).toBe(before);
      return;
    }
    const [row] = await live.db.query<{ certificate_pem: string }>(
      "select certificate_pem from certificate order by created_at desc limit 1",
    );
    const x = new X509Certificate(row!.certificate_pem);
    expect(x.ca).toBe(false);
    const text = opensslOk(
      ["x509", "-noout", "-ext", "keyUsage,extendedKeyUsage"],
      row!.certificate_pem,
    );
    expect(text).not.toMatch(/Certificate Sign|CRL Sign|Any Extended Key Usage/);
  });

  it("an auditor's reads of CAs, tokens, EAB keys and the audit trail hold no private key, token secret or EAB HMAC key", async () => {
    await call(
      live.admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "svc-acme",
          certificatePolicy: PROFILE,
          issuer: { $case: "certificateAuthority", value: ROOT },
          enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_ACME,
        },
      }),
    );
    const eab = await call(
      live.admin.profiles,
      "createAcmeExternalAccountKey",
      CreateAcmeExternalAccountKeyRequest.fromPartial({ certificateProfile: "svc-acme" }),
    );
    expect(eab.hmacKey.length).toBeGreaterThan(20);
    const auditor = await token(live, "reader", Role.ROLE_AUDITOR);
    const a = auditor.clients;
    const seen = JSON.stringify([
      await call(
        a.profiles,
        "listAcmeExternalAccountKeys",
        ListAcmeExternalAccountKeysRequest.fromPartial({ certificateProfile: "svc-acme" }),
      ),
      await call(
        a.authorities,
        "listCertificateAuthorities",
        ListCertificateAuthoritiesRequest.fromPartial({ pageSize: 1000 }),
      ),
      await call(
        a.authorities,
        "getCertificateAuthority",
        GetCertificateAuthorityRequest.fromPartial({ certificateAuthority: ROOT }),
      ),
      await call(
        a.accessTokens,
        "listAccessTokens",
        ListAccessTokensRequest.fromPartial({ pageSize: 1000 }),
      ),
      await call(
        a.audit,
        "listAuditRecords",
        ListAuditRecordsRequest.fromPartial({ pageSize: 1000 }),
      ),
    ]);
    expect(seen).not.toMatch(/PRIVATE KEY/);
    expect(seen).not.toMatch(/certmint_[A-Za-z0-9_-]{43}/);
    expect(seen).not.toContain(live.adminToken);
    expect(seen).toContain(eab.keyId);
    expect(seen).not.toContain(eab.hmacKey);
  });

  it("a binding naming certmint's own root by its SHA-256 still holds an issuer's certificate for the bound name to the owner rule", async () => {
    const root = await call(
      live.admin.authorities,
      "getCertificateAuthority",
      GetCertificateAuthorityRequest.fromPartial({ certificateAuthority: ROOT }),
    );
    const fingerprint = new X509Certificate(root.certificateAuthority!.certificatePem)
      .fingerprint256;
    const name = "fp-admin.svc.example";
    const made = await outcomeOf(
      call(
        live.admin.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: {
            slug: "fp-admin",
            role: Role.ROLE_ADMIN,
            clientCertificateBinding: {
              identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_DNS_SAN,
              value: name,
              issuerCertificateSha256: fingerprint,
            },
          },
        }),
      ),
    );
    // Refusing such a binding would do too; made, it must not let an issuer in.
    if (made.code !== status.OK) return;
    const team = await token(live, "fp-team", Role.ROLE_ISSUER, [PROFILE]);
    const own = await issueForNames(team.clients, [name]);
    const before = await live.count("access_token");
    const err = await expectRpcError(
      call(
        mtls.over(own).accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: "fp-stolen", role: Role.ROLE_ADMIN },
        }),
      ),
    );
    expect({ code: err.code, reason: err.reason }).toEqual({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_NOT_BOUND",
    });
    expect(await live.count("access_token")).toBe(before);
    // The binding itself works: the admin's own certificate for the name is the admin.
    const adminOwn = await issueForNames(live.admin, [name]);
    expect(await whoAmI(mtls.over(adminOwn))).toEqual({ code: status.OK, reason: "" });
  });

  it("a renewal waiting for approval is told only to a caller that may renew the certificate", async () => {
    const owner = await token(live, "gated-owner", Role.ROLE_ISSUER, [GATED]);
    const coIssuer = await token(live, "gated-co", Role.ROLE_ISSUER, [GATED]);
    const stranger = await token(live, "gated-stranger", Role.ROLE_ISSUER, [PROFILE]);
    const asked = await call(
      owner.clients.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: GATED,
        source: {
          $case: "attributes",
          value: {
            subject: { commonName: "gated.svc.example" },
            subjectAlternativeNames: { dnsNames: ["gated.svc.example"] },
          },
        },
      }),
    );
    expect(asked.status).toBe(CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL);
    const approved = await call(
      live.admin.certificates,
      "approveCertificateRequest",
      ApproveCertificateRequestRequest.fromPartial({
        certificateRequestId: asked.certificateRequestId,
      }),
    );
    const certificateId = approved.certificateRequest!.certificateId;
    const waiting = await renew(owner.clients, certificateId, {
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    });
    expect(waiting.status).toBe(
      CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL,
    );

    await unchangedBy(async () => {
      const co = await expectRpcError(renew(coIssuer.clients, certificateId));
      expect({ code: co.code, reason: co.reason }).toEqual({
        code: status.PERMISSION_DENIED,
        reason: "CERTIFICATE_NOT_OWNED",
      });
      expect(co.message).not.toContain(waiting.certificateRequestId);
      const far = await expectRpcError(renew(stranger.clients, certificateId));
      expect({ code: far.code, reason: far.reason }).toEqual({
        code: status.NOT_FOUND,
        reason: "CERTIFICATE_NOT_FOUND",
      });
      expect(far.message).not.toContain(waiting.certificateRequestId);
    });
  });

  it("an admin's TLS server certificate for the name an admin binding holds is no client credential", async () => {
    await call(
      live.admin.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
        certificatePolicy: {
          slug: "svc-servers",
          sanRules: { dns: { allowed: ["**.svc.example"] } },
          subjectRules: { commonName: { allowed: ["*"] } },
        },
      }),
    );
    await call(
      live.admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "svc-servers",
          certificatePolicy: "svc-servers",
          issuer: { $case: "certificateAuthority", value: ROOT },
        },
      }),
    );
    // The web server at the admin's name: its certificate (and key) live on that server.
    const serverCert = await issueForNames(live.admin, [ADMIN_NAME], "svc-servers");
    const text = opensslOk(["x509", "-noout", "-ext", "extendedKeyUsage"], serverCert.certPem);
    expect(text).toContain("TLS Web Server Authentication");
    expect(text).not.toContain("TLS Web Client Authentication");
    const before = await live.count("access_token");
    const outcome = await outcomeOf(
      call(
        mtls.over(serverCert).accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: "via-server-cert", role: Role.ROLE_ADMIN },
        }),
      ),
    );
    // Refused in the handshake (UNAVAILABLE) or by authentication; never the admin.
    expect([status.UNAVAILABLE, status.UNAUTHENTICATED]).toContain(outcome.code);
    expect(await live.count("access_token")).toBe(before);
  });
});
