/**
 * CreateAccessToken with a request_id is safe to retry (src/issuance/access-tokens/request-id.ts):
 * a retry after a lost answer gets the same token and the same secret, which authenticates;
 * calls racing with one request_id make one token; the same request_id with another request is
 * ALREADY_EXISTS (REQUEST_ID_REUSED) naming the token; past the replay window the secret is not
 * handed out again (FAILED_PRECONDITION, naming the token); request_ids are per calling token.
 * Rows checked in PostgreSQL. Until stop 42 of 2026-12-06 a retry was ALREADY_EXISTS
 * (ACCESS_TOKEN_SLUG_TAKEN) and the first call's secret was lost with its answer.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateAccessTokenRequest,
  type CreateAccessTokenResponse,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import { ErrorInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import {
  type CertmintClients,
  call,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";

let h: TestCertmint;
beforeAll(async () => {
  h = await startTestCertmint();
});
afterAll(async () => {
  await h?.stop();
});

const create = (
  clients: Pick<CertmintClients, "accessTokens">,
  slug: string,
  requestId: string | undefined,
  description = "",
): Promise<CreateAccessTokenResponse> =>
  call(
    clients.accessTokens,
    "createAccessToken",
    CreateAccessTokenRequest.fromPartial({
      accessToken: { slug, description, role: Role.ROLE_AUDITOR },
      requestId,
    }),
  );

/** The ErrorInfo metadata of a failed call. */
async function errorMetadata(promise: Promise<unknown>): Promise<Record<string, string>> {
  try {
    await promise;
  } catch (err) {
    const raw = (err as { metadata?: { get(k: string): unknown[] } }).metadata?.get(
      "grpc-status-details-bin",
    )[0];
    const info = Status.decode(raw as Buffer).details.find((d) => d.typeUrl.endsWith(".ErrorInfo"));
    return info ? ErrorInfo.decode(info.value).metadata : {};
  }
  throw new Error("expected the call to fail");
}

const tokenRows = async (where: string, params: unknown[]) =>
  h.db.query<{ id: string; slug: string; secret_hash: Buffer }>(
    `select id, slug, secret_hash from access_token where ${where}`,
    params,
  );

/** The secret authenticates: the token reads itself. */
async function authenticates(secret: string, id: string): Promise<void> {
  const as = h.clientsAs(secret);
  const got = await call(as.accessTokens, "getAccessToken", { accessToken: id });
  expect(got.accessToken!.id).toBe(id);
}

