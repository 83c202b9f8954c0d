/**
 * Audit records of administrative changes say what changed (AuditRecord.changes, the
 * audit_record.changes column): a policy's and a profile's update lists the fields that
 * changed, before and after, and nothing else; a create lists the new object, a delete the
 * removed object's identity; a token's record carries no secret, hash or salt. Read over gRPC
 * (ListAuditRecords) and in PostgreSQL. Until stop 42 of 2026-12-06 records said who, what and
 * when, not what changed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import type { AuditRecord, FieldChange } from "../../gen/ts/certmint/v1/audit_service";
import { UpdateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { createIntermediate } from "../ca/helpers";
import { cliSession, ok } from "../cli/cli";
import { createPolicyRpc, days, policyMessage, webPolicy } from "../policies/helpers";
import { byCa, createProfileRpc, createRootCa, profileMessage } from "../profiles/helpers";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";

const SVC = {
  policy: "/certmint.v1.CertificatePolicyService/",
  profile: "/certmint.v1.CertificateProfileService/",
  token: "/certmint.v1.AccessTokenService/",
};

let h: TestCertmint;
beforeAll(async () => {
  h = await startTestCertmint();
  await createRootCa(h, "root");
});
afterAll(async () => {
  await h?.stop();
});

/** The one record of `method` on `resourceId`, over gRPC. */
async function recordOf(method: string, resourceId: string): Promise<AuditRecord> {
  const res = await call(h.audit, "listAuditRecords", {
    pageSize: 100,
    pageToken: "",
    actor: "",
    method,
    resourceType: "",
    resourceId,
    startTime: undefined,
    endTime: undefined,
    failuresOnly: false,
  });
  expect(res.auditRecords, `${method} ${resourceId}`).toHaveLength(1);
  return res.auditRecords[0]!;
}

/** The changes column of that record, as PostgreSQL has it. */
async function storedChanges(recordId: string): Promise<unknown> {
  const [row] = await h.db.query<{ changes: unknown }>(
    "select changes from audit_record where id = $1",
    [recordId],
  );
  return row!.changes;
}

const byField = (changes: FieldChange[]) => new Map(changes.map((c) => [c.field, c]));

describe("a policy's records", () => {
  it("an update lists the changed fields only, before and after, over gRPC and in PostgreSQL", async () => {
    const policy = await createPolicyRpc(h, webPolicy("changes-web", { description: "first" }));
    const created = await recordOf(`${SVC.policy}CreateCertificatePolicy`, policy.id);
    const createdFields = byField(created.changes);
    expect(createdFields.get("slug")).toEqual({ field: "slug", after: "changes-web" });
    expect(createdFields.get("description")).toEqual({ field: "description", after: "first" });
    expect(createdFields.get("spec")?.after).toMatchObject({
      max_ttl_seconds: 90 * 86_400,
      sans: { dns: { allowed: ["**.example.com"] } },
    });
    for (const change of created.changes) expect(change.before).toBeUndefined();

    await call(h.policies, "updateCertificatePolicy", {
      certificatePolicy: policyMessage({
        ...webPolicy("changes-web"),
        id: policy.id,
        description: "second",
        maxTtl: days(30),
        sanRules: { dns: { allowed: ["**.example.com", "**.example.org"] } },
      }),
      // san_rules and subject_rules are sent as they are: only what differs is a change.
      updateMask: ["description", "max_ttl", "san_rules", "subject_rules"],
    });
    const updated = await recordOf(`${SVC.policy}UpdateCertificatePolicy`, policy.id);
    expect(updated.statusCode).toBe(0);
    const expected = [
      { field: "description", before: "first", after: "second" },
      {
        field: "spec.sans.dns.allowed",
        before: ["**.example.com"],
        after: ["**.example.com", "**.example.org"],
      },
      { field: "spec.max_ttl_seconds", before: 90 * 86_400, after: 30 * 86_400 },
    ];
    expect([...updated.changes].sort((a, b) => a.field.localeCompare(b.field))).toEqual(
      [...expected].sort((a, b) => a.field.localeCompare(b.field)),
    );
    // The row holds the same, as JSON.
    await expect(storedChanges(updated.id)).resolves.toEqual(expect.arrayContaining(expected));

    // certmint audit list shows them: a CHANGES column, "field: before -> after".
    const cli = cliSession(h.address, h.dataDir);
    try {
      const table = ok(
        await cli.run([
          "audit",
          "list",
          "--resource-id",
          policy.id,
          "--method",
          "UpdateCertificatePolicy",
        ]),
      ).stdout;
      expect(table.split("\n")[0]).toMatch(/ +REQUEST ID +CHANGES$/);
      expect(table).toContain('description: "first" -> "second"');
      expect(table).toContain("spec.max_ttl_seconds: 7776000 -> 2592000");
      const listed = await cli.json<{ auditRecords: Array<{ changes: unknown[] }> }>([
        "audit",
        "list",
        "--resource-id",
        policy.id,
        "--method",
        "UpdateCertificatePolicy",
        "--output",
        "json",
      ]);
      expect(listed.auditRecords[0]!.changes).toEqual(expect.arrayContaining(expected));
    } finally {
      cli.remove();
    }

    await call(h.policies, "deleteCertificatePolicy", { certificatePolicy: policy.id, etag: "" });
    const deleted = await recordOf(`${SVC.policy}DeleteCertificatePolicy`, policy.id);
    expect(byField(deleted.changes).get("slug")).toEqual({ field: "slug", before: "changes-web" });
    for (const change of deleted.changes) expect(change.after).toBeUndefined();
  });
});

