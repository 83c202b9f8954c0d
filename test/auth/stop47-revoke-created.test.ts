/**
 * RevokeAccessToken with revoke_created_tokens (src/issuance/access-tokens/revoke.ts): the
 * token named and every token still in force whose creator chain leads to it, revoked in one
 * transaction with one revoked_at. Until stop 47 of 2026-12-06 the field was refused
 * (REVOKE_CREATED_TOKENS_UNSUPPORTED) and revoking a leaked admin token left the admin tokens
 * its holder had made in force: each had to be found and revoked one at a time, while those
 * still in force could make more.
 *
 * Two server processes on one database (as test/replicas/credential-changes.test.ts): B has
 * the tokens of the line cached and refuses them once it heard of the revocations. The
 * concurrency cases hold a row with a PostgreSQL transaction of the test and wait until the
 * server's statements wait for locks (pg_stat_activity): states, never durations.
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AccessTokenState,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import {
  attrRequest,
  createProfileRows,
  createRoot,
  KeyAlgorithm,
  PENDING_APPROVAL,
  REJECTED,
  requestStatus,
  rpcError,
} from "../certificates/helpers";
import {
  type CertmintClients,
  call,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { waitFor } from "../support/wait";

const REVOKE = "/certmint.v1.AccessTokenService/RevokeAccessToken";

interface Made {
  id: string;
  slug: string;
  secret: string;
  /** Clients sending it, to A and to B. */
  onA: CertmintClients;
  onB: CertmintClients;
}

