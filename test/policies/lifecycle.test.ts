import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExtendedKeyUsage as Eku, KeyUsage as Ku } from "../../gen/ts/certmint/v1/common";
import { byCa, createProfileRpc, createRootCa } from "../profiles/helpers";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import {
  countRows,
  createPolicyRpc,
  DAY,
  days,
  policyMessage,
  policyRow,
  webPolicy,
} from "./helpers";

let h: TestCertmint;
beforeAll(async () => {
  h = await startTestCertmint();
  await createRootCa(h, "upd-root");
});
afterAll(async () => {
  await h?.stop();
});

const update = (partial: Parameters<typeof policyMessage>[0], mask: string[]) =>
  call(h.policies, "updateCertificatePolicy", {
    certificatePolicy: policyMessage(partial),
    updateMask: mask,
  }).then((r) => r.certificatePolicy!);

describe("GetCertificatePolicy and ListCertificatePolicies", () => {
  it("gets a policy by id and by slug", async () => {
    const created = await createPolicyRpc(h, webPolicy("get-me"));
    const byId = await call(h.policies, "getCertificatePolicy", { certificatePolicy: created.id });
    const bySlug = await call(h.policies, "getCertificatePolicy", { certificatePolicy: "get-me" });
    expect(byId.certificatePolicy).toEqual(created);
    expect(bySlug.certificatePolicy).toEqual(created);
  });

  it("answers NOT_FOUND for an unknown policy and INVALID_ARGUMENT for an empty reference", async () => {
    const missing = await expectRpcError(
      call(h.policies, "getCertificatePolicy", { certificatePolicy: "nope" }),
    );
    expect(missing).toMatchObject({
      code: status.NOT_FOUND,
      reason: "CERTIFICATE_POLICY_NOT_FOUND",
    });
    const empty = await expectRpcError(
      call(h.policies, "getCertificatePolicy", { certificatePolicy: " " }),
    );
    expect(empty).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "REFERENCE_MISSING" });
    expect(empty.violations.map((v) => v.field)).toEqual(["certificate_policy"]);
  });

  it("lists every policy oldest first across pages, stable when read again", async () => {
    for (let i = 0; i < 5; i++) await createPolicyRpc(h, webPolicy(`listed-${i}`));
    const all = await h.db.query<{ slug: string }>(
      "select slug from certificate_policy order by created_at, id",
    );
    expect(all.length).toBeGreaterThanOrEqual(6);
    const pageSize = Math.ceil(all.length / 3);
    const readAll = async () => {
      const pages: string[][] = [];
      let token = "";
      do {
        const page = await call(h.policies, "listCertificatePolicies", {
          pageSize,
          pageToken: token,
        });
        pages.push(page.certificatePolicies.map((p) => p.slug));
        token = page.nextPageToken;
      } while (token !== "");
      return pages;
    };
    const pages = await readAll();
    expect(pages).toHaveLength(3);
    expect(pages.flat()).toEqual(all.map((r) => r.slug));
    expect(await readAll()).toEqual(pages);
  });

  it("refuses a page token it did not issue and a negative page size", async () => {
    const token = await expectRpcError(
      call(h.policies, "listCertificatePolicies", { pageSize: 0, pageToken: "garbage" }),
    );
    expect(token).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "PAGE_TOKEN_INVALID" });
    const size = await expectRpcError(
      call(h.policies, "listCertificatePolicies", { pageSize: -1, pageToken: "" }),
    );
    expect(size).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "PAGE_SIZE_INVALID" });
  });
});

