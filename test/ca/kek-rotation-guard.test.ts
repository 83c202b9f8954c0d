/**
 * A server that missed a KEK rotation must not seal new keys with the old KEK (since stop 44 of
 * 2026-12-06). A running server holds its KEK in memory; the rotation (src/kek-rotation) looks
 * for servers on the database (presence lock, application_name), but one behind a pooler in
 * transaction mode, or one it did not see, went on sealing new CA keys and generated keys with
 * the OLD KEK after the rotation committed: keys that die with the old KEK file. Now every
 * sealed key names its KEK (format version 2, src/signer/key-wrap.ts) and the database refuses
 * one that is not the current KEK's (kek_check.kek_id, Migration20261206140000KekIdGuard):
 * FAILED_PRECONDITION KEK_ROTATED, nothing stored; a certificate from a CSR (no sealed key)
 * still issues.
 *
 * "A server the checks did not see" is stood for as in kek-rotation.test.ts: the rotation's
 * transaction (rotateInTransaction) run on a connection of the test's own, without the look for
 * running servers, while an in-process server keeps running on the database.
 */
import { createCipheriv, generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client as GrpcClient } from "@grpc/grpc-js";
import { Client } from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateProfile,
  PrivateKeyRetention,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { type RunningCertmint, startCertmint } from "../../src/app";
import { loadConfig } from "../../src/config";
import { caKeyAad, KEK_CHECK_AAD } from "../../src/issuance/ca/keyring";
import { rotateInTransaction, SEALED_COLUMNS } from "../../src/kek-rotation/rotate";
import { loggerOptions } from "../../src/server/logger";
import { kekIdBytes, openPrivateKey, sealPrivateKey } from "../../src/signer/key-wrap";
import { attrRequest, csrRequest, makeCsr } from "../certificates/helpers";
import { createTlsServerPolicy } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  decodeError,
  expectRpcError,
  makeClients,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { waitFor } from "../support/wait";
import { createRoot, TempDir, verifyChain } from "./helpers";

const FAILED_PRECONDITION = 9;
const KEK_ROTATED_MESSAGE =
  "the key-encryption key was rotated while this server ran: restart it with the new CERTMINT_KEK_FILE (or CERTMINT_KEK); nothing was stored";

const dir = mkdtempSync(join(tmpdir(), "certmint-kek-guard-"));
const oldKekFile = join(dir, "old.key");
const newKekFile = join(dir, "new.key");
const oldKek = randomBytes(32);
const newKek = randomBytes(32);
const tmp = new TempDir();

let stale: TestCertmint;
let staleStopped = false;
let restarted: { running: RunningCertmint; clients: CertmintClients } | undefined;
let rootPem = "";

/** Rows that hold what a refused call must not have stored. */
async function stored(h: TestCertmint): Promise<Record<string, string>> {
  const [row] = await h.db.query<Record<string, string>>(
    `select (select count(*) from certificate_authority) as cas,
            (select count(*) from certificate_request) as requests,
            (select count(*) from certificate) as certificates,
            (select count(*) from certificate_request where sealed_private_key is not null) as held,
            (select count(*) from certificate where sealed_private_key is not null) as kept`,
  );
  return row!;
}

/**
 * The rotation's transaction on a connection of its own, with no look for running servers;
 * `whileOpen` runs once everything is re-sealed, before the commit.
 */
async function rotateBehindTheServersBack(
  url: string,
  whileOpen: () => Promise<void> = async () => undefined,
): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("begin");
    await rotateInTransaction(
      { query: async (sql, params) => (await client.query(sql, params)).rows },
      oldKek,
      newKek,
    );
    await whileOpen();
    await client.query("commit");
  } catch (err) {
    await client.query("rollback").catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}

