/**
 * A token bucket per identity: `ratePerSecond` calls per second on average, bursts of up to
 * `burst`. In memory, per server process. Idle buckets are dropped so a stream of identities
 * cannot grow the map without bound.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** 0 when the call may proceed (and it is counted); otherwise the seconds until it could. */
  take(identity: string): number {
    if (this.ratePerSecond <= 0) return 0;
    const bucket = this.refill(identity);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return (1 - bucket.tokens) / this.ratePerSecond;
  }

  /** Gives back one call counted by take whose work was not done after all (never past the burst). */
  refund(identity: string): void {
    if (this.ratePerSecond <= 0) return;
    const bucket = this.refill(identity);
    bucket.tokens = Math.min(this.burst, bucket.tokens + 1);
  }

  /** Like take, without counting anything: 0 when a take would succeed now. */
  peek(identity: string): number {
    if (this.ratePerSecond <= 0) return 0;
    const bucket = this.buckets.get(identity);
    if (!bucket) return 0;
    const now = this.clock();
    const tokens = Math.min(
      this.burst,
      bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond,
    );
    return tokens >= 1 ? 0 : (1 - tokens) / this.ratePerSecond;
  }

  private refill(identity: string): { tokens: number; at: number } {
    const now = this.clock();
    let bucket = this.buckets.get(identity);
    if (!bucket) {
      if (this.buckets.size >= 100_000) this.sweep(now);
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(identity, bucket);
    } else {
      bucket.tokens = Math.min(
        this.burst,
        bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond,
      );
      bucket.at = now;
    }
    return bucket;
  }

  /** Buckets full again are the same as absent ones. */
  private sweep(now: number): void {
    const refill = (this.burst / this.ratePerSecond) * 1000;
    for (const [key, b] of this.buckets) if (now - b.at >= refill) this.buckets.delete(key);
    // Still full of fresh buckets (a flood from many addresses): start over rather than grow.
    if (this.buckets.size >= 100_000) this.buckets.clear();
  }
}
