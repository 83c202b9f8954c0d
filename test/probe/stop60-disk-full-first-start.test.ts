/**
 * A first start of the embedded server (`make run`) on a disk with some room, but not enough for
 * a new database (initdb writes some 40 MB): an outside probe of stop 60 (2026-12-08) started
 * one on a 20 MiB tmpfs. It failed (ENOSPC, exit 1) but left pglite/ holding the global/ of a
 * database without PG_VERSION: initdb in the staging directory had failed, and a second create
 * on pglite/ itself followed and failed part-way. Every later start, with room, was refused as a
 * damaged database (exit 2), to be restored from a backup that could not exist. Now the staging
 * directory's failure is the start's, nothing reaches pglite/, and a start with room creates the
 * database. The line is one line, exit 1, and the log carries no stack trace.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { START_LIMIT_MS, startServerProcess } from "../support/server-process";
import { mountSmallDisk, runToExit, type SmallDisk } from "./disk-full-support";

const data = mountSmallDisk("cm-full-first-start", "20m");
const skip = typeof data === "string" ? data : undefined;

describe.skipIf(skip !== undefined)(
  `a first start on a disk too small for the database ${skip ?? ""}`,
  { timeout: 4 * START_LIMIT_MS },
  () => {
    const disk = data as SmallDisk;
    afterAll(() => disk?.remove());

    it("fails in one line, leaves pglite/ empty, and the next start with room creates the database", async () => {
      const dataDir = join(disk.dir, "fresh");
      mkdirSync(dataDir, { mode: 0o700 });
      const r = runToExit({ DATABASE_URL: "", CERTMINT_DATA_DIR: dataDir });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^certmint: start-up failed: .*pglite.*(ENOSPC|disk is full)/);
      // The log's fatal line names the reason, with no stack trace.
      const fatal = r.stdout
        .split("\n")
        .filter((l) => l.includes('"start-up failed"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(fatal).toHaveLength(1);
      expect(JSON.stringify(fatal[0])).not.toMatch(/\bat .*\.js:\d+/);
      // Nothing of a database was left where the next start looks.
      expect(readdirSync(join(dataDir, "pglite"))).toEqual([]);
      expect(existsSync(join(dataDir, "pglite.creating"))).toBe(false);

      spawnSync("mount", ["-o", "remount,size=160m", disk.dir]);
      const server = await startServerProcess({ DATABASE_URL: "", CERTMINT_DATA_DIR: dataDir });
      expect(existsSync(join(dataDir, "pglite", "PG_VERSION"))).toBe(true);
      expect(await server.stop()).toBe(0);
    });
  },
);
