/**
 * A data directory that does not exist is a new root of trust: certmint fills it with a new
 * key-encryption key, a new admin token and an empty embedded database. Until stop 46 of
 * 2026-12-06 a mistyped CERTMINT_DATA_DIR (or the relative default ./data from another working
 * directory) created every missing parent (mkdir -p) and served an empty PKI with health
 * SERVING (an outside probe, F2). src/data-dir.ts now creates only the last directory of a path
 * whose parent exists, refuses the start otherwise (exit 2, one line naming the path, its
 * missing parent and the working directory, nothing created), and says at warn, with the
 * absolute path, that it created a new data directory (and, in the pretty format, the banner).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  checkHealth,
  logLines,
  ROOT,
  START_LIMIT_MS,
  serverCommand,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../support/wait";

/** The compiled server started from `cwd`, for a start that must fail; returns at its exit. */
function startExpectingExit(env: Record<string, string>, cwd = ROOT) {
  const { command, args } = serverCommand();
  const r = spawnSync(command, args, {
    cwd,
    env: { ...process.env, CERTMINT_LISTEN: "127.0.0.1:0", ...env },
    encoding: "utf8",
    // A bound for a start that was not refused (it would serve): the refusal comes first.
    timeout: 60_000,
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** Every entry under `dir`, recursively (relative paths). */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

describe("creating the data directory", { timeout: 3 * START_LIMIT_MS }, () => {
  const base = mkdtempSync(join(tmpdir(), "certmint-stop46g-"));
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(base, { recursive: true, force: true });
  });

  it("refuses a path whose parent is missing: exit 2, one line, nothing created", () => {
    const typo = join(base, "typo", "var", "lib", "certmint");
    const run = startExpectingExit({ CERTMINT_DATA_DIR: typo, DATABASE_URL: "" });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toEqual([
      `certmint: CERTMINT_DATA_DIR=${typo}: its parent directory ${join(base, "typo", "var", "lib")} does not exist (working directory ${ROOT}, which a relative path and the default ./data are resolved against); certmint creates only the last directory of the path, to keep a typo from starting a new, empty PKI (new key-encryption key, admin token and database): fix CERTMINT_DATA_DIR, or create ${join(base, "typo", "var", "lib")} first`,
    ]);
    expect(existsSync(join(base, "typo"))).toBe(false); // no mkdir -p
    expect(tree(base)).toEqual([]);
  });

  it("names the working directory a relative path was resolved against, on PostgreSQL too", async () => {
    const cwd = mkdtempSync(join(base, "cwd-"));
    const run = startExpectingExit({ CERTMINT_DATA_DIR: "srv/data", DATABASE_URL: db.url }, cwd);
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^certmint: CERTMINT_DATA_DIR=${cwd}/srv/data: its parent directory ${cwd}/srv does not exist \\(working directory ${cwd}, `,
      ),
    );
    expect(tree(cwd)).toEqual([]);
    // Not even migrated: the refusal comes before the database is opened.
    const [tables] = await db.query<{ n: number }>(
      "select count(*)::int as n from information_schema.tables where table_schema = 'public'",
    );
    expect(tables!.n).toBe(0);
  });

  it("creates a missing last directory under an existing parent, mode 0700, and says so at warn", async () => {
    const dataDir = join(base, "fresh");
    const server = await startServerProcess({ CERTMINT_DATA_DIR: dataDir, DATABASE_URL: "" });
    try {
      expect(await checkHealth(server.address)).toBe("SERVING");
      expect((statSync(dataDir).mode & 0o777).toString(8)).toBe("700");
      const created = logLines(server).filter((l) =>
        String(l.msg).startsWith("created a new data directory"),
      );
      expect(created).toEqual([
        expect.objectContaining({
          level: 40, // warn
          dataDir,
          msg: expect.stringContaining(
            `created a new data directory ${dataDir}: a new, empty PKI (new key-encryption key, admin token and embedded database) starts in it`,
          ),
        }),
      ]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    // The next start on it creates nothing, and says nothing of it.
    const again = await startServerProcess({ CERTMINT_DATA_DIR: dataDir, DATABASE_URL: "" });
    try {
      expect(again.output()).not.toContain("created a new data directory");
    } finally {
      expect(await again.stop()).toBe(0);
    }
  });

  it("the default ./data in a directory that exists (make run in a fresh clone): created, in the banner", async () => {
    const clone = mkdtempSync(join(base, "clone-"));
    // A database of its own: a refused start above must have left the other one untouched.
    const own = await createTestDatabase();
    const env: Record<string, string | undefined> = {
      ...process.env,
      CERTMINT_LISTEN: "127.0.0.1:0",
      CERTMINT_LOG_FORMAT: "pretty",
      DATABASE_URL: own.url,
    };
    delete env.CERTMINT_DATA_DIR;
    const { command, args } = serverCommand();
    const child = spawn(command, args, { cwd: clone, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      await waitFor("the banner", () => /next: npx certmint/.test(out), START_LIMIT_MS);
      const dataDir = join(clone, "data");
      expect(out).toContain(
        `  new data directory ${dataDir} (created now: a new PKI; not what you expected? check CERTMINT_DATA_DIR and the working directory)`,
      );
      expect(out).toMatch(/WARN {2}created a new data directory /);
      expect(readdirSync(dataDir).sort()).toEqual(["admin-token", "kek.key"]);
    } finally {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      await own.drop();
    }
  });
});
