import { chmodSync, existsSync, mkdirSync, type Stats, statSync } from "node:fs";
import { relative, sep } from "node:path";
import type { Logger } from "pino";
import { type Config, ConfigError, ENV } from "./config";

/**
 * Checks the data directory and the secrets in it before anything is opened (issue 10 item
 * 14). The directory holds the embedded database, the key-encryption key and the first admin
 * token; its mode is what keeps other local users out of all three.
 *
 * - Writable by group or others, or owned by another user: refused (ConfigError, exit 2).
 *   Someone else could already have planted a key-encryption key of their choosing (a new
 *   database seals its CA keys with whatever kek.key holds) or swapped the database; making
 *   the directory 0700 now would not undo that, so the operator has to look.
 * - Only readable or searchable by group or others: nothing can have been planted, but the
 *   files could be read: certmint makes it 0700 and warns (PostgreSQL itself refuses such a
 *   data directory; here the fix is safe and keeps `mkdir data && make run` working).
 * - The admin token and a key-encryption key file inside it: readable by anyone but us, they
 *   are made 0600 with a warning. A key-encryption key file elsewhere (a mounted secret,
 *   CERTMINT_KEK_FILE) is not ours to chmod: writable by group or others is refused, readable
 *   by them is a warning, as for the TLS key.
 */
export function secureDataDir(config: Config, logger: Logger): void {
  const dir = config.dataDir;
  if (!existsSync(dir)) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700); // the umask may have taken bits we need, never added any
    } catch (err) {
      throw new ConfigError(`cannot create ${ENV.dataDir}=${dir}: ${(err as Error).message}`);
    }
  }
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
  if (stats.mode & 0o077) {
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

const modeOf = (stats: Stats) => `0${(stats.mode & 0o777).toString(8)}`;
