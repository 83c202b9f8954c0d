import {
  chmodSync,
  closeSync,
  type Dirent,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statfsSync,
} from "node:fs";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { StartUpFailure } from "../start-up-failure";
import { EMBEDDED_LOCK_FILE, lockEmbeddedDatabase } from "./embedded-lock";
import { embeddedPlace } from "./embedded-place";
import { PGliteThread, type StartFailure } from "./embedded-thread";
import { EmbeddedSessions } from "./embedded-wire";

/**
 * The embedded default: PGlite (PostgreSQL compiled to WebAssembly) keeping its files in the
 * data directory, reached by MikroORM's postgresql driver through in-process connections
 * (embedded-wire.ts): no port, no socket file. PGlite is one session: the pool must be 1
 * (GUIDE 3), and connections take turns on a session reset for each.
 */
export interface EmbeddedPostgres {
  /** node-postgres's `stream` option: a new in-process connection per call. */
  stream(): Duplex;
  /** How many connections were opened so far (each on a reset session). */
  readonly sessionsOpened: number;
  /** Why the database stopped for good (a PostgreSQL PANIC), if it did. */
  readonly failed: Error | undefined;
  stop(): Promise<void>;
}

/** The embedded database's buffer pool (PostgreSQL's default: 128MB). */
export const EMBEDDED_SHARED_BUFFERS = "16MB";

/**
 * Files PGlite keeps open at most (PostgreSQL's max_files_per_process; it closes the least
 * recently used beyond it). Each is a file descriptor of this process, which its connections
 * draw on too. PostgreSQL's default, 1000, is sized for a backend process of its own: here it
 * let the database keep hundreds of relation files open (150 after start-up, 180 after a few
 * calls, up to 1000 as it touches more tables and indexes), which at a `ulimit -n` of 1024 left
 * the ports almost nothing (server/fd-budget.ts). 256 holds what certmint's calls touch.
 */
export const EMBEDDED_MAX_FILES = 256;

/**
 * Takes group and other permissions off the database's files (until stop 50 of 2026-12-06 they
 * kept what PostgreSQL-in-WebAssembly gave them: an outside probe found 996 files 0666 or 0777
 * under umask 000). A walk of its ~1,000 entries, a few milliseconds.
 */
function ownerOnly(pgDir: string): void {
  for (const entry of readdirSync(pgDir, { recursive: true, withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    try {
      const { mode } = lstatSync(path);
      if ((mode & 0o077) !== 0) chmodSync(path, mode & 0o700);
    } catch {
      // Gone meanwhile, or not ours: PGlite's start reports what matters.
    }
  }
}

/**
 * Refuses (exit 2, EMBEDDED_DATABASE_NOT_ACCESSIBLE) a database with a file this process cannot
 * open for reading and writing, or a directory it cannot list, naming it and its owner. PGlite
 * meets such a file deep in its WebAssembly and aborts ("Aborted(). Build with -sASSERTIONS for
 * more info.", exit 1), or fails a scandir with EACCES: until stop 58 of 2026-12-07 that was all
 * an operator saw after a restore, or a start, as another user (root) left files they do not own
 * (an outside probe). One open per file, about 1,000 on a new database: a few milliseconds.
 */
function refuseInaccessibleFiles(pgDir: string): void {
  const refuse = (path: string, err: unknown) => {
    let owner = "";
    try {
      owner = ` (owned by uid ${lstatSync(path).uid}, mode ${(lstatSync(path).mode & 0o7777).toString(8)})`;
    } catch {
      // Its owner cannot be read either: the path alone says enough.
    }
    const uid = process.getuid?.();
    const code = (err as NodeJS.ErrnoException).code ?? "EACCES";
    return new StartUpFailure(
      `the embedded database in ${pgDir} cannot be opened: this process${uid === undefined ? "" : ` (uid ${uid})`} cannot read and write ${path}${owner}: ${code}. A restore, or a start, as another user (root) leaves files so: give the whole directory back to the user certmint runs as (chown -R USER ${pgDir}; chmod -R u+rwX ${pgDir}), then start again`,
      2,
      "EMBEDDED_DATABASE_NOT_ACCESSIBLE",
    );
  };
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (isAccessError(err)) throw refuse(dir, err);
      throw err;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(path);
        continue;
      }
      if (!entry.isFile()) continue;
      try {
        closeSync(openSync(path, "r+"));
      } catch (err) {
        if (isAccessError(err)) throw refuse(path, err);
        // Gone meanwhile, or another fault: PGlite's start reports what matters.
      }
    }
  };
  walk(pgDir);
}

