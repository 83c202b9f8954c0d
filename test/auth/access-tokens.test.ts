/**
 * AccessTokenService over gRPC: the secret is returned once and stored only as its SHA-256;
 * validation; revocation takes effect on the next call; states; pagination; issuer tokens are
 * limited to their profiles, and request_id idempotency is per token.
 */
import { createHash, X509Certificate } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AccessToken,
  AccessTokenState,
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  type DeepPartial,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import { CreateExternalIntermediateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { generatedKeyRequest } from "../support/issue-request";
import { clockPast } from "../support/wait";

const TOKEN = /^certmint_[A-Za-z0-9_-]{43}$/;
const DAY = 86_400;
const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest();

let h: TestCertmint;
let profileA: string;
let profileB: string;

beforeAll(async () => {
  h = await startTestCertmint();
  const root = await createRoot(h, "root");
  profileA = (await createProfileRows(h, { caId: root.id, slug: "web-a" })).profileId;
  profileB = (await createProfileRows(h, { caId: root.id, slug: "web-b" })).profileId;
});
afterAll(async () => {
  await h?.stop();
});

function create(token: DeepPartial<AccessToken>, ttlSeconds?: number) {
  return call(
    h.accessTokens,
    "createAccessToken",
    CreateAccessTokenRequest.fromPartial({
      accessToken: token,
      ttl: ttlSeconds === undefined ? undefined : { seconds: String(ttlSeconds), nanos: 0 },
    }),
  );
}

const get = (ref: string) =>
  call(h.accessTokens, "getAccessToken", { accessToken: ref }).then((r) => r.accessToken!);
const revoke = (ref: string) =>
  call(h.accessTokens, "revokeAccessToken", { revokeCreatedTokens: false, accessToken: ref }).then(
    (r) => r.accessToken!,
  );
const listAll = async (pageSize = 0) => {
  const out: AccessToken[] = [];
  let pageToken = "";
  do {
    const page = await call(h.accessTokens, "listAccessTokens", { pageSize, pageToken });
    out.push(...page.accessTokens);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
};
const tokenCount = async () =>
  Number((await h.db.query<{ n: string }>("select count(*) as n from access_token"))[0]!.n);

describe("CreateAccessToken", () => {
  it("returns the secret once; Get and List never show it; only its SHA-256 is stored", async () => {
    const res = await create({ slug: "ci-auditor", description: "CI", role: Role.ROLE_AUDITOR });
    expect(res.secret).toMatch(TOKEN);
    const t = res.accessToken!;
    expect(t).toMatchObject({
      slug: "ci-auditor",
      description: "CI",
      role: Role.ROLE_AUDITOR,
      certificateProfiles: [],
      clientCertificateIdentity: "",
      state: AccessTokenState.ACCESS_TOKEN_STATE_ACTIVE,
    });
    expect(t.revokeTime).toBeUndefined();
    // 90 days by default.
    expect(t.expireTime!.getTime() - t.createTime!.getTime()).toBe(90 * DAY * 1000);
    // The creator is the admin token that made the call.
    const [admin] = await h.db.query<{ id: string }>(
      "select id from access_token where creator_id is null",
    );
    expect(t.creator).toBe(admin!.id);

    const secretPart = res.secret.slice("certmint_".length);
    const byId = await call(h.accessTokens, "getAccessToken", { accessToken: t.id });
    const bySlug = await call(h.accessTokens, "getAccessToken", { accessToken: "ci-auditor" });
    expect(byId).toEqual(bySlug);
    expect(byId.accessToken).toEqual(t);
    const list = await call(h.accessTokens, "listAccessTokens", { pageSize: 0, pageToken: "" });
    for (const shown of [JSON.stringify(byId), JSON.stringify(bySlug), JSON.stringify(list)]) {
      expect(shown).not.toContain(secretPart);
    }

    const rows = await h.db.query<Record<string, unknown>>(
      "select * from access_token where id = $1",
      [t.id],
    );
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(Buffer.from(row.secret_hash as Buffer).equals(sha256(res.secret))).toBe(true);
    expect(row.client_identity).toBeNull();
    expect(row.role).toBe("AUDITOR");
    for (const [column, value] of Object.entries(row)) {
      const text = value instanceof Buffer ? value.toString("latin1") : JSON.stringify(value);
      expect(text, column).not.toContain(secretPart);
    }
    const [whole] = await h.db.query<{ t: string }>(
      "select string_agg(t::text, ' ') as t from access_token t",
    );
    expect(whole!.t).not.toContain(secretPart);
  });

  it("the new token authenticates calls as itself", async () => {
    const res = await create({ slug: "reader", role: Role.ROLE_AUDITOR });
    const reader = h.clientsAs(res.secret);
    const got = await call(reader.accessTokens, "getAccessToken", { accessToken: "reader" });
    expect(got.accessToken!.id).toBe(res.accessToken!.id);
    // An auditor cannot create tokens: the call is its own, not the admin's.
    const err = await expectRpcError(
      call(
        reader.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: "nope", role: Role.ROLE_AUDITOR },
        }),
      ),
    );
    expect(err.code).toBe(status.PERMISSION_DENIED);
    const [record] = await h.db.query<{ actor_id: string; status_code: number }>(
      "select actor_id, status_code from audit_record where method like '%CreateAccessToken' and actor_id = $1",
      [res.accessToken!.id],
    );
    expect(record).toEqual({
      actor_id: res.accessToken!.id,
      status_code: status.PERMISSION_DENIED,
    });
  });

  it("stores the profiles of an issuer token as ids, whether named by slug or id", async () => {
    const res = await create({
      slug: "issuer-both",
      role: Role.ROLE_ISSUER,
      certificateProfiles: ["web-a", profileB, "web-a"],
    });
    expect(res.accessToken!.certificateProfiles).toEqual([profileA, profileB]);
    expect((await get("issuer-both")).certificateProfiles).toEqual([profileA, profileB]);
  });

  it.each([
    ["a missing role", { slug: "no-role" }, undefined, ["access_token.role ROLE_MISSING"]],
    [
      "an issuer without profiles",
      { slug: "bare-issuer", role: Role.ROLE_ISSUER },
      undefined,
      ["access_token.certificate_profiles PROFILES_REQUIRED"],
    ],
    [
      "an approver without profiles",
      { slug: "bare-approver", role: Role.ROLE_APPROVER },
      undefined,
      ["access_token.certificate_profiles PROFILES_REQUIRED"],
    ],
    [
      "an admin with profiles",
      { slug: "scoped-admin", role: Role.ROLE_ADMIN, certificateProfiles: ["web-a"] },
      undefined,
      ["access_token.certificate_profiles PROFILES_NOT_ALLOWED"],
    ],
    [
      "an auditor with profiles",
      { slug: "scoped-auditor", role: Role.ROLE_AUDITOR, certificateProfiles: ["web-a"] },
      undefined,
      ["access_token.certificate_profiles PROFILES_NOT_ALLOWED"],
    ],
    [
      "a bad slug",
      { slug: "Not A Slug", role: Role.ROLE_AUDITOR },
      undefined,
      ["access_token.slug SLUG_INVALID"],
    ],
    [
      "an empty slug",
      { slug: "", role: Role.ROLE_AUDITOR },
      undefined,
      ["access_token.slug SLUG_INVALID"],
    ],
    [
      "a ttl under a minute",
      { slug: "brief", role: Role.ROLE_AUDITOR },
      59,
      ["ttl TOKEN_TTL_INVALID"],
    ],
    [
      "a ttl over ten years",
      { slug: "forever", role: Role.ROLE_AUDITOR },
      3651 * DAY,
      ["ttl TOKEN_TTL_INVALID"],
    ],
    [
      "several problems at once",
      { slug: "many", role: Role.ROLE_ISSUER },
      10,
      ["access_token.certificate_profiles PROFILES_REQUIRED", "ttl TOKEN_TTL_INVALID"],
    ],
    [
      "the deprecated client_certificate_identity alone (it says neither field nor CA)",
      {
        slug: "legacy",
        role: Role.ROLE_AUDITOR,
        clientCertificateIdentity: "spiffe://test.example/ns/a/sa/x",
      },
      undefined,
      ["access_token.client_certificate_identity CLIENT_IDENTITY_AMBIGUOUS"],
    ],
    [
      "client_certificate_identity that differs from the binding's value",
      {
        slug: "legacy-differs",
        role: Role.ROLE_AUDITOR,
        clientCertificateIdentity: "spiffe://test.example/ns/a/sa/x",
        clientCertificateBinding: {
          identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_COMMON_NAME,
          value: "spiffe://test.example/ns/a/sa/y",
          certificateAuthority: "root",
        },
      },
      undefined,
      ["access_token.client_certificate_identity CLIENT_IDENTITY_AMBIGUOUS"],
    ],
    [
      "a binding without identity type or CA",
      {
        slug: "half-bound",
        role: Role.ROLE_AUDITOR,
        clientCertificateBinding: { value: "batch-job" },
      },
      undefined,
      [
        "access_token.client_certificate_binding.identity_type IDENTITY_TYPE_MISSING",
        "access_token.client_certificate_binding.certificate_authority BINDING_CA_REQUIRED",
      ],
    ],
    [
      "a binding naming both a certmint CA and an outside CA",
      {
        slug: "two-cas",
        role: Role.ROLE_AUDITOR,
        clientCertificateBinding: {
          identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_DNS_SAN,
          value: "job.example.com",
          certificateAuthority: "root",
          issuerCertificateSha256: "ab".repeat(32),
        },
      },
      undefined,
      ["access_token.client_certificate_binding.certificate_authority BINDING_CA_REQUIRED"],
    ],
    [
      "an outside CA's SHA-256 that is not 64 hex digits",
      {
        slug: "bad-sha",
        role: Role.ROLE_AUDITOR,
        clientCertificateBinding: {
          identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_DNS_SAN,
          value: "job.example.com",
          issuerCertificateSha256: "abcd",
        },
      },
      undefined,
      [
        "access_token.client_certificate_binding.issuer_certificate_sha256 BINDING_CA_SHA256_INVALID",
      ],
    ],
    ...(
      [
        ["URI_SAN", "not a uri"],
        ["URI_SAN", "spiffe://test.example"],
        ["URI_SAN", "spiffe://test.example/ns/a?x=1"],
        ["URI_SAN", "spiffe://test.example:8443/ns/a"],
        ["DNS_SAN", "*.example.com"],
        ["DNS_SAN", "spiffe://test.example/ns/a"],
        ["COMMON_NAME", " padded "],
      ] as const
    ).map(([type, value]): [string, DeepPartial<AccessToken>, undefined, string[]] => [
      `a ${type} binding of "${value}"`,
      {
        slug: "bad-value",
        role: Role.ROLE_AUDITOR,
        clientCertificateBinding: {
          identityType: ClientCertificateIdentityType[`CLIENT_CERTIFICATE_IDENTITY_TYPE_${type}`],
          value,
          certificateAuthority: "root",
        },
      },
      undefined,
      ["access_token.client_certificate_binding.value CLIENT_IDENTITY_INVALID"],
    ]),
  ] as Array<[string, DeepPartial<AccessToken>, number | undefined, string[]]>)(
    "refuses %s with INVALID_ARGUMENT and BadRequest field violations",
    async (_what, token, ttl, expected) => {
      const before = await tokenCount();
      const err = await expectRpcError(create(token, ttl));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.violations.map((v) => `${v.field} ${v.reason}`).sort()).toEqual(expected.sort());
      for (const v of err.violations) expect(v.description).not.toBe("");
      expect(await tokenCount()).toBe(before);
    },
  );

  it("accepts the ttl bounds: one minute", async () => {
    const res = await create({ slug: "one-minute", role: Role.ROLE_AUDITOR }, 60);
    const t = res.accessToken!;
    expect(t.expireTime!.getTime() - t.createTime!.getTime()).toBe(60_000);
  });

  it("ALREADY_EXISTS for a taken slug or an active binding of the same identity and CA", async () => {
    await create({ slug: "taken", role: Role.ROLE_AUDITOR });
    const before = await tokenCount();
    const err = await expectRpcError(create({ slug: "taken", role: Role.ROLE_ADMIN }));
    expect(err).toMatchObject({ code: status.ALREADY_EXISTS, reason: "ACCESS_TOKEN_SLUG_TAKEN" });

    const spiffe = (slug: string, value: string, ca: string) =>
      create({
        slug,
        role: Role.ROLE_AUDITOR,
        clientCertificateBinding: {
          identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
          value,
          certificateAuthority: ca,
        },
      });
    // Scheme and host are normalised as issued SANs are; the CA is returned as its id, with
    // the SHA-256 of its certificate.
    const bound = await spiffe("bound-one", "SPIFFE://Test.Example/ns/a/sa/one", "root");
    // A binding has no secret.
    expect(bound.secret).toBe("");
    const rootCa = await call(h.authorities, "getCertificateAuthority", {
      certificateAuthority: "root",
    });
    const rootSha = new X509Certificate(rootCa.certificateAuthority!.certificatePem).fingerprint256
      .replace(/:/g, "")
      .toLowerCase();
    const expected = {
      identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
      value: "spiffe://test.example/ns/a/sa/one",
      certificateAuthority: rootCa.certificateAuthority!.id,
      issuerCertificateSha256: rootSha,
    };
    expect(bound.accessToken!.clientCertificateBinding).toEqual(expected);
    expect(bound.accessToken!.clientCertificateIdentity).toBe(expected.value);
    expect((await get("bound-one")).clientCertificateBinding).toEqual(expected);

    const err2 = await expectRpcError(
      spiffe("bound-two", "spiffe://test.example/ns/a/sa/one", rootCa.certificateAuthority!.id),
    );
    expect(err2).toMatchObject({ code: status.ALREADY_EXISTS, reason: "CLIENT_IDENTITY_TAKEN" });
    // Naming the same CA by its certificate's SHA-256 (with colons, as openssl prints it) is
    // the same binding.
    const colons = rootSha.toUpperCase().match(/../g)!.join(":");
    const err3 = await expectRpcError(
      create({
        slug: "bound-three",
        role: Role.ROLE_AUDITOR,
        clientCertificateBinding: {
          ...expected,
          certificateAuthority: "",
          issuerCertificateSha256: colons,
        },
      }),
    );
    expect(err3).toMatchObject({ code: status.ALREADY_EXISTS, reason: "CLIENT_IDENTITY_TAKEN" });
    expect(await tokenCount()).toBe(before + 1);

    // Once the binding is revoked, the identity can be bound again.
    await revoke("bound-one");
    const again = await spiffe("bound-four", "spiffe://test.example/ns/a/sa/one", "root");
    expect(again.accessToken!.clientCertificateBinding).toEqual(expected);
    expect(await tokenCount()).toBe(before + 2);
  });

  it("FAILED_PRECONDITION for a binding to a certmint CA that has no certificate yet", async () => {
    await call(
      h.authorities,
      "createExternalIntermediateCertificateAuthority",
      CreateExternalIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "pending-ca",
        subject: { commonName: "Pending CA" },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    const before = await tokenCount();
    const err = await expectRpcError(
      create({
        slug: "bound-to-pending",
        role: Role.ROLE_AUDITOR,
        clientCertificateBinding: {
          identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_DNS_SAN,
          value: "job.example.com",
          certificateAuthority: "pending-ca",
        },
      }),
    );
    expect(err).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: "CA_HAS_NO_CERTIFICATE",
    });
    expect(await tokenCount()).toBe(before);
  });

  it("NOT_FOUND for an unknown profile", async () => {
    const before = await tokenCount();
    const err = await expectRpcError(
      create({
        slug: "ghost-issuer",
        role: Role.ROLE_ISSUER,
        certificateProfiles: ["web-a", "ghost"],
      }),
    );
    expect(err).toMatchObject({ code: status.NOT_FOUND, reason: "CERTIFICATE_PROFILE_NOT_FOUND" });
    expect(err.message).toContain("ghost");
    expect(await tokenCount()).toBe(before);
  });
});

