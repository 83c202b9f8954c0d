/**
 * A DATABASE_URL that names a database PostgreSQL does not have is a start-up failure, never a
 * new database. Found by an outside probe (2026-12-05): MikroORM's ensureDatabase created it,
 * so a typo in the name started a healthy replica with an empty PKI, and a key-encryption key
 * and an admin token of its own.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { adminUrl } from "../support/postgres";
import { ROOT, START_LIMIT_MS, serverCommand } from "../support/server-process";

describe("a DATABASE_URL naming a database that does not exist", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-missing-db-"));
  const name = `certmint_missing_${process.pid}_${Date.now()}`;
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("fails the start in one line naming it, and creates nothing", async () => {
    const { command, args } = serverCommand();
    const r = spawnSync(command, args, {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: url.toString(),
        CERTMINT_DATA_DIR: dataDir,
        CERTMINT_LISTEN: "127.0.0.1:0",
      },
      encoding: "utf8",
      timeout: START_LIMIT_MS,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([
      `certmint: start-up failed: database "${name}" does not exist`,
    ]);
    // No database, and nothing in the data directory: no key-encryption key, no admin token.
    const admin = new Client({ connectionString: adminUrl() });
    await admin.connect();
    try {
      const rows = await admin.query("select 1 from pg_database where datname = $1", [name]);
      expect(rows.rowCount).toBe(0);
    } finally {
      await admin.end();
    }
    expect(readdirSync(dataDir)).toEqual([]);
  });
});