describe("a profile's records", () => {
  it("an update lists the changed settings only, before and after", async () => {
    await createPolicyRpc(h, webPolicy("changes-profile-policy"));
    const profile = await createProfileRpc(h, {
      slug: "changes-web",
      certificatePolicy: "changes-profile-policy",
      issuer: byCa("root"),
    });
    const created = await recordOf(`${SVC.profile}CreateCertificateProfile`, profile.id);
    const createdFields = byField(created.changes);
    expect(createdFields.get("slug")?.after).toBe("changes-web");
    expect(createdFields.get("require_approval")).toEqual({
      field: "require_approval",
      after: false,
    });
    expect(createdFields.get("policy_id")?.after).toBe(profile.certificatePolicy);

    await call(h.profiles, "updateCertificateProfile", {
      certificateProfile: profileMessage({
        id: profile.id,
        description: "needs a second pair of eyes",
        requireApproval: true,
      }),
      updateMask: ["description", "require_approval"],
    });
    const updated = await recordOf(`${SVC.profile}UpdateCertificateProfile`, profile.id);
    expect(byField(updated.changes)).toEqual(
      byField([
        { field: "description", before: "", after: "needs a second pair of eyes" },
        { field: "require_approval", before: false, after: true },
      ]),
    );
    const [row] = await h.db.query<{ require_approval: boolean }>(
      "select require_approval from certificate_profile where id = $1",
      [profile.id],
    );
    expect(row!.require_approval).toBe(true);

    await call(h.profiles, "deleteCertificateProfile", {
      certificateProfile: profile.id,
      etag: "",
      force: false,
    });
    const deleted = await recordOf(`${SVC.profile}DeleteCertificateProfile`, profile.id);
    expect(byField(deleted.changes).get("slug")).toEqual({ field: "slug", before: "changes-web" });
  });
});

describe("an access token's records", () => {
  it("carry the token's grant, never its secret, hash or salt; a revocation its time", async () => {
    for (const requestId of [undefined, "changes-token-with-request-id"]) {
      const slug = requestId ? "changes-auditor-2" : "changes-auditor-1";
      const res = await call(
        h.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug, description: "reads the trail", role: Role.ROLE_AUDITOR },
          requestId,
        }),
      );
      const id = res.accessToken!.id;
      expect(res.secret).toMatch(/^certmint_/);
      const record = await recordOf(`${SVC.token}CreateAccessToken`, id);
      const fields = byField(record.changes);
      expect(fields.get("slug")?.after).toBe(slug);
      expect(fields.get("role")?.after).toBe("AUDITOR");
      expect([...fields.keys()].filter((f) => /secret|hash|salt|fingerprint/.test(f))).toEqual([]);

      // Nothing of the secret anywhere in the record, as the API returns it or as stored.
      const [token] = await h.db.query<{ secret_hash: Buffer; secret_salt: Buffer | null }>(
        "select secret_hash, secret_salt from access_token where id = $1",
        [id],
      );
      const [stored] = await h.db.query<Record<string, unknown>>(
        "select * from audit_record where id = $1",
        [record.id],
      );
      const texts = [JSON.stringify(record), JSON.stringify(stored)];
      const material = [
        res.secret,
        res.secret.slice("certmint_".length),
        token!.secret_hash.toString("hex"),
        token!.secret_hash.toString("base64"),
        token!.secret_hash.toString("base64url"),
        ...(token!.secret_salt
          ? [token!.secret_salt.toString("hex"), token!.secret_salt.toString("base64")]
          : []),
      ];
      for (const text of texts) for (const m of material) expect(text).not.toContain(m);

      await call(h.accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: id,
      });
      const revoked = await recordOf(`${SVC.token}RevokeAccessToken`, id);
      expect(revoked.changes).toHaveLength(1);
      expect(revoked.changes[0]!.field).toBe("revoked_at");
      expect(revoked.changes[0]!.before).toBeNull();
      expect(typeof revoked.changes[0]!.after).toBe("string");
    }
  });
});

