/**
 * What a write can run into that the domain decides about, as the store reports it (the
 * store turns its driver's errors into these; the use cases never see a driver error type).
 */

/** A unique key already taken, e.g. a slug two creates raced for ("slug"). */
export class UniqueConflict extends Error {
  override readonly name = "UniqueConflict";
  constructor(
    /** Which key: "slug", or "client_binding" for an access token's binding. */
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`the ${key} is taken`, options);
  }
}

/** A delete refused because other rows still refer to the row (a foreign key). */
export class StillReferenced extends Error {
  override readonly name = "StillReferenced";
  constructor(options?: { cause?: unknown }) {
    super("other rows still refer to it", options);
  }
}
