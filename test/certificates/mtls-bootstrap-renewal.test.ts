/**
 * The README's mTLS bootstrap, end to end ("Issue a bound workload's first client certificate
 * with an admin token; after that the bound token renews its own"): an outside probe of stop 44
 * (2026-12-06, F1, t_mtls.sh) found the workload's RenewCertificate of that certificate refused
 * CERTIFICATE_NOT_OWNED (the admin that issued it owns it). A token a client certificate
 * authenticated may now renew exactly the certificate it presented
 * (src/issuance/certificates/ownership.ts): the handshake proved it holds the key. Any other
 * certificate it does not own stays refused, and nothing is written then.
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
import { CreateCertificateProfileRequest } from "../../gen/ts/certmint/v1/certificate_profile_service";
import {
  IssueCertificateRequest,
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
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

describe("mTLS bootstrap: the bound workload renews the certificate an admin issued it", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  let mtls: MtlsServer;
  let workloadId = "";

  const row = async (id: string) =>
    (
      await h.db.query<{ owner: string; renewed_from_id: string | null; revoked_at: Date | null }>(
        "select owner, renewed_from_id, revoked_at from certificate where id = $1",
        [id],
      )
    )[0]!;
  const certificateCount = async () =>
    Number((await h.db.query<{ n: string }>("select count(*) as n from certificate"))[0]!.n);
  const whoAmI = (c: CertmintClients) =>
    // Any call an issuer may make: it authenticates, and names its token on refusal.
    call(c.certificates, "listCertificateRequests", {
      pageSize: 1,
      pageToken: "",
      status: 0,
      certificateProfile: "",
    });

  async function adminIssues(): Promise<ClientCert & { id: string }> {
    const res = await call(
      h.certificates,
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

  it("renews the admin-issued certificate it presents (REUSE, then NEW), and each successor authenticates", async () => {
    const first = await adminIssues();
    expect((await row(first.id)).owner).not.toBe(workloadId);
    const overFirst = mtls.over(first);
    await whoAmI(overFirst);

    // REUSE: the key it holds; the owner stays the admin (the key is the same).
    const reused = await renew(overFirst, first.id, RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE);
    const second = reused.certificate!;
    expect(await row(second.certificateId)).toMatchObject({ renewed_from_id: first.id });
    const overSecond = mtls.over({ certPem: second.certificatePem, keyPem: first.keyPem });
    await whoAmI(overSecond);

    // NEW: a key certmint makes, handed to the caller, which now owns the certificate.
    const fresh = await renew(
      overSecond,
      second.certificateId,
      RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    );
    const third = fresh.certificate!;
    expect(fresh.privateKeyPem).toContain("PRIVATE KEY");
    expect(await row(third.certificateId)).toMatchObject({
      owner: workloadId,
      renewed_from_id: second.certificateId,
    });
    const overThird = mtls.over({ certPem: third.certificatePem, keyPem: fresh.privateKeyPem });
    await whoAmI(overThird);
    // And from then on it renews as the owner, presented or not.
    const fourth = await renew(
      overThird,
      third.certificateId,
      RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
    );
    expect((await row(fourth.certificate!.certificateId)).owner).toBe(workloadId);
  });

  it("another admin-issued certificate it does not present stays CERTIFICATE_NOT_OWNED, and nothing is written", async () => {
    const presented = await adminIssues();
    const other = await adminIssues();
    const over = mtls.over(presented);
    await whoAmI(over);
    const before = await certificateCount();
    const err = await expectRpcError(
      renew(over, other.id, RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE),
    );
    expect(err).toMatchObject({ code: status.PERMISSION_DENIED, reason: "CERTIFICATE_NOT_OWNED" });
    expect(await certificateCount()).toBe(before);
    // A bearer issuer of the same profile renews neither.
    const issuer = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "other-issuer",
          role: Role.ROLE_ISSUER,
          certificateProfiles: ["wl-clients"],
        },
      }),
    );
    const bearer = h.clientsAs(issuer.secret);
    const err2 = await expectRpcError(
      renew(bearer, presented.id, RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE),
    );
    expect(err2).toMatchObject({ code: status.PERMISSION_DENIED, reason: "CERTIFICATE_NOT_OWNED" });
    expect(await certificateCount()).toBe(before);
  });
});