const isAccessError = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === "EACCES" || code === "EPERM";
};

export async function startEmbeddedPostgres(
  dataDir: string,
  events: ConstructorParameters<typeof EmbeddedSessions>[1] = {},
): Promise<EmbeddedPostgres> {
  const pgDir = join(dataDir, "pglite");
  // PGlite's files take their modes from PostgreSQL inside it (0666 and 0777 under
  // `UMask=0000`, whatever this process's umask): they are made owner-only at each start and
  // each clean stop (ownerOnly), as PostgreSQL's own are, so the files at rest, what a copy
  // that keeps modes (`cp -a`, `tar -p`) carries, are open to no one else. This directory,
  // inside the data directory (data-dir.ts), is what keeps other users out in any case.
  mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  chmodSync(pgDir, 0o700);
  // Before PGlite touches a file: a second server on these files would corrupt them.
  const lock = lockEmbeddedDatabase(dataDir);
  let db: PGliteThread;
  let sessions: EmbeddedSessions | undefined;
  // Set once pglite/ is known to hold no database (refuseDamagedDatabase): what a failed
  // create leaves there is its own.
  let creating = false;
  try {
    refuseInaccessibleFiles(pgDir);
    ownerOnly(pgDir);
    // pg_trgm serves the name search index (see the NameSearch migration). shared_buffers:
    // PostgreSQL's default 128 MB lives in PGlite's WebAssembly memory, which never shrinks;
    // one session on a small database needs far less, and the files are in the OS page cache
    // anyway. bench/embedded/memory.ts, on a restarted server: RSS 207 MiB after start and
    // 228-291 after 10 s of 16 clients issuing, instead of 332 and 410, at the same rate.
    const postgresqlconf = [
      `shared_buffers = ${EMBEDDED_SHARED_BUFFERS}`,
      `max_files_per_process = ${EMBEDDED_MAX_FILES}`,
    ].join("\n");
    const staging = join(dataDir, EMBEDDED_STAGING_DIR);
    if (!existsSync(join(pgDir, "PG_VERSION"))) {
      // A creation of ours was interrupted (in initdb, or while its files moved in): nothing in
      // pglite/ was ever opened as a database, and it is made again.
      if (existsSync(staging)) emptyDirectory(pgDir);
      refuseDamagedDatabase(pgDir);
      creating = true;
      await createDatabase(staging, pgDir, postgresqlconf);
    } else if (existsSync(staging)) {
      // Moved in whole before a kill left the staging directory behind.
      rmSync(staging, { recursive: true, force: true });
    }
    // PGlite runs on a thread of its own (embedded-thread.ts); a thread that stops while in
    // use stops the database for good, as a PANIC does.
    db = await PGliteThread.open(pgDir, postgresqlconf, (why) => sessions?.fail(why));
    ownerOnly(pgDir);
  } catch (err) {
    // A create on pglite/ that failed part-way (a full disk) left files of a database without
    // PG_VERSION, which every later start refused as damaged, to be restored from a backup that
    // could not exist (an outside probe, stop 60 of 2026-12-08): nothing was ever stored there
    // (refuseDamagedDatabase found no database before), so they go, and the next start creates
    // it again.
    if (creating && !existsSync(join(pgDir, "PG_VERSION"))) emptyDirectory(pgDir);
    lock.release();
    if (isStartFailure(err)) throw withPgliteOutput(pgliteStartError(err.error, pgDir), err.lines);
    throw pgliteStartError(err, pgDir);
  }
  sessions = new EmbeddedSessions(
    db,
    events,
    embeddedPlace(pgDir, join(dataDir, EMBEDDED_LOCK_FILE)),
  );
  const opened = sessions;
  return {
    stream: () => opened.connect(),
    get sessionsOpened() {
      return opened.sessionsOpened;
    },
    get failed() {
      return opened.failed;
    },
    async stop() {
      try {
        // After a PANIC a call into PGlite never returns: its files are left as the last
        // commit wrote them, and the next start recovers from them (embedded-panic.ts). Files
        // removed or replaced under it (embedded-place.ts) get no checkpoint either.
        if (!opened.failed) {
          await db.close();
          ownerOnly(pgDir);
        }
      } finally {
        // The thread ends either way; after a PANIC it is busy for good (embedded-panic.ts).
        await db.terminate();
        lock.release();
      }
    },
  };
}

