import { CertmintError } from "../errors";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../issuance/common/pagination";

/** How many calls do their work at once, and how many one access token may have waiting. */
export interface AdmissionLimits {
  /** Calls past authentication doing their work at once (CERTMINT_CALLS_IN_PROGRESS). */
  readonly inProgress: number;
  /** Calls one access token may have waiting for their turn (CERTMINT_CALLS_QUEUED_PER_TOKEN). */
  readonly queuedPerToken: number;
  /**
   * Rows of list answers one access token is served per second on average, per process
   * (CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND; ListRowBudget). Undefined: the default; 0: off.
   */
  readonly listRowsPerSecond?: number;
  /** Its burst (CERTMINT_LIST_ROWS_BURST_PER_TOKEN). Undefined: the default. */
  readonly listRowsBurst?: number;
}

/** The settings of the list-row budget, named in its refusals. */
export const LIST_ROWS_PER_TOKEN_SETTING = "CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND";
export const LIST_ROWS_BURST_SETTING = "CERTMINT_LIST_ROWS_BURST_PER_TOKEN";

/**
 * 2,000 rows a second, bursts of 10,000: two full pages of ListCertificates a second (each some
 * 3 MB of PEMs to build and encode on the event loop), and an export of ten full pages at once.
 * One auditor looping 1,000-row pages was served ~19,000 rows a second within every other limit
 * and made another token's GetCertificate 6 times slower, 25 with eight threads (an outside
 * probe, 2026-12-06, C F10).
 */
export const LIST_ROWS_PER_TOKEN_PER_SECOND = 2000;
export const LIST_ROWS_BURST_PER_TOKEN = 10_000;

/** Whether a method is a list (its answer a page of rows): ListCertificates, ListAuditRecords... */
export function isListMethod(method: string): boolean {
  return method.slice(method.lastIndexOf("/") + 1).startsWith("List");
}

/** The rows a list request may be served: its page_size (0: the default), at most the maximum. */
export function listRowsAsked(request: unknown): number {
  const asked = (request as { pageSize?: unknown } | null)?.pageSize;
  if (typeof asked !== "number" || !Number.isInteger(asked) || asked <= 0) return DEFAULT_PAGE_SIZE;
  return Math.min(asked, MAX_PAGE_SIZE);
}

/** The rows a list answer carries: the values of its repeated fields (one per list). */
export function listRowsServed(response: unknown): number {
  if (typeof response !== "object" || response === null) return 0;
  let rows = 0;
  for (const field of Object.values(response)) if (Array.isArray(field)) rows += field.length;
  return rows;
}

/** Buckets held before a new token's list sweeps the full ones out. */
const SWEEP_AT = 1000;

interface RowBucket {
  /** Rows the token may still be served; below 0 after a page larger than what was left. */
  rows: number;
  /** When `rows` was last brought up to date (clock milliseconds). */
  at: number;
  /** Lists admitted and not yet settled. */
  open: number;
}

/**
 * What one access token's list answers may cost: rows served per second, per token, per process.
 *
 * The other limits count calls: the rate limit (CERTMINT_RATE_LIMIT_PER_SECOND, 1,000 calls a
 * second), the calls at work (CERTMINT_CALLS_IN_PROGRESS, taken in turn), the lists running
 * (CERTMINT_LIST_QUERIES_PER_TOKEN, 2). A page of 1,000 certificates costs the event loop as much
 * as a thousand small calls (the rows read, converted, and encoded with their PEMs), so one
 * auditor looping full pages took several times its share of the process within all of them.
 * Here each list answer is charged the rows it carries against the token's bucket (refilled at
 * `perSecond`, holding at most `burst`), and a list of a token whose bucket is empty is refused
 * before it runs: RESOURCE_EXHAUSTED, LIST_ROWS_EXHAUSTED, with a RetryInfo of the time until
 * the bucket has rows again. A list reserves the rows it may be served (its page_size) when it
 * is admitted, and gives back what it was not served when it ends, so the lists of one token
 * running or waiting at once cannot each find the same rows left: a token is served at most
 * `burst` rows, plus one page, ahead of the rate. A refused list changes nothing and costs its
 * caller nothing but the call counted by the rate limit.
 *
 * Per process on purpose, as the admission (what it shares out is the process's event loop).
 * Memory: one bucket per token with a list running or rows to win back; a bucket full again
 * with no list open is the same as none, and is dropped (at the token's next list, or a sweep
 * of the map when it holds many).
 */
