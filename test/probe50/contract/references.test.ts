/**
 * Stop 50, helper CONTRACT: what every RPC of the compiled server answers to a request that
 * names nothing, something that does not exist, or something that cannot be a name at all; and
 * to a delete of something in use. Read from proto/ and README.md only ("Errors"): a missing
 * required field is INVALID_ARGUMENT with a BadRequest naming it and an ErrorInfo reason; an
 * unknown id NOT_FOUND naming it; a reference that is neither a UUID nor a slug is no name of
 * anything (INVALID_ARGUMENT, as CertificateService and RevokeAcmeAccount already answer).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssueCertificateRequest } from "../../../gen/ts/certmint/v1/certificate_service";
import { ErrorInfo } from "../../../gen/ts/google/rpc/error_details";
import { Status } from "../../../gen/ts/google/rpc/status";
import { attrRequest } from "../../certificates/helpers";
import { type LiveCertmint, rootPolicyProfile, startLive } from "../../probe49/api/live";
import { allMethods, contract, rpcPath } from "../../support/contract";
import { call, expectRpcError } from "../../support/harness";
import { RawClient } from "../../support/raw-client";

/** The one reference field of each Get/Delete/Revoke-style RPC, as the proto names it. */
const REFERENCE_RPCS: Array<[rpc: string, field: string]> = [
  ["CertificateService/GetCertificate", "certificate"],
  ["CertificateService/RevokeCertificate", "certificate"],
  ["CertificateService/ReleaseCertificateHold", "certificate"],
  ["CertificateService/GetCurrentCertificate", "certificate"],
  ["CertificateService/RenewCertificate", "certificate_id"],
  ["CertificateService/GetRequestStatus", "certificate_request_id"],
  ["CertificateService/ApproveCertificateRequest", "certificate_request_id"],
  ["CertificateService/RejectCertificateRequest", "certificate_request_id"],
  ["CertificateAuthorityService/GetCertificateAuthority", "certificate_authority"],
  ["CertificateAuthorityService/DeleteCertificateAuthority", "certificate_authority"],
  ["CertificateAuthorityService/RevokeCertificateAuthority", "certificate_authority"],
  ["CertificateAuthorityService/GetCertificateRevocationList", "certificate_authority"],
  ["CertificateAuthorityService/ImportCertificateAuthorityCertificate", "certificate_authority"],
  ["CertificatePolicyService/GetCertificatePolicy", "certificate_policy"],
  ["CertificatePolicyService/DeleteCertificatePolicy", "certificate_policy"],
  ["CertificateProfileService/GetCertificateProfile", "certificate_profile"],
  ["CertificateProfileService/DeleteCertificateProfile", "certificate_profile"],
  ["CertificateProfileService/CreateAcmeExternalAccountKey", "certificate_profile"],
  ["CertificateProfileService/ListAcmeExternalAccountKeys", "certificate_profile"],
  ["CertificateProfileService/ListAcmeAccounts", "certificate_profile"],
  ["CertificateProfileService/RevokeAcmeAccount", "acme_account"],
  ["AccessTokenService/GetAccessToken", "access_token"],
  ["AccessTokenService/RevokeAccessToken", "access_token"],
];

/** The request of `rpc` with only `field` set, encoded (the proto's snake_case name). */
function requestWith(rpc: string, field?: string, value?: string): Uint8Array {
  const method = allMethods().find((m) => rpcPath(m) === `/certmint.v1.${rpc}`);
  if (!method) throw new Error(`${rpc} is not in the contract`);
  const init: Record<string, unknown> = {};
  if (field) {
    const f = method.input.fields.find((x) => x.name === field);
    if (!f) throw new Error(`${rpc} has no field ${field}`);
    init[f.localName] = value;
  }
  return toBinary(method.input, create(method.input, init as never));
}