/** The server's sessions that wait for a lock (the rotation's, here). */
async function serverSessionsWaitingForALock(h: TestCertmint): Promise<number> {
  const [row] = await h.db.query<{ n: string }>(
    `select count(*) as n from pg_stat_activity
      where datname = current_database() and application_name = 'certmint' and wait_event_type = 'Lock'`,
  );
  return Number(row!.n);
}

beforeAll(async () => {
  writeFileSync(oldKekFile, `${oldKek.toString("base64")}\n`, { mode: 0o600 });
  writeFileSync(newKekFile, `${newKek.toString("base64")}\n`, { mode: 0o600 });
  stale = await startTestCertmint({
    CERTMINT_KEK_FILE: oldKekFile,
    CERTMINT_DATA_DIR: join(dir, "data"),
  });
  rootPem = (await createRoot(stale, "root")).certificatePem;
  await createTlsServerPolicy(stale, "web-policy", 30 * 86_400);
  for (const [slug, retention] of [
    ["keep", PrivateKeyRetention.PRIVATE_KEY_RETENTION_STORE_ENCRYPTED],
    ["web", PrivateKeyRetention.PRIVATE_KEY_RETENTION_RETURN_ONCE],
  ] as const) {
    await call(stale.profiles, "createCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug,
        certificatePolicy: "web-policy",
        issuer: { $case: "certificateAuthority", value: "root" },
        privateKeyRetention: retention,
      }),
    });
  }
  // Keys sealed before the rotation, which it re-seals: one kept, one held for its requester.
  await call(
    stale.certificates,
    "issueCertificate",
    attrRequest("keep", { cn: "kept.example.com", dns: ["kept.example.com"], requestId: "k-1" }),
  );
  await call(
    stale.certificates,
    "issueCertificate",
    attrRequest("web", { cn: "held.example.com", dns: ["held.example.com"], requestId: "h-1" }),
  );
});

