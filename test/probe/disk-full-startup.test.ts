/**
 * Starting the embedded server (`make run`) on a data disk that is full, from outside: the
 * compiled server run to its exit.
 *
 * - No room for the database itself (a first start: PGlite's initdb needs some 40 MB): one line
 *   on stderr naming the directory and ENOSPC, exit 1. PGlite throws Emscripten's ErrnoError,
 *   which is not an Error: the line used to be "start-up failed: (a thrown value that is not an
 *   Error)". Once space is freed the same directory starts.
 * - Room for the database but not for the files beside it (the data directory on a full disk,
 *   pglite/ on a disk of its own): the key-encryption key cannot be written. One line, exit 1,
 *   and no kek.key left behind: an empty one used to stay, and every later start refused it
 *   ("it has 0 bytes") until someone deleted it by hand (a partial one of 32 bytes would have
 *   been taken for a raw key). Once space is freed the next start generates the key and serves.
 * - The same with the key given (CERTMINT_KEK): the first admin token cannot be written: one
 *   line, exit 1, no token file or temporary file left; the next start with space writes it.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { START_LIMIT_MS, startServerProcess } from "../support/server-process";
import { fillButOnePage, mountSmallDisk, runToExit, type SmallDisk } from "./disk-full-support";

const data = mountSmallDisk("cm-full-startup", "1m");
const skip = typeof data === "string" ? data : undefined;

describe.skipIf(skip !== undefined)(
  `starting on a full data disk ${skip ?? ""}`,
  {
    timeout: 4 * START_LIMIT_MS,
  },
  () => {
    const disk = data as SmallDisk;
    const mounted: SmallDisk[] = [];
    afterAll(() => {
      for (const m of mounted.reverse()) m.remove();
      disk?.remove();
    });

    it("without room for the database: one line naming ENOSPC and the directory, exit 1", async () => {
      const dataDir = join(disk.dir, "fresh");
      mkdirSync(dataDir, { mode: 0o700 });
      fillButOnePage(disk);
      const r = runToExit({ DATABASE_URL: "", CERTMINT_DATA_DIR: dataDir });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^certmint: start-up failed: .*pglite.*ENOSPC: no space left on device/,
      );
      expect(r.stderr).not.toMatch(/not an Error/);
      disk.unfill();
      // A disk with room again, by remounting the tmpfs larger: the same directory starts.
      spawnSync("mount", ["-o", "remount,size=96m", disk.dir]);
      const server = await startServerProcess({ DATABASE_URL: "", CERTMINT_DATA_DIR: dataDir });
      expect(await server.stop()).toBe(0);
      spawnSync("rm", ["-rf", dataDir]);
      spawnSync("mount", ["-o", "remount,size=1m", disk.dir]);
    });

    /** A data directory on the full disk whose pglite/ is a disk of its own with room. */
    const splitDataDir = (name: string) => {
      const dataDir = join(disk.dir, name);
      mkdirSync(join(dataDir, "pglite"), { recursive: true, mode: 0o700 });
      const pglite = mountSmallDisk("pglite", "96m", join(dataDir, "pglite"));
      if (typeof pglite === "string") throw new Error(pglite);
      mounted.push(pglite);
      return dataDir;
    };

    it("without room for the key-encryption key: one line, exit 1, no key file left; starts once freed", async () => {
      const dataDir = splitDataDir("kek");
      fillButOnePage(disk);
      const r = runToExit({ DATABASE_URL: "", CERTMINT_DATA_DIR: dataDir });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      // Nothing a later start would read: no kek.key, empty or partial, no temporary file.
      expect(readdirSync(dataDir).sort()).toEqual(["pglite"]);
      expect(r.stderr.trim().split("\n")).toEqual([
        `certmint: start-up failed: cannot load the key-encryption key: the KEK file ${join(dataDir, "kek.key")} cannot be created (ENOSPC: no space left on device)`,
      ]);

      disk.unfill();
      const server = await startServerProcess({ DATABASE_URL: "", CERTMINT_DATA_DIR: dataDir });
      expect(server.output()).toContain("generated a new key-encryption key");
      expect(server.adminToken()).toMatch(/\S{20,}/);
      expect(await server.stop()).toBe(0);
    });

    it("without room for the first admin token: one line, exit 1, no token file left; written once freed", async () => {
      const dataDir = splitDataDir("token");
      const env = {
        DATABASE_URL: "",
        CERTMINT_DATA_DIR: dataDir,
        CERTMINT_KEK: randomBytes(32).toString("base64"),
      };
      fillButOnePage(disk);
      const r = runToExit(env);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^certmint: start-up failed: cannot write the first admin token to .*admin-token: ENOSPC/,
      );
      expect(readdirSync(dataDir).sort()).toEqual(["pglite"]);

      disk.unfill();
      const server = await startServerProcess(env);
      expect(server.output()).toContain("created an admin access token");
      expect(existsSync(join(dataDir, "admin-token"))).toBe(true);
      expect(await server.stop()).toBe(0);
    });
  },
);
