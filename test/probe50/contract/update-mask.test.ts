/**
 * Stop 50, helper CONTRACT: the three Update RPCs (CA, policy, profile) and their update_mask and
 * etag, as proto/ and README.md describe them (AIP-134 paths, "*", ABORTED on a stale etag) and
 * as a client reading them must be able to rely on: every refusal names its field the same way
 * in every service, and a refused update changes nothing, the audit trail in PostgreSQL holding
 * a refusal (its status code and reason) and no change.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateAuthorityStatus,
  CreateIntermediateCertificateAuthorityRequest,
  UpdateCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { UpdateCertificatePolicyRequest } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { UpdateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { type LiveCertmint, rootPolicyProfile, startLive } from "../../probe49/api/live";
import { createTlsServerPolicy } from "../../support/fixtures";
import { call, expectRpcError } from "../../support/harness";

const CA_UPDATE = "/certmint.v1.CertificateAuthorityService/UpdateCertificateAuthority";
const POLICY_UPDATE = "/certmint.v1.CertificatePolicyService/UpdateCertificatePolicy";
const PROFILE_UPDATE = "/certmint.v1.CertificateProfileService/UpdateCertificateProfile";

describe("probe50 CONTRACT: update_mask and etag", () => {
  let live: LiveCertmint;
  let rootId: string;

  const getCa = () =>
    call(live.admin.authorities, "getCertificateAuthority", { certificateAuthority: rootId }).then(
      (r) => r.certificateAuthority!,
    );
  const getPolicy = () =>
    call(live.admin.policies, "getCertificatePolicy", { certificatePolicy: "web-policy" }).then(
      (r) => r.certificatePolicy!,
    );
  const getProfile = () =>
    call(live.admin.profiles, "getCertificateProfile", { certificateProfile: "web" }).then(
      (r) => r.certificateProfile!,
    );

  const updateCa = (
    mask: string[],
    ca: Parameters<typeof UpdateCertificateAuthorityRequest.fromPartial>[0]["certificateAuthority"],
  ) =>
    call(
      live.admin.authorities,
      "updateCertificateAuthority",
      UpdateCertificateAuthorityRequest.fromPartial({ certificateAuthority: ca, updateMask: mask }),
    );
  const updatePolicy = (
    mask: string[],
    p: Parameters<typeof UpdateCertificatePolicyRequest.fromPartial>[0]["certificatePolicy"],
  ) =>
    call(
      live.admin.policies,
      "updateCertificatePolicy",
      UpdateCertificatePolicyRequest.fromPartial({ certificatePolicy: p, updateMask: mask }),
    );
  const updateProfile = (
    mask: string[],
    p: Parameters<typeof UpdateCertificateProfileRequest.fromPartial>[0]["certificateProfile"],
  ) =>
    call(
      live.admin.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({ certificateProfile: p, updateMask: mask }),
    );

  const createPolicy = async (slug: string) => {
    await createTlsServerPolicy(live.admin, slug, 86_400);
    return call(live.admin.policies, "getCertificatePolicy", { certificatePolicy: slug });
  };

  /** The audit rows of `method` since `since` (a count of all audit rows before the call). */
  const auditRows = (method: string, since: number) =>
    live.db.query<{ status_code: number; error_reason: string; changes: unknown }>(
      `select status_code, error_reason, changes from audit_record where method = $1
       order by created_at offset $2`,
      [method, since],
    );
  const auditCount = (method: string) => live.count("audit_record", "method = $1", [method]);

  /** Runs `refused`, expects INVALID_ARGUMENT or ABORTED, and proves nothing changed. */
  async function refusedWithoutChange(
    method: string,
    read: () => Promise<{ etag: string; updateTime?: Date }>,
    refused: () => Promise<unknown>,
  ) {
    const before = await read();
    const audits = await auditCount(method);
    const err = await expectRpcError(refused());
    const after = await read();
    expect(after).toEqual(before);
    const rows = await auditRows(method, audits);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status_code: err.code, error_reason: err.reason });
    expect(rows[0]!.changes ?? []).toEqual([]);
    return err;
  }

  beforeAll(async () => {
    live = await startLive();
    ({ rootId } = await rootPolicyProfile(live, "web"));
  });
  afterAll(() => live.stop());

  describe("unknown, empty and output-only paths: INVALID_ARGUMENT, nothing changed, one refusal audited", () => {
    it("policy: an unknown path is named as update_mask.paths[i]", async () => {
      const err = await refusedWithoutChange(POLICY_UPDATE, getPolicy, () =>
        updatePolicy(["description", "san_rules.bogus"], { slug: "web-policy", description: "x" }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
        ["update_mask.paths[1]", "UPDATE_MASK_PATH_UNKNOWN"],
      ]);
    });

    it("profile: an unknown path is named as update_mask.paths[i]", async () => {
      const err = await refusedWithoutChange(PROFILE_UPDATE, getProfile, () =>
        updateProfile(["description", "defaults.bogus"], { slug: "web", description: "x" }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
        ["update_mask.paths[1]", "UPDATE_MASK_PATH_UNKNOWN"],
      ]);
    });

    it("CA: an unknown path is named as update_mask.paths[i], as policies and profiles name it", async () => {
      const err = await refusedWithoutChange(CA_UPDATE, getCa, () =>
        updateCa(["description", "bogus"], { id: rootId, description: "x" }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
        ["update_mask.paths[1]", "UPDATE_MASK_PATH_UNKNOWN"],
      ]);
    });

    it.each([
      ["policy", POLICY_UPDATE],
      ["profile", PROFILE_UPDATE],
      ["CA", CA_UPDATE],
    ])("%s: an empty mask is INVALID_ARGUMENT naming update_mask", async (kind, method) => {
      const err =
        kind === "policy"
          ? await refusedWithoutChange(method, getPolicy, () =>
              updatePolicy([], { slug: "web-policy", description: "y" }),
            )
          : kind === "profile"
            ? await refusedWithoutChange(method, getProfile, () =>
                updateProfile([], { slug: "web", description: "y" }),
              )
            : await refusedWithoutChange(method, getCa, () =>
                updateCa([], { id: rootId, description: "y" }),
              );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.violations.map((v) => v.field)).toEqual(["update_mask"]);
    });

    // id, slug, etag, create_time and update_time are output-only or identifying (AIP-203): a
    // mask naming them asks for something no update can do. Policies and profiles say so
    // (UPDATE_MASK_PATH_IMMUTABLE); a CA should say the same.
    it.each(["id", "slug", "etag", "create_time", "update_time"])(
      "every service refuses the output-only or identifying path %s as UPDATE_MASK_PATH_IMMUTABLE at update_mask.paths[0]",
      async (path) => {
        const errs = [
          await refusedWithoutChange(POLICY_UPDATE, getPolicy, () =>
            updatePolicy([path], { slug: "web-policy" }),
          ),
          await refusedWithoutChange(PROFILE_UPDATE, getProfile, () =>
            updateProfile([path], { slug: "web" }),
          ),
          await refusedWithoutChange(CA_UPDATE, getCa, () => updateCa([path], { id: rootId })),
        ];
        expect(
          errs.map((e) => [e.code, e.violations.map((v) => `${v.field} ${v.reason}`)]),
        ).toEqual(
          Array(3).fill([
            status.INVALID_ARGUMENT,
            ["update_mask.paths[0] UPDATE_MASK_PATH_IMMUTABLE"],
          ]),
        );
        expect(errs.map((e) => e.reason)).toEqual(Array(3).fill("UPDATE_MASK_INVALID"));
      },
    );

    it("CA: fields fixed by its certificate (subject, key_algorithm, type) are refused in a mask, nothing changed", async () => {
      for (const path of ["subject", "key_algorithm", "type", "not_after"]) {
        const err = await refusedWithoutChange(CA_UPDATE, getCa, () =>
          updateCa([path], { id: rootId }),
        );
        expect(err.code).toBe(status.INVALID_ARGUMENT);
      }
    });

    it("CA: status UNSPECIFIED under a mask naming status is refused naming certificate_authority.status", async () => {
      const err = await refusedWithoutChange(CA_UPDATE, getCa, () =>
        updateCa(["status"], {
          id: rootId,
          status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_UNSPECIFIED,
        }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.violations.map((v) => v.field)).toEqual(["certificate_authority.status"]);
    });
  });

  describe("etag", () => {
    it.each([
      ["policy", POLICY_UPDATE],
      ["profile", PROFILE_UPDATE],
      ["CA", CA_UPDATE],
    ])(
      "%s: a stale etag is ABORTED ETAG_MISMATCH; nothing changed; absent etag is allowed and changes the etag",
      async (kind, method) => {
        const read = kind === "policy" ? getPolicy : kind === "profile" ? getProfile : getCa;
        const update = (etag: string, description: string) =>
          kind === "policy"
            ? updatePolicy(["description"], { slug: "web-policy", etag, description })
            : kind === "profile"
              ? updateProfile(["description"], { slug: "web", etag, description })
              : updateCa(["description"], { id: rootId, etag, description });
        const first = await read();
        await update(first.etag, `${kind} one`);
        const second = await read();
        expect(second.etag).not.toBe(first.etag);
        expect(second.description).toBe(`${kind} one`);
        const err = await refusedWithoutChange(method, read, () =>
          update(first.etag, `${kind} stale`),
        );
        expect([err.code, err.reason]).toEqual([status.ABORTED, "ETAG_MISMATCH"]);
        await update("", `${kind} two`);
        const third = await read();
        expect(third.description).toBe(`${kind} two`);
        expect(third.etag).not.toBe(second.etag);
        expect(third.updateTime!.getTime()).toBeGreaterThanOrEqual(second.updateTime!.getTime());
      },
    );

    it("Delete with a stale etag is ABORTED and deletes nothing; with the current one it deletes", async () => {
      const created = await createPolicy("to-delete");
      const stale = created.certificatePolicy!.etag;
      await updatePolicy(["description"], { slug: "to-delete", description: "moved on" });
      const err = await expectRpcError(
        call(live.admin.policies, "deleteCertificatePolicy", {
          certificatePolicy: "to-delete",
          etag: stale,
        }),
      );
      expect([err.code, err.reason]).toEqual([status.ABORTED, "ETAG_MISMATCH"]);
      const now = await call(live.admin.policies, "getCertificatePolicy", {
        certificatePolicy: "to-delete",
      });
      await call(live.admin.policies, "deleteCertificatePolicy", {
        certificatePolicy: "to-delete",
        etag: now.certificatePolicy!.etag,
      });
      expect(await live.count("certificate_policy", "slug = 'to-delete'")).toBe(0);
    });
  });

  describe('"*" and a read-modify-write round trip', () => {
    it('policy: GET, change description, update with "*" (output-only fields sent back as read): only description changes', async () => {
      const read = await getPolicy();
      const res = await updatePolicy(["*"], { ...read, description: "star policy" });
      const { etag: _e, updateTime: _u, description: _d, ...rest } = res.certificatePolicy!;
      const { etag: _e2, updateTime: _u2, description: _d2, ...restBefore } = read;
      expect(res.certificatePolicy!.description).toBe("star policy");
      expect(rest).toEqual(restBefore);
    });

    it('profile: GET, change description, update with "*": only description changes', async () => {
      const read = await getProfile();
      const res = await updateProfile(["*"], { ...read, description: "star profile" });
      const { etag: _e, updateTime: _u, description: _d, ...rest } = res.certificateProfile!;
      const { etag: _e2, updateTime: _u2, description: _d2, ...restBefore } = read;
      expect(res.certificateProfile!.description).toBe("star profile");
      expect(rest).toEqual(restBefore);
    });

    it('CA: GET, change description, update with "*": only description changes, the CA stays ACTIVE', async () => {
      const read = await getCa();
      const res = await updateCa(["*"], { ...read, description: "star ca" });
      expect(res.certificateAuthority!.description).toBe("star ca");
      expect(res.certificateAuthority!.status).toBe(
        CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_ACTIVE,
      );
    });

    it('policy: "*" with fields left unset clears them (full replacement), or refuses: it never keeps old values silently', async () => {
      const before = await getPolicy();
      const outcome = await updatePolicy(["*"], {
        slug: "web-policy",
        maxTtl: before.maxTtl,
        sanRules: before.sanRules,
        description: "",
      }).then(
        (r) => ({ ok: r.certificatePolicy! }),
        (e) => ({ err: e as Error }),
      );
      if ("ok" in outcome) expect(outcome.ok.subjectRules).toEqual({});
      else expect((outcome.err as unknown as { code: number }).code).toBe(status.INVALID_ARGUMENT);
    });
  });

  it("an update naming its object by id and by another object's slug is INVALID_ARGUMENT REFERENCE_CONFLICT, nothing changed", async () => {
    const policy = await getPolicy();
    await createPolicy("other-policy");
    const err = await refusedWithoutChange(POLICY_UPDATE, getPolicy, () =>
      updatePolicy(["description"], {
        id: policy.id,
        slug: "other-policy",
        description: "conflict",
      }),
    );
    expect([err.code, err.reason]).toEqual([status.INVALID_ARGUMENT, "REFERENCE_CONFLICT"]);
  });

  describe("CA status changes the contract forbids", () => {
    it("status PENDING_CERTIFICATE is INVALID_ARGUMENT naming certificate_authority.status, nothing changed", async () => {
      const err = await refusedWithoutChange(CA_UPDATE, getCa, () =>
        updateCa(["status"], {
          id: rootId,
          status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_PENDING_CERTIFICATE,
        }),
      );
      expect([err.code, err.violations.map((v) => v.field)]).toEqual([
        status.INVALID_ARGUMENT,
        ["certificate_authority.status"],
      ]);
    });

    it("a revoked intermediate cannot be made ACTIVE again (FAILED_PRECONDITION), nothing changed", async () => {
      const sub = await call(
        live.admin.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "sub",
          parentCertificateAuthority: rootId,
          subject: { commonName: "sub" },
        }),
      );
      const subId = sub.certificateAuthority!.id;
      await call(live.admin.authorities, "revokeCertificateAuthority", {
        certificateAuthority: subId,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      });
      const read = () =>
        call(live.admin.authorities, "getCertificateAuthority", {
          certificateAuthority: subId,
        }).then((r) => r.certificateAuthority!);
      const err = await refusedWithoutChange(CA_UPDATE, read, () =>
        updateCa(["status"], {
          id: subId,
          status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_ACTIVE,
        }),
      );
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect((await read()).status).toBe(
        CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED,
      );
    });

    it("RevokeCertificateAuthority of a root, and ImportCertificateAuthorityCertificate on an ACTIVE CA, are FAILED_PRECONDITION", async () => {
      const revokeRoot = await expectRpcError(
        call(live.admin.authorities, "revokeCertificateAuthority", {
          certificateAuthority: rootId,
          reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
        }),
      );
      expect(revokeRoot.code).toBe(status.FAILED_PRECONDITION);
      const ca = await getCa();
      const importActive = await expectRpcError(
        call(live.admin.authorities, "importCertificateAuthorityCertificate", {
          certificateAuthority: rootId,
          certificatePem: ca.certificatePem,
          certificateChainPem: [],
        }),
      );
      expect(importActive.code).toBe(status.FAILED_PRECONDITION);
      expect(await getCa()).toEqual(ca);
    });
  });

  describe("updates the result of which the contract forbids: refused whole, nothing changed", () => {
    it('profile "*" without a certificate_policy (full replacement) is INVALID_ARGUMENT naming certificate_profile.certificate_policy', async () => {
      const err = await refusedWithoutChange(PROFILE_UPDATE, getProfile, () =>
        updateProfile(["*"], { slug: "web", description: "only this" }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.violations.map((v) => v.field)).toContain(
        "certificate_profile.certificate_policy",
      );
    });

    it("a policy max_ttl below a profile's defaults.ttl is INVALID_ARGUMENT (it would break the profile), nothing changed", async () => {
      await updateProfile(["defaults.ttl"], {
        slug: "web",
        defaults: { ttl: { seconds: String(20 * 86_400), nanos: 0 } },
      });
      const err = await refusedWithoutChange(POLICY_UPDATE, getPolicy, () =>
        updatePolicy(["max_ttl"], { slug: "web-policy", maxTtl: { seconds: "86400", nanos: 0 } }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.violations.length).toBeGreaterThan(0);
    });

    it("an etag that was never handed out is ABORTED ETAG_MISMATCH (not INTERNAL), nothing changed", async () => {
      const err = await refusedWithoutChange(CA_UPDATE, getCa, () =>
        updateCa(["description"], { id: rootId, etag: 'W/"not-ours"', description: "never" }),
      );
      expect([err.code, err.reason]).toEqual([status.ABORTED, "ETAG_MISMATCH"]);
    });
  });

  describe("etag under concurrency: one writer wins", () => {
    it.each([
      ["policy", POLICY_UPDATE],
      ["profile", PROFILE_UPDATE],
      ["CA", CA_UPDATE],
    ])(
      "%s: six updates sent together with the same etag: exactly one succeeds, the rest ABORTED ETAG_MISMATCH, its value stays",
      async (kind, method) => {
        const read = kind === "policy" ? getPolicy : kind === "profile" ? getProfile : getCa;
        const { etag } = await read();
        const audits = await auditCount(method);
        const update = (description: string) =>
          kind === "policy"
            ? updatePolicy(["description"], { slug: "web-policy", etag, description })
            : kind === "profile"
              ? updateProfile(["description"], { slug: "web", etag, description })
              : updateCa(["description"], { id: rootId, etag, description });
        const outcomes = await Promise.allSettled(
          Array.from({ length: 6 }, (_, i) => update(`${kind} racer ${i}`)),
        );
        const won = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [i] : []));
        expect(won).toHaveLength(1);
        for (const o of outcomes) {
          if (o.status === "rejected") {
            const e = o.reason as { code: number };
            expect(e.code).toBe(status.ABORTED);
          }
        }
        expect((await read()).description).toBe(`${kind} racer ${won[0]}`);
        const rows = await auditRows(method, audits);
        expect(rows.map((r) => r.status_code).sort()).toEqual([0, 10, 10, 10, 10, 10]);
      },
    );
  });

  it("an update naming neither id nor slug is INVALID_ARGUMENT naming the resource's id or slug, in every service", async () => {
    const errs = [
      await expectRpcError(updatePolicy(["description"], { description: "nobody" })),
      await expectRpcError(updateProfile(["description"], { description: "nobody" })),
      await expectRpcError(updateCa(["description"], { description: "nobody" })),
    ];
    expect(errs.map((e) => e.code)).toEqual([
      status.INVALID_ARGUMENT,
      status.INVALID_ARGUMENT,
      status.INVALID_ARGUMENT,
    ]);
    const fields = errs.map((e) => e.violations.map((v) => v.field).join(","));
    expect(fields[0]).toMatch(/^certificate_policy\.(id|slug)/);
    expect(fields[1]).toMatch(/^certificate_profile\.(id|slug)/);
    expect(fields[2]).toMatch(/^certificate_authority\.(id|slug)/);
  });
});
