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
    // Exit 2: only a configuration change helps (a service manager need not retry at once);
    // one line that says what to do, and the log line has no stack trace.
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      `certmint: start-up failed: PostgreSQL at ${url.hostname}:${url.port || "5432"} (database "${name}") has no such database: create it (createdb, owned by the DATABASE_URL user) or fix the name in DATABASE_URL (database "${name}" does not exist)`,
    ]);
    const fatal = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "start-up failed");
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ code: "3D000", exitCode: 2 });
    expect(JSON.stringify(fatal[0])).not.toContain("    at ");
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

  it("a wrong password exits 2 with one line naming the user, never the password", () => {
    const wrong = new URL(adminUrl());
    wrong.password = "not-the-password-x7";
    const { command, args } = serverCommand();
    const r = spawnSync(command, args, {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: wrong.toString(),
        CERTMINT_DATA_DIR: dataDir,
        CERTMINT_LISTEN: "127.0.0.1:0",
      },
      encoding: "utf8",
      timeout: START_LIMIT_MS,
    });
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `refused the password of user "${decodeURIComponent(wrong.username)}": check the user and password in DATABASE_URL`,
    );
    expect(r.stdout + r.stderr).not.toContain("not-the-password-x7");
    expect(r.stdout).not.toMatch(/\\n\s+at /);
    expect(readdirSync(dataDir)).toEqual([]);
  });
});
