/**
 * A refused start of the embedded database prints one line on stderr, as the README promises.
 * Until stop 46 of 2026-12-06, with pglite/ made read-only, PGlite's own
 * `Error writing file /pglite/data/postgresql.conf ErrnoError {...}` (errno 2 whatever the
 * cause) came first (an outside probe, F3): src/store/embedded-postgres.ts now keeps what PGlite
 * prints during start-up out of stderr and puts it in the fatal log line instead.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ROOT,
  START_LIMIT_MS,
  serverCommand,
  startServerProcess,
  withoutFileOverride,
} from "../support/server-process";

describe("a refused embedded start", { timeout: 3 * START_LIMIT_MS }, () => {
  const root = mkdtempSync(join(tmpdir(), "certmint-stop46g-pglite-"));
  const dataDir = join(root, "data");
  const pgDir = join(dataDir, "pglite");

  beforeAll(async () => {
    const server = await startServerProcess({ DATABASE_URL: "", CERTMINT_DATA_DIR: dataDir });
    expect(await server.stop()).toBe(0);
  });
  afterAll(() => {
    spawnSync("chmod", ["-R", "u+w", pgDir]);
    rmSync(root, { recursive: true, force: true });
  });

  it("with pglite/ read-only: certmint's one line on stderr, PGlite's words only in the log", () => {
    // As the probe did; as root, only without CAP_DAC_OVERRIDE do the modes apply (CI runs as
    // root: withoutFileOverride).
    const chmod = spawnSync("chmod", ["-R", "a-w", pgDir], { encoding: "utf8" });
    expect(chmod.status, chmod.stderr).toBe(0);
    const [command, args] = withoutFileOverride(true, serverCommand());
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
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toEqual([
      `certmint: start-up failed: the embedded database in ${pgDir} cannot be created or opened (EACCES: permission denied)`,
    ]);
    // Not lost: the fatal log line (stdout) carries what PGlite said.
    const fatal = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === "start-up failed");
    expect(JSON.stringify(fatal?.err)).toContain("Error writing file");
  });
});