export class ListRowBudget {
  private readonly buckets = new Map<string, RowBucket>();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Tokens with a bucket not yet full (tests). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Admits a list of `token` that may be served `rows`, or refuses it (RESOURCE_EXHAUSTED) when
   * the token's bucket is empty. Returns what settles it with the rows it was served (0 when
   * it failed), once.
   */
  reserve(token: { id: string; slug: string }, rows: number): (served: number) => void {
    const bucket = this.current(token.id);
    if (bucket.rows < 1) {
      // Whole seconds, as RetryInfo carries them here: the message says the same delay.
      const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.rows) / this.perSecond));
      throw new CertmintError(
        "resource_exhausted",
        "LIST_ROWS_EXHAUSTED",
        `access token "${token.slug}" was served more list rows than its budget of ${this.perSecond} a second (bursts of ${this.burst}; ${LIST_ROWS_PER_TOKEN_SETTING}, ${LIST_ROWS_BURST_SETTING}); retry in ${retryAfterSeconds} s, or ask for smaller pages`,
        {
          retryAfterSeconds,
          metadata: {
            access_token: token.slug,
            setting: LIST_ROWS_PER_TOKEN_SETTING,
            rows_per_second: String(this.perSecond),
            burst: String(this.burst),
          },
        },
      );
    }
    bucket.rows -= rows;
    bucket.open++;
    let settled = false;
    return (served: number) => {
      if (settled) return;
      settled = true;
      const now = this.current(token.id);
      now.rows = Math.min(this.burst, now.rows + rows - served);
      now.open--;
    };
  }

  /** The token's bucket, refilled to now (a new one is full). */
  private current(id: string): RowBucket {
    const now = this.clock();
    let bucket = this.buckets.get(id);
    if (!bucket) {
      if (this.buckets.size >= SWEEP_AT) this.sweep(now);
      bucket = { rows: this.burst, at: now, open: 0 };
      this.buckets.set(id, bucket);
      return bucket;
    }
    this.refill(bucket, now);
    return bucket;
  }

  private refill(bucket: RowBucket, now: number): void {
    bucket.rows = Math.min(this.burst, bucket.rows + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
  }

  /** Drops the buckets full again with no list open: the same as none. */
  private sweep(now: number): void {
    for (const [id, bucket] of this.buckets) {
      this.refill(bucket, now);
      if (bucket.open === 0 && bucket.rows >= this.burst) this.buckets.delete(id);
    }
  }
}

interface Waiter {
  readonly admit: () => void;
}

/**
 * Fair admission of calls to their work, by access token.
 *
 * Without it every stage of a call (the pool's connections, the shared statements of group
 * commit, the event loop) serves calls first come, first served, so a token with 500 calls in
 * flight put each call of another token behind its 500: bench/fairness measured a lone
 * client's p50 14x and its p99 38x its value alone. Here at most `inProgress` calls do their
 * work at once; the others wait in one queue per token, and a freed place goes to the tokens in
 * turn (round robin), so another token's call waits for one turn, not for the flood. Group
 * commit still gets its batches: `inProgress` calls share statements and commits as before.
 *
 * A call admitted at once (fewer than `inProgress` at work and nobody waiting) costs a counter;
 * past `queuedPerToken` waiting calls a token's next call is refused (RESOURCE_EXHAUSTED,
 * CALLS_QUEUED) instead of holding its request in memory. A waiting call whose caller stops
 * waiting (cancel, deadline) leaves its queue. Per process on purpose, unlike the rate limits
 * (auth/limits.ts): what it shares out is the process's own (its event loop, its database pool,
 * its memory for waiting requests), so with CERTMINT_PROCESSES above 1 each worker admits its
 * own calls. A token spreading calls over workers gains no more than it would from a replica;
 * what it may consume is bounded by its rate limit, which holds for the whole server.
 */
