import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/certmint/v1/access_token_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { loadProfileForIssuance } from "../../src/issuance/profiles/load";
import { createStore } from "../../src/store/store";
import { createToken } from "../certificates/helpers";
import { countRows, createPolicyRpc, DAY, days, webPolicy } from "../policies/helpers";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { byCa, createProfileRpc, createRootCa, profileMessage, selfSigned } from "./helpers";

let h: TestCertmint;
beforeAll(async () => {
  h = await startTestCertmint();
  await createRootCa(h, "root");
  await createRootCa(h, "root-rsa", KeyAlgorithm.KEY_ALGORITHM_RSA_2048);
  await createPolicyRpc(h, webPolicy("web"));
  await createPolicyRpc(h, webPolicy("short", { maxTtl: days(7) }));
});
afterAll(async () => {
  await h?.stop();
});

const update = (partial: Parameters<typeof profileMessage>[0], mask: string[]) =>
  call(h.profiles, "updateCertificateProfile", {
    certificateProfile: profileMessage(partial),
    updateMask: mask,
  }).then((r) => r.certificateProfile!);

async function profileRow(slug: string) {
  const [row] = await h.db.query(
    "select policy_id, ca_id, self_signed, defaults, renewal, require_approval, version, updated_at from certificate_profile where slug = $1",
    [slug],
  );
  return row;
}

describe("GetCertificateProfile and ListCertificateProfiles", () => {
  it("gets a profile by id and by slug; NOT_FOUND otherwise", async () => {
    const created = await createProfileRpc(h, {
      slug: "get-me",
      certificatePolicy: "web",
      issuer: byCa("root"),
    });
    for (const ref of [created.id, "get-me"]) {
      const got = await call(h.profiles, "getCertificateProfile", { certificateProfile: ref });
      expect(got.certificateProfile).toEqual(created);
    }
    const err = await expectRpcError(
      call(h.profiles, "getCertificateProfile", { certificateProfile: randomUUID() }),
    );
    expect(err).toMatchObject({ code: status.NOT_FOUND, reason: "CERTIFICATE_PROFILE_NOT_FOUND" });
  });

  it("lists every profile oldest first across three pages", async () => {
    for (let i = 0; i < 5; i++) {
      await createProfileRpc(h, {
        slug: `listed-${i}`,
        certificatePolicy: "web",
        issuer: selfSigned,
      });
    }
    const all = await h.db.query<{ slug: string }>(
      "select slug from certificate_profile order by created_at, id",
    );
    const pageSize = Math.ceil(all.length / 3);
    const pages: string[][] = [];
    let token = "";
    do {
      const page = await call(h.profiles, "listCertificateProfiles", {
        pageSize,
        pageToken: token,
      });
      pages.push(page.certificateProfiles.map((p) => p.slug));
      token = page.nextPageToken;
    } while (token !== "");
    expect(pages).toHaveLength(3);
    expect(pages.flat()).toEqual(all.map((r) => r.slug));
  });
});

describe("loadProfileForIssuance", () => {
  it("returns the profile, its compiled policy (cached per version), defaults and renewal", async () => {
    await createProfileRpc(h, {
      slug: "for-issue",
      certificatePolicy: "web",
      issuer: byCa("root"),
      defaults: { ttl: days(20), subject: { commonName: "svc.example.com" } },
      renewal: { autoRenew: true, renewBeforeDays: 5 },
    });
    const store = createStore(h.running.database.orm);
    const first = await loadProfileForIssuance(store, "for-issue");
    expect(first.profile.slug).toBe("for-issue");
    expect(first.policy.maxTtlSeconds).toBe(90 * DAY);
    expect(first.defaults).toEqual({
      ttlSeconds: 20 * DAY,
      subject: { attributes: [{ type: "COMMON_NAME", value: "svc.example.com" }] },
    });
    expect(first.renewal).toEqual({
      autoRenew: true,
      renewBeforeDays: 5,
      allowSharedRenewal: false,
      renewBeforeSeconds: 0,
    });
    const again = await loadProfileForIssuance(store, first.profile.id);
    expect(again.policy).toBe(first.policy);
    await expect(loadProfileForIssuance(store, "missing")).rejects.toMatchObject({
      kind: "not_found",
      reason: "CERTIFICATE_PROFILE_NOT_FOUND",
    });
  });
});

