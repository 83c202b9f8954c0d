/**
 * The first admin credential (src/auth/bootstrap.ts): written once to <dataDir>/admin-token
 * (mode 0600), stored only as its SHA-256, never logged; not re-created while an admin token
 * is active; re-created once every admin token is revoked.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, status } from "@grpc/grpc-js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import { type RunningCertmint, startCertmint } from "../../src/app";
import { loadConfig } from "../../src/config";
import { type CertmintClients, call, expectRpcError, makeClients } from "../support/harness";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { type ServerProcess, startServerProcess } from "../support/server-process";

const TOKEN = /^certmint_[A-Za-z0-9_-]{43}$/;
const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** certmint in this process on `db`, with its log lines captured. */
interface Started {
  running: RunningCertmint;
  address: string;
  lines: string[];
  clientsAs(token: string | undefined): CertmintClients;
  stop(): Promise<void>;
}

describe("the first admin token", () => {
  let db: TestDatabase;
  // One key-encryption key for every start on this database, whatever the data directory.
  const kek = randomBytes(32).toString("base64");
  const dirs: string[] = [];
  const newDataDir = () => {
    const d = mkdtempSync(join(tmpdir(), "certmint-bootstrap-"));
    dirs.push(d);
    return d;
  };
  const dataDir = newDataDir();
  const tokenFile = join(dataDir, "admin-token");
  let proc: ServerProcess | undefined;
  let firstToken = "";

  async function start(dir: string): Promise<Started> {
    const config = loadConfig({
      CERTMINT_LISTEN: "127.0.0.1:0",
      DATABASE_URL: db.url,
      CERTMINT_DATA_DIR: dir,
      CERTMINT_KEK: kek,
      CERTMINT_SHUTDOWN_GRACE_MS: "1000",
    });
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (l: string) => lines.push(l) });
    const running = await startCertmint(config, logger);
    const address = `127.0.0.1:${running.port}`;
    const made: CertmintClients[] = [];
    return {
      running,
      address,
      lines,
      clientsAs(token) {
        const c = makeClients(address, token);
        made.push(c);
        return c;
      },
      async stop() {
        for (const set of made) for (const c of Object.values(set)) (c as Client).close();
        await running.shutdown();
      },
    };
  }

  const tokenRows = () =>
    db.query<{ id: string; slug: string; role: string; revoked_at: Date | null }>(
      "select id, slug, role, revoked_at from access_token order by created_at, id",
    );

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await proc?.stop();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("first start (the real server process) writes <dataDir>/admin-token, mode 0600, and logs only its path", async () => {
    proc = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_DATA_DIR: dataDir,
      CERTMINT_KEK: kek,
    });
    const content = readFileSync(tokenFile, "utf8");
    firstToken = content.trim();
    expect(firstToken).toMatch(TOKEN);
    expect(content).toBe(`${firstToken}\n`);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(proc.adminToken()).toBe(firstToken);

    // The log names the file; no line holds the token, nor its random part.
    await proc.stop();
    const output = proc.output();
    proc = undefined;
    const lines = output
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const created = lines.filter((l) => l.file === tokenFile);
    expect(created).toHaveLength(1);
    expect(String(created[0]!.msg)).toMatch(/admin access token/);
    expect(output).not.toContain(firstToken);
    expect(output).not.toContain(firstToken.slice("certmint_".length));
  });

  it("stores the token as one ADMIN row holding SHA-256 of it, and no column (of any table) holds the text", async () => {
    const rows = await db.query<{
      role: string;
      secret_hash: Buffer;
      client_identity: string | null;
      creator_id: string | null;
      revoked_at: Date | null;
      slug: string;
      description: string;
    }>("select * from access_token");
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row!.role).toBe("ADMIN");
    // Auditors read descriptions: the file by its name, not the server's path to it.
    expect(row!.description).toContain("the data directory's admin-token file");
    expect(row!.description).not.toContain(dataDir);
    expect(Buffer.from(row!.secret_hash).equals(sha256(firstToken))).toBe(true);
    expect(row!.client_identity).toBeNull();
    expect(row!.creator_id).toBeNull();
    expect(row!.revoked_at).toBeNull();
    // Its creation is in the audit trail, with certmint itself as the actor.
    const audit = await db.query<Record<string, unknown>>(
      "select actor_id, actor_slug, method, resource_type, resource_id, status_code from audit_record",
    );
    expect(audit).toEqual([
      {
        actor_id: "00000000-0000-0000-0000-000000000000",
        actor_slug: "certmint",
        method: "certmint/StartUp/CreateFirstAdminToken",
        resource_type: "access_token",
        resource_id: (row as unknown as { id: string }).id,
        status_code: 0,
      },
    ]);

    const secretPart = firstToken.slice("certmint_".length);
    const tables = await db.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'",
    );
    expect(tables.map((t) => t.table_name)).toContain("access_token");
    for (const { table_name } of tables) {
      const dump = await db.query<{ t: string }>(`select t::text as t from "${table_name}" t`);
      for (const { t } of dump) {
        expect(t, table_name).not.toContain(firstToken);
        expect(t, table_name).not.toContain(secretPart);
        expect(t, table_name).not.toContain(Buffer.from(firstToken).toString("hex"));
      }
    }
  });

  it("authenticates calls as that admin", async () => {
    const s = await start(dataDir);
    try {
      const res = await call(s.clientsAs(firstToken).accessTokens, "listAccessTokens", {
        pageSize: 0,
        pageToken: "",
      });
      expect(res.accessTokens).toHaveLength(1);
      expect(res.accessTokens[0]).toMatchObject({ role: Role.ROLE_ADMIN, creator: "" });
    } finally {
      await s.stop();
    }
  });

  it("a restart with the same database writes no new token, with the same or another data directory", async () => {
    const before = readFileSync(tokenFile, "utf8");
    const mtime = statSync(tokenFile).mtimeMs;
    const rowsBefore = await tokenRows();

    const same = await start(dataDir);
    await same.stop();
    expect(readFileSync(tokenFile, "utf8")).toBe(before);
    expect(statSync(tokenFile).mtimeMs).toBe(mtime);
    expect(same.lines.join("")).not.toContain("admin-token");

    const otherDir = newDataDir();
    const other = await start(otherDir);
    try {
      // The first token still works against the restarted server.
      await call(other.clientsAs(firstToken).accessTokens, "listAccessTokens", {
        pageSize: 0,
        pageToken: "",
      });
    } finally {
      await other.stop();
    }
    expect(existsSync(join(otherDir, "admin-token"))).toBe(false);
    expect(other.lines.join("")).not.toContain("admin-token");
    expect(readFileSync(tokenFile, "utf8")).toBe(before);
    expect(await tokenRows()).toEqual(rowsBefore);
  });

  it("once every admin token is revoked, the next start creates a new one", async () => {
    const s = await start(dataDir);
    const [first] = await tokenRows();
    try {
      const admin = s.clientsAs(firstToken);
      // The API refuses to revoke the last admin credential in force (nobody could administer
      // certmint until a restart); the token is untouched and still works.
      const refused = await expectRpcError(
        call(admin.accessTokens, "revokeAccessToken", {
          revokeCreatedTokens: false,
          accessToken: first!.id,
        }),
      );
      expect(refused).toMatchObject({
        code: status.FAILED_PRECONDITION,
        reason: "LAST_ADMIN_CREDENTIAL",
      });
      expect(refused.message).toContain("create another admin token");
      expect((await tokenRows())[0]!.revoked_at).toBeNull();
      await call(admin.accessTokens, "listAccessTokens", { pageSize: 0, pageToken: "" });
    } finally {
      await s.stop();
    }
    // An operator with the database revokes it there (or it expires), while certmint is down.
    await db.query("update access_token set revoked_at = now() where id = $1", [first!.id]);

    const again = await start(dataDir);
    try {
      const content = readFileSync(tokenFile, "utf8");
      const second = content.trim();
      expect(second).toMatch(TOKEN);
      expect(second).not.toBe(firstToken);
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      expect(again.lines.join("")).not.toContain(second);
      expect(
        again.lines.map((l) => JSON.parse(l)).filter((l) => l.file === tokenFile),
      ).toHaveLength(1);

      const rows = await tokenRows();
      expect(rows).toHaveLength(2);
      const [old, fresh] = rows;
      expect(old!.id).toBe(first!.id);
      expect(old!.revoked_at).not.toBeNull();
      expect(fresh!.role).toBe("ADMIN");
      expect(fresh!.revoked_at).toBeNull();
      expect(fresh!.slug).not.toBe(first!.slug);
      const [hash] = await db.query<{ secret_hash: Buffer }>(
        "select secret_hash from access_token where id = $1",
        [fresh!.id],
      );
      expect(Buffer.from(hash!.secret_hash).equals(sha256(second))).toBe(true);

      // The new token works; the revoked one still does not.
      const list = await call(again.clientsAs(second).accessTokens, "listAccessTokens", {
        pageSize: 0,
        pageToken: "",
      });
      expect(list.accessTokens.map((t) => t.id)).toEqual([first!.id, fresh!.id]);
      const err = await expectRpcError(
        call(again.clientsAs(firstToken).accessTokens, "listAccessTokens", {
          pageSize: 0,
          pageToken: "",
        }),
      );
      expect(err.reason).toBe("TOKEN_REVOKED");
    } finally {
      await again.stop();
    }
  });
});