describe("RevokeAccessToken", () => {
  it("the next call made with the token is UNAUTHENTICATED (TOKEN_REVOKED), at once", async () => {
    const res = await create({ slug: "to-revoke", role: Role.ROLE_AUDITOR });
    const user = h.clientsAs(res.secret);
    // Used (and so cached by the server) before the revocation.
    await call(user.accessTokens, "listAccessTokens", { pageSize: 1, pageToken: "" });
    await call(user.accessTokens, "listAccessTokens", { pageSize: 1, pageToken: "" });

    const revoked = await revoke("to-revoke");
    expect(revoked.state).toBe(AccessTokenState.ACCESS_TOKEN_STATE_REVOKED);
    expect(revoked.revokeTime).toBeInstanceOf(Date);

    const err = await expectRpcError(
      call(user.accessTokens, "listAccessTokens", { pageSize: 1, pageToken: "" }),
    );
    expect(err).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_REVOKED" });
    const [row] = await h.db.query<{ revoked_at: Date }>(
      "select revoked_at from access_token where id = $1",
      [res.accessToken!.id],
    );
    expect(row!.revoked_at).toBeInstanceOf(Date);
  });

  it("revoking twice keeps the first revoke_time", async () => {
    const res = await create({ slug: "twice", role: Role.ROLE_AUDITOR });
    const first = await revoke(res.accessToken!.id);
    const [before] = await h.db.query<{ revoked_at: string }>(
      "select revoked_at::text from access_token where id = $1",
      [res.accessToken!.id],
    );
    // A second revocation that overwrote the time would now write a later one.
    await clockPast(first.revokeTime!);
    const second = await revoke("twice");
    expect(second.state).toBe(AccessTokenState.ACCESS_TOKEN_STATE_REVOKED);
    expect(second.revokeTime).toEqual(first.revokeTime);
    expect(await get("twice")).toEqual(second);
    const [after] = await h.db.query<{ revoked_at: string }>(
      "select revoked_at::text from access_token where id = $1",
      [res.accessToken!.id],
    );
    expect(after!.revoked_at).toBe(before!.revoked_at);
  });

  it("NOT_FOUND for an unknown token", async () => {
    const err = await expectRpcError(revoke("no-such-token"));
    expect(err).toMatchObject({ code: status.NOT_FOUND, reason: "ACCESS_TOKEN_NOT_FOUND" });
  });
});

