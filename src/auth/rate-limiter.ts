/**
 * What the code that applies a limit asks of it. The in-process RateLimiter answers at once (a
 * number); with CERTMINT_PROCESSES above 1 a limit kept for the whole server
 * (server/shared-limits-client.ts) answers at once from its lease and otherwise after asking the
 * supervisor (a Promise). Callers await only a Promise, so a single process pays nothing for it.
 */
export interface RateLimit {
  /** 0 when the call may proceed (and it is counted); otherwise the seconds until it could. */
  take(identity: string): number | Promise<number>;
  /** Gives back one call counted by take whose work was not done after all. */
  refund(identity: string): void;
  /** Like take, without counting anything: 0 when a take would succeed now. */
  peek(identity: string): number | Promise<number>;
}

/** What takeUpTo grants: `granted` calls (0 to its `max`), or, when none, the seconds until one. */
export interface Grant {
  granted: number;
  waitSeconds: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (clock milliseconds). */
  at: number;
}

export interface RateLimiterOptions {
  /** Most identities with a bucket of their own: the memory bound. Default 100,000. */
  maxBuckets?: number;
  /**
   * Least time between two sweeps of a full map when the last one freed little (default 1 s):
   * what a flood of new identities can cost in sweeping, at most a pass over the map per interval.
   */
  sweepIntervalMs?: number;
}

/**
 * A token bucket per identity: `ratePerSecond` calls per second on average, bursts of up to
 * `burst`. In memory, in one process: with CERTMINT_PROCESSES above 1 the limits that must hold for
 * the whole server keep theirs in the supervisor, which leases them to the workers
 * (server/shared-limits-authority.ts).
 *
 * At most `maxBuckets` identities have a bucket of their own. A bucket is dropped only once it is
 * full again (then it is the same as an absent one), so no budget is ever reset to make room:
 * clearing the map would hand every depleted identity a full budget exactly when someone floods
 * it with new identities. While the map is full of buckets still refilling, any other identity is
 * counted in one shared overflow bucket (same rate and burst): a flood of new identities shares a
 * single budget, and cannot evade or reset the identities already tracked. Legitimate newcomers
 * share that budget too until the flood's buckets refill; that is the price of bounded memory.
 */
export class RateLimiter implements RateLimit {
  private readonly buckets = new Map<string, Bucket>();
  private readonly overflow: Bucket;
  private readonly maxBuckets: number;
  private readonly sweepIntervalMs: number;
  private nextSweepAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly clock: () => number = () => performance.now(),
    options: RateLimiterOptions = {},
  ) {
    this.maxBuckets = options.maxBuckets ?? 100_000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1000;
    this.overflow = { tokens: burst, at: clock() };
  }

  /** Identities with a bucket of their own (not counting the overflow bucket). */
  get size(): number {
    return this.buckets.size;
  }

  /** 0 when the call may proceed (and it is counted); otherwise the seconds until it could. */
  take(identity: string): number {
    if (this.ratePerSecond <= 0) return 0;
    const now = this.clock();
    const bucket = this.bucketOf(identity, now, true)!;
    this.refill(bucket, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return (1 - bucket.tokens) / this.ratePerSecond;
  }

  /**
   * Takes up to `max` calls at once, as many as the bucket holds: what the supervisor grants a
   * worker's lease (server/shared-limits-authority.ts). Nothing when it holds less than one.
   */
  takeUpTo(identity: string, max: number): Grant {
    if (this.ratePerSecond <= 0) return { granted: max, waitSeconds: 0 };
    const now = this.clock();
    const bucket = this.bucketOf(identity, now, true)!;
    this.refill(bucket, now);
    const granted = Math.min(max, Math.floor(bucket.tokens));
    if (granted >= 1) {
      bucket.tokens -= granted;
      return { granted, waitSeconds: 0 };
    }
    return { granted: 0, waitSeconds: (1 - bucket.tokens) / this.ratePerSecond };
  }

  /**
   * Gives back `count` (default one) calls counted by take whose work was not done after all
   * (never past the burst). An identity without a bucket was counted in the overflow bucket, so it is given back
   * there (or its own bucket was full again and dropped, and then there is nothing to give back:
   * the overflow bucket gains at most one token it did not lose, within its burst).
   */
  refund(identity: string, count = 1): void {
    if (this.ratePerSecond <= 0) return;
    const bucket = this.buckets.get(identity) ?? this.overflow;
    this.refill(bucket, this.clock());
    bucket.tokens = Math.min(this.burst, bucket.tokens + count);
  }

  /** Like take, without counting anything: 0 when a take would succeed now. */
  peek(identity: string): number {
    if (this.ratePerSecond <= 0) return 0;
    const now = this.clock();
    const bucket = this.bucketOf(identity, now, false);
    if (!bucket) return 0;
    const tokens = this.tokensAt(bucket, now);
    return tokens >= 1 ? 0 : (1 - tokens) / this.ratePerSecond;
  }

  /**
   * Where `identity` is counted: its own bucket, a new one if there is room (only if `create`;
   * otherwise undefined, which stands for a full bucket), or the overflow bucket. Peek takes the
   * same path as take (sweeping included) so that it answers what take would do.
   */
  private bucketOf(identity: string, now: number, create: boolean): Bucket | undefined {
    const own = this.buckets.get(identity);
    if (own) return own;
    if (this.buckets.size >= this.maxBuckets && now >= this.nextSweepAt) this.sweep(now);
    if (this.buckets.size >= this.maxBuckets) return this.overflow;
    if (!create) return undefined;
    const bucket = { tokens: this.burst, at: now };
    this.buckets.set(identity, bucket);
    return bucket;
  }

  /**
   * Drops the buckets that are full again: only those, as they are the same as absent ones.
   * A sweep that freed a quarter of the map may run again as soon as the map is full again (the
   * insertions that filled the room pay for it: O(1) amortised); one that freed less waits
   * `sweepIntervalMs`, so a flood of new identities against a map of refilling buckets does not
   * pass over the whole map on every call.
   */
  private sweep(now: number): void {
    const before = this.buckets.size;
    for (const [key, bucket] of this.buckets) {
      if (this.tokensAt(bucket, now) >= this.burst) this.buckets.delete(key);
    }
    const freed = before - this.buckets.size;
    this.nextSweepAt = freed >= this.maxBuckets / 4 ? now : now + this.sweepIntervalMs;
  }

  private refill(bucket: Bucket, now: number): void {
    bucket.tokens = this.tokensAt(bucket, now);
    bucket.at = now;
  }

  private tokensAt(bucket: Bucket, now: number): number {
    return Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond);
  }
}
