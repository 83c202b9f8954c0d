import { randomBytes } from "node:crypto";
import { digestBytes } from "../../signer/digest";

/**
 * Bearer token secrets: "certmint_" and 43 base64url characters (256 random bits). The prefix
 * lets secret scanners (and certmint's own log scan, scripts/scan-logs.cjs) recognise a leaked
 * token. Only SHA-256 of the secret is stored: with 256 bits of entropy a fast hash is enough
 * (no dictionary to attack), and it keeps the lookup a single index probe.
 */
export const TOKEN_PREFIX = "certmint_";
export const TOKEN_PATTERN = /^certmint_[A-Za-z0-9_-]{43}$/;

export function newTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

export function hashTokenSecret(secret: string): Buffer {
  // Every call's token, one-shot (signer/digest.ts): createHash's Hash object was 18 of the
  // 32 us this took per call in bench/profile (1 client, on a loaded machine).
  return digestBytes("sha256", secret);
}
