/**
 * Probe 51 (IDENTITY): which identity a client certificate certmint issued really proves, on the
 * compiled server (dist/src/main.js) with mTLS required. An admin token is bound to the DNS name
 * ops.svc.example under certmint's root; an issuer token, on the profiles that root signs for,
 * is bound to team.svc.example (its first certificate from an admin: the README's bootstrap). The
 * issuer's policy allows every name under svc.example, so it can put the admin's name into
 * certificates it requests, directly, through an approval (by an approver or an admin) or kept
 * by an admin's REUSE renewal. Such a certificate must never be the admin, and (README "Client
 * certificate bindings": "which identities are bound is not for it to learn") what the issuer is
 * told must not depend on whether a name it adds is bound, by a binding of today or one an
 * upgrade left without its CA.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest } from "../../../gen/ts/certmint/v1/access_token_service";
import {
  ApproveCertificateRequestRequest,
  GetRequestStatusRequest,
  IssueCertificateRequest,
  ListCertificateRequestsRequest,
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { type LiveCertmint, Role, startLive, token } from "../../probe49/api/live";
import { opensslCsr } from "../../support/fixtures";
import { type CertmintClients, call, decodeError, expectRpcError } from "../../support/harness";
import type { ClientCert } from "../../support/mtls-server";
import {
  bindDnsName,
  createSvcPki,
  createSvcProfile,
  issueForNames,
  type MtlsProcess,
  outcomeOf,
  PROFILE,
  startMtlsProcess,
} from "./svc-pki";

const ADMIN_NAME = "ops.svc.example";
const TEAM_NAME = "team.svc.example";

describe("probe51 identity: names an issuer may put in its own client certificates", () => {
  let live: LiveCertmint;
  let mtls: MtlsProcess;
  let team: CertmintClients;
  let teamSecret = "";
  let approver: CertmintClients;

  const issueAs = (as: CertmintClients, names: string[]) => issueForNames(as, names);

  /** Whatever the server answers a call of the issuer's own, made with `cert` and no token. */
  const outcomeOver = (cert: ClientCert) =>
    outcomeOf(
      call(
        mtls.over(cert).certificates,
        "listCertificateRequests",
        ListCertificateRequestsRequest.fromPartial({ pageSize: 1 }),
      ),
    );

  const createAdminOver = (cert: ClientCert, slug: string, token?: string) =>
    call(
      mtls.over(cert, token).accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role: Role.ROLE_ADMIN } }),
    );

  beforeAll(async () => {
    live = await startLive();
    const rootPem = await createSvcPki(live);
    await createSvcProfile(live, "svc-approved", { requireApproval: true });
    await bindDnsName(live, "ops-admin", Role.ROLE_ADMIN, ADMIN_NAME);
    // A bound token has no secret: its workload's first certificate comes from an admin (the
    // README's mTLS bootstrap), and from then on it requests its certificates over mTLS.
    await bindDnsName(live, "team", Role.ROLE_ISSUER, TEAM_NAME, [PROFILE]);
    teamSecret = (await token(live, "team-bearer", Role.ROLE_ISSUER, [PROFILE, "svc-approved"]))
      .secret;
    approver = (await token(live, "svc-approver", Role.ROLE_APPROVER, ["svc-approved"])).clients;
    mtls = await startMtlsProcess({
      databaseUrl: live.db.url,
      kek: live.kek,
      dataDir: live.server.dataDir,
      clientCaPem: rootPem,
    });
    team = mtls.over(await issueAs(live.admin, [TEAM_NAME]));
  }, 240_000);

  afterAll(async () => {
    await mtls?.stop();
    await live?.stop();
  });

  it("the issuer's own certificate authenticates as the issuer, and as nothing more", async () => {
    const own = await issueAs(team, [TEAM_NAME]);
    expect(await outcomeOver(own)).toEqual({ code: status.OK, reason: "" });
    const before = await live.count("access_token");
    expect(await expectRpcError(createAdminOver(own, "by-team-cert"))).toMatchObject({
      code: status.PERMISSION_DENIED,
      reason: "ROLE_NOT_ALLOWED",
    });
    expect(await live.count("access_token")).toBe(before);
  });

  it("an issuer's certificate for the admin's DNS name (any spelling) is not the admin", async () => {
    const before = await live.count("access_token");
    for (const name of [ADMIN_NAME, "OPS.svc.example", "ops.svc.example."]) {
      const minted = await issueAs(team, [name]);
      const err = await expectRpcError(createAdminOver(minted, `by-${before}`));
      expect(err, name).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CLIENT_CERTIFICATE_NOT_BOUND",
      });
    }
    expect(await live.count("access_token")).toBe(before);
  });

  it("adding a name bound to another token to the issuer's own certificate answers as adding an unbound name does", async () => {
    // The two certificates differ only in whether their second name is bound (to the admin).
    const withBound = await issueAs(team, [TEAM_NAME, ADMIN_NAME]);
    const withUnbound = await issueAs(team, [TEAM_NAME, "nobody.svc.example"]);
    const bound = await outcomeOver(withBound);
    const unbound = await outcomeOver(withUnbound);
    // README: "which identities are bound is not for it to learn". A binding the certificate can
    // never authenticate as (certmint issued it to the issuer, not to the admin) must not change
    // the answer: otherwise an issuer probes any name for being bound, an admin's included.
    expect(
      bound,
      `bound name: ${JSON.stringify(bound)}; unbound name: ${JSON.stringify(unbound)}`,
    ).toEqual(unbound);
  });

  it("a bearer token in the call wins over an admin's client certificate, with no fallback", async () => {
    // The admin's own certificate for its binding (an admin issues it after the binding).
    const adminCert = await issueAs(live.admin, [ADMIN_NAME]);
    expect(await outcomeOver(adminCert)).toEqual({ code: status.OK, reason: "" });
    const before = await live.count("access_token");
    // The issuer's token with the admin's certificate: the issuer.
    expect(
      await expectRpcError(createAdminOver(adminCert, "via-issuer-token", teamSecret)),
    ).toMatchObject({ code: status.PERMISSION_DENIED, reason: "ROLE_NOT_ALLOWED" });
    // A made-up (well-formed) token with it: refused, never the certificate instead.
    expect(
      await expectRpcError(
        createAdminOver(adminCert, "via-unknown-token", `certmint_${"A".repeat(43)}`),
      ),
    ).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_UNKNOWN" });
    expect(await live.count("access_token")).toBe(before);
  });

  it("a request for the admin's name that an approver (or an admin) approves is the requester's, not the admin", async () => {
    const bearerIssuer = live.clientsAs(teamSecret);
    const csr = opensslCsr(`/CN=${ADMIN_NAME}`, [`DNS:${ADMIN_NAME}`]);
    const ask = async () =>
      (
        await call(
          bearerIssuer.certificates,
          "issueCertificate",
          IssueCertificateRequest.fromPartial({
            certificateProfile: "svc-approved",
            source: { $case: "csrPem", value: csr.csrPem },
          }),
        )
      ).certificateRequestId;
    const approvedBy = async (by: CertmintClients, requestId: string) => {
      await call(
        by.certificates,
        "approveCertificateRequest",
        ApproveCertificateRequestRequest.fromPartial({ certificateRequestId: requestId }),
      );
      const got = await call(
        bearerIssuer.certificates,
        "getRequestStatus",
        GetRequestStatusRequest.fromPartial({ certificateRequestId: requestId }),
      );
      return { certPem: got.certificate!.certificatePem, keyPem: csr.keyPem };
    };
    const before = await live.count("access_token");
    for (const by of [approver, live.admin]) {
      const cert = await approvedBy(by, await ask());
      expect(await expectRpcError(createAdminOver(cert, "via-approval"))).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CLIENT_CERTIFICATE_NOT_BOUND",
      });
    }
    expect(await live.count("access_token")).toBe(before);
  });

  it("an admin's REUSE renewal of the issuer's certificate for the admin's name leaves it the issuer's", async () => {
    const minted = await issueAs(team, [ADMIN_NAME]);
    const renewed = await call(
      live.admin.certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({
        certificateId: minted.id,
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
      }),
    );
    const cert = { certPem: renewed.certificate!.certificatePem, keyPem: minted.keyPem };
    const before = await live.count("access_token");
    expect(await expectRpcError(createAdminOver(cert, "via-renewal"))).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_NOT_BOUND",
    });
    // The issuer itself, presenting it, renews it: still its own, still not the admin.
    const again = await call(
      mtls.over(cert).certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({
        certificateId: renewed.certificate!.certificateId,
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
      }),
    ).catch((err) => decodeError(err));
    expect(again).toMatchObject({ code: status.UNAUTHENTICATED });
    expect(await live.count("access_token")).toBe(before);
  });

  it("a name bound before bindings named a CA is refused to the issuer's certificate as an unbound name is", async () => {
    // A binding as an upgrade leaves one made before bindings named a CA (README "Upgrading":
    // kept, authenticating nobody until an admin binds it again with its CA).
    await bindDnsName(live, "legacy-admin", Role.ROLE_ADMIN, "legacy.svc.example");
    await live.db.query(
      "update access_token set client_ca_id = null, client_ca_sha256 = null where slug = 'legacy-admin'",
    );
    const legacy = await outcomeOver(await issueAs(team, ["legacy.svc.example"]));
    const unbound = await outcomeOver(await issueAs(team, ["nobody.svc.example"]));
    expect(unbound).toEqual({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_NOT_BOUND",
    });
    expect(legacy, `legacy-bound name: ${JSON.stringify(legacy)}`).toEqual(unbound);
  });
});
