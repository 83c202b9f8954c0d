/**
 * A revoked token makes no credential once RevokeAccessToken answered OK
 * (src/issuance/access-tokens/caller.ts). An outside probe of stop 45 (2026-12-06, F8) had a
 * leaked admin token mint admin tokens after its revocation: a CreateAccessToken in flight
 * (slowed by a lock wait) committed after it; on another replica before its credential cache
 * heard of it (20 in one round); queued for its turn on a busy server. The minted tokens stayed
 * valid.
 *
 * Now the create's transaction reads its caller's row FOR SHARE and the revocation locks it FOR
 * NO KEY UPDATE first: whichever comes second waits for the first to commit. Deterministic: the
 * test holds the row (or the slug's unique index) with its own PostgreSQL transaction, waits
 * until the server's statement waits for that lock (pg_stat_activity), then lets go.
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import { ListAuditRecordsRequest } from "../../gen/ts/certmint/v1/audit_service";
import {
  type CertmintClients,
  call,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { waitFor } from "../support/wait";

describe("a revoked admin token creates no token", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** An admin token, authenticated once, so this process has it cached as valid. */
  async function leakedAdmin(slug: string): Promise<{ id: string; clients: CertmintClients }> {
    const res = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role: Role.ROLE_ADMIN } }),
    );
    const clients = h.clientsAs(res.secret);
    await call(clients.accessTokens, "listAccessTokens", { pageSize: 1, pageToken: "" });
    return { id: res.accessToken!.id, clients };
  }

  const mintAdmin = (clients: CertmintClients, slug: string) =>
    call(
      clients.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role: Role.ROLE_ADMIN } }),
    );

  const tokenRow = async (where: string, param: string) =>
    (
      await h.db.query<{
        id: string;
        creator_id: string | null;
        created_at: Date;
        revoked_at: Date | null;
      }>(`select id, creator_id, created_at, revoked_at from access_token where ${where} = $1`, [
        param,
      ])
    )[0];

  /** Server statements of this database waiting for a lock, whose text matches `pattern`. */
  const lockWaits = async (pattern: string) =>
    Number(
      (
        await h.db.query<{ n: string }>(
          `select count(*) as n from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock' and query ilike $1`,
          [pattern],
        )
      )[0]!.n,
    );

  /** Waits until `answer` settled or a statement matching `pattern` waits for a lock. */
  async function settledOrWaiting(
    answer: Promise<unknown>,
    pattern: string,
  ): Promise<"settled" | "waiting"> {
    let settled = false;
    answer.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    let waiting = false;
    await waitFor(`the call to answer or to wait for a lock (${pattern})`, async () => {
      if (settled) return true;
      waiting = (await lockWaits(pattern)) > 0;
      return waiting;
    });
    return settled && !waiting ? "settled" : "waiting";
  }

  async function holder(): Promise<Client> {
    const c = new Client({ connectionString: h.db.url });
    await c.connect();
    await c.query("begin");
    return c;
  }

  it("a create in flight commits before the revocation, which waits for it (created before revoked)", async () => {
    const leaked = await leakedAdmin("leaked-inflight");
    // An uncommitted row with the slug the leaked token asks for: its insert waits on the
    // unique index (any lock wait or slow statement does the same), its creator's row held.
    const slug = "minted-inflight";
    const hold = await holder();
    try {
      await hold.query(
        `insert into access_token select * from jsonb_populate_record(null::access_token,
           (select to_jsonb(a) || jsonb_build_object('id', gen_random_uuid(), 'slug', $2::text,
              'secret_hash', sha256(random()::text::bytea), 'secret_salt', null)
            from access_token a where id = $1))`,
        [leaked.id, slug],
      );
      const create = mintAdmin(leaked.clients, slug);
      create.catch(() => {});
      await waitFor(
        "the create to wait on the slug",
        async () => (await lockWaits('insert into "access_token"%')) > 0,
      );
      // The operator revokes the leaked token meanwhile.
      const revoke = call(h.accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: leaked.id,
      });
      revoke.catch(() => {});
      // Until stop 45 it answered OK at once, and the create committed a token afterwards.
      expect(await settledOrWaiting(revoke, "%for no key update%")).toBe("waiting");
      await hold.query("rollback");
      const minted = await create;
      const revoked = await revoke;
      expect(revoked.accessToken!.revokeTime).toBeInstanceOf(Date);
      // The minted token committed before the revocation, and says so: created before it.
      const mintedRow = (await tokenRow("slug", slug))!;
      const leakedRow = (await tokenRow("id", leaked.id))!;
      expect(mintedRow.id).toBe(minted.accessToken!.id);
      expect(mintedRow.creator_id).toBe(leaked.id);
      expect(leakedRow.revoked_at).not.toBeNull();
      expect(mintedRow.created_at.getTime()).toBeLessThan(leakedRow.revoked_at!.getTime());
      // An investigator finds it: the tokens whose creator is the revoked one, and the audit
      // records whose actor it is.
      const listed = await call(h.accessTokens, "listAccessTokens", {
        pageSize: 1000,
        pageToken: "",
      });
      expect(listed.accessTokens.filter((t) => t.creator === leaked.id).map((t) => t.slug)).toEqual(
        [slug],
      );
      const audit = await call(
        h.audit,
        "listAuditRecords",
        ListAuditRecordsRequest.fromPartial({
          pageSize: 100,
          actor: leaked.id,
          method: "/certmint.v1.AccessTokenService/CreateAccessToken",
        }),
      );
      expect(
        audit.auditRecords
          .filter((r) => r.statusCode === 0)
          .map((r) => [r.resourceType, r.resourceId]),
      ).toContainEqual(["access_token", mintedRow.id]);
    } finally {
      await hold.end();
    }
  });

  it("a create meeting a revocation in progress waits for it and is refused TOKEN_REVOKED", async () => {
    const leaked = await leakedAdmin("leaked-behind");
    const hold = await holder();
    try {
      // A revocation in progress (another replica's), not committed yet.
      await hold.query(
        "update access_token set revoked_at = now(), secret_salt = null where id = $1",
        [leaked.id],
      );
      const create = mintAdmin(leaked.clients, "minted-behind");
      create.catch(() => {});
      // Until stop 45 the create did not look at its creator's row: it answered OK.
      expect(await settledOrWaiting(create, "%for share%")).toBe("waiting");
      await hold.query("commit");
      const err = await expectRpcError(create);
      expect(err).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_REVOKED" });
      expect(err.message).toContain("nothing was changed");
      expect(await tokenRow("slug", "minted-behind")).toBeUndefined();
    } finally {
      await hold.end();
    }
  });

  it("a revocation this process has not heard of yet (another replica's, or a queued call's) stops every create and revoke", async () => {
    const leaked = await leakedAdmin("leaked-unheard");
    const victim = await leakedAdmin("victim-admin");
    // Made before the revocation with a request_id: a retry would hand its secret out again.
    const retried = CreateAccessTokenRequest.fromPartial({
      accessToken: { slug: "made-before", role: Role.ROLE_AUDITOR },
      requestId: "before-the-revocation",
    });
    const before = await call(leaked.clients.accessTokens, "createAccessToken", retried);
    // Committed as another replica commits it; this process's cache still holds the token as
    // valid (its NOTIFY not heard: the probe's window of about 100 ms, or a call authenticated
    // before it waited for its turn on a busy server).
    await h.db.query("update access_token set revoked_at = now() where id = $1", [leaked.id]);
    const answers = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => mintAdmin(leaked.clients, `minted-unheard-${i}`)),
    );
    for (const a of answers) {
      expect(a.status).toBe("rejected");
      const err = await expectRpcError(Promise.reject((a as PromiseRejectedResult).reason));
      expect(err).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_REVOKED" });
    }
    const retryErr = await expectRpcError(
      call(leaked.clients.accessTokens, "createAccessToken", retried),
    );
    expect(retryErr).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_REVOKED" });
    const revokeErr = await expectRpcError(
      call(leaked.clients.accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: victim.id,
      }),
    );
    expect(revokeErr).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_REVOKED" });
    const made = await h.db.query<{ id: string }>(
      "select id from access_token where creator_id = $1",
      [leaked.id],
    );
    expect(made.map((r) => r.id)).toEqual([before.accessToken!.id]);
    expect((await tokenRow("id", victim.id))!.revoked_at).toBeNull();
  });
});
