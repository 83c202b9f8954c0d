/**
 * The last-admin guard counts only admin credentials that stay usable for at least a day
 * (src/issuance/access-tokens/last-admin.ts LAST_ADMIN_MARGIN_SECONDS). An outside probe of
 * stop 45 (2026-12-06, F2) made an admin token with ttl 61 s, revoked every other admin token
 * through it (each check passed: the short one was in force), and a minute later no admin
 * credential existed: only a restart with the data directory recovered.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  type CertmintClients,
  call,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";

describe("an admin token about to expire does not count as the last admin credential", () => {
  let h: TestCertmint;
  let bootstrapId = "";

  beforeAll(async () => {
    h = await startTestCertmint();
    const [row] = await h.db.query<{ id: string }>(
      "select id from access_token where role = 'ADMIN' and revoked_at is null",
    );
    bootstrapId = row!.id;
  });
  afterAll(async () => {
    await h?.stop();
  });

  async function admin(slug: string, ttlSeconds: number) {
    const res = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug, role: Role.ROLE_ADMIN },
        ttl: { seconds: String(ttlSeconds) },
      }),
    );
    return {
      id: res.accessToken!.id,
      expires: res.accessToken!.expireTime!,
      clients: h.clientsAs(res.secret) as CertmintClients,
    };
  }
  const revokedAt = async (id: string) =>
    (
      await h.db.query<{ revoked_at: Date | null }>(
        "select revoked_at from access_token where id = $1",
        [id],
      )
    )[0]!.revoked_at;

  it("a 61-second admin token cannot revoke the only lasting one; the refusal says why", async () => {
    const short = await admin("short-admin", 61);
    const err = await expectRpcError(
      call(short.clients.accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: bootstrapId,
      }),
    );
    expect(err).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: "LAST_ADMIN_CREDENTIAL",
    });
    // Names the short-lived one, until when, and why it does not count.
    expect(err.message).toContain(`"short-admin" (until ${short.expires.toISOString()})`);
    expect(err.message).toContain("expires within a day and does not count");
    expect(err.message).toContain("a ttl of more than a day");
    expect(err.message).not.toContain("…");
    expect(err.message).toContain("nothing was changed");
    expect(err.preconditions[0]).toMatchObject({
      type: "LAST_ADMIN_CREDENTIAL",
      subject: expect.stringMatching(/^access_tokens\/bootstrap-admin-/),
    });
    expect(await revokedAt(bootstrapId)).toBeNull();
    // A token that stays an hour short of a day counts no more.
    const almost = await admin("almost-a-day", 86_400 - 3600);
    const again = await expectRpcError(
      call(almost.clients.accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: bootstrapId,
      }),
    );
    expect(again.reason).toBe("LAST_ADMIN_CREDENTIAL");
    expect(await revokedAt(bootstrapId)).toBeNull();
  });

  it("short-lived admin tokens may go while a lasting one stays; with another lasting one, the first may go", async () => {
    const short = await admin("short-admin-2", 120);
    await call(h.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: short.id,
    });
    expect(await revokedAt(short.id)).not.toBeNull();
    const lasting = await admin("two-day-admin", 2 * 86_400);
    await call(lasting.clients.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: bootstrapId,
    });
    expect(await revokedAt(bootstrapId)).not.toBeNull();
    // Now the two-day token is the only lasting one: a short one made by it cannot revoke it.
    const made = await call(
      lasting.clients.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "short-admin-3", role: Role.ROLE_ADMIN },
        ttl: { seconds: "300" },
      }),
    );
    const err = await expectRpcError(
      call(h.clientsAs(made.secret).accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: lasting.id,
      }),
    );
    expect(err.reason).toBe("LAST_ADMIN_CREDENTIAL");
    expect(err.message).toContain('usable that long now: "two-day-admin"');
    expect(await revokedAt(lasting.id)).toBeNull();
  });
});
