/**
 * Stop 50, helper CONTRACT: the audit trail as AuditService's proto describes it, for changes
 * made by naming objects by slug or serial: one record per mutating call, its resource_id the
 * object's id (a UUID, whatever name the call used), and for an update only the fields that
 * changed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListAuditRecordsRequest } from "../../../gen/ts/certmint/v1/audit_service";
import { UpdateCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { UpdateCertificatePolicyRequest } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { UpdateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { attrRequest } from "../../certificates/helpers";
import {
  type LiveCertmint,
  Role,
  rootPolicyProfile,
  startLive,
  token,
} from "../../probe49/api/live";
import { call } from "../../support/harness";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("probe50 CONTRACT: audit records of changes named by slug or serial", () => {
  let live: LiveCertmint;
  let adminId: string;
  let ids: { root: string; policy: string; profile: string };

  /** The audit records written by `change`, oldest first. */
  async function recordsOf(change: () => Promise<unknown>) {
    const before = await call(
      live.admin.audit,
      "listAuditRecords",
      ListAuditRecordsRequest.fromPartial({ pageSize: 1 }),
    );
    const newest = before.auditRecords[0]?.id;
    await change();
    const after = await call(
      live.admin.audit,
      "listAuditRecords",
      ListAuditRecordsRequest.fromPartial({ pageSize: 100 }),
    );
    const fresh: typeof after.auditRecords = [];
    for (const r of after.auditRecords) {
      if (r.id === newest) break;
      fresh.push(r);
    }
    return fresh.reverse();
  }

  beforeAll(async () => {
    live = await startLive();
    const made = await rootPolicyProfile(live, "web");
    const policy = await call(live.admin.policies, "getCertificatePolicy", {
      certificatePolicy: "web-policy",
    });
    ids = { root: made.rootId, policy: policy.certificatePolicy!.id, profile: made.profileId };
    // The token certmint created at first start: the only one without a creator.
    const tokens = await call(live.admin.accessTokens, "listAccessTokens", {
      pageSize: 10,
      pageToken: "",
    });
    adminId = tokens.accessTokens.find((t) => t.creator === "")!.id;
  });
  afterAll(() => live.stop());

  it.each<[string, string, string, keyof typeof ids, () => Promise<unknown>]>([
    [
      "UpdateCertificateAuthority",
      "certificate_authority",
      "description",
      "root",
      () =>
        call(
          live.admin.authorities,
          "updateCertificateAuthority",
          UpdateCertificateAuthorityRequest.fromPartial({
            certificateAuthority: { slug: "web-root", description: "by slug" },
            updateMask: ["description"],
          }),
        ),
    ],
    [
      "UpdateCertificatePolicy",
      "certificate_policy",
      "description",
      "policy",
      () =>
        call(
          live.admin.policies,
          "updateCertificatePolicy",
          UpdateCertificatePolicyRequest.fromPartial({
            certificatePolicy: { slug: "web-policy", description: "by slug" },
            updateMask: ["description"],
          }),
        ),
    ],
    [
      "UpdateCertificateProfile",
      "certificate_profile",
      "description",
      "profile",
      () =>
        call(
          live.admin.profiles,
          "updateCertificateProfile",
          UpdateCertificateProfileRequest.fromPartial({
            certificateProfile: { slug: "web", description: "by slug" },
            updateMask: ["description"],
          }),
        ),
    ],
  ])(
    "%s by slug: one record, resource_id the UUID, changes only the field that changed",
    async (rpc, type, field, key, change) => {
      const records = await recordsOf(change);
      expect(records).toHaveLength(1);
      const r = records[0]!;
      expect(r).toMatchObject({
        method: `/certmint.v1.${rpc.startsWith("UpdateCertificateAuthority") ? "CertificateAuthorityService" : rpc.includes("Policy") ? "CertificatePolicyService" : "CertificateProfileService"}/${rpc}`,
        resourceType: type,
        resourceId: ids[key],
        statusCode: 0,
        actor: adminId,
      });
      expect(r.changes.map((c) => c.field)).toEqual([field]);
      expect(r.changes[0]!.after).toBe("by slug");
      // The same update again changes nothing: no field is listed.
      const again = await recordsOf(change);
      expect(again).toHaveLength(1);
      expect(again[0]!.changes).toEqual([]);
    },
  );

  it("RevokeCertificate by serial (upper case, colons): one record naming the certificate's UUID", async () => {
    const issued = await call(
      live.admin.certificates,
      "issueCertificate",
      attrRequest("web", { dns: ["au.example.com"] }),
    );
    const serial = issued.certificate!.serialNumber.toUpperCase().match(/../g)!.join(":");
    const records = await recordsOf(() =>
      call(live.admin.certificates, "revokeCertificate", {
        certificate: serial,
        reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
      }),
    );
    expect(records.map((r) => [r.resourceType, r.resourceId, r.statusCode])).toEqual([
      ["certificate", issued.certificate!.certificateId, 0],
    ]);
  });

  it("RevokeAccessToken by slug: one record naming the token's UUID", async () => {
    const t = await token(live, "audited", Role.ROLE_AUDITOR);
    const records = await recordsOf(() =>
      call(live.admin.accessTokens, "revokeAccessToken", {
        accessToken: "audited",
        revokeCreatedTokens: false,
      }),
    );
    expect(records.map((r) => [r.resourceType, r.resourceId])).toEqual([["access_token", t.id]]);
    expect(records[0]!.resourceId).toMatch(UUID);
  });

  // AuditRecord.resource_id is "the id of that resource" (proto); README "Access tokens, roles
  // and the audit trail" promises that resource_type and resource_id find a CA's refused
  // deletions. An investigator filters by the object's id (slugs pass to a new object after a
  // delete): a refusal of a call that named the object by slug must be found that way too.
  it("a refused delete by slug (in use) is found by ListAuditRecords resource_id = the policy's UUID", async () => {
    const records = await recordsOf(() =>
      call(live.admin.policies, "deleteCertificatePolicy", {
        certificatePolicy: "web-policy",
        etag: "",
      }).catch(() => {}),
    );
    expect(records).toHaveLength(1);
    expect(records[0]!.statusCode).toBe(9);
    expect(records[0]!.errorReason).not.toBe("");
    const found = await call(
      live.admin.audit,
      "listAuditRecords",
      ListAuditRecordsRequest.fromPartial({
        pageSize: 100,
        resourceType: "certificate_policy",
        resourceId: ids.policy,
        failuresOnly: true,
      }),
    );
    expect(found.auditRecords.map((r) => r.id)).toContain(records[0]!.id);
  });

  it("a refused RevokeCertificate by serial is found by ListAuditRecords resource_id = the certificate's UUID", async () => {
    const issued = await call(
      live.admin.certificates,
      "issueCertificate",
      attrRequest("web", { dns: ["ref.example.com"] }),
    );
    const records = await recordsOf(() =>
      call(live.admin.certificates, "revokeCertificate", {
        certificate: issued.certificate!.serialNumber,
        reason: RevocationReason.REVOCATION_REASON_AA_COMPROMISE,
      }).catch(() => {}),
    );
    expect(records.map((r) => r.statusCode)).toEqual([3]);
    const found = await call(
      live.admin.audit,
      "listAuditRecords",
      ListAuditRecordsRequest.fromPartial({
        pageSize: 100,
        resourceType: "certificate",
        resourceId: issued.certificate!.certificateId,
        failuresOnly: true,
      }),
    );
    expect(found.auditRecords.map((r) => r.id)).toContain(records[0]!.id);
  });
});
