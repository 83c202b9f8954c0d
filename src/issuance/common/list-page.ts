import {
  decodePageToken,
  encodePageToken,
  type PageScope,
  type PageTokenKeys,
  pageSize,
} from "../common/pagination";
import type { PageQuery } from "../repositories";

export interface PageRequest {
  pageSize: number;
  pageToken: string;
}

export interface Page<T> {
  items: T[];
  /** "" on the last page. */
  nextPageToken: string;
}

/**
 * One keyset page (common/pagination.ts): the token decoded against the list and its filters,
 * `list` asked for one row more than the page (which tells whether another page follows), the
 * next token made from the page's last row. The order is the list's own (oldest first for
 * resources, newest first for certificates and audit records).
 */
export async function listPage<T extends { id: string; createdAt: Date }>(
  keys: PageTokenKeys,
  request: PageRequest,
  scope: PageScope,
  list: (page: PageQuery) => Promise<T[]>,
  budget?: PageByteBudget<T>,
): Promise<Page<T>> {
  const size = pageSize(request.pageSize);
  const after = decodePageToken(keys, scope, request.pageToken);
  const rows = await list({ after, limit: size + 1 });
  let items = rows.slice(0, size);
  let more = rows.length > size;
  if (budget) {
    const fit = itemsWithin(items, budget);
    if (fit < items.length) {
      items = items.slice(0, fit);
      more = true;
    }
  }
  const last = items.at(-1);
  return { items, nextPageToken: more && last ? encodePageToken(keys, scope, last) : "" };
}

/**
 * A bound on a page's answer in bytes, for lists whose items vary in size by orders of
 * magnitude (a certificate with 100 long SANs and its chain is ~60 KB): a page is cut before the
 * item that would pass `bytes`, and its token continues from there (AIP-158 lets a page hold
 * fewer items than asked). Without it, 100 such certificates made a 4.8 MB answer that every
 * stock gRPC client refuses (4 MiB receive limit), certmint's CLI included.
 */
export interface PageByteBudget<T> {
  bytes: number;
  /** About how many bytes the item takes in the answer (at least; a little more is fine). */
  sizeOf: (item: T) => number;
}

/** How many leading items fit the budget; at least one, so a page always moves on. */
function itemsWithin<T>(items: readonly T[], budget: PageByteBudget<T>): number {
  let total = 0;
  for (let i = 0; i < items.length; i++) {
    total += budget.sizeOf(items[i]!);
    if (total > budget.bytes) return Math.max(1, i);
  }
  return items.length;
}
