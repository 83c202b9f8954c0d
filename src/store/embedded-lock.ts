import { randomBytes } from "node:crypto";
import {
  linkSync,
  mkdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { StartUpFailure } from "../start-up-failure";

/**
 * One server per embedded database. PGlite is PostgreSQL in this process, with no postmaster
 * to keep a second one out: two servers on one data directory would both write its files and
 * corrupt them. PostgreSQL itself keeps `postmaster.pid` in its data directory for this; this
 * is the same idea: `embedded.pid` holds the owner's process id, created exclusively (O_EXCL),
 * and on its second line when that process started (the boot's id and the start time in clock
 * ticks, from /proc: a process id is reused, a start time on one boot is not).
 *
 * A file left by a server that was killed (SIGKILL, a crash, a power cut) names a process that
 * no longer exists, or a process id some other program has since (after a reboot, or in a
 * copied data directory): the next start takes it over. Only the process that wrote it refuses
 * the start, naming it. Until stop 50 of 2026-12-06 any live process under that id did (an
 * outside probe: `sleep` holding a dead server's id kept the server down, exit 2, for good). A
 * file without the second line (an older certmint's) is judged by the id and the program under it
 * (Node's, or not), and on a system without /proc by the id alone, as before.
 */
export interface EmbeddedLock {
  release(): void;
}

/** The lock file's name in the data directory. */
export const EMBEDDED_LOCK_FILE = "embedded.pid";

/** For tests: runs between reading a dead owner's file and taking it over. */
export interface TakeoverHooks {
  beforeTakeover?: () => void;
}

/** Paths this process holds: a second start inside one process is refused like another's. */
const held = new Set<string>();

/** Locks taken by reserveEmbeddedDatabase that no start has claimed yet, by path. */
const reserved = new Map<string, EmbeddedLock>();

/**
 * Takes the lock ahead of the database's start (app.ts, before any port is bound): a second
 * server on a data directory in use is refused before it logs "listening" (until stop 43 of
 * 2026-12-06 it logged it, then failed; an outside probe). The next lockEmbeddedDatabase of
 * this directory in this process (startEmbeddedPostgres) claims it; `cancel` releases it if
 * none has (a start that failed before).
 */
export function reserveEmbeddedDatabase(dataDir: string): { cancel(): void } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, EMBEDDED_LOCK_FILE);
  const lock = lockEmbeddedDatabase(dataDir);
  reserved.set(path, lock);
  return {
    cancel() {
      if (reserved.get(path) !== lock) return;
      reserved.delete(path);
      lock.release();
    },
  };
}

/** How long a start waits for another start's takeover (or half-written lock) to settle. */
const SETTLE_WAIT_MS = 5_000;
/** A takeover directory older than this was left by a start that died while taking over. */
const STALE_TAKEOVER_MS = 10_000;
/** An empty lock file older than this was left by an older certmint killed while writing it. */
const STALE_EMPTY_MS = 2_000;

/**
 * Takes the lock. The lock file appears whole (written under a temporary name, then linked
 * into place: link(2) fails if the name exists), and a dead owner's file is replaced only
 * under `embedded.pid.takeover`, a directory made with mkdir(2), which one start at a time
 * creates, and only after reading the file again there: until 2026-12-05 two starts racing
 * after a crash could both unlink and recreate it (the second unlinking the first's fresh
 * lock), and both servers then ran on one database: certificates issued by one were lost, and
 * their request ids issued again (an outside probe).
 */