describe("UpdateCertificateProfile", () => {
  it("replaces the masked fields only, bumping the etag", async () => {
    const created = await createProfileRpc(h, {
      slug: "upd",
      certificatePolicy: "web",
      issuer: byCa("root"),
      defaults: { ttl: days(30), subject: { commonName: "a.example.com" } },
      renewal: { renewBeforeDays: 7 },
    });
    const updated = await update(
      {
        slug: "upd",
        etag: created.etag,
        requireApproval: true,
        description: "not in the mask",
        defaults: { ttl: days(60) },
        renewal: { autoRenew: true },
      },
      ["require_approval", "defaults.ttl", "renewal.auto_renew"],
    );
    expect(updated).toMatchObject({
      etag: '"2"',
      description: "",
      requireApproval: true,
      defaults: { ttl: days(60), subject: { commonName: "a.example.com" } },
      renewal: { autoRenew: true, renewBeforeDays: 7 },
    });
    expect((await profileRow("upd"))?.version).toBe(2);
  });

  it("moves the issuer between CAs and self-signed", async () => {
    const created = await createProfileRpc(h, {
      slug: "upd-issuer",
      certificatePolicy: "web",
      issuer: byCa("root"),
    });
    const toSelf = await update({ id: created.id, issuer: selfSigned }, ["self_signed"]);
    expect(toSelf.issuer).toEqual(selfSigned);
    expect(await profileRow("upd-issuer")).toMatchObject({ ca_id: null, self_signed: true });
    const rsa = await call(h.authorities, "getCertificateAuthority", {
      certificateAuthority: "root-rsa",
    });
    const toRsa = await update({ id: created.id, issuer: byCa("root-rsa") }, [
      "certificate_authority",
    ]);
    expect(toRsa.issuer).toEqual(byCa(rsa.certificateAuthority!.id));
  });

  it("re-checks the result against the policy and changes nothing when it breaks it", async () => {
    await createProfileRpc(h, {
      slug: "upd-break",
      certificatePolicy: "web",
      issuer: byCa("root"),
      defaults: { ttl: days(30) },
    });
    const before = await profileRow("upd-break");
    // A 7-day policy cannot take a profile whose default TTL is 30 days.
    const err = await expectRpcError(
      update({ slug: "upd-break", certificatePolicy: "short" }, ["certificate_policy"]),
    );
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "PROFILE_BREAKS_POLICY" });
    expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_profile.defaults.ttl", "TTL_EXCEEDS_MAX"],
    ]);
    // An RSA CA cannot sign with the ECDSA default the profile names.
    const sig = await expectRpcError(
      update({ slug: "upd-break", issuer: byCa("root-rsa"), defaults: { signatureAlgorithm: 4 } }, [
        "certificate_authority",
        "defaults.signature_algorithm",
      ]),
    );
    expect(sig.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_profile.defaults.signature_algorithm", "SIGNATURE_ALGORITHM_MISMATCH"],
    ]);
    const missing = await expectRpcError(
      update({ slug: "upd-break", certificatePolicy: "nope" }, ["certificate_policy"]),
    );
    expect(missing).toMatchObject({
      code: status.NOT_FOUND,
      reason: "CERTIFICATE_POLICY_NOT_FOUND",
    });
    expect(await profileRow("upd-break")).toEqual(before);
  });

  it('replaces every field with update_mask "*" (AIP-134 full replacement)', async () => {
    const created = await createProfileRpc(h, {
      slug: "upd-star",
      certificatePolicy: "web",
      issuer: byCa("root"),
      description: "before",
      requireApproval: true,
      defaults: { ttl: days(30), subject: { commonName: "a.example.com" } },
    });
    const updated = await update(
      {
        slug: "upd-star",
        etag: created.etag,
        certificatePolicy: "short",
        issuer: selfSigned,
        defaults: { ttl: days(3) },
      },
      ["*"],
    );
    // Every field not sent takes its default: description empty, approval off.
    expect(updated).toMatchObject({
      etag: '"2"',
      description: "",
      requireApproval: false,
      issuer: selfSigned,
      defaults: { ttl: days(3) },
    });
    expect(updated.defaults?.subject).toBeUndefined();
    expect(await profileRow("upd-star")).toMatchObject({
      ca_id: null,
      self_signed: true,
      require_approval: false,
      version: 2,
    });
  });

  it("refuses a bad mask and a stale etag with nothing changed", async () => {
    const created = await createProfileRpc(h, {
      slug: "upd-etag",
      certificatePolicy: "web",
      issuer: byCa("root"),
    });
    await update({ slug: "upd-etag", etag: created.etag, description: "first" }, ["description"]);
    const before = await profileRow("upd-etag");
    const stale = await expectRpcError(
      update({ slug: "upd-etag", etag: created.etag, description: "second" }, ["description"]),
    );
    expect(stale).toMatchObject({ code: status.ABORTED, reason: "ETAG_MISMATCH" });
    const mask = await expectRpcError(update({ slug: "upd-etag" }, ["defaults.colour", "id"]));
    expect(mask.violations.map((v) => [v.field, v.reason])).toEqual([
      ["update_mask.paths[0]", "UPDATE_MASK_PATH_UNKNOWN"],
      ["update_mask.paths[1]", "UPDATE_MASK_PATH_IMMUTABLE"],
    ]);
    expect(await profileRow("upd-etag")).toEqual(before);
  });
});

