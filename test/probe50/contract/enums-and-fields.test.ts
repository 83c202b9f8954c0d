/**
 * Stop 50, helper CONTRACT: enum fields (UNSPECIFIED and numbers the contract does not define),
 * durations and timestamps, and output-only fields on create, across services, as proto/ and
 * README "Errors" describe them. Requests are written as proto JSON (snake_case, as grpcurl
 * sends them) and encoded from the contract's descriptors, so any int32 can go into an enum.
 */
import { fromJson, type JsonObject, toBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AccessTokenState,
  CreateAccessTokenRequest,
  Role,
} from "../../../gen/ts/certmint/v1/access_token_service";
import { CreateCertificatePolicyResponse } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { CreateCertificateProfileResponse } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { attrRequest } from "../../certificates/helpers";
import { type LiveCertmint, rootPolicyProfile, startLive } from "../../probe49/api/live";
import { allMethods, rpcPath } from "../../support/contract";
import { call } from "../../support/harness";
import { RawClient } from "../../support/raw-client";

describe("probe50 CONTRACT: enums, durations, timestamps and output-only fields", () => {
  let live: LiveCertmint;
  let raw: RawClient;
  let certificateId: string;

  /** Calls `rpc` ("Service/Method") with a proto-JSON request. */
  const send = async (rpc: string, json: JsonObject) => {
    const m = allMethods().find((x) => rpcPath(x) === `/certmint.v1.${rpc}`)!;
    return raw.call(rpcPath(m), toBinary(m.input, fromJson(m.input, json)));
  };
  /** The refusal's code and fields; `what` labels a failing expectation. */
  const refusal = async (rpc: string, json: JsonObject) => {
    const out = await send(rpc, json);
    return {
      code: out.error?.code,
      reason: out.error?.reason,
      fields: out.error?.violations.map((v) => v.field),
    };
  };

  beforeAll(async () => {
    live = await startLive();
    raw = new RawClient(live.address, live.adminToken);
    await rootPolicyProfile(live, "web");
    const issued = await call(
      live.admin.certificates,
      "issueCertificate",
      attrRequest("web", { dns: ["e.example.com"] }),
    );
    certificateId = issued.certificate!.certificateId;
  });
  afterAll(async () => {
    raw.close();
    await live.stop();
  });

  describe("enum numbers the contract does not define: INVALID_ARGUMENT ENUM_VALUE_UNKNOWN naming the field, nothing written", () => {
    it.each<[string, JsonObject, string]>([
      [
        "AccessTokenService/CreateAccessToken",
        { access_token: { slug: "t99", role: 99 } },
        "access_token.role",
      ],
      [
        "CertificateService/RevokeCertificate",
        { certificate: "00000000-0000-4000-8000-000000000001", reason: 99 },
        "reason",
      ],
      ["CertificateService/ListCertificates", { status: 99 }, "status"],
      ["CertificateService/ListCertificates", { view: 99 }, "view"],
      ["CertificateService/ListCertificateRequests", { status: 99 }, "status"],
      ["CertificateAuthorityService/ListCertificateAuthorities", { status: 99 }, "status"],
      [
        "CertificateAuthorityService/GetCertificateRevocationList",
        { certificate_authority: "web-root", encoding: 99 },
        "encoding",
      ],
      [
        "CertificateAuthorityService/CreateRootCertificateAuthority",
        { slug: "r99", subject: { common_name: "r99" }, key_algorithm: 99 },
        "key_algorithm",
      ],
      [
        "CertificateService/IssueCertificate",
        {
          certificate_profile: "web",
          attributes: { subject_alternative_names: { dns_names: ["x.example.com"] } },
          key_usages: [99],
        },
        "key_usages[0]",
      ],
      [
        "CertificateService/RenewCertificate",
        { certificate_id: "00000000-0000-4000-8000-000000000001", key_source: 99 },
        "key_source",
      ],
      [
        "CertificatePolicyService/CreateCertificatePolicy",
        { certificate_policy: { slug: "p99", max_ttl: "86400s" }, preset: 99 },
        "preset",
      ],
      [
        "CertificateProfileService/CreateCertificateProfile",
        {
          certificate_profile: {
            slug: "f99",
            certificate_policy: "web-policy",
            certificate_authority: "web-root",
            enrollment_method: 99,
          },
        },
        "certificate_profile.enrollment_method",
      ],
    ])("%s %j", async (rpc, json, field) => {
      const before = await live.count("audit_record", "status_code = 0");
      const r = await refusal(rpc, json);
      expect(r).toEqual({
        code: status.INVALID_ARGUMENT,
        reason: "ENUM_VALUE_UNKNOWN",
        fields: [field],
      });
      expect(await live.count("audit_record", "status_code = 0")).toBe(before);
    });
  });

  describe("UNSPECIFIED where the proto says it is refused", () => {
    it("CreateAccessToken role UNSPECIFIED names access_token.role", async () => {
      const r = await refusal("AccessTokenService/CreateAccessToken", {
        access_token: { slug: "t0" },
      });
      expect([r.code, r.fields]).toEqual([status.INVALID_ARGUMENT, ["access_token.role"]]);
    });

    it("IssueCertificate key_usages [UNSPECIFIED] is ENUM_VALUE_UNSPECIFIED on key_usages[0]", async () => {
      const r = await refusal("CertificateService/IssueCertificate", {
        certificate_profile: "web",
        attributes: { subject_alternative_names: { dns_names: ["x.example.com"] } },
        key_usages: ["KEY_USAGE_UNSPECIFIED"],
      });
      expect(r).toEqual({
        code: status.INVALID_ARGUMENT,
        reason: "ENUM_VALUE_UNSPECIFIED",
        fields: ["key_usages[0]"],
      });
    });

    it("RevokeCertificate REMOVE_FROM_CRL and AA_COMPROMISE are INVALID_ARGUMENT on reason, the certificate stays ACTIVE", async () => {
      for (const reason of [
        "REVOCATION_REASON_REMOVE_FROM_CRL",
        "REVOCATION_REASON_AA_COMPROMISE",
      ]) {
        const r = await refusal("CertificateService/RevokeCertificate", {
          certificate: certificateId,
          reason,
        });
        expect([r.code, r.fields]).toEqual([status.INVALID_ARGUMENT, ["reason"]]);
      }
      expect(
        await live.count("certificate", "id = $1 and revoked_at is null", [certificateId]),
      ).toBe(1);
    });

    it("CreateCertificateProfile with enrollment_method EST (reserved for a later release) is refused, not stored", async () => {
      const r = await refusal("CertificateProfileService/CreateCertificateProfile", {
        certificate_profile: {
          slug: "est",
          certificate_policy: "web-policy",
          certificate_authority: "web-root",
          enrollment_method: "ENROLLMENT_METHOD_EST",
        },
      });
      expect(r.code).not.toBeUndefined();
      expect([status.INVALID_ARGUMENT, status.UNIMPLEMENTED, status.FAILED_PRECONDITION]).toContain(
        r.code,
      );
      expect(await live.count("certificate_profile", "slug = 'est'")).toBe(0);
    });
  });

  describe("durations and timestamps", () => {
    it.each<[string, JsonObject, string]>([
      [
        "CertificateService/IssueCertificate",
        {
          certificate_profile: "web",
          attributes: { subject_alternative_names: { dns_names: ["d.example.com"] } },
          ttl: "-60s",
        },
        "ttl",
      ],
      [
        "CertificateService/IssueCertificate",
        {
          certificate_profile: "web",
          attributes: { subject_alternative_names: { dns_names: ["d.example.com"] } },
          ttl: "3600.5s",
        },
        "ttl",
      ],
      [
        "CertificateService/IssueCertificate",
        {
          certificate_profile: "web",
          attributes: { subject_alternative_names: { dns_names: ["d.example.com"] } },
          ttl: "0s",
        },
        "ttl",
      ],
      [
        "CertificateAuthorityService/CreateRootCertificateAuthority",
        { slug: "rd", subject: { common_name: "rd" }, ttl: "-1s" },
        "ttl",
      ],
      [
        "CertificatePolicyService/CreateCertificatePolicy",
        {
          certificate_policy: { slug: "pd", max_ttl: "86400.25s" },
          preset: "CERTIFICATE_POLICY_PRESET_TLS_SERVER",
        },
        "certificate_policy.max_ttl",
      ],
      [
        "CertificateProfileService/CreateCertificateProfile",
        {
          certificate_profile: {
            slug: "fd",
            certificate_policy: "web-policy",
            certificate_authority: "web-root",
            renewal: { renew_before: "60.5s" },
          },
        },
        "certificate_profile.renewal.renew_before",
      ],
      [
        "AccessTokenService/CreateAccessToken",
        { access_token: { slug: "td", role: "ROLE_AUDITOR" }, ttl: "-5s" },
        "ttl",
      ],
    ])("%s %j is INVALID_ARGUMENT on that one field", async (rpc, json, field) => {
      const r = await refusal(rpc, json);
      expect([r.code, r.fields]).toEqual([status.INVALID_ARGUMENT, [field]]);
    });

    it("ListAuditRecords with end_time not after start_time is INVALID_ARGUMENT naming end_time", async () => {
      const r = await refusal("AuditService/ListAuditRecords", {
        start_time: "2026-01-02T00:00:00Z",
        end_time: "2026-01-01T00:00:00Z",
      });
      expect(r.code).toBe(status.INVALID_ARGUMENT);
      expect(r.fields).toContain("end_time");
    });
  });

  describe("output-only fields on create are ignored (proto: id, create_time, update_time and etag are ignored)", () => {
    it("CreateCertificatePolicy: the server's id, create time and etag, not the request's", async () => {
      const out = await send("CertificatePolicyService/CreateCertificatePolicy", {
        preset: "CERTIFICATE_POLICY_PRESET_TLS_SERVER",
        certificate_policy: {
          id: "00000000-0000-4000-8000-00000000beef",
          slug: "oo-policy",
          max_ttl: "86400s",
          etag: "chosen",
          create_time: "2001-01-01T00:00:00Z",
          update_time: "2001-01-01T00:00:00Z",
        },
      });
      expect(out.error).toBeUndefined();
      const p = CreateCertificatePolicyResponse.decode(out.response!).certificatePolicy!;
      expect(p.id).not.toBe("00000000-0000-4000-8000-00000000beef");
      expect(p.etag).not.toBe("chosen");
      expect(p.createTime!.getUTCFullYear()).toBeGreaterThan(2001);
      expect(p.updateTime!.getUTCFullYear()).toBeGreaterThan(2001);
    });

    it("CreateCertificateProfile: the server's id, create time and etag", async () => {
      const out = await send("CertificateProfileService/CreateCertificateProfile", {
        certificate_profile: {
          id: "00000000-0000-4000-8000-00000000cafe",
          slug: "oo-profile",
          certificate_policy: "oo-policy",
          certificate_authority: "web-root",
          etag: "chosen",
          create_time: "2001-01-01T00:00:00Z",
        },
      });
      expect(out.error).toBeUndefined();
      const p = CreateCertificateProfileResponse.decode(out.response!).certificateProfile!;
      expect(p.id).not.toBe("00000000-0000-4000-8000-00000000cafe");
      expect(p.etag).not.toBe("chosen");
      expect(p.createTime!.getUTCFullYear()).toBeGreaterThan(2001);
    });

    it("CreateAccessToken: state, creator, times are the server's (proto: the other fields are ignored)", async () => {
      const res = await call(
        live.admin.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: {
            slug: "oo-token",
            role: Role.ROLE_AUDITOR,
            id: "00000000-0000-4000-8000-00000000f00d",
            state: AccessTokenState.ACCESS_TOKEN_STATE_REVOKED,
            creator: "00000000-0000-4000-8000-000000000bad",
            createTime: new Date("2001-01-01T00:00:00Z"),
            expireTime: new Date("2001-01-02T00:00:00Z"),
            revokeTime: new Date("2001-01-01T00:00:00Z"),
          },
        }),
      );
      const t = res.accessToken!;
      expect(t.id).not.toBe("00000000-0000-4000-8000-00000000f00d");
      expect(t.state).toBe(AccessTokenState.ACCESS_TOKEN_STATE_ACTIVE);
      expect(t.creator).not.toBe("00000000-0000-4000-8000-000000000bad");
      expect(t.revokeTime).toBeUndefined();
      expect(t.expireTime!.getTime()).toBeGreaterThan(Date.now());
      // And it authenticates: the secret works.
      await call(live.clientsAs(res.secret).policies, "listCertificatePolicies", {
        pageSize: 1,
        pageToken: "",
      });
    });
  });
});
