/**
 * One server per embedded database (src/store/embedded-lock.ts): PGlite is PostgreSQL inside
 * the server's process, so a second `make run` on the same data directory would write the same
 * database files from a second process and corrupt them. The second start is refused, naming
 * the first; the first keeps serving; a lock left by a killed server is taken over (the SIGKILL
 * restart of test/server/embedded-lifecycle.test.ts covers that path too).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkHealth,
  ROOT,
  type ServerProcess,
  START_LIMIT_MS,
  serverCommand,
  startServerProcess,
} from "../support/server-process";

describe("a second server on the same embedded database", { timeout: 3 * START_LIMIT_MS }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-embedded-owner-"));
  const env = { DATABASE_URL: "", CERTMINT_DATA_DIR: dataDir };
  const lockFile = join(dataDir, "embedded.pid");
  let first: ServerProcess | undefined;
  let third: ServerProcess | undefined;

  afterAll(async () => {
    await first?.stop("SIGKILL");
    await third?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("is refused while the first runs, which keeps serving; a killed owner's lock is taken over", async () => {
    first = await startServerProcess(env);
    expect(readFileSync(lockFile, "utf8").split("\n")[0]).toBe(String(first.child.pid));

    const { command, args } = serverCommand();
    const second = spawnSync(command, args, {
      cwd: ROOT,
      env: { ...process.env, CERTMINT_LISTEN: "127.0.0.1:0", ...env },
      encoding: "utf8",
      timeout: START_LIMIT_MS,
    });
    expect(second.status).not.toBe(0);
    expect(second.stderr).toContain(`in use by another certmint (process ${first.child.pid})`);
    // The refusal came before the database was opened: the first server is untouched.
    expect(await checkHealth(first.address)).toBe("SERVING");
    expect(readFileSync(lockFile, "utf8").split("\n")[0]).toBe(String(first.child.pid));

    // Killed, the first leaves its lock behind; the next start takes it over.
    await first.stop("SIGKILL");
    first = undefined;
    expect(existsSync(lockFile)).toBe(true);
    third = await startServerProcess(env);
    expect(await checkHealth(third.address)).toBe("SERVING");
    expect(readFileSync(lockFile, "utf8").split("\n")[0]).toBe(String(third.child.pid));

    // A clean stop removes it.
    await third.stop();
    third = undefined;
    expect(existsSync(lockFile)).toBe(false);
  });
});
