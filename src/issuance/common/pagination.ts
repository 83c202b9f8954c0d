import { createCipheriv } from "node:crypto";
import { invalidField } from "../../errors";
import type { MessageAuthenticator } from "../../signer";
import type { PageCursor } from "../repositories";
import { isUuid } from "./refs";

/** Page sizes: 50 by default, at most 1000 (the proto comments say the same). */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export function pageSize(requested: number): number {
  if (!Number.isInteger(requested) || requested < 0) {
    throw invalidField(
      "PAGE_SIZE_INVALID",
      "page_size must be 0 or a positive integer",
      "page_size",
      "negative",
    );
  }
  return requested === 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
}

/**
 * Keyset pagination: the token is the (created_at, id) of the last row of the previous page
 * (a PageCursor), so pages stay stable while rows are added, and each page is an index range
 * scan.
 */
export type { PageCursor };

/** ISO 8601 UTC with up to microseconds, as toISOString and the lists' SQL write it. */
const CURSOR_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z$/;

/** What a page token is valid for: one list RPC with one set of filters (AIP-158). */
export interface PageScope {
  /** The list, e.g. "ListCertificates". */
  readonly list: string;
  /** The request's filters as sent (page_size excepted: it may change between pages). */
  readonly filter?: Readonly<Record<string, string | boolean | Date | undefined>>;
}

/** Where page tokens get their MAC key (CaKeyring.macFor). */
export interface PageTokenKeys {
  macFor(purpose: string): MessageAuthenticator;
}

/** 2 since stop 42 of 2026-12-06: the cursor is encrypted (1: in the clear). */
const VERSION = 2;
const MAX_TOKEN_LENGTH = 512;

/**
 * Page tokens are opaque and tamper-evident (AIP-158): base64url of a version byte, an HMAC tag
 * and the cursor encrypted, the tag covering the cursor and the scope (src/signer/mac.ts; the
 * keys are derived from the KEK, so every process sharing the database accepts the tokens of
 * the others). The encryption is SIV-like (RFC 5297's construction with HMAC): AES-128-CTR
 * under its own derived key with the tag as IV, so a token shows nothing of the row it
 * continues from (until stop 42 of 2026-12-06 it held the row's id and creation time in the
 * clear), and equal cursors of one scope give equal tokens, which reveals nothing more. A
 * changed byte, a token of another list, of other filters or of another caller is
 * INVALID_ARGUMENT PAGE_TOKEN_INVALID, never a shifted page.
 */
export function encodePageToken(keys: PageTokenKeys, scope: PageScope, cursor: PageCursor): string {
  const payload = Buffer.from(
    JSON.stringify([cursor.createdAtText ?? cursor.createdAt.toISOString(), cursor.id]),
  );
  const tag = mac(keys).tag(scopeText(scope), payload);
  return Buffer.concat([Buffer.from([VERSION]), tag, ctr(keys, tag, payload)]).toString(
    "base64url",
  );
}

/** AES-128-CTR with the tag as IV: its own inverse. */
function ctr(keys: PageTokenKeys, iv: Buffer, data: Buffer): Buffer {
  const key = keys.macFor("page-token-cipher").tag("key");
  const cipher = createCipheriv("aes-128-ctr", key, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

export function decodePageToken(
  keys: PageTokenKeys,
  scope: PageScope,
  token: string,
): PageCursor | undefined {
  if (token === "") return undefined;
  const bytes =
    /^[A-Za-z0-9_-]+$/.test(token) && token.length <= MAX_TOKEN_LENGTH
      ? Buffer.from(token, "base64url")
      : undefined;
  const tagEnd = 1 + 16;
  // Canonical base64url only: another spelling of the same bytes is not a token we returned.
  if (
    !bytes ||
    bytes.toString("base64url") !== token ||
    bytes.length <= tagEnd ||
    bytes[0] !== VERSION
  ) {
    throw pageTokenInvalid("not a page token certmint returned");
  }
  const tag = bytes.subarray(1, tagEnd);
  const payload = ctr(keys, tag, bytes.subarray(tagEnd));
  if (!mac(keys).verify(tag, scopeText(scope), payload)) {
    throw pageTokenInvalid(
      `not a page token that ${scope.list} returned to this caller for these filters (altered, or from another list, other filters or another caller)`,
    );
  }
  try {
    const [at, id] = JSON.parse(payload.toString("utf8")) as [string, string];
    const createdAt = new Date(at);
    if (
      typeof at !== "string" ||
      !CURSOR_TIME.test(at) ||
      typeof id !== "string" ||
      !isUuid(id) ||
      Number.isNaN(createdAt.getTime())
    ) {
      throw new Error("shape");
    }
    return { createdAt, id, createdAtText: at };
  } catch {
    // Only a token certmint signed gets here: its payload is always well formed.
    throw pageTokenInvalid("not a page token certmint returned");
  }
}

const mac = (keys: PageTokenKeys) => keys.macFor("page-token");

/** The scope as one unambiguous string: filters sorted by name, unset ones left out. */
function scopeText(scope: PageScope): string {
  const filter = Object.entries(scope.filter ?? {})
    .filter(([, v]) => v !== undefined && v !== "" && v !== false)
    .map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v])
    .sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
  return JSON.stringify([scope.list, filter]);
}

function pageTokenInvalid(description: string) {
  return invalidField(
    "PAGE_TOKEN_INVALID",
    `page_token is ${description}; start again with an empty page_token`,
    "page_token",
    description,
  );
}
