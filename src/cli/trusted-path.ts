/**
 * The files the CLI reads a token from and the directories it writes keys into must be ones
 * only this user (or root) can replace (probe39 F2, F6: a ./data/admin-token planted by another
 * local user made the operator's commands run as that user's token; a --out-dir symlink planted
 * in /tmp sent the sidecar's files wherever its owner liked). The server's own checks do the
 * walk (src/safe-path.ts checkPath: every directory on the way, symbolic links followed, as
 * OpenSSH's StrictModes); this adds what the CLI needs of the entry itself.
 *
 * Who is trusted: this user and root, as for the server's files. On the way (checkPath), refused:
 * a directory of anyone else, one others may write to without the sticky bit, and an entry of
 * another user in a sticky directory such as /tmp; a directory writable by its group only is a
 * warning on stderr (a project directory shared with a group), as in the server's log. Of the
 * entry itself: a token file, and the data directory of the admin token, must not be writable
 * by group or others, and the token file must be this user's or root's; a --out-dir likewise.
 * A single output file (cert issue, token create, ...) needs only the checks on the way: a new
 * file in /tmp is this user's and nobody else may rename it.
 */
import { mkdirSync, type Stats, statSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "../config";
import { checkOwnedFile, checkPath, modeOf } from "../safe-path";
import { CliError, UsageError } from "./command";
import { PROGRAM } from "./help";
import { terminalText } from "./output";

/** The directories already warned about in this run (a watch writes the same files again). */
const warned = new Set<string>();

/** checkPath's one warning, on stderr, once per directory. */
const stderrWarnings = {
  warn(fields: unknown): void {
    const { directory, mode, path } = fields as { directory: string; mode: string; path: string };
    if (warned.has(directory)) return;
    warned.add(directory);
    // Written outside an invocation, so through the CLI's one sanitizer here (output.ts).
    process.stderr.write(
      terminalText(
        `${PROGRAM}: warning: ${directory} (mode ${mode}) is writable by its group: its members could replace ${path}\n`,
      ),
    );
  },
};

/** The effective uid, or undefined where there is none (Windows): nothing to check. */
const currentUid = (): number | undefined => process.geteuid?.();

/** Whoever the mode lets write the entry besides its owner, or undefined. */
function writers(stats: Stats): string | undefined {
  if (stats.mode & 0o002) return "other users";
  return stats.mode & 0o020 ? "its group" : undefined;
}

/**
 * Runs a check of src/safe-path.ts; its refusal becomes `fail(message)`, any other error (an
 * entry on the way this user cannot search) a CliError naming `path`.
 */
function walk<T>(path: string, check: () => T, fail: (message: string) => Error): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof ConfigError) throw fail(err.message);
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new CliError(`cannot check who may replace ${path}: ${code}`);
  }
}

/**
 * Refuses a token file another user could have written or replaced, before it is read
 * (a UsageError: exit code 2). `what` names it ("--token-file x.token"), `remedy` says what to
 * do instead; `directory`, for the admin token of a data directory, is held to what the server
 * holds its data directory to (not writable by group or others).
 */
export function assertTrustedTokenFile(
  file: string,
  what: string,
  remedy: string,
  directory?: string,
): void {
  const uid = currentUid();
  if (uid === undefined) return;
  const refuse = (message: string) => new UsageError(`${message}; ${remedy}`);
  if (directory !== undefined) {
    const dirStats = statSync(resolve(directory));
    const dirWriters = writers(dirStats);
    if (dirWriters !== undefined) {
      throw refuse(
        `${what}: its data directory ${resolve(directory)} is writable by ${dirWriters} (mode ${modeOf(dirStats)}): they could have put their own admin-token there; not using it`,
      );
    }
  }
  const stats = walk(
    file,
    () => checkOwnedFile(resolve(file), what, uid, stderrWarnings, "not using it"),
    refuse,
  );
  if (stats === undefined) return; // reading it reports that it is missing
  const fileWriters = writers(stats);
  if (fileWriters !== undefined) {
    throw refuse(
      `${what} is writable by ${fileWriters} (mode ${modeOf(stats)}): they could have put their own token in it; not using it`,
    );
  }
}

/**
 * Refuses to write `path` where another user could replace it: a directory on the way (or the
 * file's own directory) that is theirs or that others may write to without the sticky bit, or an
 * existing file of theirs in a sticky directory (CliError: exit code 1, like the other refusals
 * of an output file). Checked before the server is asked for anything (files.ts assertWritable)
 * and again at each write.
 */
export function assertTrustedOutput(path: string, after = ""): void {
  const uid = currentUid();
  if (uid === undefined || path === "-") return;
  walk(
    path,
    () => checkPath(resolve(path), `cannot write ${path}`, uid, stderrWarnings, "not writing it"),
    (message) =>
      new CliError(
        `${message}; name a file in a directory that only you (or root) can change${after}`,
      ),
  );
}

/**
 * Creates (if need be) an output directory for files that are replaced again and again under
 * fixed names (cert watch --out-dir: key.pem, cert.pem, chain.pem, cursor), refusing it unless
 * only this user (or root) can replace what is in it: the way to it is checked before anything
 * is created (checkPath), then the directory itself: this user's or root's, and not writable by
 * its group or others, sticky or not (in /tmp itself another user could put a cert.pem first).
 * A symbolic link to it is followed only where checkPath trusts it (not one of another user in
 * /tmp). CliError (exit code 1) like the other refusals of output files.
 */
export function makePrivateDirectory(dir: string, option: string): void {
  const what = `${option} ${dir}`;
  const uid = currentUid();
  const refuse = (message: string) =>
    new CliError(`${message}; use a directory only you can write to (mkdir it, or chmod go-w it)`);
  if (uid !== undefined) {
    walk(
      dir,
      () => checkPath(resolve(dir), what, uid, stderrWarnings, "not writing there"),
      refuse,
    );
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CliError(`${option}: cannot create ${dir}: ${(err as NodeJS.ErrnoException).code}`);
  }
  const stats = statSync(dir);
  if (!stats.isDirectory()) throw new CliError(`${what} is not a directory`);
  if (uid === undefined) return;
  if (stats.uid !== 0 && stats.uid !== uid) {
    throw refuse(
      `${what} belongs to uid ${stats.uid}, who can replace the files in it; not writing there`,
    );
  }
  const dirWriters = writers(stats);
  if (dirWriters !== undefined) {
    throw refuse(
      `${what} is writable by ${dirWriters} (mode ${modeOf(stats)}): they could replace key.pem, cert.pem or cursor; not writing there`,
    );
  }
}