describe("probe50 CONTRACT: references, required fields and deletes in use", () => {
  let live: LiveCertmint;
  let raw: RawClient;
  let rootId: string;

  beforeAll(async () => {
    live = await startLive();
    raw = new RawClient(live.address, live.adminToken);
    ({ rootId } = await rootPolicyProfile(live, "web"));
  });
  afterAll(async () => {
    raw.close();
    await live.stop();
  });

  it("every RPC's request is in the contract table above or needs no reference", () => {
    for (const [rpc] of REFERENCE_RPCS)
      expect(contract.getMessage(`certmint.v1.${rpc.split("/")[1]}Request`)).toBeDefined();
  });

  it.each(REFERENCE_RPCS)(
    "%s with %s empty is INVALID_ARGUMENT naming that field, with an ErrorInfo reason",
    async (rpc, field) => {
      const out = await raw.call(`/certmint.v1.${rpc}`, requestWith(rpc));
      expect(out.error?.code).toBe(status.INVALID_ARGUMENT);
      expect(out.error?.reason).toMatch(/^[A-Z][A-Z_]+$/);
      expect(out.error?.violations.map((v) => v.field)).toContain(field);
    },
  );

  it.each(REFERENCE_RPCS)(
    "%s: the grpc-status-details-bin Status repeats code and message and carries ErrorInfo of domain certmint.dev",
    async (rpc, field) => {
      for (const value of ["", "00000000-0000-4000-8000-0000000000aa"]) {
        const out = await raw.call(`/certmint.v1.${rpc}`, requestWith(rpc, field, value));
        const bin = out.serviceError?.metadata.get("grpc-status-details-bin")[0] as Buffer;
        expect(bin).toBeDefined();
        const st = Status.decode(bin);
        expect([st.code, st.message]).toEqual([out.serviceError!.code, out.serviceError!.details]);
        const info = st.details.find(
          (d) => d.typeUrl === "type.googleapis.com/google.rpc.ErrorInfo",
        );
        expect(info && ErrorInfo.decode(info.value).domain).toBe("certmint.dev");
      }
    },
  );

  it.each(REFERENCE_RPCS)(
    "%s with a well-formed unknown %s is NOT_FOUND, its message naming the id",
    async (rpc, field) => {
      const id = "00000000-0000-4000-8000-0000000000aa";
      const out = await raw.call(`/certmint.v1.${rpc}`, requestWith(rpc, field, id));
      expect(out.error?.code).toBe(status.NOT_FOUND);
      expect(out.error?.reason).toMatch(/_NOT_FOUND$/);
      expect(out.error?.message).toContain(id);
    },
  );

  // A reference is "an id or a slug" (proto): "Not A Name!" is neither (upper case, spaces,
  // '!': see CertificateAuthority.slug), so no row can ever carry it. NOT_FOUND would tell a
  // client to look again later; INVALID_ARGUMENT tells it the request is wrong, as
  // CertificateService (CERTIFICATE_REFERENCE_INVALID) and RevokeAcmeAccount
  // (ACME_ACCOUNT_ID_INVALID) already answer.
  it.each(REFERENCE_RPCS)(
    "%s with a %s that is neither a UUID nor a slug is INVALID_ARGUMENT naming the field, not NOT_FOUND",
    async (rpc, field) => {
      const out = await raw.call(`/certmint.v1.${rpc}`, requestWith(rpc, field, "Not A Name!"));
      expect({ code: out.error?.code, fields: out.error?.violations.map((v) => v.field) }).toEqual({
        code: status.INVALID_ARGUMENT,
        fields: [field],
      });
    },
  );

  // The harm of NOT_FOUND for a name no object can have: an idempotent clean-up script treats
  // NOT_FOUND on Delete as "already gone" and reports success, while the policy it meant
  // ("web-policy", typed in upper case from a ticket) is still there.
  it("DeleteCertificatePolicy of \"WEB-POLICY\" (no slug can have upper case) is INVALID_ARGUMENT, not the NOT_FOUND a clean-up script takes for 'already deleted'", async () => {
    const err = await expectRpcError(
      call(live.admin.policies, "deleteCertificatePolicy", {
        certificatePolicy: "WEB-POLICY",
        etag: "",
      }),
    );
    expect(await live.count("certificate_policy", "slug = 'web-policy'")).toBe(1);
    expect([err.code, err.violations.map((v) => v.field)]).toEqual([
      status.INVALID_ARGUMENT,
      ["certificate_policy"],
    ]);
  });

  it("IssueCertificate with attributes but no certificate_profile names certificate_profile", async () => {
    const before = await live.count("certificate_request");
    const err = await expectRpcError(
      call(
        live.admin.certificates,
        "issueCertificate",
        attrRequest("", { dns: ["a.example.com"] }),
      ),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.violations.map((v) => v.field)).toContain("certificate_profile");
    expect(await live.count("certificate_request")).toBe(before);
  });

  it("IssueCertificate with nothing at all names both missing fields: certificate_profile and source", async () => {
    const err = await expectRpcError(
      call(live.admin.certificates, "issueCertificate", IssueCertificateRequest.fromPartial({})),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.violations.map((v) => v.field).sort()).toEqual(["certificate_profile", "source"]);
  });

  it("DeleteCertificateAuthority of a CA a profile uses is FAILED_PRECONDITION naming the profile, and the CA stays", async () => {
    const err = await expectRpcError(
      call(live.admin.authorities, "deleteCertificateAuthority", {
        certificateAuthority: rootId,
        etag: "",
      }),
    );
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBeTruthy();
    const profile = await call(live.admin.profiles, "getCertificateProfile", {
      certificateProfile: "web",
    });
    expect(err.preconditions.map((p) => `${p.subject} ${p.description}`).join("\n")).toMatch(
      new RegExp(`${profile.certificateProfile!.id}|web`),
    );
    expect(await live.count("certificate_authority", "id = $1", [rootId])).toBe(1);
  });

  it("DeleteCertificatePolicy of a policy a profile uses is FAILED_PRECONDITION naming the profile, and the policy stays", async () => {
    const err = await expectRpcError(
      call(live.admin.policies, "deleteCertificatePolicy", {
        certificatePolicy: "web-policy",
        etag: "",
      }),
    );
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBeTruthy();
    expect(err.preconditions.map((p) => `${p.subject} ${p.description}`).join("\n")).toMatch(/web/);
    await call(live.admin.policies, "getCertificatePolicy", { certificatePolicy: "web-policy" });
  });

  it("DeleteCertificateProfile of a profile with valid certificates is FAILED_PRECONDITION PROFILE_HAS_CERTIFICATES with their count", async () => {
    await call(
      live.admin.certificates,
      "issueCertificate",
      attrRequest("web", { dns: ["d.example.com"] }),
    );
    const err = await expectRpcError(
      call(live.admin.profiles, "deleteCertificateProfile", {
        certificateProfile: "web",
        etag: "",
        force: false,
      }),
    );
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBe("PROFILE_HAS_CERTIFICATES");
    expect(`${err.message} ${err.preconditions.map((p) => p.description).join(" ")}`).toMatch(
      /\b1\b/,
    );
    await call(live.admin.profiles, "getCertificateProfile", { certificateProfile: "web" });
  });
});
