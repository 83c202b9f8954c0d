import type { EntitySchema } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
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
 * One keyset page of rows, oldest first by (created_at, id) (see common/pagination.ts). Shared by
 * the CA, policy and profile listings.
 */
export async function oldestFirstPage<T extends { id: string; createdAt: Date }>(
  em: EntityManager,
  keys: PageTokenKeys,
  entity: EntitySchema<T>,
  request: PageRequest,
  /** The list and its request filters, which the page token is bound to. */
  scope: PageScope,
  /** Extra conditions (AND), e.g. { status: "ACTIVE" }. */
  filter: Record<string, unknown> = {},
): Promise<Page<T>> {
  const size = pageSize(request.pageSize);
  const cursor = decodePageToken(keys, scope, request.pageToken);
  const after = cursor
    ? {
        $or: [
          { createdAt: { $gt: cursor.createdAt } },
          { createdAt: cursor.createdAt, id: { $gt: cursor.id } },
        ],
      }
    : {};
  const where = { $and: [filter, after] };
  // One row more than the page tells whether another page follows.
  // biome-ignore lint/suspicious/noExplicitAny: a filter valid for every entity with these columns
  const rows = await em.find(entity, where as any, {
    // biome-ignore lint/suspicious/noExplicitAny: as above
    orderBy: { createdAt: "asc", id: "asc" } as any,
    limit: size + 1,
  });
  const items = rows.slice(0, size);
  const last = items.at(-1);
  return {
    items,
    nextPageToken: rows.length > size && last ? encodePageToken(keys, scope, last) : "",
  };
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