describe("UpdateCertificatePolicy", () => {
  it("replaces only the masked fields and bumps the etag", async () => {
    const created = await createPolicyRpc(h, {
      ...webPolicy("upd"),
      sanRules: { dns: { allowed: ["**.example.com"] }, ip: { allowed: ["10.0.0.0/8"] } },
    });
    const updated = await update(
      {
        slug: "upd",
        etag: created.etag,
        description: "only DNS changed",
        sanRules: { dns: { allowed: ["**.example.org"] }, ip: { allowed: ["192.168.0.0/16"] } },
        maxTtl: days(1),
      },
      ["description", "san_rules.dns"],
    );
    expect(updated.etag).toBe('"2"');
    expect(updated.description).toBe("only DNS changed");
    expect(updated.sanRules?.dns?.allowed).toEqual(["**.example.org"]);
    expect(updated.sanRules?.ip?.allowed).toEqual(["10.0.0.0/8"]); // not in the mask
    expect(updated.maxTtl).toEqual(days(90)); // not in the mask
    expect(updated.updateTime!.getTime()).toBeGreaterThanOrEqual(created.updateTime!.getTime());
    const row = await policyRow(h, "upd");
    expect(row?.version).toBe(2);
    expect(row?.spec).toMatchObject({ sans: { dns: { allowed: ["**.example.org"] } } });
  });

  it('replaces every field with update_mask "*" (AIP-134 full replacement)', async () => {
    const created = await createPolicyRpc(h, {
      ...webPolicy("upd-star"),
      description: "before",
      sanRules: { dns: { allowed: ["**.example.com"] }, ip: { allowed: ["10.0.0.0/8"] } },
    });
    const updated = await update(
      {
        slug: "upd-star",
        etag: created.etag,
        sanRules: { dns: { allowed: ["**.example.org"] } },
        maxTtl: days(2),
      },
      ["*"],
    );
    expect(updated.etag).toBe('"2"');
    expect(updated.description).toBe("");
    expect(updated.sanRules?.dns?.allowed).toEqual(["**.example.org"]);
    expect(updated.sanRules?.ip).toBeUndefined();
    expect(updated.maxTtl).toEqual(days(2));
    const row = await policyRow(h, "upd-star");
    expect(row?.version).toBe(2);
    expect(row?.spec).not.toHaveProperty("sans.ip");
  });

  it("removes a masked rule the request leaves unset, and sets rule fields by id", async () => {
    const created = await createPolicyRpc(h, webPolicy("upd-unset"));
    const updated = await update(
      {
        id: created.id,
        keyUsages: { allowed: [Ku.KEY_USAGE_DIGITAL_SIGNATURE] },
        extendedKeyUsages: { required: [Eku.EXTENDED_KEY_USAGE_CLIENT_AUTH] },
      },
      ["subject_rules.common_name", "key_usages", "extended_key_usages"],
    );
    expect(updated.subjectRules?.commonName).toBeUndefined();
    expect(updated.keyUsages).toEqual({
      allowed: [Ku.KEY_USAGE_DIGITAL_SIGNATURE],
      required: [],
      denied: [],
    });
    expect(updated.extendedKeyUsages?.required).toEqual([Eku.EXTENDED_KEY_USAGE_CLIENT_AUTH]);
  });

  it("refuses an empty mask and unknown or immutable paths, all at once, changing nothing", async () => {
    await createPolicyRpc(h, webPolicy("upd-mask"));
    const before = await policyRow(h, "upd-mask");
    const empty = await expectRpcError(update({ slug: "upd-mask" }, []));
    expect(empty).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "UPDATE_MASK_INVALID" });
    expect(empty.violations.map((v) => [v.field, v.reason])).toEqual([
      ["update_mask", "UPDATE_MASK_EMPTY"],
    ]);
    const bad = await expectRpcError(
      update({ slug: "upd-mask" }, ["description", "san_rules.smtp", "slug", "max_ttl.seconds"]),
    );
    expect(bad.violations.map((v) => [v.field, v.reason])).toEqual([
      ["update_mask.paths[1]", "UPDATE_MASK_PATH_UNKNOWN"],
      ["update_mask.paths[2]", "UPDATE_MASK_PATH_IMMUTABLE"],
      ["update_mask.paths[3]", "UPDATE_MASK_PATH_UNKNOWN"],
    ]);
    expect(await policyRow(h, "upd-mask")).toEqual(before);
  });

  it("re-validates the result, reporting on the request's field paths, changing nothing", async () => {
    await createPolicyRpc(h, webPolicy("upd-invalid"));
    const before = await policyRow(h, "upd-invalid");
    const err = await expectRpcError(
      update({ slug: "upd-invalid", sanRules: { dns: { allowed: ["a..b"] } } }, [
        "san_rules.dns",
        "max_ttl",
      ]),
    );
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "POLICY_INVALID" });
    // compilePolicy reports missing fields first, then each rule in turn.
    expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_policy.max_ttl", "POLICY_FIELD_MISSING"],
      ["certificate_policy.san_rules.dns.allowed[0]", "POLICY_PATTERN_INVALID"],
    ]);
    expect(await policyRow(h, "upd-invalid")).toEqual(before);
  });

  it("refuses a stale etag with ABORTED and leaves the row unchanged", async () => {
    const created = await createPolicyRpc(h, webPolicy("upd-stale"));
    await update({ slug: "upd-stale", etag: created.etag, description: "first" }, ["description"]);
    const before = await policyRow(h, "upd-stale");
    const err = await expectRpcError(
      update({ slug: "upd-stale", etag: created.etag, description: "second" }, ["description"]),
    );
    expect(err).toMatchObject({ code: status.ABORTED, reason: "ETAG_MISMATCH" });
    expect(await policyRow(h, "upd-stale")).toEqual(before);
    expect(before).toMatchObject({ description: "first", version: 2 });
  });

  it("lets only one of two admins holding the same etag write", async () => {
    const created = await createPolicyRpc(h, webPolicy("upd-race"));
    const results = await Promise.allSettled(
      ["alice", "bob"].map((who) =>
        update({ slug: "upd-race", etag: created.etag, description: who }, ["description"]),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const loser = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect((loser.reason as { code: number }).code).toBe(status.ABORTED);
    expect((await policyRow(h, "upd-race"))?.version).toBe(2);
  });

  it("refuses a change that would break the defaults of a profile using the policy", async () => {
    await createPolicyRpc(h, webPolicy("upd-used"));
    await createProfileRpc(h, {
      slug: "web-api",
      certificatePolicy: "upd-used",
      issuer: byCa("upd-root"),
      defaults: { ttl: days(30), subject: { commonName: "api.example.com" } },
      renewal: { renewBeforeDays: 10 },
    });
    const before = await policyRow(h, "upd-used");
    const err = await expectRpcError(
      update(
        {
          slug: "upd-used",
          maxTtl: days(7),
          subjectRules: { commonName: { allowed: ["*.example.org"] } },
        },
        ["max_ttl", "subject_rules.common_name"],
      ),
    );
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "POLICY_BREAKS_PROFILES" });
    expect(err.message).toContain('"web-api"');
    expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_policy.subject_rules.common_name", "SUBJECT_NOT_ALLOWED"],
      ["certificate_policy.max_ttl", "TTL_EXCEEDS_MAX"],
    ]);
    for (const v of err.violations) expect(v.description).toMatch(/^profile "web-api" /);
    expect(await policyRow(h, "upd-used")).toEqual(before);
    // A change the profile survives goes through.
    const ok = await update({ slug: "upd-used", maxTtl: days(60) }, ["max_ttl"]);
    expect(ok.maxTtl).toEqual({ seconds: String(60 * DAY), nanos: 0 });
  });
  it("counts a profile without a default TTL at the fallback, capped at the new max_ttl", async () => {
    await createPolicyRpc(h, webPolicy("upd-fallback"));
    await createProfileRpc(h, {
      slug: "no-ttl",
      certificatePolicy: "upd-fallback",
      issuer: byCa("upd-root"),
      renewal: { autoRenew: true, renewBeforeDays: 20 },
    });
    // Requests get min(30 days, max_ttl): 14 days leaves no room to renew 20 days early.
    const err = await expectRpcError(
      update({ slug: "upd-fallback", maxTtl: days(14) }, ["max_ttl"]),
    );
    expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_policy.max_ttl", "RENEW_BEFORE_TOO_LONG"],
    ]);
    expect(err.violations[0]?.description).toMatch(
      /^profile "no-ttl" renewal\.renew_before_days: /,
    );
    const ok = await update({ slug: "upd-fallback", maxTtl: days(21) }, ["max_ttl"]);
    expect(ok.etag).toBe('"2"');
  });
});