describe("token states", () => {
  it("ACTIVE, EXPIRED (expire_time passed) and REVOKED, in Get and List; an expired token is UNAUTHENTICATED", async () => {
    const active = await create({ slug: "state-active", role: Role.ROLE_AUDITOR });
    const expired = await create({ slug: "state-expired", role: Role.ROLE_AUDITOR });
    const revoked = await create({ slug: "state-revoked", role: Role.ROLE_AUDITOR });
    await revoke("state-revoked");
    // Never used before, so not in the server's credential cache.
    await h.db.query(
      "update access_token set expires_at = now() - interval '1 minute' where id = $1",
      [expired.accessToken!.id],
    );

    expect((await get("state-active")).state).toBe(AccessTokenState.ACCESS_TOKEN_STATE_ACTIVE);
    expect((await get("state-expired")).state).toBe(AccessTokenState.ACCESS_TOKEN_STATE_EXPIRED);
    expect((await get("state-revoked")).state).toBe(AccessTokenState.ACCESS_TOKEN_STATE_REVOKED);
    const listed = new Map((await listAll()).map((t) => [t.slug, t.state]));
    expect(listed.get("state-active")).toBe(AccessTokenState.ACCESS_TOKEN_STATE_ACTIVE);
    expect(listed.get("state-expired")).toBe(AccessTokenState.ACCESS_TOKEN_STATE_EXPIRED);
    expect(listed.get("state-revoked")).toBe(AccessTokenState.ACCESS_TOKEN_STATE_REVOKED);

    const list = { pageSize: 1, pageToken: "" };
    await call(h.clientsAs(active.secret).accessTokens, "listAccessTokens", list);
    expect(
      await expectRpcError(
        call(h.clientsAs(expired.secret).accessTokens, "listAccessTokens", list),
      ),
    ).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_EXPIRED" });
    expect(
      await expectRpcError(
        call(h.clientsAs(revoked.secret).accessTokens, "listAccessTokens", list),
      ),
    ).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_REVOKED" });
  });

  it("a well-formed but unknown token, a malformed one and none are UNAUTHENTICATED", async () => {
    const list = { pageSize: 1, pageToken: "" };
    const unknown = `certmint_${"A".repeat(43)}`;
    expect(
      await expectRpcError(call(h.clientsAs(unknown).accessTokens, "listAccessTokens", list)),
    ).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_UNKNOWN" });
    expect(
      await expectRpcError(
        call(h.clientsAs("certmint_short").accessTokens, "listAccessTokens", list),
      ),
    ).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_MALFORMED" });
    expect(
      await expectRpcError(call(h.clientsAs(undefined).accessTokens, "listAccessTokens", list)),
    ).toMatchObject({ code: status.UNAUTHENTICATED, reason: "CREDENTIALS_MISSING" });
  });
});

