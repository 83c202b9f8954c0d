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
  /** How long the page's read may run, and what stops it early; none: unbounded. */
  bound?: ReadBound;
}

/**
 * A bound on one read that can scan (a list whose filter no index serves well): the store runs
 * it with PostgreSQL's statement_timeout for that statement alone, and cancels it when `signal`
 * aborts (the caller went away). Either ends the read with ReadStopped.
 */
export interface ReadBound {
  /** Milliseconds the statement may run, lock waits included; 0: no limit. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A bounded read that PostgreSQL cancelled: its time ran out, or its caller went away. */
export class ReadStopped extends Error {
  override readonly name = "ReadStopped";
  constructor(
    readonly why: "timeout" | "cancelled",
    options?: { cause?: unknown },
  ) {
    super(why === "timeout" ? "the read ran out of time" : "the read was cancelled", options);
  }
}

/** A row named by its id (a lower-case UUID) or its slug, as every API reference may. */
export type RowKey = { id: string } | { slug: string };
