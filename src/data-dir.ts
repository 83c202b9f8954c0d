import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  type Stats,
  statSync,
} from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { Logger } from "pino";
import { type Config, ConfigError, ENV } from "./config";
import { checkPath, modeOf } from "./safe-path";

/**
 * Checks the data directory and the secrets in it before anything is opened (issue 10 item
 * 14). The directory holds the embedded database, the key-encryption key and the first admin
 * token; its mode is what keeps other local users out of all three.
 *
 * - Missing: created, only as the last directory of a path whose parent exists
 *   (createDataDir); `created` says so, for main.ts to warn: a new data directory is a new PKI.
 * - Writable by group or others, or owned by another user: refused (ConfigError, exit 2).
 *   Someone else could already have planted a key-encryption key of their choosing (a new
 *   database seals its CA keys with whatever kek.key holds) or swapped the database; making
 *   the directory 0700 now would not undo that, so the operator has to look.
 * - Only readable or searchable by group or others: certmint makes it 0700 and warns
 *   (PostgreSQL itself refuses such a data directory; here the fix is safe and keeps
 *   `mkdir data && make run` working), unless something in it could have been written
 *   meanwhile: the embedded database (PGlite writes its files with mode 0666, so only pglite/
 *   and this directory keep others out) or a kek.key others could write. Then it is refused,
 *   as a directory others can write to is.
 * - The admin token and a key-encryption key file inside it: readable by anyone but us, they
 *   are made 0600 with a warning. A key-encryption key file elsewhere (a mounted secret,
 *   CERTMINT_KEK_FILE) is not ours to chmod: writable by group or others is refused, readable
 *   by them is a warning, as for the TLS key.
 * - The directories above the data directory, the key-encryption key file and the TLS files,
 *   and any symbolic link on the way (checkPath): owned by another user (not root), or writable
 *   by others without the sticky bit, is refused; so is a symbolic link of another user in a
 *   sticky directory such as /tmp, and a file outside the data directory that another user
 *   owns. Whoever can replace an entry on the path can swap the whole directory for one of
 *   their own (their kek.key, their database), at the next start or while certmint runs.
 *   Writable by the group only is a warning (a volume shared with a group, e.g. Kubernetes
 *   fsGroup).
 */
export function secureDataDir(config: Config, logger: Logger): { created: boolean } {
  const dir = config.dataDir;
  const created = createDataDir(dir);
  const stats = statSync(dir);
  if (!stats.isDirectory()) throw new ConfigError(`${ENV.dataDir}=${dir} is not a directory`);
  const uid = process.geteuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new ConfigError(
      `${ENV.dataDir}=${dir} belongs to uid ${stats.uid}, not to uid ${uid} that certmint runs as; refusing to start (chown it, or use another directory)`,
    );
  }
  if (stats.mode & 0o022) {
    throw new ConfigError(
      `${ENV.dataDir}=${dir} is writable by other users (mode ${modeOf(stats)}): its key-encryption key or database may have been replaced; refusing to start (check its contents, then chmod 700 it)`,
    );
  }
  if (uid !== undefined) checkPath(dir, `${ENV.dataDir}=${dir}`, uid, logger);
  checkUsable(config, stats, uid);
  if (stats.mode & 0o077) {
    refuseIfWritten(config, stats);
    chmodSync(dir, 0o700);
    logger.warn(
      { dataDir: dir, mode: modeOf(stats) },
      "the data directory was readable by other users: changed it to mode 0700",
    );
  }
  for (const file of [config.adminTokenFile, config.kek.file]) {
    if (file === undefined || !existsSync(file)) continue;
    if (isInside(dir, file)) tightenOwnFile(file, logger);
    else checkForeignKekFile(file, logger);
  }
  if (uid === undefined) return { created };
  // Also when it does not exist yet: it would be created there.
  const kekFile = config.kek.file;
  if (kekFile !== undefined && !isInside(dir, kekFile)) {
    checkOutsideFile(
      kekFile,
      ENV.kekFile,
      "can choose the key CA keys are sealed with",
      uid,
      logger,
    );
  }
  // Read again every CERTMINT_TLS_RELOAD_INTERVAL_MS: whoever can replace them serves the gRPC
  // (and ACME) port with a key and certificate of their choosing, or adds a client CA.
  const tls = config.tls;
  if (tls) {
    const files: Array<[string, string | undefined]> = [
      [ENV.tlsCertFile, tls.certFile],
      [ENV.tlsKeyFile, tls.keyFile],
      [ENV.tlsClientCaFile, tls.clientCaFile],
      // Whoever can replace the CRLs can un-revoke a client certificate.
      [ENV.tlsClientCrlFile, tls.clientCrlFile],
    ];
    for (const [name, file] of files) {
      if (file) checkOutsideFile(file, name, "can replace it", uid, logger);
    }
  }
  // The ACME listener's own pair, when it has one (re-read like the gRPC port's): unchecked
  // until 2026-12-05 (an outside probe's helper found it).
  const acmeTls = config.acme?.tls;
  if (acmeTls && acmeTls !== tls) {
    for (const [name, file] of [
      [ENV.acmeTlsCertFile, acmeTls.certFile],
      [ENV.acmeTlsKeyFile, acmeTls.keyFile],
    ] as Array<[string, string | undefined]>) {
      if (file) checkOutsideFile(file, name, "can replace it", uid, logger);
    }
  }
  return { created };
}