describe("DeleteCertificateProfile", () => {
  it("takes the deleted profile out of every token's profile list, and nothing else", async () => {
    const gone = await createProfileRpc(h, {
      slug: "del-tok",
      certificatePolicy: "web",
      issuer: byCa("root"),
    });
    const kept = await createProfileRpc(h, {
      slug: "del-tok-kept",
      certificatePolicy: "web",
      issuer: byCa("root"),
    });
    const both = await createToken(h, "del-tok-both", Role.ROLE_ISSUER, [
      "del-tok",
      "del-tok-kept",
    ]);
    await createToken(h, "del-tok-other", Role.ROLE_APPROVER, ["del-tok-kept"]);
    await call(h.profiles, "deleteCertificateProfile", {
      certificateProfile: "del-tok",
      etag: gone.etag,
      force: false,
    });
    const got = await call(h.accessTokens, "getAccessToken", { accessToken: both.id });
    expect(got.accessToken!.certificateProfiles).toEqual([kept.id]);
    const rows = await h.db.query<{ slug: string; profile_ids: string[] }>(
      "select slug, profile_ids from access_token where slug like 'del-tok-%' order by slug",
    );
    expect(rows).toEqual([
      { slug: "del-tok-both", profile_ids: [kept.id] },
      { slug: "del-tok-other", profile_ids: [kept.id] },
    ]);
  });

  it("honours the etag, deletes, and keeps the profile's certificate requests", async () => {
    const created = await createProfileRpc(h, {
      slug: "del",
      certificatePolicy: "web",
      issuer: byCa("root"),
    });
    const requestId = randomUUID();
    await h.db.query(
      `insert into certificate_request (id, profile_id, caller, request_fingerprint, kind, status, subject, sans, params, created_at, updated_at)
       values ($1, $2, 'test', 'x', 'ISSUE', 'ISSUED', '{"attributes":[]}', '{}', '{}', now(), now())`,
      [requestId, created.id],
    );
    const stale = await expectRpcError(
      call(h.profiles, "deleteCertificateProfile", {
        certificateProfile: "del",
        etag: '"5"',
        force: false,
      }),
    );
    expect(stale).toMatchObject({ code: status.ABORTED, reason: "ETAG_MISMATCH" });
    expect(await countRows(h, "certificate_profile", "slug = 'del'")).toBe(1);
    await call(h.profiles, "deleteCertificateProfile", {
      certificateProfile: "del",
      etag: created.etag,
      force: false,
    });
    expect(await countRows(h, "certificate_profile", "slug = 'del'")).toBe(0);
    expect(await countRows(h, "certificate_request", `id = '${requestId}'`)).toBe(1);
    // The policy is free again once its last profile is gone.
    await createPolicyRpc(h, webPolicy("lonely"));
    const p = await createProfileRpc(h, {
      slug: "del-2",
      certificatePolicy: "lonely",
      issuer: selfSigned,
    });
    await call(h.profiles, "deleteCertificateProfile", {
      certificateProfile: p.id,
      etag: "",
      force: false,
    });
    await call(h.policies, "deleteCertificatePolicy", { certificatePolicy: "lonely", etag: "" });
    expect(await countRows(h, "certificate_policy", "slug = 'lonely'")).toBe(0);
  });
});
