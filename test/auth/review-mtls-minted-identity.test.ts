/**
 * Security review: a client certificate certmint issued is a credential only for the token it
 * was issued to (or one an admin requested).
 *
 * The attack: an admin token is bound to the URI SAN spiffe://prod.example/ns/ops/sa/admin on
 * certmint's root; an issuer token whose profile (on that root) allows URI SANs under
 * spiffe://prod.example/ns/* issues itself a clientAuth certificate with exactly that URI and
 * presents it over mTLS. Before, the binding matched (right identity type, right CA on the
 * chain) and the issuer was the admin: it could create admin tokens.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import {
  IssueCertificateRequest,
  RenewalKeySource,
} from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { presetSpec } from "../../src/issuance/policy-engine";
import { createToken } from "../certificates/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { type ClientCert, type MtlsServer, startMtlsServer } from "../support/mtls-server";
import { TempDir } from "../support/openssl";

const ADMIN_ID = "spiffe://prod.example/ns/ops/sa/admin";
const APP_ID = "spiffe://prod.example/ns/team/sa/app";

describe("a client certificate minted by one token for another token's bound identity", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  let tls: MtlsServer;
  let issuer: { id: string; clients: CertmintClients };

  const over = (cert: ClientCert) => tls.over(cert);

  async function mint(as: CertmintClients, uri: string): Promise<ClientCert> {
    const res = await call(
      as.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "workloads",
        source: {
          $case: "attributes",
          value: {
            subjectAlternativeNames: { uris: [uri] },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          },
        },
      }),
    );
    return { certPem: res.certificate!.certificatePem, keyPem: res.privateKeyPem };
  }

  async function bind(slug: string, role: Role, uri: string, profiles: string[] = []) {
    await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug,
          role,
          certificateProfiles: profiles,
          clientCertificateBinding: {
            identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
            value: uri,
            certificateAuthority: "clients-root",
          },
        },
      }),
    );
  }

  const adminTokens = async () =>
    Number(
      (
        await h.db.query<{ n: string }>(
          "select count(*) as n from access_token where role = 'ADMIN'",
        )
      )[0]!.n,
    );

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "clients-root");
    const spec = presetSpec("TLS_CLIENT");
    spec.sans.uri = { allowed: ["spiffe://prod.example/ns/*"], denied: [], required: false };
    const workloads = await createProfileRows(h, { slug: "workloads", caId: root.id, spec });
    issuer = await createToken(h, "workload-issuer", Role.ROLE_ISSUER, [workloads.profileId]);
    await bind("ops-admin", Role.ROLE_ADMIN, ADMIN_ID);
    await bind("team-app", Role.ROLE_ISSUER, APP_ID, ["workloads"]);
    tls = await startMtlsServer(h, dir, root.certificatePem);
  });
  afterAll(async () => {
    await tls?.stop();
    await h?.stop();
    dir.remove();
  });

  it("an issuer's certificate with the admin binding's URI is no admin: UNAUTHENTICATED, and creates no token", async () => {
    const forged = await mint(issuer.clients, ADMIN_ID);
    const before = await adminTokens();
    const err = await expectRpcError(
      call(
        over(forged).accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: "escalated", role: Role.ROLE_ADMIN },
        }),
      ),
    );
    expect(err).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_NOT_BOUND",
    });
    // The peer is not authenticated: the refusal names neither the bound token nor the owner.
    expect(err.message).not.toContain("workload-issuer");
    expect(err.message).not.toContain("ops-admin");
    expect(await adminTokens()).toBe(before);
  });

  // Regression test for a bug once in src/auth/client-certificates.ts.
  it("a minted certificate of a bound identity is refused exactly as one of an unbound identity", async () => {
    // Before, the bound one had a reason of its own, so an issuer learned which identities
    // were bound (an outside probe, 2026-12-05).
    const UNBOUND = "spiffe://prod.example/ns/ops/sa/nobody";
    const refusal = async (uri: string) => {
      const err = await expectRpcError(
        call(over(await mint(issuer.clients, uri)).accessTokens, "listAccessTokens", {
          pageSize: 1,
          pageToken: "",
        }),
      );
      return { code: err.code, reason: err.reason, message: err.message.replace(uri, "<uri>") };
    };
    const bound = await refusal(ADMIN_ID);
    expect(bound).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_NOT_BOUND",
    });
    const unbound = await refusal(UNBOUND);
    expect(bound).toEqual(unbound);
  });

  /**
   * Found by an outside probe (2026-12-05): an admin's certificate for a workload, kept by that
   * workload after its token was revoked, authenticated as whichever token the identity was
   * bound to next, an admin's say. A certificate of an admin token counts only for the binding
   * that existed when it (or the first certificate of its key) was issued.
   */
  it("an admin's certificate for a revoked token's identity is no credential for the token bound next, nor is a renewal that kept its key", async () => {
    const BATCH_ID = "spiffe://prod.example/ns/team/sa/batch";
    await bind("batch", Role.ROLE_ISSUER, BATCH_ID, ["workloads"]);
    const issued = await call(
      h.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "workloads",
        source: {
          $case: "attributes",
          value: {
            subjectAlternativeNames: { uris: [BATCH_ID] },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          },
        },
      }),
    );
    const old: ClientCert = {
      certPem: issued.certificate!.certificatePem,
      keyPem: issued.privateKeyPem,
    };
    // The mTLS server is another instance, which caches what a certificate authenticates as
    // for up to 5 s (CREDENTIAL_CACHE_MS): the certificate is first presented to it after the
    // identity was bound again, so what it answers is the binding as it now stands.
    await call(h.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: "batch",
    });
    await bind("batch-admin", Role.ROLE_ADMIN, BATCH_ID);
    const before = await adminTokens();
    const createAdmin = (as: ClientCert, slug: string) =>
      call(
        over(as).accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role: Role.ROLE_ADMIN } }),
      );
    // Refused as the credential of the token it was issued for, now revoked: since stop 51 only
    // the bindings a certificate may present count (client-certificates.ts mayPresent), so the
    // new admin binding is not considered at all (before: NOT_BOUND, judged against it).
    const refused = await expectRpcError(createAdmin(old, "escalated-by-old"));
    expect(refused).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_REVOKED" });
    expect(refused.message).not.toContain("batch-admin");

    // A renewal made after the new binding that kept the old key: as old as that key.
    const reused = await call(h.certificates, "renewCertificate", {
      certificateId: issued.certificate!.certificateId,
      requestId: "batch-reuse",
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
      csrPem: "",
      keyAlgorithm: 0,
      validateOnly: false,
    });
    expect(reused.privateKeyPem).toBe("");
    const reusedCert: ClientCert = {
      certPem: reused.certificate!.certificatePem,
      keyPem: old.keyPem,
    };
    expect(await expectRpcError(createAdmin(reusedCert, "escalated-by-reuse"))).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "TOKEN_REVOKED",
    });
    expect(await adminTokens()).toBe(before);

    // An admin's certificate issued now, under the binding as it stands, is the new admin.
    const current = await mint(h, BATCH_ID);
    await createAdmin(current, "made-by-current");
    expect(await adminTokens()).toBe(before + 1);
    const rows = await h.db.query<{ creator: string }>(
      "select c.slug as creator from access_token t join access_token c on c.id = t.creator_id where t.slug = 'made-by-current'",
    );
    expect(rows).toEqual([{ creator: "batch-admin" }]);
  });

  it("the same identity issued by an admin token authenticates as the admin binding", async () => {
    const genuine = await mint(h, ADMIN_ID);
    const res = await call(over(genuine).authorities, "listCertificateAuthorities", {
      pageSize: 0,
      pageToken: "",
      status: 0,
    });
    expect(res.certificateAuthorities.map((c) => c.slug)).toEqual(["clients-root"]);
  });

  it("a bound token's own certificate works, and so does one it issues itself; another issuer's copy does not", async () => {
    const fromAdmin = await mint(h, APP_ID);
    // The bound issuer, over mTLS, issues itself its next certificate: it is that certificate's owner.
    const ownNext = await mint(over(fromAdmin), APP_ID);
    const again = await mint(over(ownNext), "spiffe://prod.example/ns/team/sa/other");
    expect(again.certPem).toContain("BEGIN CERTIFICATE");

    const copy = await mint(issuer.clients, APP_ID);
    const err = await expectRpcError(mint(over(copy), "spiffe://prod.example/ns/team/sa/x"));
    expect(err).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_NOT_BOUND",
    });
  });
});
