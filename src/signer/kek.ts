/**
 * Loading the key-encryption key (KEK) that seals CA private keys (key-wrap.ts).
 *
 * Sources, exactly one of: a base64 value (e.g. from an environment variable or a secret
 * manager), or a key file holding either the 32 raw bytes or their 44-character base64 form
 * (surrounding whitespace allowed). With createIfMissing, a missing file is generated (base64
 * text, mode 0600, parent directory 0700) for a first local run; production should provide
 * the KEK from a secret store instead. Messages never contain key bytes.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, open, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { failedPrecondition } from "../errors";
import { KEK_LENGTH } from "./key-wrap";

export interface KekSource {
  file?: string;
  base64?: string;
  createIfMissing: boolean;
}

export interface LoadedKek {
  key: Buffer;
  /** true when this call generated and wrote a new key file. */
  created: boolean;
}

const kekError = (message: string) =>
  failedPrecondition("KEK_INVALID", message, {
    preconditions: [{ type: "KEK", subject: "key-encryption key", description: message }],
  });

function decodeBase64Kek(text: string, where: string): Buffer {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(t)) {
    throw kekError(
      `${where} must be ${KEK_LENGTH} bytes in base64 (44 characters ending in '='), got ${t.length} characters`,
    );
  }
  return Buffer.from(t, "base64");
}

export async function loadOrCreateKek(source: KekSource): Promise<LoadedKek> {
  const { file, base64, createIfMissing } = source;
  if (file !== undefined && base64 !== undefined) {
    throw kekError("configure either a KEK file or a base64 KEK, not both");
  }
  if (base64 !== undefined)
    return { key: decodeBase64Kek(base64, "the base64 KEK"), created: false };
  if (file === undefined)
    throw kekError("no key-encryption key configured (give a KEK file or a base64 KEK)");

  let content: Buffer;
  try {
    content = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT")
      throw kekError(`the KEK file ${file} cannot be read (${code ?? "error"})`);
    if (!createIfMissing) throw kekError(`the KEK file ${file} does not exist`);
    return createKekFile(file);
  }
  return { key: kekOfFileContent(content, file), created: false };
}

/** The key a KEK file holds: 32 raw bytes, or their base64 (44 characters, white space around). */
export function kekOfFileContent(content: Buffer, file: string): Buffer {
  if (content.length === KEK_LENGTH) return content;
  const text = content.toString("latin1");
  if (/^[\x21-\x7e\s]*$/.test(text) && text.trim().length === 44) {
    return decodeBase64Kek(text, `the KEK file ${file}`);
  }
  throw kekError(
    `the KEK file ${file} must hold exactly ${KEK_LENGTH} bytes, or their base64 (44 characters); it has ${content.length} bytes`,
  );
}

/**
 * Written whole under a temporary name, flushed, then linked to its name; never written in
 * place. A write cut short (a full disk: ENOSPC) used to leave kek.key empty or partial, and
 * every later start refused it until someone deleted it by hand; a partial file of exactly 32
 * bytes would even have been taken for a raw key (test/probe/disk-full-startup.test.ts). The
 * link, unlike a rename, fails when the name exists: a key another process created in the
 * meantime is never overwritten (as the 'wx' flag on the name itself did).
 */
async function createKekFile(file: string, exclusive = false): Promise<LoadedKek> {
  const key = randomBytes(KEK_LENGTH);
  // Random, not the pid alone: a process killed before its rm leaves this name behind, and in a
  // container the next start often has the same pid.
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const handle = await open(tmp, "wx", 0o600);
    try {
      await handle.writeFile(`${key.toString("base64")}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(tmp, file);
    await rm(tmp, { force: true });
    // The new name durable too, not only the file's bytes: a KEK rotation commits a database
    // sealed under this key seconds later, and a crash before the file system's next journal
    // commit could otherwise lose the only copy of the key every CA key is then sealed with (a
    // review, stop 43 of 2026-12-06).
    await syncDirectory(dirname(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST" && (e as NodeJS.ErrnoException).syscall === "link") {
      if (exclusive) throw kekError(`the KEK file ${file} already exists: it is never overwritten`);
      return loadOrCreateKek({ file, createIfMissing: false });
    }
    throw kekError(`the KEK file ${file} cannot be created (${describeCode(code)})`);
  } finally {
    await rm(tmp, { force: true });
  }
  return { key, created: true };
}

/** fsync(2) of a directory, so that the entries made in it survive a crash. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A new key file for a KEK rotation (src/kek-rotation): written as a first start writes kek.key
 * (base64 text, mode 0600, parent directory 0700, whole or not at all), but an existing file is
 * refused rather than read: the operator asked for a fresh key, and a file already there may be
 * the current KEK or another database's.
 */
export async function generateKekFile(file: string): Promise<Buffer> {
  return (await createKekFile(file, true)).key;
}

/** An errno code, in words for the ones an operator meets when creating a file. */
function describeCode(code: string | undefined): string {
  if (code === "ENOSPC") return "ENOSPC: no space left on device";
  if (code === "EDQUOT") return "EDQUOT: disk quota exceeded";
  return code ?? "error";
}
