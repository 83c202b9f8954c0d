/**
 * An admin's External Account Binding keys (RFC 8555 7.3.4): ListAcmeExternalAccountKeys and
 * RevokeAcmeExternalAccountKey (src/acme/admin/keys.ts). A revoked key binds no account (its
 * HMAC key is derived from its id, so the row is kept and revoked_at refuses it), and the account
 * a key bound is revoked with it, in the same transaction.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  AcmeAccountStatus,
  CertificateProfile,
  ListAcmeAccountsRequest,
  ListAcmeExternalAccountKeysRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { createToken } from "../certificates/helpers";
import { createProfileRows } from "../support/fixtures";
import { type CertmintClients, call, expectRpcError } from "../support/harness";
import { errorInfoOf, registerWithEab } from "./admin-helpers";
import { type AcmeServer, createAcmeProfile, startAcmeServer } from "./helpers";

const ACME = "urn:ietf:params:acme:error:";
const REVOKE_KEY = "/certmint.v1.CertificateProfileService/RevokeAcmeExternalAccountKey";

describe("an admin's ACME External Account Binding keys", () => {
  let s: AcmeServer;
  let admin: { id: string; clients: CertmintClients };
  let auditor: CertmintClients;

  beforeAll(async () => {
    s = await startAcmeServer({ CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0" });
    await call(s.h.profiles, "updateCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug: "web-acme",
        acme: { requireExternalAccountBinding: true },
      }),
      updateMask: ["acme.require_external_account_binding"],
    });
    admin = await createToken(s.h, "eab-admin", Role.ROLE_ADMIN);
    auditor = (await createToken(s.h, "eab-auditor", Role.ROLE_AUDITOR)).clients;
  });
  afterAll(async () => {
    await s?.h.stop();
  });

  const newKey = (profile = "web-acme") =>
    call(admin.clients.profiles, "createAcmeExternalAccountKey", { certificateProfile: profile });
  const register = (key: { keyId: string; hmacKey: string }) =>
    registerWithEab(s.directory(), s.tlsCaFile, key);
  const revokeKey = (keyId: string, by = admin.clients) =>
    call(by.profiles, "revokeAcmeExternalAccountKey", { keyId });
  const keyRow = async (keyId: string) =>
    (
      await s.h.db.query<{ account_id: string | null; revoked_at: Date | null }>(
        "select account_id, revoked_at from acme_eab_key where key_id = $1",
        [keyId],
      )
    )[0]!;
  const accountStatus = async (id: string) =>
    (
      await s.h.db.query<{ status: string }>("select status from acme_account where id = $1", [id])
    )[0]!.status;
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await s.h.db.query<{ n: string }>(`select count(*) as n from ${sql}`, params))[0]!.n);
  /** Every change record a key revocation wrote (the key's, its account's, their requests'). */
  const revocationRecords = () =>
    count("audit_record where method = $1 and resource_type <> ''", [REVOKE_KEY]);

  it("lists a profile's keys oldest first, a page at a time: created, bound and revoked", async () => {
    await createAcmeProfile(s.h, "listed-acme");
    await call(s.h.profiles, "updateCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug: "listed-acme",
        acme: { requireExternalAccountBinding: true },
      }),
      updateMask: ["acme.require_external_account_binding"],
    });
    const profileId = (
      await call(s.h.profiles, "getCertificateProfile", { certificateProfile: "listed-acme" })
    ).certificateProfile!.id;
    const created = await newKey("listed-acme");
    const bound = await newKey("listed-acme");
    const revoked = await newKey("listed-acme");
    await newKey(); // another profile's: not listed
    const { r, accountId } = await registerWithEab(s.directory("listed-acme"), s.tlsCaFile, bound);
    expect(r.status, r.text).toBe(201);
    await revokeKey(revoked.keyId);

    const first = await call(
      auditor.profiles,
      "listAcmeExternalAccountKeys",
      ListAcmeExternalAccountKeysRequest.fromPartial({
        certificateProfile: "listed-acme",
        pageSize: 2,
      }),
    );
    expect(first.acmeExternalAccountKeys.map((k) => k.keyId)).toEqual([created.keyId, bound.keyId]);
    expect(first.nextPageToken).not.toBe("");
    // By id as by slug: the page token is the profile's, however it was named.
    const second = await call(
      auditor.profiles,
      "listAcmeExternalAccountKeys",
      ListAcmeExternalAccountKeysRequest.fromPartial({
        certificateProfile: profileId,
        pageSize: 2,
        pageToken: first.nextPageToken,
      }),
    );
    expect(second.acmeExternalAccountKeys.map((k) => k.keyId)).toEqual([revoked.keyId]);
    expect(second.nextPageToken).toBe("");

    const [c, b] = first.acmeExternalAccountKeys;
    const v = second.acmeExternalAccountKeys[0]!;
    expect(c).toMatchObject({
      certificateProfileId: profileId,
      creator: admin.id,
      acmeAccountId: "",
      bindTime: undefined,
      revokeTime: undefined,
    });
    expect(c!.createTime).toBeInstanceOf(Date);
    expect(b).toMatchObject({ acmeAccountId: accountId, revokeTime: undefined });
    expect(b!.bindTime).toBeInstanceOf(Date);
    expect(v.revokeTime).toEqual((await keyRow(revoked.keyId)).revoked_at);
    // Never an HMAC key: the message has no such field, and no value of it is the key.
    expect(JSON.stringify(first)).not.toContain(created.hmacKey);

    const altered = await expectRpcError(
      call(
        auditor.profiles,
        "listAcmeExternalAccountKeys",
        ListAcmeExternalAccountKeysRequest.fromPartial({
          certificateProfile: "listed-acme",
          pageToken: `${first.nextPageToken.slice(0, -2)}AA`,
        }),
      ),
    );
    expect({ code: altered.code, reason: altered.reason }).toEqual({
      code: status.INVALID_ARGUMENT,
      reason: "PAGE_TOKEN_INVALID",
    });
    // Another list's token (same caller, same profile) is refused too.
    const accounts = await call(
      auditor.profiles,
      "listAcmeAccounts",
      ListAcmeAccountsRequest.fromPartial({
        certificateProfile: "listed-acme",
      }),
    );
    expect(accounts.acmeAccounts.map((a) => a.id)).toEqual([accountId]);
    const crossed = await expectRpcError(
      call(
        auditor.profiles,
        "listAcmeAccounts",
        ListAcmeAccountsRequest.fromPartial({
          certificateProfile: "listed-acme",
          pageToken: first.nextPageToken,
        }),
      ),
    );
    expect(crossed.reason).toBe("PAGE_TOKEN_INVALID");
  });

  it("a revoked unbound key opens no account (unauthorized), and no row is written", async () => {
    const key = await newKey();
    const res = await revokeKey(key.keyId);
    expect(res.revokedAcmeAccount).toBeUndefined();
    expect(res.acmeExternalAccountKey).toMatchObject({ keyId: key.keyId, acmeAccountId: "" });
    const row = await keyRow(key.keyId);
    expect(row.revoked_at).toEqual(res.acmeExternalAccountKey!.revokeTime);

    const accounts = await count("acme_account");
    const { r } = await register(key);
    expect(r.status, r.text).toBe(403);
    expect((r.json as { type: string }).type).toBe(`${ACME}unauthorized`);
    expect((r.json as { detail: string }).detail).toMatch(
      /key was revoked at .*by an admin, RevokeAcmeExternalAccountKey.*ask an admin to create a new key/,
    );
    expect(await count("acme_account")).toBe(accounts);
    expect((await keyRow(key.keyId)).account_id).toBeNull();

    // Audited under the admin's token, against the key.
    const [record] = await s.h.db.query<{
      actor_id: string;
      resource_type: string;
      changes: unknown;
    }>(
      `select actor_id, resource_type, changes from audit_record
        where method = $1 and changes @> $2::jsonb`,
      [
        REVOKE_KEY,
        JSON.stringify([{ field: "revoked_external_account_key_id", after: key.keyId }]),
      ],
    );
    expect(record).toMatchObject({
      actor_id: admin.id,
      resource_type: "acme_external_account_key",
      changes: [
        { field: "certificate_profile_id", after: expect.any(String) },
        { field: "revoked_external_account_key_id", after: key.keyId },
      ],
    });
  });

  it("revoking a bound key revokes its account, audited; revoking again changes nothing", async () => {
    const key = await newKey();
    const { c, r, accountId } = await register(key);
    expect(r.status, r.text).toBe(201);
    const records = await revocationRecords();

    const res = await revokeKey(key.keyId);
    expect(res.revokedAcmeAccount).toMatchObject({
      id: accountId,
      status: AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED,
      externalAccountKeyId: key.keyId,
    });
    expect(res.acmeExternalAccountKey).toMatchObject({
      keyId: key.keyId,
      acmeAccountId: accountId,
    });
    expect(await accountStatus(accountId!)).toBe("revoked");

    const order = await c.newOrder(["after-key.acme.localhost"]);
    expect(order.status, order.text).toBe(401);
    expect((order.json as { type: string; detail: string }).type).toBe(`${ACME}unauthorized`);
    expect((order.json as { detail: string }).detail).toBe("the account is revoked");

    const [accountRecord] = await s.h.db.query<{ actor_id: string; changes: unknown }>(
      `select actor_id, changes from audit_record
        where resource_type = 'acme_account' and resource_id = $1 and method = $2`,
      [accountId, REVOKE_KEY],
    );
    expect(accountRecord).toEqual({
      actor_id: admin.id,
      changes: [
        { field: "status", before: "valid", after: "revoked" },
        { field: "external_account_key_id", after: key.keyId },
        { field: "revoked_with_external_account_key_id", after: key.keyId },
      ],
    });
    const keyRecords = await s.h.db.query<{ changes: unknown }>(
      `select changes from audit_record where resource_type = 'acme_external_account_key'
          and resource_id = $3 and method = $1 and changes @> $2::jsonb`,
      [
        REVOKE_KEY,
        JSON.stringify([{ field: "revoked_external_account_key_id", after: key.keyId }]),
        key.keyId,
      ],
    );
    expect(keyRecords.map((k) => k.changes)).toEqual([
      [
        { field: "certificate_profile_id", after: expect.any(String) },
        { field: "revoked_external_account_key_id", after: key.keyId },
        { field: "revoked_acme_account_id", after: accountId },
      ],
    ]);
    expect(await revocationRecords()).toBe(records + 2);

    // Again: the key as it was, no account, no record of a change, nothing rewritten.
    const before = await keyRow(key.keyId);
    const again = await revokeKey(key.keyId);
    expect(again.revokedAcmeAccount).toBeUndefined();
    expect(again.acmeExternalAccountKey!.revokeTime).toEqual(before.revoked_at);
    expect(await keyRow(key.keyId)).toEqual(before);
    expect(await revocationRecords()).toBe(records + 2);
  });

  it("a revocation racing a binding and a cut of both tokens' line: no deadlock, no valid account left", async () => {
    for (let round = 0; round < 6; round++) {
      // root admin -> line -> { creator (makes the key), revoker (revokes it) }: the cut of
      // `line` locks both tokens while the binding holds the key and the revocation its caller.
      const line = await createToken(s.h, `race-line-${round}`, Role.ROLE_ADMIN);
      const creator = await call(
        line.clients.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: `race-creator-${round}`, role: Role.ROLE_ADMIN },
        }),
      );
      const revoker = await call(
        line.clients.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: `race-revoker-${round}`, role: Role.ROLE_ADMIN },
        }),
      );
      const key = await call(
        s.h.clientsAs(creator.secret).profiles,
        "createAcmeExternalAccountKey",
        { certificateProfile: "web-acme" },
      );
      const [binding, revocation, cut] = await Promise.allSettled([
        register(key),
        revokeKey(key.keyId, s.h.clientsAs(revoker.secret)),
        call(s.h.accessTokens, "revokeAccessToken", {
          accessToken: line.id,
          revokeCreatedTokens: round % 2 === 0,
        }),
      ]);
      // The cut always commits; the revocation commits, or is refused as its caller was cut.
      expect(cut.status, String((cut as PromiseRejectedResult).reason)).toBe("fulfilled");
      if (revocation.status === "rejected") {
        expect(await errorInfoOf(Promise.reject(revocation.reason))).toMatchObject({
          code: status.UNAUTHENTICATED,
          reason: "TOKEN_REVOKED",
        });
      }
      expect(binding.status).toBe("fulfilled");
      const { r, accountId } = (
        binding as PromiseFulfilledResult<Awaited<ReturnType<typeof register>>>
      ).value;
      expect([201, 403], r.text).toContain(r.status);
      // Whatever the order: no account bound with the key is still valid, and the key binds no
      // account any more (revoked, deleted with the line, or its creator revoked).
      if (accountId) expect(await accountStatus(accountId)).not.toBe("valid");
      const valid = await count("acme_account where eab_key_id = $1 and status = 'valid'", [
        key.keyId,
      ]);
      expect(valid).toBe(0);
      const again = await register(key);
      expect(again.r.status, again.r.text).toBe(403);
    }
  });

  it("an auditor lists keys but may not revoke one; nothing is written", async () => {
    const key = await newKey();
    const listed = await call(
      auditor.profiles,
      "listAcmeExternalAccountKeys",
      ListAcmeExternalAccountKeysRequest.fromPartial({
        certificateProfile: "web-acme",
        pageSize: 1000,
      }),
    );
    expect(listed.acmeExternalAccountKeys.map((k) => k.keyId)).toContain(key.keyId);
    const denied = await expectRpcError(revokeKey(key.keyId, auditor));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect((await keyRow(key.keyId)).revoked_at).toBeNull();
    // The refusal is recorded against the key it named, as a revocation is: "who tried to revoke
    // key X" is one resource filter (until stop 48 of 2026-12-06 it named no resource).
    const [refusal] = await s.h.db.query<{ resource_type: string; error_reason: string }>(
      `select resource_type, error_reason from audit_record
        where method = $1 and resource_id = $2 and status_code <> 0`,
      [REVOKE_KEY, key.keyId],
    );
    expect(refusal).toEqual({
      resource_type: "acme_external_account_key",
      error_reason: "ROLE_NOT_ALLOWED",
    });
    const { r } = await register(key);
    expect(r.status, r.text).toBe(201);
  });

  it("refuses unknown keys and profiles (NOT_FOUND), writing nothing; a non-ACME profile lists none", async () => {
    await createProfileRows(s.h, { slug: "api-only-keys" });
    const revokedBefore = await count("acme_eab_key where revoked_at is not null");
    const statuses = await s.h.db.query("select id, status from acme_account order by id");

    const unknown = await errorInfoOf(revokeKey("no-such-key-id"));
    expect(unknown).toEqual({
      code: status.NOT_FOUND,
      reason: "ACME_EXTERNAL_ACCOUNT_KEY_NOT_FOUND",
      metadata: { key_id: "no-such-key-id" },
    });
    const empty = await expectRpcError(revokeKey("  "));
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(empty.violations.map((v) => [v.field, v.reason])).toEqual([
      ["key_id", "REFERENCE_MISSING"],
    ]);
    const missing = await expectRpcError(
      call(
        admin.clients.profiles,
        "listAcmeExternalAccountKeys",
        ListAcmeExternalAccountKeysRequest.fromPartial({ certificateProfile: "nope" }),
      ),
    );
    expect({ code: missing.code, reason: missing.reason }).toEqual({
      code: status.NOT_FOUND,
      reason: "CERTIFICATE_PROFILE_NOT_FOUND",
    });
    // A profile that never enrolled by ACME has no keys: an empty page, not an error.
    const notAcme = await call(
      admin.clients.profiles,
      "listAcmeExternalAccountKeys",
      ListAcmeExternalAccountKeysRequest.fromPartial({ certificateProfile: "api-only-keys" }),
    );
    expect(notAcme).toEqual({ acmeExternalAccountKeys: [], nextPageToken: "" });

    expect(await count("acme_eab_key where revoked_at is not null")).toBe(revokedBefore);
    expect(await s.h.db.query("select id, status from acme_account order by id")).toEqual(statuses);
    // The refusal is audited as every refused change is, with no change recorded.
    const [refusal] = await s.h.db.query<{
      status_code: number;
      error_reason: string;
      changes: unknown;
    }>(
      `select status_code, error_reason, changes from audit_record where method = $1
        order by created_at desc limit 1`,
      [REVOKE_KEY],
    );
    expect(refusal).toEqual({
      status_code: status.INVALID_ARGUMENT,
      error_reason: "REFERENCE_MISSING",
      changes: null,
    });
  });
});