describe("re-creating the admin token quickly, or when slugs like its own are taken", () => {
  let db: TestDatabase;
  const kek = randomBytes(32).toString("base64");
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-bootstrap-"));
  const config = () =>
    loadConfig({
      CERTMINT_LISTEN: "127.0.0.1:0",
      DATABASE_URL: db.url,
      CERTMINT_DATA_DIR: dataDir,
      CERTMINT_KEK: kek,
      CERTMINT_SHUTDOWN_GRACE_MS: "1000",
    });
  const silent = pino({ level: "silent" });

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // Regression: the bootstrap slug was `bootstrap-admin-<unix seconds>`, so a re-bootstrap
  // within the second of the previous one (start, revoke the bootstrap token, restart), or
  // after an admin named a token that way, failed start-up with ALREADY_EXISTS.
  it("a restart right after revoking the bootstrap token creates a new admin token", async () => {
    for (let round = 0; round < 3; round++) {
      const running = await startCertmint(config(), silent);
      const token = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
      const admin = makeClients(`127.0.0.1:${running.port}`, token);
      try {
        // Used once, then revoked where the API cannot (the last admin): in the database.
        await call(admin.accessTokens, "listAccessTokens", { pageSize: 0, pageToken: "" });
        await db.query(
          "update access_token set revoked_at = now() where role = 'ADMIN' and revoked_at is null",
        );
      } finally {
        for (const c of Object.values(admin)) (c as Client).close();
        await running.shutdown();
      }
    }
    const running = await startCertmint(config(), silent);
    await running.shutdown();
    expect(readFileSync(join(dataDir, "admin-token"), "utf8").trim()).toMatch(TOKEN);
    const rows = await db.query<{ slug: string; revoked_at: Date | null }>(
      "select slug, revoked_at from access_token where role = 'ADMIN'",
    );
    expect(rows).toHaveLength(4);
    expect(rows.filter((r) => r.revoked_at === null)).toHaveLength(1);
    expect(new Set(rows.map((r) => r.slug)).size).toBe(4);
  });

  it("starts and writes a new admin token even when bootstrap-admin-<now> is taken", async () => {
    let running = await startCertmint(config(), silent);
    const first = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
    const admin = makeClients(`127.0.0.1:${running.port}`, first);
    try {
      const now = Math.floor(Date.now() / 1000);
      for (let s = now; s < now + 60; s++) {
        const slug = `bootstrap-admin-${s}`;
        const [taken] = await db.query("select 1 from access_token where slug = $1", [slug]);
        if (taken) continue;
        await call(
          admin.accessTokens,
          "createAccessToken",
          CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role: Role.ROLE_AUDITOR } }),
        );
      }
      await db.query(
        "update access_token set revoked_at = now() where role = 'ADMIN' and revoked_at is null",
      );
    } finally {
      for (const c of Object.values(admin)) (c as Client).close();
      await running.shutdown();
    }

    running = await startCertmint(config(), silent);
    await running.shutdown();
    const second = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
    expect(second).toMatch(TOKEN);
    expect(second).not.toBe(first);
  });

  // Issue 10 item 1: such a binding authenticates nobody, so it must not count as the admin.
  it("an admin binding left without a CA by the binding migration is no admin credential: a start creates a token", async () => {
    await db.query("update access_token set revoked_at = now() where revoked_at is null");
    await db.query(
      `insert into access_token (id, slug, role, profile_ids, client_identity, client_identity_type,
         created_at, expires_at)
       values (gen_random_uuid(), 'migrated-admin', 'ADMIN', '[]', 'spiffe://x.example/admin',
         'URI_SAN', now(), now() + interval '1 day')`,
    );
    const running = await startCertmint(config(), silent);
    await running.shutdown();
    const rows = await db.query<{ slug: string; secret: boolean }>(
      `select slug, secret_hash is not null as secret from access_token
        where role = 'ADMIN' and revoked_at is null order by created_at`,
    );
    expect(rows).toEqual([
      { slug: "migrated-admin", secret: false },
      { slug: expect.stringMatching(/^bootstrap-admin-/), secret: true },
    ]);
  });
});
