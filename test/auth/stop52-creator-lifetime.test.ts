/**
 * What a token creates lasts no longer than the token itself (src/issuance/access-tokens/
 * lifetime.ts): an explicit `ttl` past the creator's expiry is refused INVALID_ARGUMENT on
 * `ttl` (TOKEN_TTL_PAST_CREATOR_EXPIRY, the message saying the most it may be), the default
 * 90 days is cut to the creator's expiry, and an ACME External Account Binding key whose
 * creator expired binds no account (src/acme/eab.ts). Certmint's first admin token (creator_id
 * null) is the root and bounds nothing. Until stop 52 of 2026-12-07 an admin token with an hour
 * left made ten-year admin tokens, and its EAB keys bound accounts after it expired (an outside
 * probe, AUTHZ F1; test/probe52/authz/token-lifetime.test.ts).
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AccessToken,
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  type DeepPartial,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import { registerWithEab } from "../acme/admin-helpers";
import { type AcmeServer, startAcmeServer } from "../acme/helpers";
import { type CertmintClients, call, expectRpcError } from "../support/harness";

const ACME = "urn:ietf:params:acme:error:";
const DAY = 86_400;

describe("a token's creations do not outlive it", () => {
  let s: AcmeServer;
  let admin: CertmintClients;
  /** An admin token of an hour, made by the first admin token. */
  let short: { id: string; expires: Date; clients: CertmintClients };

  const create = (by: CertmintClients, token: DeepPartial<AccessToken>, ttlSeconds?: number) =>
    call(
      by.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: token,
        ttl: ttlSeconds === undefined ? undefined : { seconds: String(ttlSeconds), nanos: 0 },
      }),
    );
  const expiresAt = async (slug: string) =>
    (
      await s.h.db.query<{ expires_at: Date }>(
        "select expires_at from access_token where slug = $1",
        [slug],
      )
    )[0]?.expires_at;
  const count = async (table: string) =>
    Number((await s.h.db.query<{ n: string }>(`select count(*) as n from ${table}`))[0]!.n);

  beforeAll(async () => {
    s = await startAcmeServer({ CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0" });
    admin = s.h.clientsAs(s.h.adminToken);
    const made = await create(admin, { slug: "ci-admin", role: Role.ROLE_ADMIN }, 3600);
    short = {
      id: made.accessToken!.id,
      expires: made.accessToken!.expireTime!,
      clients: s.h.clientsAs(made.secret),
    };
  });
  afterAll(async () => {
    await s?.h.stop();
  });

  it("the first admin token bounds nothing: it makes a ten-year token", async () => {
    const res = await create(admin, { slug: "ten-years", role: Role.ROLE_AUDITOR }, 3650 * DAY);
    const t = res.accessToken!;
    expect(t.expireTime!.getTime() - t.createTime!.getTime()).toBe(3650 * DAY * 1000);
  });

  it.each([
    ["an admin", { slug: "long-admin", role: Role.ROLE_ADMIN }],
    [
      "an issuer",
      { slug: "long-issuer", role: Role.ROLE_ISSUER, certificateProfiles: ["web-acme"] },
    ],
    [
      "a client certificate binding",
      {
        slug: "long-binding",
        role: Role.ROLE_ADMIN,
        clientCertificateBinding: {
          identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_COMMON_NAME,
          value: "long-lived-job",
          certificateAuthority: "root",
        },
      },
    ],
  ] as Array<[string, DeepPartial<AccessToken>]>)(
    "an explicit ttl past its creator's expiry is refused on ttl, saying the most it may be, for %s",
    async (_what, token) => {
      const before = await count("access_token");
      const err = await expectRpcError(create(short.clients, token, 2 * 3600));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.reason).toBe("TOKEN_TTL_PAST_CREATOR_EXPIRY");
      expect(err.violations).toHaveLength(1);
      expect(err.violations[0]).toMatchObject({
        field: "ttl",
        reason: "TOKEN_TTL_PAST_CREATOR_EXPIRY",
      });
      const most = Number(/at most (\d+) seconds/.exec(err.violations[0]!.description)?.[1]);
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(3600);
      expect(err.message).toContain(`"ci-admin") expires at ${short.expires.toISOString()}`);
      expect(await count("access_token")).toBe(before);

      // The most it said is accepted (the creator's life left is less by now, never more).
      const ok = await create(
        short.clients,
        { ...token, slug: `${token.slug}-fits` },
        Math.min(most, 3600) - 5,
      );
      expect(ok.accessToken!.expireTime!.getTime()).toBeLessThanOrEqual(short.expires.getTime());
    },
  );

  it("reported with the request's other problems at once", async () => {
    const err = await expectRpcError(
      create(short.clients, { slug: "many", role: Role.ROLE_ISSUER }, 3650 * DAY - 1),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.reason).toBe("ACCESS_TOKEN_INVALID");
    expect(err.violations.map((v) => `${v.field} ${v.reason}`).sort()).toEqual([
      "access_token.certificate_profiles PROFILES_REQUIRED",
      "ttl TOKEN_TTL_PAST_CREATOR_EXPIRY",
    ]);
  });

  it("the default ttl is cut to the creator's expiry, as the answer says; down the line too", async () => {
    const child = await create(short.clients, { slug: "cut-admin", role: Role.ROLE_ADMIN });
    expect(child.accessToken!.expireTime).toEqual(short.expires);
    expect(await expiresAt("cut-admin")).toEqual(await expiresAt("ci-admin"));
    // Its own creation record says the expiry it got.
    const [record] = await s.h.db.query<{ changes: Array<{ field: string; after: unknown }> }>(
      `select changes from audit_record where resource_type = 'access_token' and resource_id = $1
         and method = '/certmint.v1.AccessTokenService/CreateAccessToken'`,
      [child.accessToken!.id],
    );
    expect(record!.changes.find((c) => c.field === "expires_at")?.after).toBe(
      short.expires.toISOString(),
    );

    // A token the cut one creates is bounded by the same expiry.
    const grandchildClients = s.h.clientsAs(child.secret);
    const grand = await create(grandchildClients, { slug: "cut-auditor", role: Role.ROLE_AUDITOR });
    expect(grand.accessToken!.expireTime).toEqual(short.expires);
    const refused = await expectRpcError(
      create(grandchildClients, { slug: "long-auditor", role: Role.ROLE_AUDITOR }, 90 * DAY),
    );
    expect(refused.reason).toBe("TOKEN_TTL_PAST_CREATOR_EXPIRY");
    expect(await expiresAt("long-auditor")).toBeUndefined();
  });

  it("a ttl within the creator's life is kept as asked", async () => {
    const res = await create(short.clients, { slug: "ten-minutes", role: Role.ROLE_AUDITOR }, 600);
    const t = res.accessToken!;
    expect(t.expireTime!.getTime() - t.createTime!.getTime()).toBe(600_000);
  });

  it("a retry of a request_id gets its token back, however little of its creator's life is left", async () => {
    const made = await create(admin, { slug: "retry-admin", role: Role.ROLE_ADMIN }, 3600);
    const by = s.h.clientsAs(made.secret);
    const request = (slug: string, requestId: string) =>
      call(
        by.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug, role: Role.ROLE_AUDITOR },
          ttl: { seconds: "1800", nanos: 0 },
          requestId,
        }),
      );
    const first = await request("retried", "retry-1");
    // Its creator's life left is now less than the ttl asked (its row, as time would make it).
    await s.h.db.query(
      "update access_token set expires_at = now() + interval '10 minutes' where id = $1",
      [made.accessToken!.id],
    );
    const again = await request("retried", "retry-1");
    expect(again.accessToken!.id).toBe(first.accessToken!.id);
    expect(again.secret).toBe(first.secret);
    // A new request asking as much is refused, and makes nothing.
    const err = await expectRpcError(request("not-made", "retry-2"));
    expect(err.reason).toBe("TOKEN_TTL_PAST_CREATOR_EXPIRY");
    expect(await expiresAt("not-made")).toBeUndefined();
  });

  it("an EAB key whose creator expired binds no account; one bound before stays valid", async () => {
    const made = await create(admin, { slug: "eab-admin", role: Role.ROLE_ADMIN }, 3600);
    const by = s.h.clientsAs(made.secret);
    const eabKey = () =>
      call(by.profiles, "createAcmeExternalAccountKey", { certificateProfile: "web-acme" });
    const bindsBefore = await eabKey();
    const unused = await eabKey();
    const bound = await registerWithEab(s.directory(), s.tlsCaFile, bindsBefore);
    expect(bound.r.status, bound.r.text).toBe(201);

    // The creator's hour passes (its row, as the clock would make it).
    await s.h.db.query(
      "update access_token set expires_at = now() - interval '1 second' where id = $1",
      [made.accessToken!.id],
    );
    const accounts = await count("acme_account");
    const refused = await registerWithEab(s.directory(), s.tlsCaFile, unused);
    expect(refused.r.status, refused.r.text).toBe(403);
    expect((refused.r.json as { type: string }).type).toBe(`${ACME}unauthorized`);
    expect((refused.r.json as { detail: string }).detail).toMatch(
      /creator \(an access token\) expired at .*ask an admin to create a new key/,
    );
    expect(await count("acme_account")).toBe(accounts);
    const [key] = await s.h.db.query<{ account_id: string | null; revoked_at: Date | null }>(
      "select account_id, revoked_at from acme_eab_key where key_id = $1",
      [unused.keyId],
    );
    expect(key).toEqual({ account_id: null, revoked_at: null });

    // The account bound while its key's creator was in force stays valid, as after a plain
    // revocation of the creator.
    const [account] = await s.h.db.query<{ status: string }>(
      "select status from acme_account where id = $1",
      [bound.accountId],
    );
    expect(account!.status).toBe("valid");
    const order = await bound.c.newOrder(["still.acme.localhost"]);
    expect(order.status, order.text).toBe(201);

    // A key of the first admin token binds after that token's expiry: it bounds nothing (see
    // above). Its expiry is put back at once; no other call of this file runs meanwhile.
    const ofFirst = await call(admin.profiles, "createAcmeExternalAccountKey", {
      certificateProfile: "web-acme",
    });
    const [first] = await s.h.db.query<{ id: string; expires_at: Date }>(
      "select id, expires_at from access_token where creator_id is null",
    );
    await s.h.db.query(
      "update access_token set expires_at = now() - interval '1 second' where id = $1",
      [first!.id],
    );
    try {
      const ok = await registerWithEab(s.directory(), s.tlsCaFile, ofFirst);
      expect(ok.r.status, ok.r.text).toBe(201);
    } finally {
      await s.h.db.query("update access_token set expires_at = $2 where id = $1", [
        first!.id,
        first!.expires_at,
      ]);
    }
  });

  it("an EAB key lasts no longer than the credential that made it, even with its creator in force", async () => {
    const made = await create(admin, { slug: "eab-bound-admin", role: Role.ROLE_ADMIN }, 3600);
    const by = s.h.clientsAs(made.secret);
    const key = await call(by.profiles, "createAcmeExternalAccountKey", {
      certificateProfile: "web-acme",
    });
    // The bound of the credential it was made with (stop 56: a client certificate issued by a
    // shorter-lived token can bound it before its creator's expiry; here the token's own).
    const [row] = await s.h.db.query<{ usable_until: Date | null }>(
      "select usable_until from acme_eab_key where key_id = $1",
      [key.keyId],
    );
    expect(row!.usable_until).toEqual(made.accessToken!.expireTime);
    // That bound passes (the row, as the clock would make it), the creator still in force.
    await s.h.db.query(
      "update acme_eab_key set usable_until = now() - interval '1 second' where key_id = $1",
      [key.keyId],
    );
    const accounts = await count("acme_account");
    const refused = await registerWithEab(s.directory(), s.tlsCaFile, key);
    expect(refused.r.status, refused.r.text).toBe(403);
    expect((refused.r.json as { type: string }).type).toBe(`${ACME}unauthorized`);
    expect((refused.r.json as { detail: string }).detail).toMatch(
      /created over a credential that lasted until .*ask an admin to create a new key/,
    );
    expect(await count("acme_account")).toBe(accounts);
    // A key of the first admin token has no such bound.
    const ofFirst = await call(admin.profiles, "createAcmeExternalAccountKey", {
      certificateProfile: "web-acme",
    });
    const [first] = await s.h.db.query<{ usable_until: Date | null }>(
      "select usable_until from acme_eab_key where key_id = $1",
      [ofFirst.keyId],
    );
    expect(first!.usable_until).toBeNull();
  });

  it("an EAB key made over a client certificate of a token since revoked binds no account, and is revoked", async () => {
    // The key's row as one made over such a certificate has it (stop 56: vouched_by, the tokens
    // that certificate rested on): its creator in force, the voucher revoked (alone).
    const voucher = await create(admin, { slug: "voucher-admin", role: Role.ROLE_ADMIN }, 3600);
    const key = await call(admin.profiles, "createAcmeExternalAccountKey", {
      certificateProfile: "web-acme",
    });
    await s.h.db.query("update acme_eab_key set vouched_by = $2::jsonb where key_id = $1", [
      key.keyId,
      JSON.stringify([voucher.accessToken!.id]),
    ]);
    await call(admin.accessTokens, "revokeAccessToken", {
      accessToken: voucher.accessToken!.id,
      revokeCreatedTokens: false,
    });
    const accounts = await count("acme_account");
    const refused = await registerWithEab(s.directory(), s.tlsCaFile, key);
    expect(refused.r.status, refused.r.text).toBe(403);
    expect((refused.r.json as { detail: string }).detail).toMatch(
      /made over a client certificate issued by an access token revoked at .*ask an admin to create a new key/,
    );
    expect(await count("acme_account")).toBe(accounts);
    const [row] = await s.h.db.query<{ revoked_at: Date | null; account_id: string | null }>(
      "select revoked_at, account_id from acme_eab_key where key_id = $1",
      [key.keyId],
    );
    expect(row!.account_id).toBeNull();
    expect(row!.revoked_at).not.toBeNull();
  });
});
