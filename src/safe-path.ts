import { lstatSync, readlinkSync, type Stats, statSync } from "node:fs";
import { dirname, isAbsolute, join, sep } from "node:path";
import type { Logger } from "pino";
import { ConfigError } from "./config";

/** Most symbolic links followed on one path (Linux's own limit, MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

/**
 * Refuses `path` when another user could replace it or anything on the way to it: every
 * directory it goes through (symbolic links followed, as the kernel follows them at each open)
 * must belong to root or to `uid`, and not be writable by others unless it has the sticky bit
 * (/tmp), in which case the entry in it must belong to root or to `uid` (only an entry's owner
 * may rename a sticky directory's entry). This is OpenSSH's StrictModes check of the paths of
 * its keys, with symbolic links checked too (a link in /tmp would otherwise send certmint
 * wherever its owner likes). A directory writable by its group: a warning. A missing entry
 * stops the walk: certmint creates it, as `uid`.
 *
 * `refusal` ends each refusal's message: what the caller does instead ("refusing to start" for
 * the server; the CLI says it will not use the file and what to do). Only `logger.warn` is used.
 */
export function checkPath(
  path: string,
  what: string,
  uid: number,
  logger: Pick<Logger, "warn">,
  refusal = "refusing to start",
): void {
  const trusted = (owner: number) => owner === 0 || owner === uid;
  const pending = path.split(sep).filter((part) => part !== "");
  // A real directory (no symbolic link in it), checked up to here.
  let dir: string = sep;
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === ".") continue;
    if (name === "..") {
      dir = dirname(dir);
      continue;
    }
    const entry = join(dir, name);
    const parent = statSync(dir);
    if (!trusted(parent.uid)) {
      throw new ConfigError(
        `${what}: ${dir} belongs to uid ${parent.uid}, who can replace ${entry} with their own; ${refusal} (use a directory whose parents belong to root or to uid ${uid})`,
      );
    }
    let stats: Stats | undefined;
    try {
      stats = lstatSync(entry);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (parent.mode & 0o002 && !(parent.mode & 0o1000)) {
      throw new ConfigError(
        `${what}: ${dir} is writable by other users (mode ${modeOf(parent)}) and without the sticky bit: anyone can replace ${entry}; ${refusal}`,
      );
    }
    if (parent.mode & 0o022 && parent.mode & 0o1000 && stats && !trusted(stats.uid)) {
      throw new ConfigError(
        `${what}: ${entry} belongs to uid ${stats.uid} in ${dir}, which others may write to: its owner can replace it; ${refusal}`,
      );
    }
    if (parent.mode & 0o020 && !(parent.mode & 0o1000)) {
      logger.warn(
        { directory: dir, mode: modeOf(parent), path },
        "a directory above the data directory or key-encryption key is writable by its group: its members could replace what is in it",
      );
    }
    if (!stats) return;
    if (stats.isSymbolicLink()) {
      links += 1;
      if (links > MAX_SYMLINKS) throw new ConfigError(`${what}: too many symbolic links`);
      const target = readlinkSync(entry);
      pending.unshift(...target.split(sep).filter((part) => part !== ""));
      if (isAbsolute(target)) dir = sep;
      continue;
    }
    dir = entry;
  }
}

/**
 * checkPath for a file, then the file itself: it must belong to root or to `uid`, since its
 * owner can rewrite it in place. The check data-dir.ts makes at start-up of the files certmint
 * reads from outside its data directory (checkOutsideFile), for what reads such a file again
 * later (the TLS reload) and for the CLI's token files. Returns the file's stats (symbolic links
 * followed), or undefined when there is no file.
 */
export function checkOwnedFile(
  path: string,
  what: string,
  uid: number,
  logger: Pick<Logger, "warn">,
  refusal = "refusing to start",
): Stats | undefined {
  checkPath(path, what, uid, logger, refusal);
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if (stats.uid !== 0 && stats.uid !== uid) {
    throw new ConfigError(`${what} belongs to uid ${stats.uid}, who can replace it; ${refusal}`);
  }
  return stats;
}

/** A file's permission bits as chmod takes them, e.g. "0755", "01777". */
export const modeOf = (stats: Stats) => `0${(stats.mode & 0o7777).toString(8)}`;