afterAll(async () => {
  if (restarted) {
    for (const c of Object.values(restarted.clients)) (c as GrpcClient).close();
    await restarted.running.shutdown();
  }
  if (staleStopped) await stale?.db.drop();
  else await stale?.stop();
  tmp.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe("a server that missed a KEK rotation", () => {
  it("sealed everything so far under its KEK's id, and the database names that id", async () => {
    const [check] = await stale.db.query<{ kek_id: Buffer }>(
      "select kek_id from kek_check where id = 1",
    );
    expect(check!.kek_id.equals(kekIdBytes(oldKek))).toBe(true);
    const blobs = await stale.db.query<{ b: Buffer }>(
      `select sealed_private_key as b from certificate_authority
       union all select sealed_private_key from certificate_request where sealed_private_key is not null
       union all select sealed_private_key from certificate where sealed_private_key is not null`,
    );
    expect(blobs).toHaveLength(3);
    for (const { b } of blobs) {
      expect(b[0]).toBe(2);
      expect(b.subarray(1, 9).equals(kekIdBytes(oldKek))).toBe(true);
    }
  });

  it("is refused every new sealed key after the rotation (KEK_ROTATED), storing nothing; a CSR still issues", async () => {
    const before = await stored(stale);
    // An issuance whose store meets the rotation's locks waits for its commit, and is then
    // refused: no window around the commit lets an old-KEK key in.
    let waiting: Promise<unknown> | undefined;
    await rotateBehindTheServersBack(stale.db.url, async () => {
      waiting = call(
        stale.certificates,
        "issueCertificate",
        attrRequest("keep", { cn: "race.example.com", dns: ["race.example.com"] }),
      ).catch((e: unknown) => e);
      await waitFor(
        "the server's store to wait for the rotation's locks",
        async () => (await serverSessionsWaitingForALock(stale)) > 0,
      );
    });
    const raced = await expectRpcError(
      waiting!.then((r) => (r instanceof Error ? Promise.reject(r) : r)),
    );
    expect(raced).toMatchObject({ code: FAILED_PRECONDITION, reason: "KEK_ROTATED" });
    const [check] = await stale.db.query<{ kek_id: Buffer }>(
      "select kek_id from kek_check where id = 1",
    );
    expect(check!.kek_id.equals(kekIdBytes(newKek))).toBe(true);
    expect(await stored(stale)).toEqual(before);

    // A generated key kept on its certificate (STORE_ENCRYPTED) and one held on its request
    // (RETURN_ONCE): both sealed with the old KEK this server still holds.
    for (const profile of ["keep", "web"]) {
      const err = await expectRpcError(
        call(
          stale.certificates,
          "issueCertificate",
          attrRequest(profile, { cn: `${profile}.example.com`, dns: [`${profile}.example.com`] }),
        ),
      );
      expect(err, profile).toMatchObject({
        code: FAILED_PRECONDITION,
        reason: "KEK_ROTATED",
        message: KEK_ROTATED_MESSAGE,
      });
      expect(err.preconditions).toEqual([
        { type: "KEK", subject: "key-encryption key", description: KEK_ROTATED_MESSAGE },
      ]);
    }
    // A new CA: its key sealed with the old KEK.
    const ca = await expectRpcError(createRoot(stale, "root-after"));
    expect(ca).toMatchObject({ code: FAILED_PRECONDITION, reason: "KEK_ROTATED" });
    expect(await stored(stale)).toEqual(before);

    // A CSR: no sealed key, no trigger; signed by the CA key this server unsealed before.
    const { csrPem } = makeCsr(tmp, "/CN=csr.example.com", ["DNS:csr.example.com"]);
    const issued = await call(stale.certificates, "issueCertificate", csrRequest("web", csrPem));
    const verified = verifyChain(tmp, rootPem, issued.certificate!.certificatePem);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    // Concurrent calls share one store statement (statement-batches.ts): a refused key fails
    // that statement whole, and each issuance is stored on its own, so the CSRs go through.
    const csrs = Array.from({ length: 6 }, (_, i) =>
      makeCsr(tmp, `/CN=csr-${i}.example.com`, [`DNS:csr-${i}.example.com`]),
    );
    const outcomes = await Promise.allSettled([
      ...csrs.map(({ csrPem }) =>
        call(stale.certificates, "issueCertificate", csrRequest("web", csrPem)),
      ),
      ...["a", "b"].map((n) =>
        call(
          stale.certificates,
          "issueCertificate",
          attrRequest("keep", { cn: `${n}.example.com`, dns: [`${n}.example.com`] }),
        ),
      ),
    ]);
    expect(outcomes.slice(0, 6).map((o) => o.status)).toEqual(Array(6).fill("fulfilled"));
    for (const o of outcomes.slice(6)) {
      expect(o.status).toBe("rejected");
      expect(decodeError((o as PromiseRejectedResult).reason).reason).toBe("KEK_ROTATED");
    }
    expect(await stored(stale)).toMatchObject({
      cas: before.cas,
      requests: String(Number(before.requests) + 7),
      certificates: String(Number(before.certificates) + 7),
      held: before.held,
      kept: before.kept,
    });
    // The operator is told in the server's log, at warn, throttled (one line per 10 s).
    const told = stale.logs.filter(
      (l) =>
        l.msg ===
        "the key-encryption key was rotated while this server ran: restart it with the new CERTMINT_KEK_FILE",
    );
    expect(told.length).toBeGreaterThanOrEqual(1);
    expect(told.every((l) => l.level === 40 && typeof l.method === "string")).toBe(true);
  });

  it("restarted with the new KEK, issues generated keys and creates CAs; every stored blob opens with the new KEK", async () => {
    await stale.running.shutdown();
    staleStopped = true;
    // As a database last started by a build before stop 44 has it: no id. A start whose KEK
    // opens the check value fills it.
    await stale.db.query("update kek_check set kek_id = null");
    const config = loadConfig({
      CERTMINT_LISTEN: "127.0.0.1:0",
      DATABASE_URL: stale.db.url,
      CERTMINT_DATA_DIR: join(dir, "data"),
      CERTMINT_KEK_FILE: newKekFile,
      CERTMINT_SHUTDOWN_GRACE_MS: "2000",
    });
    const running = await startCertmint(config, pino(loggerOptions("warn"), { write: () => {} }));
    const clients = makeClients(`127.0.0.1:${running.port}`, stale.adminToken);
    restarted = { running, clients };
    const [filled] = await stale.db.query<{ kek_id: Buffer }>("select kek_id from kek_check");
    expect(filled!.kek_id.equals(kekIdBytes(newKek))).toBe(true);

    const kept = await call(
      clients.certificates,
      "issueCertificate",
      attrRequest("keep", { cn: "after.example.com", dns: ["after.example.com"] }),
    );
    expect(kept.privateKeyPem).toMatch(/PRIVATE KEY/);
    await call(
      clients.certificates,
      "issueCertificate",
      attrRequest("web", { cn: "held-after.example.com", dns: ["held-after.example.com"] }),
    );
    const second = await createRoot(clients, "root-after");
    expect(second.certificatePem).toMatch(/BEGIN CERTIFICATE/);

    let opened = 0;
    for (const target of SEALED_COLUMNS) {
      const rows = await stale.db.query<{ id: string; b: Buffer }>(
        `select id, ${target.column} as b from ${target.table} where ${target.column} is not null`,
      );
      for (const row of rows) {
        expect(row.b[0]).toBe(2);
        expect(row.b.subarray(1, 9).equals(kekIdBytes(newKek))).toBe(true);
        expect(openPrivateKey(newKek, row.b, target.aad(row.id)).type).toBe("private");
        opened++;
      }
    }
    // Two CAs, two kept keys (certificates), two held keys (requests): nothing of the refused
    // calls, and the ones before the rotation re-sealed.
    expect(opened).toBe(6);
    const [check] = await stale.db.query<{ sealed: Buffer }>("select sealed from kek_check");
    expect(openPrivateKey(newKek, check!.sealed, KEK_CHECK_AAD).type).toBe("private");
  });
});

describe("the trigger on sealed keys (Migration20261206140000KekIdGuard)", () => {
  const key = generateKeyPairSync("ed25519").privateKey;

  /** The sealed-format version 1 of stop 43 and before: no KEK id. */
  function sealV1(kek: Buffer, aad: string): Buffer {
    const plaintext = key.export({ type: "pkcs8", format: "der" });
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", kek, nonce, { authTagLength: 16 });
    cipher.setAAD(Buffer.concat([Buffer.from([1]), Buffer.from(aad, "utf8")]));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([1]), nonce, ct, cipher.getAuthTag()]);
  }

  const insertCa = (id: string, sealed: Buffer) =>
    stale.db.query(
      `insert into certificate_authority (id, slug, type, status, subject, key_algorithm, signature_algorithm,
         chain_pem, sealed_private_key, created_at, updated_at)
       values ($1, $2, 'ROOT', 'DISABLED', '{"attributes":[]}', 'ED25519', 'ED25519', '[]', $3, now(), now())`,
      [id, `direct-${id.slice(0, 8)}`, sealed],
    );
  const sqlstate = (p: Promise<unknown>) =>
    p.then(
      () => "none",
      (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
    );

  it("refuses a direct insert or update of a version 2 blob of another KEK id (CMR01); the current id and version 1 pass", async () => {
    const [current] = await stale.db.query<{ kek_id: Buffer }>("select kek_id from kek_check");
    expect(current!.kek_id.equals(kekIdBytes(newKek))).toBe(true);

    const refusedId = randomUUID();
    expect(
      await sqlstate(insertCa(refusedId, sealPrivateKey(oldKek, key, caKeyAad(refusedId)))),
    ).toBe(
      "CMR01: the key was sealed under a key-encryption key that is no longer the current one (a KEK rotation committed while this server ran)",
    );
    expect(
      await stale.db.query("select id from certificate_authority where id = $1", [refusedId]),
    ).toEqual([]);

    const goodId = randomUUID();
    expect(await sqlstate(insertCa(goodId, sealPrivateKey(newKek, key, caKeyAad(goodId))))).toBe(
      "none",
    );
    // An update of the column is checked too.
    expect(
      await sqlstate(
        stale.db.query("update certificate_authority set sealed_private_key = $2 where id = $1", [
          goodId,
          sealPrivateKey(randomBytes(32), key, caKeyAad(goodId)),
        ]),
      ),
    ).toMatch(/^CMR01: /);
    // A version 1 blob (an older build: no id to check) passes, and still opens.
    const oldBuildId = randomUUID();
    const v1 = sealV1(oldKek, caKeyAad(oldBuildId));
    expect(await sqlstate(insertCa(oldBuildId, v1))).toBe("none");
    expect(openPrivateKey(oldKek, v1, caKeyAad(oldBuildId)).equals(key)).toBe(true);
    // Other columns of a row with a refused key's id do not call it (UPDATE OF the column).
    expect(
      await sqlstate(
        stale.db.query("update certificate_authority set description = 'x' where id = $1", [
          oldBuildId,
        ]),
      ),
    ).toBe("none");
    // A database that names no KEK id (no server of this build started on it yet) has nothing
    // to compare with: the blob passes.
    await stale.db.query("begin");
    try {
      await stale.db.query("update kek_check set kek_id = null");
      const unnamedId = randomUUID();
      expect(
        await sqlstate(insertCa(unnamedId, sealPrivateKey(oldKek, key, caKeyAad(unnamedId)))),
      ).toBe("none");
    } finally {
      await stale.db.query("rollback");
    }
    await stale.db.query("delete from certificate_authority where id = any($1::uuid[])", [
      [goodId, oldBuildId],
    ]);
  });

  it("is called only for rows with a version 2 blob: its WHEN clause, not the function, filters", async () => {
    const triggers = await stale.db.query<{ t: string; def: string }>(
      `select tgrelid::regclass::text as t, pg_get_triggerdef(oid) as def from pg_trigger
        where tgname like '%_current_kek' order by 1`,
    );
    expect(triggers.map((r) => r.t)).toEqual(SEALED_COLUMNS.map((s) => s.table).sort());
    for (const { def } of triggers) {
      expect(def).toMatch(/BEFORE INSERT OR UPDATE OF sealed_private_key/);
      expect(def).toContain(
        "WHEN ((SUBSTRING(new.sealed_private_key FROM 1 FOR 1) = '\\x02'::bytea))",
      );
    }
  });
  it("a row without a sealed key (a CSR issuance) calls no trigger function; a sealed one calls it once", async () => {
    // EXPLAIN ANALYZE lists a trigger only once its function ran (calls > 0): the WHEN clause
    // is tested inline by the executor, with no PL/pgSQL call, for the CSR path's rows.
    type Plan = Array<{ Triggers?: Array<{ "Trigger Name": string; Calls: number }> }>;
    const fired = async (sealed: Buffer | null) => {
      await stale.db.query("begin");
      try {
        const [row] = await stale.db.query<{ "QUERY PLAN": Plan }>(
          `explain (analyze, format json) insert into certificate_request
             select (json_populate_record(r, json_build_object('id', gen_random_uuid(),
                       'request_id', null, 'sealed_private_key', $1::bytea))).*
               from certificate_request r where r.sealed_private_key is null limit 1`,
          [sealed],
        );
        return (row!["QUERY PLAN"][0]!.Triggers ?? []).map((t) => [t["Trigger Name"], t.Calls]);
      } finally {
        await stale.db.query("rollback");
      }
    };
    expect(await fired(null)).toEqual([]);
    const id = randomUUID();
    expect(await fired(sealPrivateKey(newKek, key, `certmint:request:${id}`))).toEqual([
      ["certificate_request_current_kek", 1],
    ]);
  });
});