/**
 * A data directory that does not exist yet is a new root of trust: certmint fills it with a new
 * key-encryption key, a new admin token and (embedded) a new, empty database, and serves that.
 * So it is created only as the last step of a path that otherwise exists, never with its
 * parents (mkdir -p): a mistyped CERTMINT_DATA_DIR, or the relative default ./data resolved
 * against another working directory, used to create every missing directory and serve an empty
 * PKI with health SERVING, the operator's CAs gone from the service's point of view (an outside
 * probe, stop 46 of 2026-12-06). A missing parent is refused (ConfigError: exit 2, one line,
 * nothing created), as a DATABASE_URL naming an unknown database is. `make run` on a fresh
 * clone makes ./data in the clone, whose parent exists. A directory it does create is said at
 * warn by main.ts, with its absolute path (secureDataDir's `created`): a new PKI should never
 * go unnoticed.
 */
function createDataDir(dir: string): boolean {
  if (existsSync(dir)) return false;
  const absolute = resolve(dir);
  const parent = dirname(absolute);
  if (!existsSync(parent)) {
    throw new ConfigError(
      `${ENV.dataDir}=${dir}: its parent directory ${parent} does not exist (working directory ${process.cwd()}, which a relative path and the default ./data are resolved against); certmint creates only the last directory of the path, to keep a typo from starting a new, empty PKI (new key-encryption key, admin token and database): fix ${ENV.dataDir}, or create ${parent} first`,
    );
  }
  try {
    mkdirSync(absolute, { mode: 0o700 });
    chmodSync(absolute, 0o700); // the umask may have taken bits we need, never added any
  } catch (err) {
    throw new ConfigError(`cannot create ${ENV.dataDir}=${dir}: ${(err as Error).message}`);
  }
  return true;
}

/**
 * A file certmint reads from outside its data directory (a mounted secret): nobody but root and
 * `uid` may own it or replace it on its path (checkPath).
 */
function checkOutsideFile(
  file: string,
  name: string,
  consequence: string,
  uid: number,
  logger: Logger,
): void {
  checkPath(file, `${name}=${file}`, uid, logger);
  if (!existsSync(file)) return;
  const owner = statSync(file).uid;
  if (owner !== 0 && owner !== uid) {
    throw new ConfigError(
      `${name}=${file} belongs to uid ${owner}, who ${consequence}; refusing to start`,
    );
  }
}

/**
 * What certmint itself must be able to do in the data directory, checked before anything is
 * created in it: enter, read and write it, and find each of its entries of the kind it is.
 * Until 2026-12-05 these failed later, as raw errno text and exit 1 (EACCES on mkdir pglite,
 * EISDIR on embedded.pid), and a directory named kek.key was first chmod'ed as a secret file,
 * then a whole new database was made before its read failed.
 */
