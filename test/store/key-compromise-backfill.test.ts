/**
 * Upgrading a database whose certificates were revoked for key compromise before certmint
 * blocked keys: the migration Migration20261205500000KeyCompromiseBackfill lists them, and the
 * next start blocks each key and revokes its other certificates, as a key-compromise revocation
 * does now. Until stop 40 of 2026-12-05 nothing did: after the upgrade the same CSR was
 * certified again and its twin stayed valid (an outside probe, on PostgreSQL and embedded).
 *
 * The database before key blocking is made from today's: the revocation moved before the
 * BlockedKeys migration's run, its block and its twin's revocation undone, and the backfill
 * migration marked as not run, so the real server process applies it on its next start.
 * Also: a build started on a database a newer build migrated refuses to start (exit 2).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { csrRequest } from "../certificates/helpers";
import { createRootAndProfile, opensslCsr } from "../support/fixtures";
import { type CertmintClients, call, expectRpcError, makeClients } from "../support/harness";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  ROOT,
  type ServerProcess,
  START_LIMIT_MS,
  serverCommand,
  startServerProcess,
} from "../support/server-process";

describe("keys revoked for key compromise before key blocking", {
  timeout: 4 * START_LIMIT_MS,
}, () => {
  let db: TestDatabase;
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-kc-backfill-"));
  const env = () => ({ DATABASE_URL: db.url, CERTMINT_DATA_DIR: dataDir });
  let server: ServerProcess | undefined;
  let clients: CertmintClients | undefined;

  const start = async () => {
    server = await startServerProcess(env());
    clients = makeClients(server.address, server.adminToken());
    return clients;
  };
  const stop = async () => {
    for (const c of Object.values(clients ?? {})) (c as { close(): void }).close();
    clients = undefined;
    await server?.stop();
    server = undefined;
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await stop();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("blocks the key at the next start and revokes its twin, with an audit record", async () => {
    const c = await start();
    const { profile } = await createRootAndProfile(server!, db, server!.adminToken(), {
      root: "root",
      profile: "web",
    });
    const csr = opensslCsr("/CN=twin.example.com", ["DNS:twin.example.com"]);
    const first = await call(c.certificates, "issueCertificate", csrRequest(profile, csr.csrPem));
    const twin = await call(c.certificates, "issueCertificate", csrRequest(profile, csr.csrPem));
    const firstId = first.certificate!.certificateId;
    const twinId = twin.certificate!.certificateId;
    await call(c.certificates, "revokeCertificate", {
      certificate: firstId,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    await stop();

    // As it was before key blocking existed.
    await db.query(
      "update mikro_orm_migrations set executed_at = now() where name = 'Migration20261205000000BlockedKeys'",
    );
    await db.query("update certificate set revoked_at = now() - interval '1 day' where id = $1", [
      firstId,
    ]);
    await db.query("delete from blocked_key");
    await db.query(
      "update certificate set revoked_at = null, revocation_reason = null where id = $1",
      [twinId],
    );
    await db.query(
      "delete from mikro_orm_migrations where name = 'Migration20261205500000KeyCompromiseBackfill'",
    );
    await db.query("drop table key_block_backfill");

    const again = await start();
    const [blocked] = await db.query<{ n: string }>("select count(*) as n from blocked_key");
    expect(Number(blocked!.n)).toBe(1);
    const [twinRow] = await db.query<{ revoked_at: Date | null; revocation_reason: string }>(
      "select revoked_at, revocation_reason from certificate where id = $1",
      [twinId],
    );
    expect(twinRow!.revoked_at).toBeInstanceOf(Date);
    expect(twinRow!.revocation_reason).toBe("KEY_COMPROMISE");
    expect(await db.query("select 1 from key_block_backfill")).toEqual([]);
    const audit = await db.query<{ actor_slug: string }>(
      "select actor_slug from audit_record where resource_id = $1 and method like '%BlockCompromisedKeys'",
      [twinId],
    );
    expect(audit.map((a) => a.actor_slug)).toEqual(["certmint"]);
    // The same CSR again: refused, the key is blocked.
    const err = await expectRpcError(
      call(again.certificates, "issueCertificate", csrRequest(profile, csr.csrPem)),
    );
    expect(err.reason).toBe("KEY_BLOCKED");
    expect(server!.output()).toContain(
      "blocked the keys of certificates revoked for key compromise",
    );
    await stop();
  });

  it("a build whose migrations a database does not all know refuses it (exit 2), and writes nothing", async () => {
    await db.query(
      "insert into mikro_orm_migrations (name, executed_at) values ('Migration29991231000000FromTheFuture', now())",
    );
    const { command, args } = serverCommand();
    const r = spawnSync(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env(), CERTMINT_LISTEN: "127.0.0.1:0" },
      encoding: "utf8",
      timeout: START_LIMIT_MS,
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("the database was migrated by a newer certmint");
    expect(r.stderr).toContain("Migration29991231000000FromTheFuture");
    await db.query(
      "delete from mikro_orm_migrations where name = 'Migration29991231000000FromTheFuture'",
    );
  });
});
