/**
 * A damaged embedded database is refused with exit 2 and one line that says what to do, and
 * never replaced by a new one. Until stop 40 of 2026-12-05 a database directory that had lost
 * PG_VERSION (a partial copy or restore) was initdb'd over: certmint started an empty PKI with
 * a new admin token beside the old files; a damaged pg_control said only "PGlite failed to
 * initialize properly", with a stack trace, and exit 1.
 */
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, START_LIMIT_MS, serverCommand, startServerProcess } from "../support/server-process";

describe("a damaged embedded database", { timeout: 3 * START_LIMIT_MS }, () => {
  const root = mkdtempSync(join(tmpdir(), "certmint-embedded-damaged-"));
  const original = join(root, "original");
  let adminToken = "";

  beforeAll(async () => {
    const server = await startServerProcess({ DATABASE_URL: "", CERTMINT_DATA_DIR: original });
    adminToken = server.adminToken();
    expect(await server.stop()).toBe(0);
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  /** A copy of the data directory, damaged by `damage`; then one start on it. */
  function startOnDamagedCopy(name: string, damage: (pgDir: string) => void) {
    const dataDir = join(root, name);
    cpSync(original, dataDir, { recursive: true });
    // The copy's lock file names no live process; remove it as a clean stop does.
    rmSync(join(dataDir, "embedded.pid"), { force: true });
    const pgDir = join(dataDir, "pglite");
    damage(pgDir);
    const { command, args } = serverCommand();
    const r = spawnSync(command, args, {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: "",
        CERTMINT_DATA_DIR: dataDir,
        CERTMINT_LISTEN: "127.0.0.1:0",
      },
      encoding: "utf8",
      timeout: START_LIMIT_MS,
    });
    return { r, dataDir, pgDir };
  }

  it("without PG_VERSION: refused, and no new database or admin token is made", () => {
    const { r, dataDir, pgDir } = startOnDamagedCopy("no-version", (pgDir) =>
      unlinkSync(join(pgDir, "PG_VERSION")),
    );
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`the embedded database in ${pgDir} is damaged`);
    expect(lines[0]).toContain("restore the data directory from a backup");
    // Nothing was created over it: still no PG_VERSION, the same admin token.
    expect(existsSync(join(pgDir, "PG_VERSION"))).toBe(false);
    expect(readFileSync(join(dataDir, "admin-token"), "utf8").trim()).toBe(adminToken);
    expect(r.stdout).not.toContain("created an admin access token");
  });

  it("with a damaged pg_control: refused in one line, exit 2, no stack trace", () => {
    const { r, pgDir } = startOnDamagedCopy("bad-control", (pgDir) => {
      const file = join(pgDir, "global", "pg_control");
      const bytes = readFileSync(file);
      bytes.fill(0x5a, 0, 512);
      writeFileSync(file, bytes);
    });
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`the embedded database in ${pgDir} cannot be opened`);
    expect(lines[0]).toContain("its files look damaged");
    const fatal = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "start-up failed");
    expect(fatal).toEqual([
      expect.objectContaining({ code: "EMBEDDED_DATABASE_DAMAGED", exitCode: 2 }),
    ]);
    expect(JSON.stringify(fatal)).not.toContain("    at ");
  });

  it("the undamaged original still starts and keeps its admin token", async () => {
    const server = await startServerProcess({ DATABASE_URL: "", CERTMINT_DATA_DIR: original });
    try {
      expect(server.adminToken()).toBe(adminToken);
      expect(server.output()).not.toContain("created an admin access token");
    } finally {
      await server.stop();
    }
  });
});