function checkUsable(config: Config, stats: Stats, uid: number | undefined): void {
  const dir = config.dataDir;
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    // No mode cures a read-only file system: say so, rather than advise a chmod of a
    // directory that is 0700 already (an outside probe, stop 52 of 2026-12-07).
    if ((err as NodeJS.ErrnoException).code === "EROFS") {
      throw new ConfigError(
        `${ENV.dataDir}=${dir} is on a read-only file system: certmint writes its database, key-encryption key and lock there; mount it read-write, or point ${ENV.dataDir} at a writable directory`,
      );
    }
    throw new ConfigError(
      `${ENV.dataDir}=${dir} must be readable, writable and searchable by uid ${uid ?? "?"} that certmint runs as (it is mode ${modeOf(stats)}); chmod 700 it`,
    );
  }
  const files: Array<[string | undefined, string]> = [
    [config.kek.file, "the key-encryption key"],
    [config.adminTokenFile, "the first admin token"],
    [join(dir, "embedded.pid"), "the embedded database's owner process id"],
  ];
  for (const [path, what] of files) {
    if (path === undefined || !isInside(dir, path)) continue;
    const kind = entryKind(path);
    if (kind !== undefined && kind !== "file") {
      throw new ConfigError(
        `${path} is a ${kind}, not a file: certmint keeps ${what} there; move it away`,
      );
    }
  }
  if (config.databaseUrl === undefined) {
    const pglite = join(dir, "pglite");
    const kind = entryKind(pglite);
    if (kind !== undefined && kind !== "directory") {
      throw new ConfigError(
        `${pglite} is a ${kind}, not a directory: certmint keeps the embedded database there; move it away`,
      );
    }
  }
}

/** What is at `path` (a symbolic link followed), or undefined when nothing is. */
function entryKind(path: string): string | undefined {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch {
    return undefined;
  }
  if (stats.isFile()) return "file";
  return stats.isDirectory() ? "directory" : "special file";
}

/**
 * A data directory others could enter: refused when they could have written something that
 * matters in it meanwhile (the same reason as for a directory others can write to), before it is
 * made 0700. Others (or the group) reach a file when the directory and every one between are
 * searchable by them.
 */
function refuseIfWritten(config: Config, dirStats: Stats): void {
  const dir = config.dataDir;
  // The search bits (0o011) of others and group through the data directory.
  const reach = dirStats.mode & 0o011;
  const pglite = join(dir, "pglite");
  if (existsSync(pglite)) {
    const stats = statSync(pglite);
    // PGlite writes its files with mode 0666: reaching them is writing them.
    if (reach & stats.mode || stats.mode & 0o022) {
      throw new ConfigError(
        `${ENV.dataDir}=${dir}: the embedded database in ${pglite} was open to other users (mode ${modeOf(dirStats)}, pglite/ ${modeOf(stats)}; PGlite writes its files with mode 0666): it may have been changed; refusing to start (check it, or restore it from a backup, then chmod 700 both)`,
      );
    }
  }
  const kek = config.kek.file;
  if (kek !== undefined && isInside(dir, kek) && existsSync(kek)) {
    const stats = statSync(kek);
    // Writable by others (0o002) or the group (0o020), and reachable by them.
    if ((reach << 1) & stats.mode & 0o022) {
      throw new ConfigError(
        `${ENV.dataDir}=${dir}: ${kek} could be written by other users (mode ${modeOf(stats)}, the directory ${modeOf(dirStats)}): someone could have chosen the key CA keys are sealed with; refusing to start (check it, then chmod 600 it and chmod 700 the directory)`,
      );
    }
  }
}

/** A secret certmint wrote into its data directory: mode 0600. */
function tightenOwnFile(file: string, logger: Logger): void {
  const stats = statSync(file);
  if ((stats.mode & 0o077) === 0) return;
  try {
    chmodSync(file, 0o600);
  } catch (err) {
    throw new ConfigError(
      `${file} is accessible to other users (mode ${modeOf(stats)}) and cannot be made 0600: ${(err as Error).message}`,
    );
  }
  logger.warn(
    { file, mode: modeOf(stats) },
    "a secret file was accessible to other users: changed it to mode 0600",
  );
}

/** CERTMINT_KEK_FILE outside the data directory (a mounted secret): checked, never changed. */
function checkForeignKekFile(file: string, logger: Logger): void {
  const stats = statSync(file);
  if (stats.mode & 0o022) {
    throw new ConfigError(
      `${ENV.kekFile}=${file} is writable by other users (mode ${modeOf(stats)}): anyone could choose the key CA keys are sealed with; refusing to start`,
    );
  }
  if (stats.mode & 0o044) {
    logger.warn(
      { file, mode: modeOf(stats) },
      "the key-encryption key file is readable by other users (mode 0600 or 0400 recommended)",
    );
  }
}

function isInside(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep);
}
