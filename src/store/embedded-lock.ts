import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

/**
 * One server per embedded database. PGlite is PostgreSQL in this process, with no postmaster
 * to keep a second one out: two servers on one data directory would both write its files and
 * corrupt them. PostgreSQL itself keeps `postmaster.pid` in its data directory for this; this
 * is the same idea: `embedded.pid` holds the owner's process id, created exclusively (O_EXCL).
 *
 * A file left by a server that was killed (SIGKILL, a crash, a power cut) names a process that
 * no longer exists: the next start takes it over. A live process under that id refuses the
 * start, naming it. (A later, unrelated process that reused the id would be refused too: the
 * message says which file to delete then, as PostgreSQL's does.)
 */
export interface EmbeddedLock {
  release(): void;
}

/** Paths this process holds: a second start inside one process is refused like another's. */
const held = new Set<string>();

export function lockEmbeddedDatabase(dataDir: string): EmbeddedLock {
  const path = join(dataDir, "embedded.pid");
  if (held.has(path)) throw inUse(path, process.pid);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } catch (err) {
        // A full disk (ENOSPC) fails the write, not the create: the bare "ENOSPC: no space
        // left on device, write" named no file (test/probe/disk-full-embedded.test.ts).
        unlinkSync(path);
        const { code, message } = err as NodeJS.ErrnoException;
        throw Object.assign(new Error(`cannot write ${path}: ${message}`), { code, cause: err });
      } finally {
        closeSync(fd);
      }
      held.add(path);
      return {
        release() {
          if (!held.delete(path)) return;
          try {
            unlinkSync(path);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw err;
    }
    const owner = ownerOf(path);
    if (owner !== undefined && owner !== process.pid && isAlive(owner)) throw inUse(path, owner);
    // Left by a server that is gone: take it over (one retry; a racing start wins or loses
    // on the exclusive create).
    unlinkSync(path);
  }
}

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function inUse(path: string, pid: number): Error {
  return new Error(
    `the embedded database in this data directory is in use by another certmint (process ${pid}): stop it first, or give this one another CERTMINT_DATA_DIR or a DATABASE_URL (if no certmint runs, delete ${path})`,
  );
}