describe("ListAccessTokens", () => {
  it("pages through every token, oldest first, revoked and expired ones included", async () => {
    for (const i of [1, 2, 3, 4, 5]) await create({ slug: `page-${i}`, role: Role.ROLE_AUDITOR });
    const everything = await listAll(1000);
    const rows = await h.db.query<{ id: string }>(
      "select id from access_token order by created_at, id",
    );
    expect(everything.map((t) => t.id)).toEqual(rows.map((r) => r.id));
    expect(everything.length).toBeGreaterThanOrEqual(6);

    const first = await call(h.accessTokens, "listAccessTokens", { pageSize: 2, pageToken: "" });
    expect(first.accessTokens).toHaveLength(2);
    expect(first.nextPageToken).not.toBe("");
    const paged = await listAll(2);
    expect(paged.map((t) => t.id)).toEqual(everything.map((t) => t.id));
    const pagedBy3 = await listAll(3);
    expect(pagedBy3.map((t) => t.id)).toEqual(everything.map((t) => t.id));
    expect(new Set(paged.map((t) => t.id)).size).toBe(paged.length);
    // The last page says so.
    const last = await call(h.accessTokens, "listAccessTokens", {
      pageSize: everything.length,
      pageToken: "",
    });
    expect(last.nextPageToken).toBe("");
  });
});