/**
 * PGlite writes to the console itself: a file it cannot write at start-up is printed with
 * console.error ("Error writing file /pglite/data/postgresql.conf ErrnoError {...}", errno 2
 * whatever the cause) before it throws. On stderr that line came before certmint's one line
 * saying what to fix (pgliteStartError), which the README promises is all a refused start
 * prints (an outside probe, stop 46 of 2026-12-06: pglite/ made read-only). So while PGlite
 * starts, what it prints on its thread is kept instead (the last 20 lines, shortened:
 * embedded-thread.ts) and goes with the error into the fatal log line, not to stderr.
 */
const isStartFailure = (err: unknown): err is StartFailure =>
  typeof err === "object" && err !== null && "lines" in err && "error" in err;

/**
 * PGlite's own words about a failed start, for the log (never stderr; see silenceConsole): the
 * error's cause, which the log line keeps (server/log-errors.ts), when it has none already.
 */
function withPgliteOutput(err: unknown, lines: readonly string[]): unknown {
  if (lines.length === 0 || !(err instanceof Error) || err.cause !== undefined) return err;
  return Object.assign(err, { cause: new Error(`PGlite printed: ${lines.join(" | ")}`) });
}

/** Beside pglite/ in the data directory: where a new embedded database is made (createDatabase). */
export const EMBEDDED_STAGING_DIR = "pglite.creating";

/**
 * A new embedded database, made in `staging` and moved into pglite/ once initdb has finished,
 * PG_VERSION last: a start finds either a whole database or, with the staging directory still
 * there, a creation to make again. PGlite writes a new database's files in no fixed order, so
 * until stop 58 of 2026-12-07 a SIGKILL during the first start (an OOM kill: a first start
 * peaks near 800 MiB) left pglite/ with global/pg_control and no PG_VERSION, which every later
 * start refused as a damaged database to restore from a backup that could not exist (an
 * outside probe). pglite/ itself stays where it is (a mount point or a link the operator made);
 * only its entries move. When initdb fails, nothing moves: the create that follows, on pglite/,
 * meets the failure again and reports it (pgliteStartError), or succeeds (pglite/ a disk of its
 * own with room, the data directory's full); a create there that fails takes its files away
 * again (startEmbeddedPostgres).
 */
async function createDatabase(staging: string, pgDir: string, postgresqlconf: string) {
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { mode: 0o700 });
  await initdbOffThread(staging, postgresqlconf);
  if (!existsSync(join(staging, "PG_VERSION"))) {
    rmSync(staging, { recursive: true, force: true });
    return;
  }
  emptyDirectory(pgDir);
  const entries = readdirSync(staging).filter((name) => name !== "PG_VERSION");
  for (const name of [...entries, "PG_VERSION"]) {
    renameSync(join(staging, name), join(pgDir, name));
  }
  rmSync(staging, { recursive: true, force: true });
}

/** Removes what `dir` holds, keeping `dir` itself. */
function emptyDirectory(dir: string): void {
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
}

/**
 * A new embedded database's initdb, on a worker thread. PGlite runs it synchronously in
 * WebAssembly: on the event loop it held the server for 5-6 s of a first start, during which
 * a health Check got no answer at all instead of NOT_SERVING (found by an outside probe,
 * 2026-12-05; `node` on this machine: a 5.3 s stall, against 57 ms with the thread, and the
 * open that follows 0.5 s). The thread ends with it, and with this process: no process outlives
 * the server to write the files after embedded.pid is released. Whatever goes wrong on the
 * thread, the create that follows on pglite/ meets it again and reports it (pgliteStartError).
 */
async function initdbOffThread(pgDir: string, postgresqlconf: string): Promise<void> {
  try {
    const created = await PGliteThread.open(pgDir, postgresqlconf, () => {});
    await created.close();
  } catch {
    // The create that follows, on pglite/, meets it again and reports it (startEmbeddedPostgres).
  }
}

