/**
 * A certificate a token has issued authenticates to certmint no longer than that token
 * (src/issuance/certificates/credential-lifetime.ts), as the tokens it creates (stop 52).
 * Until stop 56 of 2026-12-07 an admin token with an hour left issued a client certificate
 * valid for the profile's whole TTL for an existing admin or workload binding, and that
 * certificate authenticated as the binding long after the admin token expired; a workload
 * renewing it over mTLS, with the same key or a new one, carried it on.
 *
 * The passing of time is made as the clock would make it, on the rows (as
 * test/auth/stop52-creator-lifetime.test.ts does), on certificates never presented before, so
 * that no credential cached by an earlier call stands in for the row.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import {
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CreateCertificateProfileRequest,
  EnrollmentMethod,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import {
  IssueCertificateRequest,
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { Migration20261207210000LegacyCredentialLifetime } from "../../src/store/migrations/Migration20261207210000LegacyCredentialLifetime";
import {
  type CertmintClients,
  call,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { type ClientCert, type MtlsServer, startMtlsServer } from "../support/mtls-server";
import { TempDir } from "../support/openssl";

const WORKLOAD = "spiffe://wl.example/ns/payments/sa/api";

describe("a certificate issued by a token authenticates no longer than that token", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  let mtls: MtlsServer;
  let workloadId = "";

  const row = async (id: string) =>
    (
      await h.db.query<{
        owner: string;
        renewed_from_id: string | null;
        authenticates_until: Date | null;
      }>("select owner, renewed_from_id, authenticates_until from certificate where id = $1", [id])
    )[0]!;
  const whoAmI = (c: CertmintClients) =>
    // Any call an issuer may make: it authenticates, and names its token on refusal.
    call(c.certificates, "listCertificateRequests", {
      pageSize: 1,
      pageToken: "",
      status: 0,
      certificateProfile: "",
    });

  async function adminIssues(by: CertmintClients = h): Promise<ClientCert & { id: string }> {
    const res = await call(
      by.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "wl-clients",
        source: {
          $case: "attributes",
          value: {
            subjectAlternativeNames: { uris: [WORKLOAD] },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          },
        },
      }),
    );
    return {
      id: res.certificate!.certificateId,
      certPem: res.certificate!.certificatePem,
      keyPem: res.privateKeyPem,
    };
  }

  const renew = (c: CertmintClients, certificateId: string, keySource: RenewalKeySource) =>
    call(
      c.certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({
        certificateId,
        keySource,
        // A key algorithm goes with NEW only.
        keyAlgorithm:
          keySource === RenewalKeySource.RENEWAL_KEY_SOURCE_NEW
            ? KeyAlgorithm.KEY_ALGORITHM_EC_P256
            : undefined,
      }),
    );

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await call(
      h.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "wl-root",
        subject: { commonName: "WL Root" },
      }),
    );
    const issuing = await call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "wl-issuing",
        parentCertificateAuthority: "wl-root",
        subject: { commonName: "WL Issuing" },
      }),
    );
    await call(
      h.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_CLIENT,
        certificatePolicy: {
          slug: "wl-clients",
          sanRules: { uri: { allowed: ["spiffe://wl.example/*"] } },
          subjectRules: { commonName: { allowed: ["*"] } },
        },
      }),
    );
    await call(
      h.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "wl-clients",
          certificatePolicy: "wl-clients",
          issuer: { $case: "certificateAuthority", value: "wl-issuing" },
        },
      }),
    );
    // The README's order: the binding first, then the admin issues its first certificate.
    const bound = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "payments-api",
          role: Role.ROLE_ISSUER,
          certificateProfiles: ["wl-clients"],
          clientCertificateBinding: {
            identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
            value: WORKLOAD,
            certificateAuthority: "wl-issuing",
          },
        },
      }),
    );
    workloadId = bound.accessToken!.id;
    mtls = await startMtlsServer(
      h,
      dir,
      [
        root.certificateAuthority!.certificatePem,
        issuing.certificateAuthority!.certificatePem,
      ].join("\n"),
    );
  });
  afterAll(async () => {
    await mtls?.stop();
    await h?.stop();
    dir.remove();
  });

  /** An admin token made by the first one, with an hour to live, and its clients. */
  async function hourAdmin(slug: string) {
    const made = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug, role: Role.ROLE_ADMIN },
        ttl: { seconds: "3600", nanos: 0 },
      }),
    );
    return {
      id: made.accessToken!.id,
      expires: made.accessToken!.expireTime!,
      clients: h.clientsAs(made.secret),
    };
  }

  /** The certificate's bound passes, as the clock would make it pass. */
  const boundPasses = (id: string) =>
    h.db.query(
      "update certificate set authenticates_until = now() - interval '1 second' where id = $1",
      [id],
    );

  it("an hour-long admin token's certificate for a binding, and its renewals over mTLS, authenticate until that hour ends", async () => {
    const ci = await hourAdmin("ci-admin");
    const first = await adminIssues(ci.clients);
    expect((await row(first.id)).authenticates_until).toEqual(ci.expires);
    // GetCertificate shows it.
    const shown = await call(h.certificates, "getCertificate", { certificate: first.id });
    expect(shown.certificate!.authenticationExpireTime).toEqual(ci.expires);
    // Within the hour it authenticates as the binding, and the workload renews it itself.
    const overFirst = mtls.over(first);
    await whoAmI(overFirst);
    const reused = (await renew(overFirst, first.id, RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE))
      .certificate!;
    const fresh = await renew(
      mtls.over({ certPem: reused.certificatePem, keyPem: first.keyPem }),
      reused.certificateId,
      RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    );
    const third = fresh.certificate!;
    // The NEW renewal is the workload's own (its owner), yet keeps the admin's hour: the
    // credential it was asked with carried it.
    expect(await row(third.certificateId)).toMatchObject({
      owner: workloadId,
      renewed_from_id: reused.certificateId,
      authenticates_until: ci.expires,
    });
    expect((await row(reused.certificateId)).authenticates_until).toEqual(ci.expires);
    // A certificate the workload issues itself over that mTLS credential keeps it too.
    const overThird = mtls.over({ certPem: third.certificatePem, keyPem: fresh.privateKeyPem });
    const own = await adminIssues(overThird);
    expect(await row(own.id)).toMatchObject({ owner: workloadId, authenticates_until: ci.expires });

    // The hour passes: each is refused, UNAUTHENTICATED, saying why; the certificate itself is
    // not cut (its notAfter is the profile's) and stays unrevoked.
    await boundPasses(own.id);
    const err = await expectRpcError(whoAmI(mtls.over(own)));
    expect(err).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_CREATOR_EXPIRED",
    });
    expect(err.message).toContain("authenticates no longer than that token");
    const [cert] = await h.db.query<{ not_after: Date; revoked_at: Date | null }>(
      "select not_after, revoked_at from certificate where id = $1",
      [own.id],
    );
    expect(cert!.revoked_at).toBeNull();
    expect(cert!.not_after.getTime()).toBeGreaterThan(ci.expires.getTime());
  });

  it("a certificate of certmint's first admin token has no such bound, and one issued before this stop neither", async () => {
    const byFirst = await adminIssues();
    expect((await row(byFirst.id)).authenticates_until).toBeNull();
    // Its owner alone vouches for it: the row records no other voucher.
    const [first] = await h.db.query<{ vouched_by: string[] | null }>(
      "select vouched_by from certificate where id = $1",
      [byFirst.id],
    );
    expect(first!.vouched_by).toBeNull();
    const shown = await call(h.certificates, "getCertificate", { certificate: byFirst.id });
    expect(shown.certificate!.authenticationExpireTime).toBeUndefined();
    await whoAmI(mtls.over(byFirst));
    // A row made before the column (null) authenticates as before.
    const ci = await hourAdmin("ci-admin-2");
    const older = await adminIssues(ci.clients);
    await h.db.query("update certificate set authenticates_until = null where id = $1", [older.id]);
    await whoAmI(mtls.over(older));
  });

  it("one issued before stop 56 gets its bound at the upgrade: refused once its admin token has expired, with the workload's renewal", async () => {
    const ci = await hourAdmin("ci-admin-legacy");
    const older = await adminIssues(ci.clients);
    const renewed = await renew(
      mtls.over(older),
      older.id,
      RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    );
    const own = renewed.certificate!;
    // As a deployment before stop 56 kept them: no bound, no vouchers, on the certificates and
    // their requests; and the admin token's hour has passed since.
    const ids = [older.id, own.certificateId];
    await h.db.query(
      "update certificate set authenticates_until = null, vouched_by = null where id = any($1::uuid[])",
      [ids],
    );
    await h.db.query(
      `update certificate_request set authenticates_until = null, vouched_by = null
        where id in (select certificate_request_id from certificate where id = any($1::uuid[]))`,
      [ids],
    );
    await h.db.query(
      "update access_token set expires_at = now() - interval '1 second' where id = $1",
      [ci.id],
    );
    const [{ expires_at: expired }] = await h.db.query<{ expires_at: Date }>(
      "select expires_at from access_token where id = $1",
      [ci.id],
    );
    // The upgrade's migration, its own statements, in its one transaction.
    const migration = new Migration20261207210000LegacyCredentialLifetime(
      undefined as never,
      undefined as never,
    );
    await migration.up();
    await h.db.query("begin");
    for (const sql of migration.getQueries()) await h.db.query(String(sql));
    await h.db.query("commit");

    const [bounded] = await h.db.query<{ authenticates_until: Date; vouched_by: string[] }>(
      "select authenticates_until, vouched_by from certificate where id = $1",
      [own.certificateId],
    );
    expect(bounded).toEqual({ authenticates_until: expired, vouched_by: [ci.id] });
    // Presented for the first time since (no credential cached): refused, saying why.
    const err = await expectRpcError(
      whoAmI(mtls.over({ certPem: own.certificatePem, keyPem: renewed.privateKeyPem })),
    );
    expect(err).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_CREATOR_EXPIRED",
    });
  });

  it("a renewal keeps the bound of the certificate renewed, whoever renews it", async () => {
    const ci = await hourAdmin("ci-admin-3");
    const issued = await adminIssues(ci.clients);
    // The first admin token, which bounds nothing, renews it: the lineage keeps the hour.
    const renewed = await renew(h, issued.id, RenewalKeySource.RENEWAL_KEY_SOURCE_NEW);
    expect((await row(renewed.certificate!.certificateId)).authenticates_until).toEqual(ci.expires);
    await boundPasses(renewed.certificate!.certificateId);
    const err = await expectRpcError(
      whoAmI(
        mtls.over({ certPem: renewed.certificate!.certificatePem, keyPem: renewed.privateKeyPem }),
      ),
    );
    expect(err.reason).toBe("CLIENT_CERTIFICATE_CREATOR_EXPIRED");
  });

  it("a cut of the admin's line takes the workload's own renewal over mTLS too, and nothing the line did not vouch for", async () => {
    const ci = await hourAdmin("ci-admin-4");
    const first = await adminIssues(ci.clients);
    const renewed = await renew(
      mtls.over(first),
      first.id,
      RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    );
    const own = renewed.certificate!;
    const [vouched] = await h.db.query<{ owner: string; vouched_by: string[] }>(
      "select owner, vouched_by from certificate where id = $1",
      [own.certificateId],
    );
    // The workload's own (it holds the new key), vouched for by the admin's line (the row
    // records the vouchers besides its owner).
    expect(vouched!.owner).toBe(workloadId);
    expect(vouched!.vouched_by).toEqual([ci.id]);
    // A certificate the first admin token issued the workload: not the line's.
    const byFirst = await adminIssues();

    await call(h.accessTokens, "revokeAccessToken", {
      accessToken: ci.id,
      revokeCreatedTokens: true,
    });
    const rows = await h.db.query<{ id: string; revocation_reason: string | null }>(
      "select id, revocation_reason from certificate where id = any($1::uuid[]) order by id",
      [[own.certificateId, byFirst.id]],
    );
    expect(Object.fromEntries(rows.map((r) => [r.id, r.revocation_reason]))).toEqual({
      [own.certificateId]: "PRIVILEGE_WITHDRAWN",
      [byFirst.id]: null,
    });
    const err = await expectRpcError(
      whoAmI(mtls.over({ certPem: own.certificatePem, keyPem: renewed.privateKeyPem })),
    );
    expect(err).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_REVOKED",
    });
    // The workload's binding was not the line's: it still authenticates with the other one.
    await whoAmI(mtls.over(byFirst));
  });

  it("a token made over such a certificate, an admin binding's, lasts no longer than the hour either", async () => {
    const OPS = "spiffe://wl.example/ns/ops/sa/admin";
    const ops = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "ops-admin",
          role: Role.ROLE_ADMIN,
          clientCertificateBinding: {
            identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
            value: OPS,
            certificateAuthority: "wl-issuing",
          },
        },
      }),
    );
    const ci = await hourAdmin("ci-admin-5");
    const issued = await call(
      ci.clients.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "wl-clients",
        source: {
          $case: "attributes",
          value: {
            subjectAlternativeNames: { uris: [OPS] },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          },
        },
      }),
    );
    const asOps = mtls.over({
      certPem: issued.certificate!.certificatePem,
      keyPem: issued.privateKeyPem,
    });
    const make = (slug: string, ttlSeconds?: number) =>
      call(
        asOps.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug, role: Role.ROLE_ADMIN },
          ttl: ttlSeconds === undefined ? undefined : { seconds: String(ttlSeconds), nanos: 0 },
        }),
      );
    // The binding itself lasts 90 days; the certificate it presents, the hour of its issuer.
    expect(ops.accessToken!.expireTime!.getTime()).toBeGreaterThan(ci.expires.getTime());
    const err = await expectRpcError(make("ten-year-admin", 10 * 365 * 86_400));
    expect(err).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: "TOKEN_TTL_PAST_CREATOR_EXPIRY",
    });
    expect(err.message).toContain(
      `the client certificate this call authenticated with (as access token "ops-admin") authenticates until ${ci.expires.toISOString()}`,
    );
    const [none] = await h.db.query<{ n: string }>(
      "select count(*) as n from access_token where slug = 'ten-year-admin'",
    );
    expect(none!.n).toBe("0");
    // The default ttl is cut to the hour.
    const cut = await make("cut-admin");
    expect(cut.accessToken!.expireTime).toEqual(ci.expires);

    // An EAB key made over it binds until the hour, and rests on the hour-long token.
    await call(
      h.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
        certificatePolicy: {
          slug: "wl-acme",
          sanRules: { dns: { allowed: ["**.acme.localhost"] } },
          subjectRules: { commonName: { allowed: ["*"] } },
        },
      }),
    );
    await call(
      h.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "wl-acme",
          certificatePolicy: "wl-acme",
          issuer: { $case: "certificateAuthority", value: "wl-issuing" },
          enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_ACME,
        },
      }),
    );
    const key = await call(asOps.profiles, "createAcmeExternalAccountKey", {
      certificateProfile: "wl-acme",
    });
    const keyRow = async () =>
      (
        await h.db.query<{
          creator_id: string;
          usable_until: Date | null;
          vouched_by: string[] | null;
          revoked_at: Date | null;
        }>(
          "select creator_id, usable_until, vouched_by, revoked_at from acme_eab_key where key_id = $1",
          [key.keyId],
        )
      )[0]!;
    expect(await keyRow()).toEqual({
      creator_id: ops.accessToken!.id,
      usable_until: ci.expires,
      vouched_by: [ci.id],
      revoked_at: null,
    });

    // A cut of the hour-long token's line takes the token and the key made over its
    // certificate (their creator, the binding, is not of that line and stays).
    const revoked = await call(h.accessTokens, "revokeAccessToken", {
      accessToken: ci.id,
      revokeCreatedTokens: true,
    });
    expect(revoked.revokedCreatedTokens.map((t) => t.slug)).toContain("cut-admin");
    const tokens = await h.db.query<{ slug: string; revoked_at: Date | null }>(
      "select slug, revoked_at from access_token where slug in ('cut-admin', 'ops-admin') order by slug",
    );
    expect(tokens.map((t) => [t.slug, t.revoked_at !== null])).toEqual([
      ["cut-admin", true],
      ["ops-admin", false],
    ]);
    expect((await keyRow()).revoked_at).not.toBeNull();
  });

  it("a credential cached by an earlier call is refused once its bound passes, on the next call", async () => {
    // The bound a few seconds ahead of a certificate's first presentation, so that it passes
    // while authentication still caches that presentation (CREDENTIAL_CACHE_MS, 5 s): the
    // per-call check refuses it, not a fresh lookup. On a machine so busy that the first call
    // comes after the bound, it is tried again with a longer margin (a state waited for, never
    // a duration assumed).
    for (const marginMs of [2_000, 4_000, 8_000, 16_000, 32_000]) {
      const ci = await hourAdmin(`ci-cached-${marginMs}`);
      const issued = await adminIssues(ci.clients);
      const over = mtls.over(issued);
      const [bound] = await h.db.query<{ until: Date }>(
        "update certificate set authenticates_until = now() + $2 * interval '1 millisecond' where id = $1 returning authenticates_until as until",
        [issued.id, marginMs],
      );
      const first = await whoAmI(over).then(
        () => "OK",
        (err: { reason?: string }) => err.reason ?? String(err),
      );
      if (first === "CLIENT_CERTIFICATE_CREATOR_EXPIRED" && Date.now() >= bound!.until.getTime()) {
        continue;
      }
      expect(first).toBe("OK");
      while (Date.now() <= bound!.until.getTime()) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const err = await expectRpcError(whoAmI(over));
      expect(err).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CLIENT_CERTIFICATE_CREATOR_EXPIRED",
      });
      return;
    }
    throw new Error("no first call came before its bound, even with 32 s of margin");
  }, 180_000);

  it("a request waiting for approval keeps its requester's bound: the certificate an approver signs later carries it", async () => {
    await call(
      h.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "wl-approved",
          certificatePolicy: "wl-clients",
          issuer: { $case: "certificateAuthority", value: "wl-issuing" },
          requireApproval: true,
        },
      }),
    );
    const ci = await hourAdmin("ci-approval");
    const asked = await call(
      ci.clients.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "wl-approved",
        source: {
          $case: "attributes",
          value: {
            subjectAlternativeNames: { uris: [WORKLOAD] },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          },
        },
      }),
    );
    const requestId = asked.certificateRequestId;
    expect(requestId).not.toBe("");
    const [waiting] = await h.db.query<{ status: string; authenticates_until: Date | null }>(
      "select status, authenticates_until from certificate_request where id = $1",
      [requestId],
    );
    expect(waiting).toEqual({ status: "PENDING_APPROVAL", authenticates_until: ci.expires });
    // The first admin token (no bound of its own) approves it.
    await call(h.certificates, "approveCertificateRequest", {
      certificateRequestId: requestId,
      comment: "ok",
    });
    const [signed] = await h.db.query<{ owner: string; authenticates_until: Date | null }>(
      "select c.owner, c.authenticates_until from certificate c where c.certificate_request_id = $1",
      [requestId],
    );
    expect(signed!.authenticates_until).toEqual(ci.expires);
  });
});