describe("CreateAccessToken with a request_id", () => {
  it("a retry gets the same token and secret, and one row exists", async () => {
    const first = await create(h, "retry-auditor", "retry-1", "first");
    const again = await create(h, "retry-auditor", "retry-1", "first");
    expect(again.accessToken!.id).toBe(first.accessToken!.id);
    expect(again.secret).toBe(first.secret);
    expect(first.secret).toMatch(/^certmint_[A-Za-z0-9_-]{43}$/);
    await authenticates(again.secret, first.accessToken!.id);
    expect(await tokenRows("slug = $1", ["retry-auditor"])).toHaveLength(1);
    // The retry is recorded, naming the token, with no change.
    const records = await h.db.query<{ changes: unknown; status_code: number }>(
      "select changes, status_code from audit_record where method = $1 and resource_id = $2 order by created_at, id",
      ["/certmint.v1.AccessTokenService/CreateAccessToken", first.accessToken!.id],
    );
    expect(records.map((r) => r.status_code)).toEqual([0, 0]);
    expect(records[1]!.changes).toBeNull();
  });

  it("the same request_id with another request is ALREADY_EXISTS, naming the token; nothing written", async () => {
    const first = await create(h, "reuse-auditor", "reuse-1", "one");
    const before = await tokenRows("true", []);
    for (const [slug, description] of [
      ["reuse-auditor", "another description"],
      ["reuse-other-slug", "one"],
    ] as const) {
      const e = await expectRpcError(create(h, slug, "reuse-1", description));
      expect(e.code).toBe(status.ALREADY_EXISTS);
      expect(e.reason).toBe("REQUEST_ID_REUSED");
      expect((await errorMetadata(create(h, slug, "reuse-1", description))).access_token_id).toBe(
        first.accessToken!.id,
      );
    }
    expect(await tokenRows("true", [])).toHaveLength(before.length);
    expect(await tokenRows("slug = $1", ["reuse-other-slug"])).toHaveLength(0);
  });

  it("calls racing with one request_id make one token and all get its secret", async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => create(h, "race-auditor", "race-1")),
    );
    const ids = new Set(answers.map((a) => a.accessToken!.id));
    const secrets = new Set(answers.map((a) => a.secret));
    expect(ids.size).toBe(1);
    expect(secrets.size).toBe(1);
    expect(await tokenRows("slug = $1", ["race-auditor"])).toHaveLength(1);
    await authenticates(answers[0]!.secret, answers[0]!.accessToken!.id);
  });

  it("past the replay window the secret is not handed out again, and no second token is made", async () => {
    const first = await create(h, "late-auditor", "late-1");
    await h.db.query(
      "update access_token set created_at = created_at - interval '2 hours' where id = $1",
      [first.accessToken!.id],
    );
    const retry = create(h, "late-auditor", "late-1");
    const e = await expectRpcError(retry);
    expect(e.code).toBe(status.FAILED_PRECONDITION);
    expect(e.reason).toBe("TOKEN_SECRET_REPLAY_ENDED");
    expect((await errorMetadata(create(h, "late-auditor", "late-1"))).access_token_id).toBe(
      first.accessToken!.id,
    );
    expect(await tokenRows("slug = $1", ["late-auditor"])).toHaveLength(1);
  });

  it("a retry after the token was revoked is FAILED_PRECONDITION, and its salt is gone", async () => {
    const first = await create(h, "revoked-auditor", "revoked-1");
    await call(h.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: first.accessToken!.id,
    });
    const [row] = await h.db.query<{ salted: boolean }>(
      "select secret_salt is not null as salted from access_token where id = $1",
      [first.accessToken!.id],
    );
    expect(row!.salted).toBe(false);
    const e = await expectRpcError(create(h, "revoked-auditor", "revoked-1"));
    expect(e.code).toBe(status.FAILED_PRECONDITION);
    expect(e.reason).toBe("TOKEN_REVOKED");
    expect(e.message).not.toContain(first.secret);
    expect(await tokenRows("slug = $1", ["revoked-auditor"])).toHaveLength(1);
  });

  it("request_ids are per calling token", async () => {
    const admin2 = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "retry-second-admin", role: Role.ROLE_ADMIN },
      }),
    );
    const other = h.clientsAs(admin2.secret);
    const mine = await create(h, "per-token-a", "shared-id");
    const theirs = await create(other, "per-token-b", "shared-id");
    expect(theirs.accessToken!.id).not.toBe(mine.accessToken!.id);
    expect(theirs.secret).not.toBe(mine.secret);
    expect(await tokenRows("slug in ('per-token-a', 'per-token-b')", [])).toHaveLength(2);
  });

  it("without a request_id a retry is refused as before (the slug is taken)", async () => {
    await create(h, "plain-auditor", undefined);
    const e = await expectRpcError(create(h, "plain-auditor", undefined));
    expect(e.code).toBe(status.ALREADY_EXISTS);
    expect(e.reason).toBe("ACCESS_TOKEN_SLUG_TAKEN");
  });

  it("a request_id that is too long is INVALID_ARGUMENT, and nothing is written", async () => {
    const before = await tokenRows("true", []);
    const e = await expectRpcError(create(h, "long-id-auditor", "x".repeat(129)));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    // The request's limits (src/api/request-limits.ts) refuse it before the handler reads it.
    expect(e.reason).toBe("REQUEST_FIELD_INVALID");
    expect(e.message).toContain("request_id");
    // Printable characters only: the handler's own check.
    const control = await expectRpcError(create(h, "ctl-id-auditor", "a\u0007b"));
    expect(control.code).toBe(status.INVALID_ARGUMENT);
    expect(control.reason).toBe("REQUEST_ID_INVALID");
    expect(await tokenRows("true", [])).toHaveLength(before.length);
  });
});
