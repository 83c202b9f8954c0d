/**
 * A full disk under PostgreSQL (DATABASE_URL), probed from outside on the compiled server: the
 * server's database in a tablespace on a small tmpfs (PostgreSQL's WAL stays on its own disk,
 * so the statements fail with disk_full, SQLSTATE 53100, and PostgreSQL keeps running), issuance
 * under load, the tablespace's disk filled to its last block, then freed.
 *
 * What must hold, as on the embedded database (disk-full-embedded.test.ts): UNAVAILABLE naming
 * the full disk, at once, never INTERNAL; reads and health SERVING; the log in words, once per
 * 10 s; issuance resumes without a restart; every request_id resolves on replay to the
 * certificate its call got, none PENDING, no certificate without its request.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminUrl, type TestDatabase } from "../support/postgres";
import { type ServerProcess, START_LIMIT_MS, startServerProcess } from "../support/server-process";
import {
  asDeployment,
  fillDiskUnderLoad,
  mountSmallDisk,
  type SmallDisk,
  setUpIssuance,
} from "./disk-full-support";
import { type Ledger, replayAll, unresolved } from "./outage-support";

/** SQL as PostgreSQL's superuser (the tests' role may not create tablespaces). */
const asPostgres = (sql: string) =>
  execFileSync("runuser", ["-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-Atc", sql], {
    stdio: "pipe",
  });

const disk = mountSmallDisk("cm-full-server", "40m");
const skip = typeof disk === "string" ? disk : undefined;

describe.skipIf(skip !== undefined)(
  `a server whose PostgreSQL disk fills ${skip ?? ""}`,
  {
    timeout: 4 * START_LIMIT_MS,
  },
  () => {
    const small = disk as SmallDisk;
    const suffix = randomBytes(4).toString("hex");
    const tablespace = `certmint_full_${suffix}`;
    const database = `certmint_full_${suffix}`;
    const url = new URL(adminUrl());
    url.pathname = `/${database}`;
    const env = {
      DATABASE_URL: url.toString(),
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      CERTMINT_LOG_FORMAT: "json",
      CERTMINT_LOG_LEVEL: "info",
      CERTMINT_DATABASE_PROBE_INTERVAL_MS: "200",
      CERTMINT_RENEWAL_ENABLED: "false",
    };
    let server: ServerProcess | undefined;
    let client: Client | undefined;
    let db: TestDatabase;
    let token: string;
    let profile: string;
    let ledger: Ledger;

    beforeAll(async () => {
      const location = join(small.dir, "ts");
      mkdirSync(location, { mode: 0o700 });
      const pg = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
      chownSync(location, pg, pg);
      asPostgres(`create tablespace ${tablespace} location '${location}'`);
      asPostgres(
        `create database ${database} owner "${decodeURIComponent(url.username)}" tablespace ${tablespace}`,
      );
      client = new Client({ connectionString: url.toString() });
      await client.connect();
      db = {
        query: async (sql: string, params?: unknown[]) => (await client!.query(sql, params)).rows,
      } as unknown as TestDatabase;
      // The server migrates the empty database on start.
      server = await startServerProcess(env);
      token = server.adminToken();
      profile = await setUpIssuance(server.address, token);
    }, START_LIMIT_MS + 60_000);
    afterAll(async () => {
      try {
        await server?.stop("SIGKILL");
        await client?.end().catch(() => undefined);
        small?.unfill();
        asPostgres(`drop database if exists ${database} with (force)`);
        asPostgres(`drop tablespace if exists ${tablespace}`);
      } finally {
        small?.remove();
      }
    });

    it("answers UNAVAILABLE naming the full disk while full, keeps reads, and resumes once space is freed", async () => {
      ledger = await fillDiskUnderLoad(
        server!,
        asDeployment(server!, token, profile, db),
        small,
        "pgdisk",
      );
    });

    it("resolves every request_id to the certificate its call got, none PENDING or half-written", async () => {
      const d = asDeployment(server!, token, profile, db);
      const ended = await replayAll(d, ledger.sent);
      for (const [id, o] of ledger.outcomes) {
        if ("ok" in o) expect(ended.get(id), id).toBe(o.ok.certificate!.certificateId);
      }
      expect(await unresolved(db, ledger.sent)).toEqual({ notIssued: [], duplicates: 0 });
      const [orphans] = await db.query<{ n: number }>(
        `select count(*)::int as n from certificate c
         left join certificate_request r on r.id = c.certificate_request_id where r.id is null`,
      );
      expect(orphans!.n).toBe(0);
      const [pending] = await db.query<{ n: number }>(
        "select count(*)::int as n from certificate_request where status = 'PENDING' or (status = 'ISSUED' and certificate_id is null)",
      );
      expect(pending!.n).toBe(0);
      expect(await server!.stop()).toBe(0);
      server = undefined;
    });
  },
);
