/**
 * Stop 50, helper CONTRACT: what the proto comments say about repeating a change and about
 * combinations a message can carry but the contract rules out: revoking twice changes nothing,
 * releasing what is not on hold and deciding a request already decided are FAILED_PRECONDITION,
 * a token's profiles follow its role, ACME settings belong to ACME profiles, and an audit filter
 * that could never match names each bad field. Each refusal leaves the rows as they were.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../../gen/ts/certmint/v1/access_token_service";
import { ListAuditRecordsRequest } from "../../../gen/ts/certmint/v1/audit_service";
import { UpdateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { RenewCertificateRequest } from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { attrRequest, rpcError } from "../../certificates/helpers";
import { type LiveCertmint, rootPolicyProfile, startLive, token } from "../../probe49/api/live";
import { call } from "../../support/harness";

describe("probe50 CONTRACT: repeated changes and impossible combinations", () => {
  let live: LiveCertmint;

  const issueOne = (dns: string) =>
    call(live.admin.certificates, "issueCertificate", attrRequest("web", { dns: [dns] }));
  const getCert = (id: string) =>
    call(live.admin.certificates, "getCertificate", { certificate: id }).then(
      (r) => r.certificate!,
    );

  beforeAll(async () => {
    live = await startLive();
    await rootPolicyProfile(live, "web");
  });
  afterAll(() => live.stop());

  it("revoking a revoked certificate with another reason changes nothing and returns it as it is", async () => {
    const id = (await issueOne("rr.example.com")).certificate!.certificateId;
    const first = await call(live.admin.certificates, "revokeCertificate", {
      certificate: id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const again = await call(live.admin.certificates, "revokeCertificate", {
      certificate: id,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    expect(again.certificate!.revocationReason).toBe(
      RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    );
    expect(again.certificate!.revokeTime).toEqual(first.certificate!.revokeTime);
    expect(await getCert(id)).toEqual(first.certificate);
  });

  it("ReleaseCertificateHold of a certificate not on hold is FAILED_PRECONDITION CERTIFICATE_NOT_ON_HOLD, nothing changed", async () => {
    const id = (await issueOne("nh.example.com")).certificate!.certificateId;
    const before = await getCert(id);
    const err = await rpcError(
      call(live.admin.certificates, "releaseCertificateHold", { certificate: id }),
    );
    expect([err.code, err.reason]).toEqual([status.FAILED_PRECONDITION, "CERTIFICATE_NOT_ON_HOLD"]);
    expect(await getCert(id)).toEqual(before);
  });

  it("RejectCertificateRequest and ApproveCertificateRequest of an ISSUED request are FAILED_PRECONDITION; it stays ISSUED", async () => {
    const issued = await issueOne("decided.example.com");
    const rid = issued.certificateRequestId;
    for (const err of [
      await rpcError(
        call(live.admin.certificates, "rejectCertificateRequest", {
          certificateRequestId: rid,
          reason: "no",
        }),
      ),
      await rpcError(
        call(live.admin.certificates, "approveCertificateRequest", {
          certificateRequestId: rid,
          comment: "yes",
        }),
      ),
    ])
      expect(err.code).toBe(status.FAILED_PRECONDITION);
    const st = await call(live.admin.certificates, "getRequestStatus", {
      certificateRequestId: rid,
    });
    expect(st.certificateRequest!.status).toBe(issued.status);
  });

  it("RevokeAccessToken twice: the second changes nothing (same revoke_time)", async () => {
    const made = await call(
      live.admin.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "twice", role: Role.ROLE_AUDITOR },
      }),
    );
    const first = await call(live.admin.accessTokens, "revokeAccessToken", {
      accessToken: "twice",
      revokeCreatedTokens: false,
    });
    const again = await call(live.admin.accessTokens, "revokeAccessToken", {
      accessToken: made.accessToken!.id,
      revokeCreatedTokens: false,
    });
    expect(again.accessToken).toEqual(first.accessToken);
  });

  it.each<[string, Role, string[]]>([
    ["an admin token with profiles", Role.ROLE_ADMIN, ["web"]],
    ["an auditor token with profiles", Role.ROLE_AUDITOR, ["web"]],
    ["an issuer token without profiles", Role.ROLE_ISSUER, []],
    ["an approver token without profiles", Role.ROLE_APPROVER, []],
  ])(
    "CreateAccessToken of %s is INVALID_ARGUMENT naming access_token.certificate_profiles; no token stored",
    async (_what, role, profiles) => {
      const before = await live.count("access_token");
      const err = await rpcError(
        call(
          live.admin.accessTokens,
          "createAccessToken",
          CreateAccessTokenRequest.fromPartial({
            accessToken: { slug: "combo", role, certificateProfiles: profiles },
          }),
        ),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.violations.map((v) => v.field)).toEqual(["access_token.certificate_profiles"]);
      expect(await live.count("access_token")).toBe(before);
    },
  );

  it("ACME settings on a profile that does not enroll by ACME are INVALID_ARGUMENT naming certificate_profile.acme, nothing changed", async () => {
    const read = () =>
      call(live.admin.profiles, "getCertificateProfile", { certificateProfile: "web" }).then(
        (r) => r.certificateProfile!,
      );
    const before = await read();
    const err = await rpcError(
      call(
        live.admin.profiles,
        "updateCertificateProfile",
        UpdateCertificateProfileRequest.fromPartial({
          certificateProfile: { slug: "web", acme: { requireExternalAccountBinding: true } },
          updateMask: ["acme.require_external_account_binding"],
        }),
      ),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.violations.map((v) => v.field).join(" ")).toMatch(/certificate_profile\.acme/);
    expect(await read()).toEqual(before);
  });

  it("ListAuditRecords with an unknown resource_type and a short method names both fields at once", async () => {
    const err = await rpcError(
      call(
        live.admin.audit,
        "listAuditRecords",
        ListAuditRecordsRequest.fromPartial({ resourceType: "widget", method: "IssueCertificate" }),
      ),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.violations.map((v) => v.field).sort()).toEqual(["method", "resource_type"]);
  });

  it("CreateAccessToken with the deprecated client_certificate_identity alone is INVALID_ARGUMENT CLIENT_IDENTITY_AMBIGUOUS; no token", async () => {
    const before = await live.count("access_token");
    const err = await rpcError(
      call(
        live.admin.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: {
            slug: "legacy",
            role: Role.ROLE_AUDITOR,
            clientCertificateIdentity: "spiffe://x/y",
          },
        }),
      ),
    );
    expect(await live.count("access_token")).toBe(before);
    expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
      ["access_token.client_certificate_identity", "CLIENT_IDENTITY_AMBIGUOUS"],
    ]);
    // The proto (AccessToken.client_certificate_identity) gives the reason a client switches on
    // as the error's: ErrorInfo.reason, as every other "INVALID_ARGUMENT, reason X" of the
    // contract; a lone violation's reason is what README "Errors" makes the ErrorInfo's.
    expect([err.code, err.reason]).toEqual([status.INVALID_ARGUMENT, "CLIENT_IDENTITY_AMBIGUOUS"]);
  });

  it("a client certificate binding with identity_type UNSPECIFIED is INVALID_ARGUMENT naming that field; no token", async () => {
    const before = await live.count("access_token");
    const err = await rpcError(
      call(
        live.admin.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: {
            slug: "unspecified-binding",
            role: Role.ROLE_AUDITOR,
            clientCertificateBinding: {
              value: "svc.example.com",
              certificateAuthority: "web-root",
            },
          },
        }),
      ),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.violations.map((v) => v.field)).toContain(
      "access_token.client_certificate_binding.identity_type",
    );
    expect(await live.count("access_token")).toBe(before);
  });

  describe("reasons the proto names are the ErrorInfo reason", () => {
    it("CreateAccessToken with a taken slug: ALREADY_EXISTS ACCESS_TOKEN_SLUG_TAKEN", async () => {
      await token(live, "taken", Role.ROLE_AUDITOR);
      const err = await rpcError(
        call(
          live.admin.accessTokens,
          "createAccessToken",
          CreateAccessTokenRequest.fromPartial({
            accessToken: { slug: "taken", role: Role.ROLE_AUDITOR },
          }),
        ),
      );
      expect([err.code, err.reason]).toEqual([status.ALREADY_EXISTS, "ACCESS_TOKEN_SLUG_TAKEN"]);
    });

    it("CreateAccessToken request_id reused with another body: ALREADY_EXISTS REQUEST_ID_REUSED with ErrorInfo access_token_id", async () => {
      const first = await call(
        live.admin.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: "rid-a", role: Role.ROLE_AUDITOR },
          requestId: "tok-rid",
        }),
      );
      const err = await rpcError(
        call(
          live.admin.accessTokens,
          "createAccessToken",
          CreateAccessTokenRequest.fromPartial({
            accessToken: { slug: "rid-b", role: Role.ROLE_AUDITOR },
            requestId: "tok-rid",
          }),
        ),
      );
      expect([err.code, err.reason, err.metadata.access_token_id]).toEqual([
        status.ALREADY_EXISTS,
        "REQUEST_ID_REUSED",
        first.accessToken!.id,
      ]);
    });

    it("CreateAcmeExternalAccountKey on an API profile: FAILED_PRECONDITION PROFILE_NOT_ACME", async () => {
      const err = await rpcError(
        call(live.admin.profiles, "createAcmeExternalAccountKey", { certificateProfile: "web" }),
      );
      expect([err.code, err.reason]).toEqual([status.FAILED_PRECONDITION, "PROFILE_NOT_ACME"]);
    });

    it("RenewCertificate by an issuer that does not own the certificate: PERMISSION_DENIED CERTIFICATE_NOT_OWNED, nothing written", async () => {
      const owner = await token(live, "owner", Role.ROLE_ISSUER, ["web"]);
      const other = await token(live, "other", Role.ROLE_ISSUER, ["web"]);
      const issued = await call(
        owner.clients.certificates,
        "issueCertificate",
        attrRequest("web", { dns: ["own.example.com"] }),
      );
      const before = await live.count("certificate");
      const err = await rpcError(
        call(
          other.clients.certificates,
          "renewCertificate",
          RenewCertificateRequest.fromPartial({ certificateId: issued.certificate!.certificateId }),
        ),
      );
      expect([err.code, err.reason]).toEqual([status.PERMISSION_DENIED, "CERTIFICATE_NOT_OWNED"]);
      expect(await live.count("certificate")).toBe(before);
    });

    it("ApproveCertificateRequest of one's own request: PERMISSION_DENIED SELF_APPROVAL_NOT_ALLOWED", async () => {
      await rootPolicyProfile(live, "gated", { requireApproval: true });
      const pending = await call(
        live.admin.certificates,
        "issueCertificate",
        attrRequest("gated", { dns: ["g.example.com"] }),
      );
      const err = await rpcError(
        call(live.admin.certificates, "approveCertificateRequest", {
          certificateRequestId: pending.certificateRequestId,
          comment: "",
        }),
      );
      expect([err.code, err.reason]).toEqual([
        status.PERMISSION_DENIED,
        "SELF_APPROVAL_NOT_ALLOWED",
      ]);
    });
  });
});
