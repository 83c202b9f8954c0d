/**
 * Stop 59's outside probe (B, F1 and F2). A leaked hour-long admin token issued a client
 * certificate for a workload's binding; the workload, over mTLS with it, issued certificates
 * vouched for by that token (stop 56: their vouched_by), and RevokeAccessToken with
 * revoke_created_tokens read and revoked them one by one while more were stored: at ~240
 * issuances/s it never ended, held the admin set's lock and a CA's row the whole time (every
 * other revocation waited), and a request waiting for approval that rested on the line was
 * signed after the cut, and authenticated. Now:
 * - what is made over a credential the line vouched for holds the line's token rows FOR SHARE
 *   (certificate stores, waiting requests, administrative changes) and the cut locks every
 *   token of its line first: a store in flight waits for the cut and is refused
 *   UNAUTHENTICATED CREDENTIAL_LINE_CUT once it commits, nothing written (shown here with the
 *   lock held by the test, deterministically);
 * - a cut beside workloads issuing non-stop over such a credential ends, and leaves no
 *   certificate vouched for by the line that authenticates;
 * - requests waiting for approval that rest on the line are rejected with it.
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
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
import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
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
import { waitsOnLock } from "../support/table-lock";
import { waitFor } from "../support/wait";

const WORKLOAD = "spiffe://wl.example/ns/payments/sa/api";

describe("stop 59: a cut of a token's line under load from the credentials it vouched for", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  let mtls: MtlsServer;

  async function adminIssues(
    by: CertmintClients = h,
    profile = "wl-clients",
    uri = WORKLOAD,
  ): Promise<ClientCert & { id: string }> {
    const res = await call(
      by.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: profile,
        source: {
          $case: "attributes",
          value: {
            subjectAlternativeNames: { uris: [uri] },
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
    // The README's order: the binding first, then the admin issues its first certificate.
    await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "payments-api",
          role: Role.ROLE_ISSUER,
          certificateProfiles: ["wl-clients", "wl-approved"],
          clientCertificateBinding: {
            identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
            value: WORKLOAD,
            certificateAuthority: "wl-issuing",
          },
        },
      }),
    );
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

  /** Certificates vouched for by `tokenId` (their vouched_by holds it) not revoked. */
  const vouchedInForce = async (tokenId: string) =>
    (
      await h.db.query<{ n: number }>(
        "select count(*)::int as n from certificate where jsonb_exists(vouched_by, $1) and revoked_at is null",
        [tokenId],
      )
    )[0]!.n;

  it("a store over a credential the line vouched for waits for a cut in progress, and is refused once it commits", async () => {
    const ci = await hourAdmin("ci-admin-held");
    const credential = await adminIssues(ci.clients);
    const workload = mtls.over(credential);
    // A store over it before any cut: vouched for by the admin's line, as stop 56 records.
    await adminIssues(workload);
    const before = await vouchedInForce(ci.id);
    expect(before).toBe(1);
    // The test holds the admin token's row as a cut does (lockForRevocation), and cuts it.
    const cut = new Client({ connectionString: h.db.url });
    await cut.connect();
    try {
      await cut.query("begin");
      await cut.query("select id from access_token where id = $1 for no key update", [ci.id]);
      const inFlight = adminIssues(workload).then(
        () => undefined,
        (err: unknown) => err,
      );
      await waitFor("the workload's store to wait for the line's token", () =>
        waitsOnLock(h, '%"access_token"%for share%'),
      );
      await cut.query("update access_token set line_cut_at = now() where id = $1", [ci.id]);
      await cut.query("commit");
      const err = await expectRpcError(
        inFlight.then((e) => (e === undefined ? "stored" : Promise.reject(e))),
      );
      expect(err).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CREDENTIAL_LINE_CUT",
      });
      expect(err.message).toMatch(/rests on an access token whose line was revoked/);
    } finally {
      await cut.end();
    }
    expect(await vouchedInForce(ci.id)).toBe(before);
    // An administrative change over a credential the line vouched for (an admin binding's
    // certificate the token issued) is refused too, naming the token; nothing is created.
    const OPS = "spiffe://wl.example/ns/ops/sa/admin";
    await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "ops-admin-59",
          role: Role.ROLE_ADMIN,
          clientCertificateBinding: {
            identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
            value: OPS,
            certificateAuthority: "wl-issuing",
          },
        },
      }),
    );
    const opsCert = await adminIssues(ci.clients, "wl-clients", OPS);
    const tokens = async () =>
      (await h.db.query<{ n: number }>("select count(*)::int as n from access_token"))[0]!.n;
    const tokensBefore = await tokens();
    const change = await expectRpcError(
      call(
        mtls.over(opsCert).accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: "made-over-the-cut-line", role: Role.ROLE_ADMIN },
        }),
      ),
    );
    expect(change).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CREDENTIAL_LINE_CUT",
    });
    expect(change.message).toContain('access token "ci-admin-held"');
    expect(await tokens()).toBe(tokensBefore);
  });

  it("a cut beside workloads issuing non-stop over the line's credential ends, and leaves none of their certificates in force", async () => {
    const ci = await hourAdmin("ci-admin-load");
    const credential = await adminIssues(ci.clients);
    let stop = false;
    let stored = 0;
    const refusals: string[] = [];
    const worker = async () => {
      const workload = mtls.over(credential);
      while (!stop) {
        try {
          await adminIssues(workload);
          stored++;
        } catch (err) {
          refusals.push(String((err as { details?: string }).details ?? err));
          // Refused from the cut's commit on (the credential revoked, or its line cut).
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    try {
      await waitFor("the workloads to have stored some certificates", () => stored >= 20);
      await call(h.accessTokens, "revokeAccessToken", {
        accessToken: ci.id,
        revokeCreatedTokens: true,
      });
      // Every certificate the workloads stored before the cut, revoked by it.
      const [{ n }] = await h.db.query<{ n: number }>(
        "select count(*)::int as n from certificate where jsonb_exists(vouched_by, $1) and revocation_reason = 'PRIVILEGE_WITHDRAWN'",
        [ci.id],
      );
      expect(n).toBeGreaterThanOrEqual(20);
    } finally {
      stop = true;
      await Promise.all(workers);
    }
    expect(await vouchedInForce(ci.id)).toBe(0);
    for (const r of refusals) expect(r).toMatch(/revoked|line/);
    const after = await expectRpcError(adminIssues(mtls.over(credential)));
    expect(after.code).toBe(status.UNAUTHENTICATED);
  });

  it("a request waiting for approval that rests on the line is rejected with it, and never signed", async () => {
    const ci = await hourAdmin("ci-admin-waiting");
    const credential = await adminIssues(ci.clients);
    const waiting = await call(
      mtls.over(credential).certificates,
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
    const requestId = waiting.certificateRequestId;
    expect(requestId).not.toBe("");
    const [recorded] = await h.db.query<{ status: string; vouched_by: string[] }>(
      "select status, vouched_by from certificate_request where id = $1",
      [requestId],
    );
    expect(recorded).toMatchObject({ status: "PENDING_APPROVAL", vouched_by: [ci.id] });
    await call(h.accessTokens, "revokeAccessToken", {
      accessToken: ci.id,
      revokeCreatedTokens: true,
    });
    const [after] = await h.db.query<{ status: string; error: { message?: string } }>(
      "select status, error from certificate_request where id = $1",
      [requestId],
    );
    expect(after!.status).toBe("REJECTED");
    expect(JSON.stringify(after!.error)).toContain("ci-admin-waiting");
    const approve = await expectRpcError(
      call(h.certificates, "approveCertificateRequest", {
        certificateRequestId: requestId,
        comment: "",
      }),
    );
    expect(approve.code).toBe(status.FAILED_PRECONDITION);
    const [{ n }] = await h.db.query<{ n: number }>(
      "select count(*)::int as n from certificate where certificate_request_id = $1",
      [requestId],
    );
    expect(n).toBe(0);
  });
});