describe("DeleteCertificatePolicy", () => {
  it("refuses while a profile uses the policy, naming the profiles", async () => {
    await createRootCa(h, "del-root");
    await createPolicyRpc(h, webPolicy("del-used"));
    for (const slug of ["del-a", "del-b"]) {
      await createProfileRpc(h, {
        slug,
        certificatePolicy: "del-used",
        issuer: byCa("del-root"),
      });
    }
    const err = await expectRpcError(
      call(h.policies, "deleteCertificatePolicy", { certificatePolicy: "del-used", etag: "" }),
    );
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "POLICY_IN_USE" });
    expect(err.preconditions.map((p) => [p.type, p.subject])).toEqual([
      ["POLICY_IN_USE", "certificate_profiles/del-a"],
      ["POLICY_IN_USE", "certificate_profiles/del-b"],
    ]);
    expect(await countRows(h, "certificate_policy", "slug = 'del-used'")).toBe(1);
  });

  it("honours the etag, then deletes", async () => {
    const created = await createPolicyRpc(h, webPolicy("del-me"));
    const stale = await expectRpcError(
      call(h.policies, "deleteCertificatePolicy", { certificatePolicy: "del-me", etag: '"7"' }),
    );
    expect(stale).toMatchObject({ code: status.ABORTED, reason: "ETAG_MISMATCH" });
    expect(await countRows(h, "certificate_policy", "slug = 'del-me'")).toBe(1);
    await call(h.policies, "deleteCertificatePolicy", {
      certificatePolicy: created.id,
      etag: created.etag,
    });
    expect(await countRows(h, "certificate_policy", "slug = 'del-me'")).toBe(0);
    const gone = await expectRpcError(
      call(h.policies, "deleteCertificatePolicy", { certificatePolicy: "del-me", etag: "" }),
    );
    expect(gone).toMatchObject({ code: status.NOT_FOUND, reason: "CERTIFICATE_POLICY_NOT_FOUND" });
  });
});
