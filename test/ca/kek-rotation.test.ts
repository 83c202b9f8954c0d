/**
 * KEK rotation (src/kek-rotation, since stop 43 of 2026-12-06), on PostgreSQL and on the
 * embedded database, with the compiled command and real server processes: a root, an
 * intermediate, a generated key kept on its certificate (STORE_ENCRYPTED) and one held on its
 * request (RETURN_ONCE) are re-sealed; the server then starts with the NEW key only, signs a
 * chain openssl verifies, and returns the kept keys. Refusals change no byte of any row: a
 * server running, a wrong current key, a new key equal to the current one, and a row that does
 * not open (a failure mid-way, after other tables were already rewritten in the transaction).
 */

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createPrivateKey, randomBytes, X509Certificate } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client as GrpcClient } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  CertificateProfile,
  PrivateKeyRetention,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { ListCertificatesRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { refuseRunningServers } from "../../src/kek-rotation/main";
import { rotateInTransaction } from "../../src/kek-rotation/rotate";
import { startEmbeddedPostgres } from "../../src/store/embedded-postgres";
import { SERVER_PRESENCE_LOCK_KEY } from "../../src/store/notifications";
import { attrRequest } from "../certificates/helpers";
import { createTlsServerPolicy } from "../support/fixtures";
import { type CertmintClients, call, expectRpcError, makeClients } from "../support/harness";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  ROOT,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../support/wait";
import {
  createIntermediate,
  createRoot,
  runServerExpectingExit,
  TempDir,
  verifyChain,
} from "./helpers";

const ENTRY = join(ROOT, "dist", "src", "kek-rotation", "main.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The compiled rotation command, as `make rotate-kek` runs it. */
function rotate(env: Record<string, string>, args: string[]): Promise<Run> {
  const child: ChildProcess = spawn(process.execPath, [ENTRY, ...args], {
    cwd: ROOT,
    env: { ...process.env, CERTMINT_LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

type Query = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

/** The tables the rotation may write, every column of every row (bytea as hex). */
const ROTATED_TABLES = ["certificate_authority", "certificate_request", "certificate", "kek_check"];
async function snapshot(query: Query): Promise<string> {
  const parts: string[] = [];
  for (const table of ROTATED_TABLES) {
    const rows = await query<{ t: string }>(
      `select row_to_json(r)::text as t from "${table}" r order by r."id"`,
    );
    parts.push(`${table}:\n${rows.map((r) => r.t).join("\n")}`);
  }
  return parts.join("\n");
}

async function sealedBlobs(query: Query): Promise<Map<string, string>> {
  const rows = await query<{ k: string; v: string }>(
    `select 'ca ' || id as k, encode(sealed_private_key, 'hex') as v from certificate_authority
     union all select 'request ' || id, encode(sealed_private_key, 'hex') from certificate_request where sealed_private_key is not null
     union all select 'certificate ' || id, encode(sealed_private_key, 'hex') from certificate where sealed_private_key is not null
     union all select 'check', encode(sealed, 'hex') from kek_check`,
  );
  return new Map(rows.map((r) => [r.k, r.v]));
}

/** What the first server made, to be checked after the rotation. */
interface Made {
  rootPem: string;
  intermediatePem: string;
  kept: { pem: string; key: string };
  held: { pem: string; key: string };
  pageToken: string;
}

async function populate(c: CertmintClients): Promise<Made> {
  const root = await createRoot(c, "root");
  const intermediate = await createIntermediate(c, "inter", "root");
  await createTlsServerPolicy(c, "web-policy", 30 * 86_400);
  for (const [slug, retention] of [
    ["keep", PrivateKeyRetention.PRIVATE_KEY_RETENTION_STORE_ENCRYPTED],
    ["web", PrivateKeyRetention.PRIVATE_KEY_RETENTION_RETURN_ONCE],
  ] as const) {
    await call(c.profiles, "createCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug,
        certificatePolicy: "web-policy",
        issuer: { $case: "certificateAuthority", value: "inter" },
        privateKeyRetention: retention,
      }),
    });
  }
  const kept = await call(c.certificates, "issueCertificate", keptRequest());
  const held = await call(c.certificates, "issueCertificate", heldRequest());
  // A request_id's token and a page token: both made with keys derived from the KEK.
  await call(c.accessTokens, "createAccessToken", tokenRequest());
  const page = await call(c.certificates, "listCertificates", listRequest());
  expect(page.nextPageToken).not.toBe("");
  return {
    rootPem: root.certificatePem,
    intermediatePem: intermediate.certificatePem,
    kept: { pem: kept.certificate!.certificatePem, key: kept.privateKeyPem },
    held: { pem: held.certificate!.certificatePem, key: held.privateKeyPem },
    pageToken: page.nextPageToken,
  };
}

const keptRequest = () =>
  attrRequest("keep", { cn: "kept.example.com", dns: ["kept.example.com"], requestId: "kept-1" });
const heldRequest = () =>
  attrRequest("web", { cn: "held.example.com", dns: ["held.example.com"], requestId: "held-1" });
const tokenRequest = () =>
  CreateAccessTokenRequest.fromPartial({
    accessToken: { slug: "rotation-auditor", role: Role.ROLE_AUDITOR },
    requestId: "token-1",
  });
const listRequest = (pageToken = "") =>
  ListCertificatesRequest.fromPartial({ pageSize: 1, pageToken });

/** After the rotation, on a server started with the new key. */
async function checkAfterRotation(c: CertmintClients, made: Made, tmp: TempDir): Promise<void> {
  // The intermediate's key signs; the chain verifies with openssl up to the root.
  const leaf = await call(
    c.certificates,
    "issueCertificate",
    attrRequest("web", { cn: "after.example.com", dns: ["after.example.com"] }),
  );
  const verified = verifyChain(tmp, made.rootPem, leaf.certificate!.certificatePem, [
    made.intermediatePem,
  ]);
  expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  // The root's key signs too.
  const second = await createIntermediate(c, "inter-2", "root");
  expect(verifyChain(tmp, made.rootPem, second.certificatePem).code).toBe(0);
  // The kept keys come back, unchanged, and match their certificates.
  const kept = await call(c.certificates, "issueCertificate", keptRequest());
  expect(kept.certificate!.certificatePem).toBe(made.kept.pem);
  expect(kept.privateKeyPem).toBe(made.kept.key);
  expect(
    new X509Certificate(made.kept.pem).checkPrivateKey(createPrivateKey(kept.privateKeyPem)),
  ).toBe(true);
  const held = await call(c.certificates, "issueCertificate", heldRequest());
  expect(held.privateKeyPem).toBe(made.held.key);
  expect(
    new X509Certificate(made.held.pem).checkPrivateKey(createPrivateKey(held.privateKeyPem)),
  ).toBe(true);
  // What the rotation report says of values derived from the KEK: documented errors.
  const page = await expectRpcError(
    call(c.certificates, "listCertificates", listRequest(made.pageToken)),
  );
  expect(page).toMatchObject({ code: 3, reason: "PAGE_TOKEN_INVALID" }); // INVALID_ARGUMENT
  const token = await expectRpcError(call(c.accessTokens, "createAccessToken", tokenRequest()));
  expect(token).toMatchObject({ code: 6, reason: "ACCESS_TOKEN_SLUG_TAKEN" }); // ALREADY_EXISTS
}

interface Mode {
  name: string;
  /** The server's and the rotation's environment with this key file. */
  env(kekFile: string): Record<string, string>;
  /** Runs `fn` on the database while no server runs (the embedded one: opened here). */
  withDb<T>(fn: (q: Query) => Promise<T>): Promise<T>;
  /** After a server stopped: its sessions are gone (PostgreSQL ends them asynchronously). */
  afterStop(): Promise<void>;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  runningRefusal: RegExp;
}

function postgresMode(dir: string): Mode {
  let db: TestDatabase;
  return {
    name: "PostgreSQL",
    env: (kekFile) => ({
      DATABASE_URL: db.url,
      CERTMINT_DATA_DIR: join(dir, "data"),
      CERTMINT_KEK_FILE: kekFile,
    }),
    withDb: (fn) => fn(((sql: string, params?: unknown[]) => db.query(sql, params)) as Query),
    afterStop: () =>
      waitFor("the server's sessions to end", async () => {
        const [row] = await db.query<{ n: string }>(
          "select count(*) as n from pg_stat_activity where datname = current_database() and application_name = 'certmint'",
        );
        return row!.n === "0";
      }),
    async setUp() {
      db = await createTestDatabase({ migrated: true });
    },
    async tearDown() {
      await db?.drop();
    },
    runningRefusal:
      /^certmint rotate-kek: a certmint server is using this database \(\d+ session\(s\): pid \d+ from [^)]+\); stop every certmint process on it first; nothing was changed \(DATABASE_IN_USE\)\n$/,
  };
}

function embeddedMode(dir: string): Mode {
  const dataDir = join(dir, "data");
  return {
    name: "embedded",
    env: (kekFile) => ({
      DATABASE_URL: "",
      CERTMINT_DATA_DIR: dataDir,
      CERTMINT_KEK_FILE: kekFile,
    }),
    async withDb(fn) {
      const embedded = await startEmbeddedPostgres(dataDir);
      const client = new Client({
        connectionString: "postgresql://postgres@embedded/postgres",
        stream: embedded.stream,
      } as ConstructorParameters<typeof Client>[0]);
      try {
        await client.connect();
        const query = (async (sql: string, params?: unknown[]) =>
          (await client.query(sql, params)).rows) as Query;
        return await fn(query);
      } finally {
        await client.end().catch(() => undefined);
        await embedded.stop();
      }
    },
    afterStop: async () => undefined,
    setUp: async () => undefined,
    tearDown: async () => undefined,
    runningRefusal:
      /^certmint rotate-kek: the embedded database in this data directory is in use by another certmint \(process \d+\).*nothing was changed \(DATABASE_IN_USE\)\n$/,
  };
}

describe.each([
  ["PostgreSQL", postgresMode],
  ["embedded", embeddedMode],
])("KEK rotation on %s", { timeout: 4 * START_LIMIT_MS }, (_name, makeMode) => {
  const dir = mkdtempSync(join(tmpdir(), "certmint-kek-rotation-"));
  const mode = makeMode(dir);
  const tmp = new TempDir();
  const oldKek = join(dir, "old.key");
  const newKek = join(dir, "new.key");
  let server: ServerProcess | undefined;
  let clients: CertmintClients | undefined;
  let made: Made;

  const startServer = async (kekFile: string) => {
    server = await startServerProcess({ ...mode.env(kekFile), CERTMINT_LOG_FORMAT: "json" });
    clients = makeClients(server.address, server.adminToken());
    return clients;
  };
  const stopServer = async () => {
    for (const client of Object.values(clients ?? {})) (client as GrpcClient).close();
    clients = undefined;
    const s = server;
    server = undefined;
    expect(await s?.stop()).toBe(0);
    await mode.afterStop();
  };

  beforeAll(async () => {
    writeFileSync(oldKek, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    await mode.setUp();
    made = await populate(await startServer(oldKek));
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    await stopServer().catch(() => undefined);
    await mode.tearDown();
    tmp.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is refused while a server uses the database, changing nothing", async () => {
    const before = await (mode.name === "PostgreSQL" ? mode.withDb(snapshot) : undefined);
    const run = await rotate(mode.env(oldKek), ["--generate-new-kek-file", newKek]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toMatch(mode.runningRefusal);
    expect(existsSync(newKek)).toBe(false);
    await stopServer();
    if (before !== undefined) expect(await mode.withDb(snapshot)).toBe(before);
    // The embedded database: read once its server stopped, and again around a refused run.
    const stopped = await mode.withDb(snapshot);
    await startServer(oldKek);
    const again = await rotate(mode.env(oldKek), ["--generate-new-kek-file", newKek]);
    expect(again.code, again.stderr).toBe(2);
    await stopServer();
    expect(await mode.withDb(snapshot)).toBe(stopped);
  });

  it("is refused with a wrong current key, and with a new key equal to the current one", async () => {
    const before = await mode.withDb(snapshot);
    const wrong = join(dir, "wrong.key");
    writeFileSync(wrong, randomBytes(32), { mode: 0o600 });
    const mismatch = await rotate(mode.env(wrong), ["--generate-new-kek-file", newKek]);
    expect(mismatch.code, mismatch.stderr).toBe(2);
    expect(mismatch.stderr).toMatch(
      /^certmint rotate-kek: the key-encryption key does not match the one this database's CA keys were sealed with; refusing to rotate \(nothing was changed\) \(KEK_MISMATCH\)\n$/,
    );
    // Proven before the new key file is written: nothing is left behind.
    expect(existsSync(newKek)).toBe(false);
    const same = await rotate(mode.env(oldKek), ["--new-kek-file", oldKek]);
    expect(same.code, same.stderr).toBe(2);
    expect(same.stderr).toMatch(/\(KEK_UNCHANGED\)\n$/);
    // A new key file others could read (or write) is refused before anything is sealed with it.
    const shared = join(dir, "shared.key");
    writeFileSync(shared, `${randomBytes(32).toString("base64")}\n`, { mode: 0o644 });
    chmodSync(shared, 0o644);
    const open = await rotate(mode.env(oldKek), ["--new-kek-file", shared]);
    expect(open.code, open.stderr).toBe(2);
    expect(open.stderr).toMatch(
      /readable or writable by other users \(mode 0644\).*\(NEW_KEK_INVALID\)\n$/,
    );
    expect(await mode.withDb(snapshot)).toBe(before);
  });

  it("rolls everything back when a sealed key does not open mid-way", async () => {
    // The last table rotated: the CA and request keys were already re-sealed in the transaction.
    const [victim] = await mode.withDb((q) =>
      q<{ id: string; sealed: Buffer }>(
        "select id, sealed_private_key as sealed from certificate where sealed_private_key is not null",
      ),
    );
    const corrupt = Buffer.from(victim!.sealed);
    corrupt[20] = corrupt[20]! ^ 0xff;
    await mode.withDb((q) =>
      q("update certificate set sealed_private_key = $1 where id = $2", [corrupt, victim!.id]),
    );
    const before = await mode.withDb(snapshot);
    const run = await rotate(mode.env(oldKek), ["--generate-new-kek-file", newKek]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toBe(
      `certmint rotate-kek: the sealed key of certificate ${victim!.id} does not open with the current key-encryption key (damaged, or copied from another row or database); nothing was rotated: restore that row from a backup, or delete it, then run the rotation again; ${newKek} was generated by this run and seals nothing: delete it, or give it with --new-kek-file (SEALED_KEY_UNREADABLE)\n`,
    );
    expect(await mode.withDb(snapshot)).toBe(before);
    // The key file it generated holds a key nothing was sealed with: removed for the next run.
    rmSync(newKek, { force: true });
    await mode.withDb((q) =>
      q("update certificate set sealed_private_key = $1 where id = $2", [
        victim!.sealed,
        victim!.id,
      ]),
    );
  });

  it("re-seals every key; the server then starts with the new key only, signs and returns the kept keys", async () => {
    const before = await mode.withDb(sealedBlobs);
    // Two CAs, one kept certificate key, one key held on its request, the check value.
    expect([...before.keys()].filter((k) => k.startsWith("ca ")).length).toBe(2);
    expect([...before.keys()].filter((k) => k.startsWith("certificate ")).length).toBe(1);
    expect([...before.keys()].filter((k) => k.startsWith("request ")).length).toBe(1);
    const run = await rotate(mode.env(oldKek), ["--generate-new-kek-file", newKek]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain("CA keys re-sealed:          2\n");
    expect(run.stdout).toContain("request keys re-sealed:     1 ");
    expect(run.stdout).toContain("certificate keys re-sealed: 1 ");
    expect(run.stdout).toContain("KEK check value:            resealed\n");
    expect(run.stdout).toContain("access tokens made with a request_id: 1 ");
    expect(run.stdout).toContain("ACME External Account Binding keys not used yet: 0");
    // Never a key byte: neither key, in any encoding we write them.
    const oldBytes = await loadKeyBytes(oldKek);
    const newBytes = await loadKeyBytes(newKek);
    for (const k of [oldBytes, newBytes]) {
      for (const text of [k.toString("base64"), k.toString("hex"), k.toString("base64url")]) {
        expect(run.stdout + run.stderr).not.toContain(text);
      }
    }
    expect(statSync(newKek).mode & 0o777).toBe(0o600);
    const after = await mode.withDb(sealedBlobs);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [k, v] of after) expect(v, k).not.toBe(before.get(k));

    // The old key is refused now, as a wrong one.
    const refused = await runServerExpectingExit({
      ...mode.env(oldKek),
      CERTMINT_LOG_FORMAT: "json",
    });
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(
      "the key-encryption key does not match the one this database's CA keys were sealed with",
    );
    await mode.afterStop();

    await checkAfterRotation(await startServer(newKek), made, tmp);
    await stopServer();
  });
});

describe("the check before commit: a bug that writes keys nobody can open is never committed", () => {
  let db: TestDatabase;
  const dir = mkdtempSync(join(tmpdir(), "certmint-kek-verify-"));
  const kekFile = join(dir, "kek.key");
  beforeAll(async () => {
    writeFileSync(kekFile, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    db = await createTestDatabase({ migrated: true });
    const server = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_DATA_DIR: join(dir, "data"),
      CERTMINT_KEK_FILE: kekFile,
      CERTMINT_LOG_FORMAT: "json",
    });
    const c = makeClients(server.address, server.adminToken());
    try {
      await createRoot(c, "root-a");
      await createRoot(c, "root-b");
    } finally {
      for (const client of Object.values(c)) (client as GrpcClient).close();
      expect(await server.stop()).toBe(0);
    }
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("CA keys written to each other's rows: the read-back with the new key fails, and it rolls back", async () => {
    const { rotateInTransaction } = await import("../../src/kek-rotation/rotate");
    const current = await loadKeyBytes(kekFile);
    const query = ((sql: string, params?: unknown[]) => db.query(sql, params)) as Query;
    const before = await snapshot(query);
    // The injected bug: the CA keys' update gets its blobs in the wrong order.
    const buggy = {
      query: ((sql: string, params?: unknown[]) => {
        if (sql.startsWith(`update "certificate_authority"`) && params) {
          const [ids, blobs] = params as [string[], Buffer[]];
          expect(ids).toHaveLength(2);
          return db.query(sql, [ids, [...blobs].reverse()]);
        }
        return db.query(sql, params);
      }) as Query,
    };
    await db.query("begin");
    const outcome = await rotateInTransaction(buggy, current, randomBytes(32)).then(
      () => "committed",
      (err: { reason?: string; message?: string }) => `${err.reason}: ${err.message}`,
    );
    await db.query("rollback");
    expect(outcome).toMatch(
      /^KEK_ROTATION_VERIFY_FAILED: after re-sealing, the key of certificate_authority [0-9a-f-]{36} does not open with the new key; rolled back, nothing was rotated$/,
    );
    expect(await snapshot(query)).toBe(before);
  });
});

async function loadKeyBytes(file: string): Promise<Buffer> {
  const { loadOrCreateKek } = await import("../../src/signer/kek");
  return (await loadOrCreateKek({ file, createIfMissing: false })).key;
}

describe("every bytea column is known: a sealed one the rotation does not rewrite fails here", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("lists the sealed columns (rotate.ts SEALED_COLUMNS) and the others, which hold no sealed key", async () => {
    const { SEALED_COLUMNS } = await import("../../src/kek-rotation/rotate");
    const rows = await db.query<{ c: string }>(
      `select table_name || '.' || column_name as c from information_schema.columns
        where table_schema = 'public' and data_type = 'bytea' order by 1`,
    );
    const sealed = [...SEALED_COLUMNS.map((s) => `${s.table}.${s.column}`), "kek_check.sealed"];
    // Hashes, salts and DER the server makes from public data, never sealed under the KEK.
    const notSealed = rows.map((r) => r.c).filter((c) => !sealed.includes(c));
    expect(rows.map((r) => r.c)).toEqual(expect.arrayContaining(sealed));
    expect(notSealed).toEqual(KNOWN_UNSEALED);
  });
});

/** bytea columns that hold no sealed blob (checked by hand at stop 43 of 2026-12-06). */
const KNOWN_UNSEALED: string[] = [
  "access_token.secret_hash", // SHA-256 of a token's secret
  "access_token.secret_salt", // random; the secret is an HMAC of it (request-id.ts)
  "certificate.crl_entry", // the DER of the certificate's CRL entry: public
  "kek_check.kek_id", // the current KEK's id, an HMAC under it (since stop 44 of 2026-12-06)
];

describe("KEK rotation on PostgreSQL and the servers' presence lock", () => {
  // Every LISTEN connection of a server holds an advisory lock shared (src/store/notifications.ts)
  // and the rotation takes it exclusively, so a server is seen even where its sessions' names
  // are not "certmint" (a pooler or proxy that renames them, PGAPPNAME tricks): here a session
  // holding the lock under another name stands for such a server. Since stop 43 of 2026-12-06.
  const dir = mkdtempSync(join(tmpdir(), "certmint-kek-presence-"));
  const oldKek = join(dir, "old.key");
  const newKek = join(dir, "new.key");
  let db: TestDatabase;
  let server: ServerProcess | undefined;
  const env = () => ({
    DATABASE_URL: db.url,
    CERTMINT_DATA_DIR: join(dir, "data"),
    CERTMINT_KEK_FILE: oldKek,
  });
  /** Sessions holding the presence lock (int8 key: classid high 32 bits, objid low 32 bits). */
  const holders = async () => {
    const key = BigInt(SERVER_PRESENCE_LOCK_KEY);
    const [row] = await db.query<{ n: string }>(
      `select count(*) as n from pg_locks where locktype = 'advisory' and granted and mode = 'ShareLock'
         and classid = $1::bigint::oid and objid = $2::bigint::oid and objsubid = 1
         and database = (select oid from pg_database where datname = current_database())`,
      [String(key >> 32n), String(key & 0xffffffffn)],
    );
    return Number(row!.n);
  };

  beforeAll(async () => {
    writeFileSync(oldKek, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is held by a running server's LISTEN connections, and released when it stops", {
    timeout: 4 * START_LIMIT_MS,
  }, async () => {
    server = await startServerProcess({ ...env(), CERTMINT_LOG_FORMAT: "json" });
    await waitFor(
      "the server's LISTEN connections to hold the presence lock",
      async () => (await holders()) > 0,
    );
    expect(await server.stop()).toBe(0);
    server = undefined;
    await waitFor("the lock to be released", async () => (await holders()) === 0);
  });

  it("refuses, after the tables are locked, a server that came meanwhile, and commits nothing", async () => {
    // A server that started between the first look for servers and the rotation's locks read
    // the old check value: inside the transaction, once locked, it is looked for again. Here a
    // session named as servers name theirs stands for it, present when the locks are taken.
    const rotation = new Client({ connectionString: db.url });
    const server = new Client({ connectionString: db.url, application_name: "certmint" });
    await rotation.connect();
    await server.connect();
    try {
      const before = await db.query("select encode(sealed, 'hex') as s from kek_check");
      await rotation.query("begin");
      const current = readFileSync(oldKek, "utf8");
      const err = await rotateInTransaction(
        { query: async (sql, params) => (await rotation.query(sql, params)).rows },
        Buffer.from(current.trim(), "base64"),
        randomBytes(32),
        () => refuseRunningServers(rotation),
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      await rotation.query("rollback");
      expect(String(err)).toMatch(/a certmint server is using this database \(1 session/);
      expect(await db.query("select encode(sealed, 'hex') as s from kek_check")).toEqual(before);
    } finally {
      await server.end();
      await rotation.end();
    }
  });

  it("refuses a new key file another user owns, one in a directory others may write, an all-zero key and a FIFO, changing nothing", async () => {
    const before = await db.query("select encode(sealed, 'hex') as s from kek_check");
    const refusedWith = async (args: string[], why: RegExp) => {
      const r = await rotate(env(), args);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).toMatch(/\(NEW_KEK_INVALID\)\n$/);
    };
    const foreign = join(dir, "foreign.key");
    writeFileSync(foreign, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    chownSync(foreign, 65534, 65534);
    await refusedWith(["--new-kek-file", foreign], /belongs to uid 65534/);
    const open = join(dir, "open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    await refusedWith(
      ["--generate-new-kek-file", join(open, "gen.key")],
      /writable by other users/,
    );
    expect(existsSync(join(open, "gen.key"))).toBe(false);
    const zero = join(dir, "zero.key");
    writeFileSync(zero, Buffer.alloc(32), { mode: 0o600 });
    await refusedWith(["--new-kek-file", zero], /does not hold a random key/);
    const fifo = join(dir, "fifo.key");
    execFileSync("mkfifo", ["-m", "0600", fifo]);
    await refusedWith(["--new-kek-file", fifo], /is not a regular file/);
    expect(await db.query("select encode(sealed, 'hex') as s from kek_check")).toEqual(before);
  });

  it("refuses the rotation while a session of another name holds it, and runs once it is let go", async () => {
    const other = new Client({ connectionString: db.url, application_name: "a-renamed-server" });
    await other.connect();
    try {
      await other.query("select pg_advisory_lock_shared($1::int8)", [SERVER_PRESENCE_LOCK_KEY]);
      const checkBefore = await db.query("select encode(sealed, 'hex') as s from kek_check");
      const refused = await rotate(env(), ["--generate-new-kek-file", newKek]);
      expect(refused.code, refused.stdout + refused.stderr).toBe(2);
      expect(refused.stderr).toMatch(/holds certmint's presence lock.*\(DATABASE_IN_USE\)\n$/);
      expect(existsSync(newKek)).toBe(false);
      expect(await db.query("select encode(sealed, 'hex') as s from kek_check")).toEqual(
        checkBefore,
      );
      await other.query("select pg_advisory_unlock_shared($1::int8)", [SERVER_PRESENCE_LOCK_KEY]);
      const done = await rotate(env(), ["--generate-new-kek-file", newKek]);
      expect(done.code, done.stderr).toBe(0);
      // The rotation is in the audit trail: which key replaced which (ids, never keys), counts.
      const records = await db.query<{
        actor_slug: string;
        changes: Array<Record<string, unknown>>;
      }>(`select actor_slug, changes from audit_record where resource_type = 'key_encryption_key'`);
      expect(records).toHaveLength(1);
      expect(records[0]!.actor_slug).toBe("rotate-kek");
      const kekIds = records[0]!.changes.find((c) => c.field === "kek_id")!;
      expect(kekIds.before).toMatch(/^[0-9a-f]{16}$/);
      expect(kekIds.after).toMatch(/^[0-9a-f]{16}$/);
      expect(kekIds.after).not.toBe(kekIds.before);
      const keyText = readFileSync(newKek, "utf8").trim();
      expect(JSON.stringify(records)).not.toContain(keyText);
      expect(await db.query("select encode(sealed, 'hex') as s from kek_check")).not.toEqual(
        checkBefore,
      );
    } finally {
      await other.end();
    }
  });
});