export function lockEmbeddedDatabase(dataDir: string, hooks: TakeoverHooks = {}): EmbeddedLock {
  const path = join(dataDir, EMBEDDED_LOCK_FILE);
  const mine = reserved.get(path);
  if (mine) {
    reserved.delete(path);
    return mine;
  }
  if (held.has(path)) throw inUse(path, process.pid);
  const settleBy = Date.now() + SETTLE_WAIT_MS;
  const exitedBy = Date.now() + OWNER_EXIT_WAIT_MS;
  for (;;) {
    if (createLock(path)) {
      held.add(path);
      const created = statSync(path);
      return {
        release() {
          if (!held.delete(path)) return;
          try {
            // Only the file this lock created: a data directory removed or replaced under the
            // server (embedded-place.ts) may hold another server's lock at this path by now.
            const now = statSync(path);
            if (now.dev === created.dev && now.ino === created.ino) unlinkSync(path);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    }
    const owner = ownerOf(path);
    if (typeof owner === "object" && owner.pid !== process.pid && isRunning(owner)) {
      if (!isExiting(owner.pid) || Date.now() > exitedBy) throw inUse(path, owner.pid);
      sleepMs(20);
      continue;
    }
    // Gone since (released): create it again. Otherwise a dead owner's, or unreadable.
    if (owner !== "gone") {
      hooks.beforeTakeover?.();
      const outcome = takeOver(path, owner);
      if (outcome.live !== undefined) throw inUse(path, outcome.live);
      if (outcome.done) continue;
    }
    if (Date.now() > settleBy) {
      // One line, exit 1: the other start may finish (start-up-failure.ts).
      throw new StartUpFailure(
        `cannot take over ${path}: another start is taking it over (or left ${path}.takeover behind; if no certmint runs, delete both)`,
        1,
        "EMBEDDED_DATABASE_IN_USE",
      );
    }
    sleepMs(20);
  }
}

/** Creates the lock file holding this process's id; false if it exists. */
function createLock(path: string): boolean {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    writeFileSync(temp, lockText(), { mode: 0o600, flag: "wx" });
  } catch (err) {
    // A full disk (ENOSPC) fails the write: name the lock file, not the temporary one
    // (test/probe/disk-full-embedded.test.ts).
    removeQuietly(temp);
    const { code, message } = err as NodeJS.ErrnoException;
    throw Object.assign(new Error(`cannot write ${path}: ${message}`), { code, cause: err });
  }
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    // A file system without hard links (some network and FUSE mounts): create it exclusively
    // and write it, as before 2026-12-05; an empty file is then briefly visible to a racing
    // start, which takes it for one being written (takeOver).
    if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "ENOSYS") {
      return createInPlace(path);
    }
    throw err;
  } finally {
    removeQuietly(temp);
  }
}

function createInPlace(path: string): boolean {
  try {
    writeFileSync(path, lockText(), { mode: 0o600, flag: "wx" });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    removeQuietly(path);
    const { code, message } = err as NodeJS.ErrnoException;
    throw Object.assign(new Error(`cannot write ${path}: ${message}`), { code, cause: err });
  }
}

/**
 * Removes a dead owner's lock file under the takeover directory, after reading it again:
 * `done` once it is gone (the caller creates its own), `live` if a live start holds it now,
 * neither while another start is taking it over.
 */
