/**
 * Stop-50 outside probe DATA: README "Rotating the key-encryption key" with data, and a rotation
 * cut short, on PostgreSQL. The compiled command (`make rotate-kek`'s
 * dist/src/kek-rotation/main.js) on a database holding CAs of every key family (EC P-256 and
 * P-384, RSA, Ed25519) and a key certmint keeps for a certificate is SIGKILLed inside its
 * transaction, after it re-sealed every key (held there by a lock on the audit table it writes
 * last). Nothing of it stays: every sealed byte and the check value as before, the old KEK still
 * the one. Rerun with the key file the killed run generated: every sealed key re-sealed (format
 * 2, the new KEK's id, no key in the clear), the old KEK refused at start-up, the new one signing
 * with every CA. (The embedded database: kek-rotation-interrupted-embedded.test.ts.)
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runServerExpectingExit } from "../../ca/helpers";
import { closeClients } from "../../probe49/emb/support";
import { type CertmintClients, makeClients } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import { createTestDatabase, type TestDatabase } from "../../support/postgres";
import {
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../../support/server-process";
import { waitFor } from "../../support/wait";
import {
  expectSealedUnder,
  kekIdOf,
  type Made,
  populate,
  signsWithEveryCa,
} from "./kek-rotation-support";
import { type Query, type Run, rotate, sealedKeys, startRotation } from "./support";

describe("probe50 DATA: a KEK rotation SIGKILLed inside its transaction (PostgreSQL)", {
  timeout: 3 * START_LIMIT_MS,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "certmint-probe50-kek-"));
  const oldKek = join(dir, "old.key");
  const newKek = join(dir, "new.key");
  const tmp = new TempDir();
  let db: TestDatabase;
  let server: ServerProcess | undefined;
  let c: CertmintClients | undefined;
  let made: Made;
  const env = (kekFile: string) => ({
    DATABASE_URL: db.url,
    CERTMINT_DATA_DIR: join(dir, "data"),
    CERTMINT_KEK_FILE: kekFile,
  });
  const query: Query = (sql, params) => db.query(sql, params) as never;
  const stop = async () => {
    closeClients(c);
    c = undefined;
    const s = server;
    server = undefined;
    expect(await s?.stop()).toBe(0);
    await waitFor("the server's sessions to end", async () => {
      const [row] = await db.query<{ n: string }>(
        "select count(*)::text as n from pg_stat_activity where datname = current_database() and application_name = 'certmint'",
      );
      return row!.n === "0";
    });
  };

  beforeAll(async () => {
    writeFileSync(oldKek, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    db = await createTestDatabase({ prefix: "certmint_p50kek", migrated: true });
    server = await startServerProcess({ ...env(oldKek), CERTMINT_LOG_FORMAT: "json" });
    c = makeClients(server.address, server.adminToken());
    made = await populate(c);
    await stop();
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    await stop().catch(() => undefined);
    await db?.drop();
    tmp.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("killed after re-sealing every key, before its audit record: nothing of it stays", async () => {
    const before = await sealedKeys(query);
    expectSealedUnder(before, oldKek);
    // Five roots and intermediates, the kept certificate key, the check value.
    expect([...before.keys()].filter((k) => k.startsWith("ca ")).length).toBe(5);
    // A session of ours holds the audit table: the rotation's last insert waits on it.
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query(`lock table "audit_record" in share mode`);
      const run = startRotation(env(oldKek), ["--generate-new-kek-file", newKek]);
      let backend = 0;
      let ended: Run | undefined;
      void run.done.then((r) => {
        ended = r;
      });
      await waitFor("the rotation to wait on the audit table, every key re-sealed", async () => {
        // A rotation that ended without waiting there (it gives up on a lock after 5 s): say how.
        if (ended) throw new Error(`the rotation ended first: ${JSON.stringify(ended)}`);
        const rows = await db.query<{ pid: number }>(
          `select l.pid from pg_locks l where l.relation = 'audit_record'::regclass and not l.granted`,
        );
        backend = rows[0]?.pid ?? 0;
        return backend !== 0;
      });
      // The audit record is its last write, after every key was re-sealed in its transaction.
      run.child.kill("SIGKILL");
      const killed = await run.done;
      expect(killed.code).toBeNull();
      // Its backend ends by itself (lock timeout, then the closed connection) without a commit.
      await waitFor("the killed rotation's backend to end", async () => {
        const rows = await db.query("select 1 from pg_stat_activity where pid = $1", [backend]);
        return rows.length === 0;
      });
    } finally {
      await holder.query("rollback");
      await holder.end();
    }
    const after = await sealedKeys(query);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [row, blob] of after) expect(blob.equals(before.get(row)!), row).toBe(true);
    expect(
      await db.query(`select 1 from "audit_record" where "resource_type" = 'key_encryption_key'`),
    ).toEqual([]);
    // The key file it generated (made durable before the transaction) seals nothing yet.
    expect(existsSync(newKek)).toBe(true);
    expect(statSync(newKek).mode & 0o777).toBe(0o600);
    // The new key is refused at start-up: the database is still the old key's.
    const early = await runServerExpectingExit({ ...env(newKek), CERTMINT_LOG_FORMAT: "json" });
    expect(early.code, early.stderr).toBe(2);
    expect(early.stderr).toContain("does not match");
  });

  it("rerun with the generated file: every key re-sealed under the new KEK; the old one refused; every CA signs", async () => {
    const again = await rotate(env(oldKek), ["--generate-new-kek-file", newKek]);
    // README: --generate-new-kek-file never overwrites; the file is given with --new-kek-file.
    expect(again.code, again.stderr).toBe(2);
    expect(again.stderr).toMatch(/already exists.*--new-kek-file.*\(NEW_KEK_INVALID\)\n$/);
    const before = await sealedKeys(query);
    const run = await rotate(env(oldKek), ["--new-kek-file", newKek]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("CA keys re-sealed:          5\n");
    expect(run.stdout).toContain("certificate keys re-sealed: 1 ");
    const after = await sealedKeys(query);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [row, blob] of after) expect(blob.equals(before.get(row)!), row).toBe(false);
    expectSealedUnder(after, newKek);
    const [check] = await db.query<{ kek_id: Buffer }>(`select "kek_id" from "kek_check"`);
    expect(Buffer.from(check!.kek_id).toString("hex")).toBe(kekIdOf(newKek));
    expect(
      await db.query(`select 1 from "audit_record" where "resource_type" = 'key_encryption_key'`),
    ).toHaveLength(1);

    const refused = await runServerExpectingExit({ ...env(oldKek), CERTMINT_LOG_FORMAT: "json" });
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toBe(
      "certmint: start-up failed: the key-encryption key does not match the one this database's CA keys were sealed with; refusing to start (nothing was changed)\n",
    );
    server = await startServerProcess({ ...env(newKek), CERTMINT_LOG_FORMAT: "json" });
    c = makeClients(server.address, server.adminToken());
    await signsWithEveryCa(c, made, tmp);
    await stop();
  });
});
