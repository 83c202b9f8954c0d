import { invalidArgument } from "../../errors";
import { isUuid } from "./refs";

/** Page sizes: 50 by default, at most 1000 (the proto comments say the same). */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export function pageSize(requested: number): number {
  if (!Number.isInteger(requested) || requested < 0) {
    throw invalidArgument("PAGE_SIZE_INVALID", "page_size must be 0 or a positive integer", {
      violations: [{ field: "page_size", description: "negative", reason: "PAGE_SIZE_INVALID" }],
    });
  }
  return requested === 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
}

/**
 * Keyset pagination: the token is the (created_at, id) of the last row of the previous page,
 * so pages stay stable while rows are added, and each page is an index range scan.
 */
export interface PageCursor {
  createdAt: Date;
  id: string;
}

export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString(
    "base64url",
  );
}

export function decodePageToken(token: string): PageCursor | undefined {
  if (token === "") return undefined;
  try {
    const [at, id] = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as [
      string,
      string,
    ];
    const createdAt = new Date(at);
    if (typeof id !== "string" || !isUuid(id) || Number.isNaN(createdAt.getTime()))
      throw new Error("shape");
    return { createdAt, id };
  } catch {
    throw invalidArgument("PAGE_TOKEN_INVALID", "page_token is not one this server returned", {
      violations: [{ field: "page_token", description: "malformed", reason: "PAGE_TOKEN_INVALID" }],
    });
  }
}
