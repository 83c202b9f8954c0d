/**
 * RevokeAccessToken refuses the last admin credential in force (FAILED_PRECONDITION
 * LAST_ADMIN_CREDENTIAL): nobody could create tokens, revoke a leaked one or manage CAs until a
 * restart. Two admins revoking each other at once: one wins, never both.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";

let h: TestCertmint;

beforeAll(async () => {
  h = await startTestCertmint();
});
afterAll(async () => {
  await h?.stop();
});

const activeAdmins = async () =>
  (
    await h.db.query<{ id: string }>(
      "select id from access_token where role = 'ADMIN' and revoked_at is null and expires_at > now()",
    )
  ).map((r) => r.id);

async function createAdmin(slug: string) {
  const res = await call(
    h.accessTokens,
    "createAccessToken",
    CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role: Role.ROLE_ADMIN } }),
  );
  return { id: res.accessToken!.id, clients: h.clientsAs(res.secret) };
}

it("refuses to revoke the last admin token in force, and changes nothing", async () => {
  const [only, ...others] = await activeAdmins();
  expect(others).toEqual([]);
  const err = await expectRpcError(
    call(h.accessTokens, "revokeAccessToken", { revokeCreatedTokens: false, accessToken: only! }),
  );
  expect(err).toMatchObject({
    code: status.FAILED_PRECONDITION,
    reason: "LAST_ADMIN_CREDENTIAL",
  });
  expect(err.message).toContain("create another admin token");
  expect(await activeAdmins()).toEqual([only]);
  // The token still works.
  await call(h.accessTokens, "listAccessTokens", { pageSize: 1, pageToken: "" });
});

it("with another admin in force one may go; revoking a revoked admin again changes nothing", async () => {
  const second = await createAdmin("second-admin");
  const revoked = await call(h.accessTokens, "revokeAccessToken", {
    revokeCreatedTokens: false,
    accessToken: second.id,
  });
  expect(revoked.accessToken!.revokeTime).toBeInstanceOf(Date);
  expect(await activeAdmins()).toHaveLength(1);
  // A token already revoked leaves the admin set as it is: no refusal.
  const again = await call(h.accessTokens, "revokeAccessToken", {
    revokeCreatedTokens: false,
    accessToken: second.id,
  });
  expect(again.accessToken!.revokeTime).toEqual(revoked.accessToken!.revokeTime);
  // Non-admin tokens are never affected by the rule.
  const auditor = await call(
    h.accessTokens,
    "createAccessToken",
    CreateAccessTokenRequest.fromPartial({
      accessToken: { slug: "an-auditor", role: Role.ROLE_AUDITOR },
    }),
  );
  await call(h.accessTokens, "revokeAccessToken", {
    revokeCreatedTokens: false,
    accessToken: auditor.accessToken!.id,
  });
});

it("two admins revoking each other at once: exactly one succeeds, one admin stays", async () => {
  const [first] = await activeAdmins();
  const other = await createAdmin("other-admin");
  const outcomes = await Promise.allSettled([
    call(h.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: other.id,
    }),
    call(other.clients.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: first!,
    }),
  ]);
  const ok = outcomes.filter((o) => o.status === "fulfilled");
  expect(ok).toHaveLength(1);
  const failed = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
  // The loser is refused as the last admin, or (when the winner revoked it first) its own
  // token no longer authenticates.
  expect([status.FAILED_PRECONDITION, status.UNAUTHENTICATED]).toContain(
    (failed.reason as { code: number }).code,
  );
  expect(await activeAdmins()).toHaveLength(1);
  for (const c of Object.values(other.clients)) (c as { close(): void }).close();
});