function takeOver(path: string, seen: Owner | "empty" | "gone"): { done: boolean; live?: number } {
  const guard = `${path}.takeover`;
  try {
    mkdirSync(guard, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    // Another start is taking over; one that died doing so left the directory behind.
    if (ageMs(guard) > STALE_TAKEOVER_MS) removeQuietly(guard, true);
    return { done: false };
  }
  try {
    const now = ownerOf(path);
    if (typeof now === "object" && now.pid !== process.pid && isRunning(now))
      return { done: false, live: now.pid };
    if (now === "gone") return { done: true };
    // A file with no id yet is one being written by an older certmint; let it finish.
    if (now === "empty" && (seen !== "empty" || ageMs(path) < STALE_EMPTY_MS)) {
      return { done: false };
    }
    unlinkSync(path);
    return { done: true };
  } finally {
    removeQuietly(guard, true);
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function removeQuietly(path: string, directory = false): void {
  try {
    if (directory) rmdirSync(path);
    else unlinkSync(path);
  } catch {
    // Not there: nothing to remove.
  }
}

/** Blocks the thread: start-up is synchronous here, and nothing else runs yet. */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** What a lock file says of its owner: its process id, and when it started if it says. */
interface Owner {
  pid: number;
  started?: string;
}

/**
 * This process's lock file: its id, then when it started. An older certmint reads the first
 * line only (parseInt stops at the line break).
 */
function lockText(): string {
  return `${process.pid}\n${processStart(process.pid) ?? ""}\n`;
}

/** The owner named by the file; "empty" when it names none; "gone" when there is no file. */
function ownerOf(path: string): Owner | "empty" | "gone" {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    throw err;
  }
  const [first = "", second = ""] = text.split("\n");
  const pid = Number.parseInt(first.trim(), 10);
  if (!Number.isSafeInteger(pid) || pid <= 0) return "empty";
  return second.trim() ? { pid, started: second.trim() } : { pid };
}

/**
 * Whether the process that wrote the file still runs: its id is alive, started then, and is not
 * a zombie (it exited; its parent has not reaped it yet).
 */
function isRunning(owner: Owner): boolean {
  if (!isAlive(owner.pid) || statOf(owner.pid)?.state === "Z") return false;
  // An older certmint's file: its process is Node's, whatever program has the id now is not
  // unless it is (`sleep`, a shell after a reboot). Unreadable: taken to be.
  if (owner.started === undefined) return commandOf(owner.pid)?.includes("node") ?? true;
  const started = processStart(owner.pid);
  return started === undefined || started === owner.started;
}

/** The program name of process `pid` (/proc/<pid>/comm), lower-case; undefined without it. */
function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim().toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * When process `pid` started, as "<boot id> <start time in clock ticks>" (proc(5): field 22 of
 * /proc/<pid>/stat, counted after the command name, which may hold spaces and parentheses);
 * undefined without /proc (not Linux) or when the process is not readable.
 */
function processStart(pid: number): string | undefined {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = fields[19];
    return boot && ticks && /^\d+$/.test(ticks) ? `${boot} ${ticks}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Process `pid`'s state letter and flags (proc(5): fields 3 and 9 of /proc/<pid>/stat);
 * undefined without /proc or when it is gone.
 */
function statOf(pid: number): { state: string; flags: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0] ?? "", flags: Number(fields[6] ?? 0) };
  } catch {
    return undefined;
  }
}

/** The kernel's PF_EXITING: the process is being torn down (after a SIGKILL, say). */
const PF_EXITING = 0x4;

/** Whether process `pid` is exiting: torn down, or a zombie. */
function isExiting(pid: number): boolean {
  const stat = statOf(pid);
  return stat !== undefined && (stat.state === "Z" || (stat.flags & PF_EXITING) !== 0);
}

/**
 * How long a start waits for the lock's owner to finish exiting. A server killed with SIGKILL
 * (an OOM kill, `kill -9`) takes a few hundred milliseconds to tear down its memory; a restart
 * in that time was refused EMBEDDED_DATABASE_IN_USE, exit 2, "only a configuration change
 * helps", and a supervisor that does not restart on exit 2 left the service down (an outside
 * probe, stop 60 of 2026-12-08).
 */
const OWNER_EXIT_WAIT_MS = 10_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Only a change of configuration (another data directory) or of what runs helps: one line and
 * exit 2, as README "Start-up failures" says (until stop 43 of 2026-12-06 a stack trace and
 * exit 1, and a service manager started it again and again; an outside probe).
 */
function inUse(path: string, pid: number): StartUpFailure {
  return new StartUpFailure(
    `the embedded database in this data directory is in use by another certmint (process ${pid}): stop it first, or give this one another CERTMINT_DATA_DIR or a DATABASE_URL (if no certmint runs, delete ${path})`,
    2,
    "EMBEDDED_DATABASE_IN_USE",
  );
}