describe("RevokeAccessToken with revoke_created_tokens", () => {
  let a: TestCertmint;
  let b: TestCertmint;
  let profileId = "";
  /** The data directory's admin token (bootstrap.ts names it bootstrap-admin-<random>). */
  let bootstrap = { id: "", slug: "" };

  beforeAll(async () => {
    a = await startTestCertmint();
    // The same database and data directory (the same admin token and key-encryption key).
    b = await startTestCertmint({ DATABASE_URL: a.db.url, CERTMINT_DATA_DIR: a.dataDir });
    const root = await createRoot(a, "root");
    ({ profileId } = await createProfileRows(a, {
      caId: root.id,
      slug: "gated",
      requireApproval: true,
    }));
    [bootstrap] = await a.db.query<{ id: string; slug: string }>(
      "select id, slug from access_token where slug like 'bootstrap-admin-%'",
    );
    await waitFor("both credential listeners", async () => {
      const [row] = await a.db.query<{ n: string }>(
        `select count(*) as n from pg_stat_activity
          where datname = current_database() and query = 'LISTEN "certmint_credentials"'`,
      );
      return Number(row!.n) >= 2;
    });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  /** A token made by `by` (A's clients of some token), with clients to A and B that send it. */
  async function make(
    by: CertmintClients,
    slug: string,
    role: Role,
    profiles: string[] = [],
  ): Promise<Made> {
    const res = await call(
      by.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug, role, certificateProfiles: profiles },
      }),
    );
    return {
      id: res.accessToken!.id,
      slug,
      secret: res.secret,
      onA: a.clientsAs(res.secret),
      onB: b.clientsAs(res.secret),
    };
  }

  /** A call every role may make (a read: each role sees the requests it may). */
  const anyCall = (clients: CertmintClients) =>
    call(clients.certificates, "listCertificateRequests", {
      pageSize: 1,
      pageToken: "",
      status: 0,
      certificateProfile: "",
    });

  const revoke = (by: CertmintClients, ref: string, created: boolean) =>
    call(by.accessTokens, "revokeAccessToken", {
      accessToken: ref,
      revokeCreatedTokens: created,
    });

  const rows = async (ids: string[]) =>
    new Map(
      (
        await a.db.query<{ id: string; slug: string; revoked_at: Date | null }>(
          "select id, slug, revoked_at from access_token where id = any($1::uuid[])",
          [ids],
        )
      ).map((r) => [r.id, r]),
    );

  const received = (h: TestCertmint) =>
    h.running.credentialChangesReceived().get("token-revoked") ?? 0;

  const pendingAs = async (clients: CertmintClients, name: string) => {
    const res = await call(
      clients.certificates,
      "issueCertificate",
      attrRequest("gated", {
        cn: name,
        dns: [name],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    expect(res.status).toBe(PENDING_APPROVAL);
    return res.certificateRequestId;
  };

  /** Server statements of this database waiting for a lock, whose text matches `pattern`. */
  const lockWaits = async (pattern: string) =>
    Number(
      (
        await a.db.query<{ n: string }>(
          `select count(*) as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and query ilike $1`,
          [pattern],
        )
      )[0]!.n,
    );

  async function holder(): Promise<Client> {
    const c = new Client({ connectionString: a.db.url });
    await c.connect();
    await c.query("begin");
    return c;
  }

  it("revokes the line (through a token revoked before) in one transaction, on both processes; the rest stays", async () => {
    const admin = a.clientsAs(a.adminToken);
    const lead = await make(admin, "lead", Role.ROLE_ADMIN);
    const admin2 = await make(lead.onA, "admin2", Role.ROLE_ADMIN);
    const issuer4 = await make(lead.onA, "issuer4", Role.ROLE_ISSUER, [profileId]);
    const issuer3 = await make(admin2.onA, "issuer3", Role.ROLE_ISSUER, [profileId]);
    // A token of the line revoked before, without the flag: what it made still counts.
    const mid = await make(lead.onA, "mid", Role.ROLE_ADMIN);
    const issuer5 = await make(mid.onA, "issuer5", Role.ROLE_ISSUER, [profileId]);
    const midRevoked = (await revoke(admin, "mid", false)).accessToken!;
    expect(midRevoked.state).toBe(AccessTokenState.ACCESS_TOKEN_STATE_REVOKED);
    // Today's revocation leaves what it created in force.
    await anyCall(issuer5.onA);
    const unrelated = await make(admin, "unrelated", Role.ROLE_ISSUER, [profileId]);
    const line = [admin2, issuer4, issuer3, issuer5];

    const waiting = await pendingAs(issuer3.onA, "issuer3.example.com");
    const bystander = await pendingAs(unrelated.onA, "unrelated.example.com");
    // Every one of them works on both processes, and B has it cached.
    for (const t of [lead, ...line, unrelated]) {
      await anyCall(t.onA);
      await anyCall(t.onB);
    }
    const heardBefore = received(b);

    const res = await revoke(admin, "lead", true);

    expect(res.accessToken!.slug).toBe("lead");
    expect(res.accessToken!.state).toBe(AccessTokenState.ACCESS_TOKEN_STATE_REVOKED);
    // Oldest first, as PostgreSQL orders them; every one REVOKED; not mid (revoked before).
    const oldestFirst = await a.db.query<{ id: string }>(
      "select id from access_token where id = any($1::uuid[]) order by created_at, id",
      [line.map((t) => t.id)],
    );
    expect(res.revokedCreatedTokens.map((t) => t.id)).toEqual(oldestFirst.map((r) => r.id));
    expect(res.revokedCreatedTokens.map((t) => t.slug).sort()).toEqual(
      ["admin2", "issuer3", "issuer4", "issuer5"].sort(),
    );
    for (const t of res.revokedCreatedTokens) {
      expect(t.state).toBe(AccessTokenState.ACCESS_TOKEN_STATE_REVOKED);
      expect(t.revokeTime).toEqual(res.accessToken!.revokeTime);
    }

    // In PostgreSQL: one revoked_at for the lead and its line; mid keeps its own; unrelated none.
    const after = await rows([lead.id, ...line.map((t) => t.id), mid.id, unrelated.id]);
    const at = after.get(lead.id)!.revoked_at!;
    expect(at).toBeInstanceOf(Date);
    for (const t of line) expect(after.get(t.id)!.revoked_at).toEqual(at);
    expect(after.get(mid.id)!.revoked_at).toEqual(midRevoked.revokeTime);
    expect(after.get(unrelated.id)!.revoked_at).toBeNull();

    // Each token of the line: its next call is refused, on A at once.
    for (const t of [lead, ...line]) {
      const err = await rpcError(anyCall(t.onA));
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(err.reason).toBe("TOKEN_REVOKED");
    }
    // B heard of each revocation (one announcement per token, lead included) and refuses them.
    await waitFor("B to hear of the five revocations", () => received(b) >= heardBefore + 5);
    for (const t of [lead, ...line]) {
      const err = await rpcError(anyCall(t.onB));
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(err.reason).toBe("TOKEN_REVOKED");
    }
    await anyCall(unrelated.onA);
    await anyCall(unrelated.onB);

    // The waiting request of a token of the line is REJECTED; the bystander's still waits.
    expect((await requestStatus(a, waiting)).certificateRequest!.status).toBe(REJECTED);
    const [rejected] = await a.db.query<{ error: { reason: string; message: string } }>(
      "select error from certificate_request where id = $1",
      [waiting],
    );
    expect(rejected!.error.reason).toBe("REQUEST_REJECTED");
    expect(rejected!.error.message).toContain('access token "issuer3" was revoked');
    expect((await requestStatus(a, bystander)).certificateRequest!.status).toBe(PENDING_APPROVAL);

    // Audit: one record per token revoked, in the call's transaction, under the revoking admin;
    // each of the line names the token whose revocation took it, the lead's lists them.
    const audits = await a.db.query<{
      resource_type: string;
      resource_id: string;
      status_code: number;
      actor_slug: string;
      changes: Array<{ field: string; before?: unknown; after?: unknown }>;
    }>(
      `select resource_type, resource_id, status_code, actor_slug, changes from audit_record
        where method = $1 and created_at = $2`,
      [REVOKE, at],
    );
    const byResource = new Map(audits.map((r) => [`${r.resource_type}/${r.resource_id}`, r]));
    expect(byResource.get(`certificate_request/${waiting}`)).toMatchObject({ status_code: 0 });
    for (const t of line) {
      const record = byResource.get(`access_token/${t.id}`)!;
      expect(record).toMatchObject({ status_code: 0, actor_slug: bootstrap.slug });
      expect(record.changes).toContainEqual({
        field: "revoked_with_access_token_id",
        after: lead.id,
      });
      expect(record.changes.find((c) => c.field === "revoked_at")).toMatchObject({ before: null });
    }
    const leadRecord = byResource.get(`access_token/${lead.id}`)!;
    expect(leadRecord.status_code).toBe(0);
    expect(leadRecord.changes).toContainEqual({
      field: "revoked_created_tokens",
      after: oldestFirst.map((r) => r.id),
    });
    expect(audits).toHaveLength(line.length + 2);
  });

  it("without the flag, revokes the token alone, lists nothing; with it later, cuts the line of the revoked token and keeps its revocation", async () => {
    const admin = a.clientsAs(a.adminToken);
    const parent = await make(admin, "parent", Role.ROLE_ADMIN);
    const child = await make(parent.onA, "child", Role.ROLE_AUDITOR);
    const first = await revoke(admin, "parent", false);
    expect(first.revokedCreatedTokens).toEqual([]);
    await anyCall(child.onA);

    const second = await revoke(admin, parent.id, true);
    // The first revocation stands (its time); the child goes now.
    expect(second.accessToken!.revokeTime).toEqual(first.accessToken!.revokeTime);
    expect(second.revokedCreatedTokens.map((t) => t.slug)).toEqual(["child"]);
    expect((await rows([child.id])).get(child.id)!.revoked_at).toEqual(
      second.revokedCreatedTokens[0]!.revokeTime,
    );
    expect((await rpcError(anyCall(child.onA))).reason).toBe("TOKEN_REVOKED");
    // Nothing left to cut: OK, nothing listed.
    expect((await revoke(admin, "parent", true)).revokedCreatedTokens).toEqual([]);
  });

  it("the caller's own token in the line: it ends its own line, and the answer is OK", async () => {
    const admin = a.clientsAs(a.adminToken);
    const top = await make(admin, "self-top", Role.ROLE_ADMIN);
    const self = await make(top.onA, "self", Role.ROLE_ADMIN);
    const below = await make(self.onA, "self-below", Role.ROLE_AUDITOR);
    const res = await revoke(self.onA, "self-top", true);
    expect(res.revokedCreatedTokens.map((t) => t.slug)).toEqual(["self", "self-below"]);
    for (const t of [top, self, below]) {
      expect((await rpcError(anyCall(t.onA))).reason).toBe("TOKEN_REVOKED");
    }
  });

  it("a token that a token of the line creates while the cascade waits for it is revoked too", async () => {
    const admin = a.clientsAs(a.adminToken);
    const head = await make(admin, "inflight-head", Role.ROLE_ADMIN);
    const maker = await make(head.onA, "inflight-maker", Role.ROLE_ADMIN);
    // An uncommitted row with the slug the maker asks for: its create waits on the unique
    // index, holding the maker's row FOR SHARE (caller.ts).
    const slug = "inflight-minted";
    const hold = await holder();
    try {
      await hold.query(
        `insert into access_token select * from jsonb_populate_record(null::access_token,
           (select to_jsonb(t) || jsonb_build_object('id', gen_random_uuid(), 'slug', $2::text,
              'secret_hash', sha256(random()::text::bytea), 'secret_salt', null, 'creator_id', null)
            from access_token t where id = $1))`,
        [maker.id, slug],
      );
      const create = call(
        maker.onA.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role: Role.ROLE_ADMIN } }),
      );
      create.catch(() => {});
      await waitFor(
        "the create to wait on the slug",
        async () => (await lockWaits('insert into "access_token"%')) > 0,
      );
      const cascade = revoke(admin, "inflight-head", true);
      cascade.catch(() => {});
      await waitFor(
        "the cascade to wait for the maker's row",
        async () => (await lockWaits("%for no key update%")) > 0,
      );
      await hold.query("rollback");
      const minted = await create;
      const res = await cascade;
      expect(res.revokedCreatedTokens.map((t) => t.slug)).toEqual(["inflight-maker", slug]);
      const after = await rows([head.id, maker.id, minted.accessToken!.id]);
      const at = after.get(head.id)!.revoked_at;
      expect(at).not.toBeNull();
      expect(after.get(minted.accessToken!.id)!.revoked_at).toEqual(at);
      const err = await rpcError(anyCall(a.clientsAs(minted.secret)));
      expect(err.reason).toBe("TOKEN_REVOKED");
    } finally {
      await hold.end();
    }
  });

  it("two cascades at once over overlapping lines both finish", async () => {
    const admin = a.clientsAs(a.adminToken);
    const other = await make(admin, "other-admin", Role.ROLE_ADMIN);
    const p = await make(admin, "overlap-p", Role.ROLE_ADMIN);
    const q = await make(p.onA, "overlap-q", Role.ROLE_ADMIN);
    const r = await make(q.onA, "overlap-r", Role.ROLE_ISSUER, [profileId]);
    const s = await make(q.onA, "overlap-s", Role.ROLE_AUDITOR);
    // The test holds r's row as a call of r in flight would (FOR SHARE): the first cascade
    // waits for it under the admin set's lock, the second waits for that lock.
    const hold = await holder();
    let answers: Array<Awaited<ReturnType<typeof revoke>>>;
    try {
      await hold.query("select id from access_token where id = $1 for share", [r.id]);
      const first = revoke(admin, "overlap-p", true);
      first.catch(() => {});
      await waitFor(
        "the first cascade to wait for r's row",
        async () => (await lockWaits("%for no key update%")) > 0,
      );
      // On B: the other process, the other admin.
      const second = revoke(other.onB, "overlap-q", true);
      second.catch(() => {});
      await waitFor(
        "the second cascade to wait for the admin set",
        async () => (await lockWaits("%pg_advisory_xact_lock%")) > 0,
      );
      await hold.query("commit");
      answers = await Promise.all([first, second]);
    } finally {
      await hold.end();
    }
    const [first, second] = answers;
    // The first took the whole line; the second found it revoked and left it as it was.
    expect(first!.revokedCreatedTokens.map((t) => t.slug)).toEqual([
      "overlap-q",
      "overlap-r",
      "overlap-s",
    ]);
    expect(second!.revokedCreatedTokens).toEqual([]);
    expect(second!.accessToken!.revokeTime).toEqual(first!.accessToken!.revokeTime);
    const after = await rows([p.id, q.id, r.id, s.id, other.id]);
    for (const t of [p, q, r, s]) {
      expect(after.get(t.id)!.revoked_at).toEqual(first!.accessToken!.revokeTime);
    }
    expect(after.get(other.id)!.revoked_at).toBeNull();
  });

  it("refuses LAST_ADMIN_CREDENTIAL, naming the line's admins, when the line holds every admin; nothing changes", async () => {
    const admin = a.clientsAs(a.adminToken);
    const snapshot = async () => ({
      tokens: await a.db.query(
        "select id, revoked_at, secret_salt is null as no_salt from access_token order by id",
      ),
      requests: await a.db.query("select id, status from certificate_request order by id"),
      audits: await a.db.query(
        "select count(*) as n from audit_record where method = $1 and status_code = 0",
        [REVOKE],
      ),
    });
    const waiting = await pendingAs(
      (await make(admin, "last-issuer", Role.ROLE_ISSUER, [profileId])).onA,
      "last.example.com",
    );
    const before = await snapshot();
    // The data directory's admin token made every other token, directly or not: its line
    // holds every admin in force.
    const err = await rpcError(revoke(admin, bootstrap.id, true));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBe("LAST_ADMIN_CREDENTIAL");
    expect(err.message).toMatch(
      new RegExp(
        `^revoking access token "${bootstrap.slug}" and the \\d+ tokens in force it created, directly or not \\(admins of the line: "${bootstrap.slug}", "other-admin"\\)`,
      ),
    );
    expect(err.message).toContain("nothing was changed");
    expect(err.preconditions).toEqual([
      expect.objectContaining({
        type: "LAST_ADMIN_CREDENTIAL",
        subject: `access_tokens/${bootstrap.slug}`,
      }),
    ]);
    expect(await snapshot()).toEqual(before);
    expect((await requestStatus(a, waiting)).certificateRequest!.status).toBe(PENDING_APPROVAL);
    // Still usable, on both processes.
    await anyCall(admin);
    await anyCall(b.clientsAs(a.adminToken));
  });
});
