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
): Promise<Page<T>> {
  const size = pageSize(request.pageSize);
  const after = decodePageToken(keys, scope, request.pageToken);
  const rows = await list({ after, limit: size + 1 });
  const items = rows.slice(0, size);
  const last = items.at(-1);
  return {
    items,
    nextPageToken: rows.length > size && last ? encodePageToken(keys, scope, last) : "",
  };
}
