/** Reading inputs and writing outputs: certificates, chains, keys, secrets. */
import { randomBytes } from "node:crypto";
import {
  accessSync,
  chmodSync,
  constants,
  linkSync,
  lstatSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { CliError } from "./command";
import { assertTrustedOutput } from "./trusted-path";

/** The text of a file, or of stdin for "-". */
export function readInput(path: string, what: string): string {
  try {
    return readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (err) {
    throw new CliError(
      `${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
}

/** Every PEM block of a text (a bundle), each with its BEGIN and END lines. */
export function splitPem(text: string): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)].map(
    (m) => `${m[0]}\n`,
  );
}

export interface WriteOptions {
  /** Mode 0600 whatever the umask: private keys and token secrets. */
  secret: boolean;
  /** Replace a file that exists (atomically); otherwise an existing file is an error. */
  force: boolean;
}

/** Whether something is at `path`: a symlink counts, even a dangling one (existsSync misses it). */
export function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuses, before the server is asked for anything, an output file writeFileAtomically would
 * then refuse: one that exists (without --force; a symlink counts, even a dangling one, which
 * existsSync does not see), or one whose directory does not exist or cannot be written. A token
 * or CA created and its secret or CSR then not written (as until the third stop of 2026-12-05,
 * `token create` with SLUG.token present) leaves a credential nobody holds and its slug taken.
 * Also one another user could replace (trusted-path.ts assertTrustedOutput: a directory on the
 * way that is theirs or that anyone may write to). "-" (stdout) is always writable.
 */
export function assertWritable(path: string, force: boolean): void {
  if (path === "-") return;
  if (!force && pathExists(path)) {
    throw new CliError(
      `${path} exists: remove it, pass --force to replace it, or name another file`,
    );
  }
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: "ENOTDIR" });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new CliError(
      `cannot write ${path}: its directory ${dir} ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "cannot be written"}; nothing was done`,
    );
  }
  assertTrustedOutput(path, "; nothing was done");
}

/**
 * Writes a file atomically: a temporary sibling created exclusively (mode 0600 for secrets from
 * the first byte), then linked into place (fails if the target exists, so nothing is overwritten
 * by accident) or, with force, renamed over it (a symlink at the target is replaced, never
 * followed). Refused where another user could replace it (assertTrustedOutput), as checked
 * before the server was asked, and for the files named only from its answer (cert renew).
 */
export function writeFileAtomically(
  path: string,
  content: string | Uint8Array,
  options: WriteOptions,
): void {
  assertTrustedOutput(path);
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    writeFileSync(tmp, content, { mode: options.secret ? 0o600 : 0o644, flag: "wx" });
    if (options.secret) chmodSync(tmp, 0o600);
    if (options.force) renameSync(tmp, path);
    else {
      linkSync(tmp, path);
      unlinkSync(tmp);
    }
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed, or never created
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST")
      throw new CliError(`${path} exists: remove it, or pass --force to replace it`);
    throw new CliError(`cannot write ${path}: ${code ?? err}`);
  }
}