export class FairAdmission {
  private running = 0;
  private waiting = 0;
  /** Tokens with waiting calls, in the order of their turns (a Map keeps insertion order). */
  private readonly turns = new Map<string, Waiter[]>();
  /** Calls coming back from a wait outside (whileOutside): admitted before any new call. */
  private readonly resuming: Array<() => void> = [];
  /** What each token's list answers may cost (none with a rate of 0). */
  readonly listRows?: ListRowBudget;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly onRefused?: () => void,
    clock?: () => number,
  ) {
    const perSecond = limits.listRowsPerSecond ?? LIST_ROWS_PER_TOKEN_PER_SECOND;
    if (perSecond > 0) {
      this.listRows = new ListRowBudget(
        perSecond,
        limits.listRowsBurst ?? LIST_ROWS_BURST_PER_TOKEN,
        clock,
      );
    }
  }

  /**
   * Admits a call of `method` to the token's list-row budget (ListRowBudget): undefined for a
   * call that is not a list or without a budget, else what settles it with its answer (or
   * undefined when it failed). RESOURCE_EXHAUSTED (LIST_ROWS_EXHAUSTED) when the budget is spent.
   */
  reserveListRows(
    token: { id: string; slug: string },
    method: string,
    request: unknown,
  ): ((response: unknown) => void) | undefined {
    if (!this.listRows || !isListMethod(method)) return undefined;
    const settle = this.listRows.reserve(token, listRowsAsked(request));
    return (response) => settle(listRowsServed(response));
  }

  /** Calls doing their work now. */
  get inProgress(): number {
    return this.running;
  }

  /** Calls waiting for their turn (certmint_calls_waiting). */
  get queued(): number {
    return this.waiting + this.resuming.length;
  }

  /**
   * Admits a call of `token`: undefined when admitted at once, else a promise that settles on
   * its turn, or rejects if its caller stops waiting first (`abandoned`, read only then). Each
   * admitted call must `leave()` exactly once.
   */
  enter(
    token: { id: string; slug: string },
    abandoned: () => AbortSignal,
  ): Promise<void> | undefined {
    if (this.waiting === 0 && this.resuming.length === 0 && this.running < this.limits.inProgress) {
      this.running++;
      return undefined;
    }
    const queue = this.turns.get(token.id) ?? [];
    if (queue.length >= this.limits.queuedPerToken) {
      this.onRefused?.();
      throw new CertmintError(
        "resource_exhausted",
        "CALLS_QUEUED",
        `access token "${token.slug}" already has ${queue.length} calls waiting for their turn (CERTMINT_CALLS_QUEUED_PER_TOKEN); wait for answers before sending more`,
        {
          retryAfterSeconds: 1,
          metadata: { access_token: token.slug, queued: String(queue.length) },
        },
      );
    }
    const signal = abandoned();
    if (signal.aborted) throw callAbandoned();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = queue.indexOf(waiter);
        if (i < 0) return;
        queue.splice(i, 1);
        this.waiting--;
        if (queue.length === 0) this.turns.delete(token.id);
        reject(callAbandoned());
      };
      const waiter: Waiter = {
        admit: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      queue.push(waiter);
      this.waiting++;
      if (queue.length === 1) this.turns.set(token.id, queue);
    });
  }

  /** The call's work is done (answered, or failed): its place goes to the next in turn. */
  leave(): void {
    this.running--;
    this.admitNext();
  }

  /**
   * Runs a wait that is not the call's own work (a key queued at the key generator, which has
   * its own fair queue) outside the count, so calls waiting there do not hold places that CSR
   * calls need; the call then comes back ahead of every new call.
   */
  async whileOutside<T>(wait: Promise<T>): Promise<T> {
    this.leave();
    try {
      return await wait;
    } finally {
      if (this.running < this.limits.inProgress && this.resuming.length === 0) this.running++;
      else await new Promise<void>((resolve) => this.resuming.push(resolve));
    }
  }

  private admitNext(): void {
    while (this.running < this.limits.inProgress) {
      const resume = this.resuming.shift();
      if (resume) {
        this.running++;
        resume();
        continue;
      }
      const next = this.turns.entries().next();
      if (next.done) return;
      const [token, queue] = next.value;
      const waiter = queue.shift()!;
      this.waiting--;
      // Its turn is taken: to the back of the line if it has more waiting.
      this.turns.delete(token);
      if (queue.length > 0) this.turns.set(token, queue);
      this.running++;
      waiter.admit();
    }
  }
}

function callAbandoned(): CertmintError {
  return new CertmintError(
    "deadline_exceeded",
    "CALL_CANCELLED",
    "the caller stopped waiting (cancel or deadline) before the call's turn came",
  );
}