describe("a large change", () => {
  it("records a value past 1 KiB by its size and SHA-256, and a record within 16 KiB", async () => {
    // 100 URI patterns of ~300 characters: the policy's spec is some 30 KB of JSON.
    const patterns = Array.from(
      { length: 100 },
      (_, i) => `spiffe://example.com/${"segment/".repeat(36)}workload-${i}`,
    );
    const policy = await createPolicyRpc(
      h,
      webPolicy("changes-big", { sanRules: { uri: { allowed: patterns } } }),
    );
    const created = await recordOf(`${SVC.policy}CreateCertificatePolicy`, policy.id);
    const spec = byField(created.changes).get("spec")!.after as Record<string, unknown>;
    expect(spec.omitted).toBe("too long to record");
    expect(spec.json_chars).toBeGreaterThan(30_000);
    expect(spec.sha256).toMatch(/^[0-9a-f]{64}$/);
    // The small fields of the same record are kept as they are.
    expect(byField(created.changes).get("slug")?.after).toBe("changes-big");
    const stored = JSON.stringify(await storedChanges(created.id));
    expect(stored.length).toBeLessThan(16 * 1024 + 1024);
    expect(stored).not.toContain("workload-99");
  });
});

describe("a certificate authority's records", () => {
  const CA = "/certmint.v1.CertificateAuthorityService/";

  it("create, update and revoke say what changed, and never the key", async () => {
    const inter = await createIntermediate(h, "changes-inter", "root");
    const created = byField(
      (await recordOf(`${CA}CreateIntermediateCertificateAuthority`, inter.id)).changes,
    );
    expect(created.get("slug")).toEqual({ field: "slug", after: "changes-inter" });
    expect(created.get("description")?.after).toBe("intermediate changes-inter");
    expect(created.get("parent_id")?.after).toBe(inter.parentCertificateAuthorityId);
    for (const field of created.keys()) expect(field).not.toMatch(/private|pem|secret|sealed/i);
    const [sealed] = await h.db.query<{ key: Buffer }>(
      "select sealed_private_key as key from certificate_authority where id = $1",
      [inter.id],
    );
    const stored = JSON.stringify(
      await storedChanges(
        (await recordOf(`${CA}CreateIntermediateCertificateAuthority`, inter.id)).id,
      ),
    );
    expect(stored).not.toContain("BEGIN");
    expect(stored).not.toContain(sealed!.key.toString("base64").slice(0, 24));
    expect(stored).not.toContain(sealed!.key.toString("hex").slice(0, 24));

    await call(
      h.authorities,
      "updateCertificateAuthority",
      UpdateCertificateAuthorityRequest.fromPartial({
        certificateAuthority: { id: inter.id, description: "renamed" },
        updateMask: ["description"],
      }),
    );
    const updated = await recordOf(`${CA}UpdateCertificateAuthority`, inter.id);
    expect(updated.changes).toEqual([
      { field: "description", before: "intermediate changes-inter", after: "renamed" },
    ]);
    expect(await storedChanges(updated.id)).toEqual([
      { field: "description", before: "intermediate changes-inter", after: "renamed" },
    ]);

    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: inter.id,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    const revoked = byField((await recordOf(`${CA}RevokeCertificateAuthority`, inter.id)).changes);
    expect(revoked.get("revocation_reason")).toEqual({
      field: "revocation_reason",
      before: null,
      after: "SUPERSEDED",
    });
    expect(revoked.get("status")).toEqual({ field: "status", before: "ACTIVE", after: "DISABLED" });
    expect(revoked.get("revoked_at")?.before).toBeNull();
    expect(typeof revoked.get("revoked_at")?.after).toBe("string");
  });
});
