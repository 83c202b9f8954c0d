/**
 * Keyset pagination (see common/pagination.ts for the tokens): a page is the rows after a
 * cursor, ordered by (created_at, id), and one more row than the page tells whether another
 * page follows.
 */
export interface PageCursor {
  createdAt: Date;
  id: string;
}

export interface PageQuery {
  /** Rows strictly after (oldest first) or before (newest first) this one; none: from the start. */
  after?: PageCursor;
  limit: number;
}

/** A row named by its id (a lower-case UUID) or its slug, as every API reference may. */
export type RowKey = { id: string } | { slug: string };