describe("an issuer token", () => {
  let issuer1: string;
  let issuer2: string;
  beforeAll(async () => {
    issuer1 = (
      await create({ slug: "issuer-a1", role: Role.ROLE_ISSUER, certificateProfiles: ["web-a"] })
    ).secret;
    issuer2 = (
      await create({ slug: "issuer-a2", role: Role.ROLE_ISSUER, certificateProfiles: [profileA] })
    ).secret;
  });

  it("issues on its profile, and is PERMISSION_DENIED (PROFILE_NOT_GRANTED) on another", async () => {
    const as1 = h.clientsAs(issuer1);
    const ok = await call(
      as1.certificates,
      "issueCertificate",
      generatedKeyRequest("web-a", "a.example.com"),
    );
    expect(ok.certificate!.certificatePem).toContain("BEGIN CERTIFICATE");
    const [cert] = await h.db.query<{ profile_id: string }>(
      "select profile_id from certificate where id = $1",
      [ok.certificate!.certificateId],
    );
    expect(cert!.profile_id).toBe(profileA);

    const before = Number(
      (await h.db.query<{ n: string }>("select count(*) as n from certificate"))[0]!.n,
    );
    const err = await expectRpcError(
      call(as1.certificates, "issueCertificate", generatedKeyRequest("web-b", "b.example.com")),
    );
    expect(err).toMatchObject({ code: status.PERMISSION_DENIED, reason: "PROFILE_NOT_GRANTED" });
    // Also by id.
    const err2 = await expectRpcError(
      call(as1.certificates, "issueCertificate", generatedKeyRequest(profileB, "b.example.com")),
    );
    expect(err2).toMatchObject({ code: status.PERMISSION_DENIED, reason: "PROFILE_NOT_GRANTED" });
    const after = Number(
      (await h.db.query<{ n: string }>("select count(*) as n from certificate"))[0]!.n,
    );
    expect(after).toBe(before);
  });

  it("request_id idempotency is per token: two tokens use the same request_id independently", async () => {
    const as1 = h.clientsAs(issuer1);
    const as2 = h.clientsAs(issuer2);
    const req = generatedKeyRequest("web-a", "same.example.com", {
      requestId: "shared-request-id",
    });
    const one = await call(as1.certificates, "issueCertificate", req);
    const two = await call(as2.certificates, "issueCertificate", req);
    expect(two.certificateRequestId).not.toBe(one.certificateRequestId);
    expect(two.certificate!.certificateId).not.toBe(one.certificate!.certificateId);
    expect(two.certificate!.serialNumber).not.toBe(one.certificate!.serialNumber);

    // Each token's replay returns its own certificate.
    const again1 = await call(as1.certificates, "issueCertificate", req);
    const again2 = await call(as2.certificates, "issueCertificate", req);
    expect(again1.certificateRequestId).toBe(one.certificateRequestId);
    expect(again1.certificate!.certificateId).toBe(one.certificate!.certificateId);
    expect(again2.certificateRequestId).toBe(two.certificateRequestId);
    expect(again2.certificate!.certificateId).toBe(two.certificate!.certificateId);

    const rows = await h.db.query<{ id: string; caller: string }>(
      "select id, caller from certificate_request where request_id = 'shared-request-id'",
    );
    const ids = await h.db.query<{ id: string; slug: string }>(
      "select id, slug from access_token where slug in ('issuer-a1', 'issuer-a2')",
    );
    const idOf = (slug: string) => ids.find((r) => r.slug === slug)!.id;
    expect(new Map(rows.map((r) => [r.id, r.caller]))).toEqual(
      new Map([
        [one.certificateRequestId, idOf("issuer-a1")],
        [two.certificateRequestId, idOf("issuer-a2")],
      ]),
    );
  });
});
