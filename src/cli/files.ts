/** Reading inputs and writing outputs: certificates, chains, keys, secrets. */
import { randomBytes } from "node:crypto";
import { chmodSync, linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { CliError } from "./command";

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

/**
 * Writes a file atomically: a temporary sibling created exclusively (mode 0600 for secrets from
 * the first byte), then linked into place (fails if the target exists, so nothing is overwritten
 * by accident) or, with force, renamed over it (a symlink at the target is replaced, never
 * followed).
 */
export function writeFileAtomically(
  path: string,
  content: string | Uint8Array,
  options: WriteOptions,
): void {
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
