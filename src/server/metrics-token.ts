/**
 * The bearer token of /metrics (CERTMINT_METRICS_TOKEN_FILE). The metrics name every profile
 * and CA and their volumes, which the gRPC API tells a caller only of its own profiles; a
 * loopback listener is reachable by every user of the host, so on a shared host it needs a
 * credential. Prometheus sends one with `authorization: { credentials_file: ... }`.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import { ENV } from "../config";
import { StartUpFailure } from "../start-up-failure";

/** RFC 6750 2.1 b64token characters; at least 16 of them (a guessable token protects nothing). */
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MIN_LENGTH = 16;
const MAX_FILE_BYTES = 4096;

const digest = (token: string | Buffer) => createHash("sha256").update(token).digest();

/**
 * Reads the token file once, at start: a regular file (opened without blocking: a FIFO would
 * hold the start), of root or this user, at most group-readable (0640), holding one
 * token (surrounding white space and a final newline ignored). Anything else stops the start
 * (exit 2: only a change of the file helps). Returns the token's SHA-256 digest, which is all
 * the check keeps.
 */
export function readMetricsToken(file: string): Buffer {
  const refuse = (why: string) =>
    new StartUpFailure(`${ENV.metricsTokenFile}=${file} ${why}`, 2, undefined);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw refuse(`cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let content: string;
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw refuse("is not a regular file");
    const uid = process.getuid?.() ?? 0;
    if (stats.uid !== 0 && stats.uid !== uid) {
      throw refuse(`belongs to uid ${stats.uid}, who could replace the token`);
    }
    // Readable by its group (0640, 0440): Prometheus runs as a user of its own and reads the
    // same file (credentials_file), through a group the operator gives it. Never writable by
    // the group, never anything for others.
    const mode = stats.mode & 0o777;
    if ((mode & 0o037) !== 0) {
      throw refuse(
        `is writable by its group or open to others (mode 0${mode.toString(8)}): make it 0640 (its group the one Prometheus runs in) or 0600`,
      );
    }
    if (stats.size > MAX_FILE_BYTES) {
      throw refuse(`is ${stats.size} bytes: it should hold one token`);
    }
    content = readFileSync(fd, "latin1").trim();
  } finally {
    closeSync(fd);
  }
  if (!TOKEN.test(content) || content.length < MIN_LENGTH) {
    throw refuse(
      `does not hold a token: one line of at least ${MIN_LENGTH} characters A-Z a-z 0-9 - . _ ~ + / (RFC 6750), e.g. from \`openssl rand -hex 32\``,
    );
  }
  return digest(content);
}

/** Whether a request's Authorization header carries the token (compared in constant time). */
export function carriesToken(authorization: string | undefined, tokenDigest: Buffer): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? "");
  if (!match) return false;
  return timingSafeEqual(digest(match[1]!), tokenDigest);
}
