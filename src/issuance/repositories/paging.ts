/**
 * Keyset pagination (see common/pagination.ts for the tokens): a page is the rows after a
 * cursor, ordered by (created_at, id), and one more row than the page tells whether another
 * page follows.
 */
export interface PageCursor {
  createdAt: Date;
  id: string;
  /**
   * created_at as PostgreSQL holds it, to the microsecond (ISO 8601 UTC), when the list reads
   * it: a Date keeps milliseconds, and a cursor cut to the millisecond would skip the rows
   * between it and the true value (rows written by SQL, e.g. now(), carry microseconds).
   */
  createdAtText?: string;
}

export interface PageQuery {
  /** Rows strictly after (oldest first) or before (newest first) this one; none: from the start. */
  after?: PageCursor;
  limit: number;
}

/** A row named by its id (a lower-case UUID) or its slug, as every API reference may. */
export type RowKey = { id: string } | { slug: string };
