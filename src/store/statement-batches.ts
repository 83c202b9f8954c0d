/**
 * Concurrent calls' statements of one kind run as one (issue 14): the hot path's read, and its
 * store with one durable commit for many issuances (group commit). A call never waits for a
 * batch to fill: its statement runs at once when fewer than `maxInFlight` of this kind are
 * running, and otherwise joins the ones that queued meanwhile, which go together as soon as one
 * ends. One client therefore sees exactly the single statements it had (two round trips per
 * issuance), and many clients share statements, commits and socket writes (a write to
 * PostgreSQL's socket was the largest single cost of an issuance on the server's CPU, and each
 * statement and commit a cost of PostgreSQL's).
 *
 * Each call keeps its own outcome and its own errors: the batch statement answers per item;
 * when PostgreSQL refuses it (for the store: a serial taken, which 96 random bits per second make a
 * non-event, or any other error it reports), it changed nothing and each item runs again on
 * its own, so only the one at fault sees the error. When the statement's outcome is unknown
 * (the connection failed before its answer: it may have committed), nothing is run again and
 * every call gets that error (an outage: UNAVAILABLE), as a lone statement's caller would.
 */
export class StatementBatches<T, R> {
  /** Batches of every kind that failed as a whole and ran one by one, since start (tests). */
  static fallbacks = 0;

  private readonly queue: Array<Waiting<T, R>> = [];
  private running = 0;

  constructor(
    private readonly runOne: (item: T) => Promise<R>,
    /** Runs every item in one statement (results in their order), or throws having changed nothing. */
    private readonly runMany: (items: T[]) => Promise<R[]>,
    private readonly limits: {
      maxInFlight: number;
      maxBatch: number;
      /** Whether a batch that failed so changed nothing, and its items may run alone. */
      refused: (err: unknown) => boolean;
    },
  ) {}

  /** No statement of this kind is running or waiting. */
  get idle(): boolean {
    return this.running === 0 && this.queue.length === 0;
  }

  run(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.limits.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.limits.maxBatch);
      this.running++;
      this.runBatch(batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async runBatch(batch: Array<Waiting<T, R>>): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch;
      const result = this.runOne(only!.item);
      only!.resolve(result);
      await result.catch(() => undefined);
      return;
    }
    let results: R[];
    try {
      results = await this.runMany(batch.map((b) => b.item));
    } catch (err) {
      if (!this.limits.refused(err)) {
        for (const b of batch) b.reject(err);
        return;
      }
      StatementBatches.fallbacks++;
      // Nothing of the batch was written: each on its own, so an error stays with its call.
      const alone = batch.map((b) => {
        const result = this.runOne(b.item);
        b.resolve(result);
        return result.catch(() => undefined);
      });
      await Promise.all(alone);
      return;
    }
    // Each call's outcome as a value: resolving with a promise (Promise.resolve(r)) costs the
    // waiting call two more microtask turns to adopt it.
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
  }
}

/** A call waiting for its statement: its item and how its promise settles. */
interface Waiting<T, R> {
  item: T;
  resolve: (r: R | Promise<R>) => void;
  reject: (err: unknown) => void;
}
