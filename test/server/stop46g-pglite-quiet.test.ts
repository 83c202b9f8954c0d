/**
 * A refused start of the embedded database prints one line on stderr, as the README promises.
 * Until stop 46 of 2026-12-06, with pglite/ made read-only, PGlite's own
 * `Error writing file /pglite/data/postgresql.conf ErrnoError {...}` (errno 2 whatever the
 * cause) came first (an outside probe, F3): src/store/embedded-postgres.ts keeps what PGlite
 * prints during start-up out of stderr and puts it in the fatal log line instead; since stop 58
 * a file it cannot write is found before PGlite starts, and named.
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

  it("with pglite/ read-only: one line on stderr naming the file, exit 2", () => {
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
    // Since stop 58 of 2026-12-07 certmint finds the file it cannot write before PGlite starts,
    // and names it (embedded-postgres.ts refuseInaccessibleFiles), exit 2.
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^certmint: start-up failed: the embedded database in ${pgDir} cannot be opened: this process \\(uid \\d+\\) cannot read and write ${pgDir}/`,
      ),
    );
    expect(lines[0]).toContain("EACCES");
    const fatal = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === "start-up failed");
    expect(JSON.stringify(fatal)).toContain("EMBEDDED_DATABASE_NOT_ACCESSIBLE");
  });
});