/**
 * A database directory without PG_VERSION is new, unless initdb got past writing it: initdb
 * writes PG_VERSION before its bootstrap creates global/pg_control and the first database under
 * base/, so either of those without PG_VERSION is a database that lost files (a partial copy or
 * restore, a cleanup that went too far). PGlite would run initdb over it and start an empty
 * PKI beside the old files, with a new admin token: until stop 40 of 2026-12-05 it did (an
 * outside probe's case, a data directory restored without PG_VERSION). An initdb interrupted
 * before the bootstrap left neither, and starts again.
 */
function refuseDamagedDatabase(pgDir: string): void {
  const hasControl = existsSync(join(pgDir, "global", "pg_control"));
  let databases = 0;
  try {
    databases = readdirSync(join(pgDir, "base")).length;
  } catch {
    // No base/: nothing was bootstrapped.
  }
  if (!hasControl && databases === 0) return;
  throw new StartUpFailure(
    `the embedded database in ${pgDir} is damaged: it has ${hasControl ? "global/pg_control" : "databases under base/"} but no PG_VERSION, so files are missing (a partial copy or restore?). certmint will not create a new database over it: restore the data directory from a backup, or move ${pgDir} aside to start with an empty database (its CAs, keys and certificates are not in the new one; if the first start of a version before stop 58 was killed while creating it, nothing was ever stored there)`,
    2,
    "EMBEDDED_DATABASE_DAMAGED",
  );
}

/**
 * Why PGlite could not start, in words an operator can act on. Its file system layer
 * (Emscripten's) throws its own ErrnoError, which is not an Error and carries only a number: a
 * first start on a disk without room for the database (initdb needs some 40 MB) used to end in
 * "start-up failed: (a thrown value that is not an Error)". An existing database opened on a
 * full disk aborts the WebAssembly instead ("Aborted(). Build with -sASSERTIONS for more
 * info."), saying nothing of the disk; so when the disk has less room than PostgreSQL's next
 * WAL segment (16 MiB), the message says that (test/probe/disk-full-*.test.ts).
 */
function pgliteStartError(err: unknown, pgDir: string): unknown {
  const errno = (err as { errno?: unknown } | null)?.errno;
  if (!(err instanceof Error) && typeof errno === "number") {
    const known = EMSCRIPTEN_ERRNO[errno];
    const message = `the embedded database in ${pgDir} cannot be created or opened (${known ?? `file system error ${errno}`})`;
    // Its cause is outside certmint (a full disk, a permission): one line, no stack trace, exit
    // 1 (freeing space or fixing the mode, then starting again, cures it).
    return known ? new StartUpFailure(message, 1, known.split(":")[0]) : new Error(message);
  }
  if (err instanceof StartUpFailure) return err;
  const free = freeBytes(pgDir);
  const what = err instanceof Error ? err.message : "a thrown value that is not an Error";
  if (free !== undefined && free >= WAL_SEGMENT_BYTES && DAMAGED.test(what)) {
    // PGlite's words for a database whose files it cannot read as one (a damaged pg_control,
    // a missing catalog), with room on the disk: a restart meets the same files.
    return new StartUpFailure(
      `the embedded database in ${pgDir} cannot be opened (PGlite: ${what}): its files look damaged (an interrupted copy or restore, a disk error). Restore the data directory from a backup, or move ${pgDir} aside to start with an empty database (its CAs, keys and certificates are not in the new one)`,
      2,
      "EMBEDDED_DATABASE_DAMAGED",
    );
  }
  if (free === undefined || free >= WAL_SEGMENT_BYTES) return err;
  return new StartUpFailure(
    `the embedded database in ${pgDir} cannot be opened: its disk is full or nearly (${free} bytes free); free space on it, then start again (PGlite: ${what})`,
    1,
    "ENOSPC",
  );
}

/** Emscripten's numbers of the file errors an operator can act on, as Node names them. */
const EMSCRIPTEN_ERRNO: Record<number, string> = {
  2: "EACCES: permission denied",
  19: "EDQUOT: disk quota exceeded",
  29: "EIO: input/output error",
  51: "ENOSPC: no space left on device",
  69: "EROFS: read-only file system",
};

/** What PGlite says when the files it opens are not a database it can start. */
const DAMAGED = /failed to initialize properly/;

/** PostgreSQL's WAL segment: what it may have to create to open a database. */
const WAL_SEGMENT_BYTES = 16 * 1024 * 1024;

function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}
