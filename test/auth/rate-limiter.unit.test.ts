/**
 * RateLimiter (src/auth/rate-limiter.ts) against a flood of identities: no budget is reset to make
 * room, identities past the bound share one overflow bucket, memory stays bounded, the map
 * empties once the flood's buckets are full again, and a flood does not sweep on every call.
 * An injected clock: nothing here waits.
 */
import { describe, expect, it, vi } from "vitest";
import { RateLimiter } from "../../src/auth/rate-limiter";

/** A limiter on a clock the test moves: `advance(ms)`. */
function limiter(rate: number, burst: number, maxBuckets?: number) {
  let now = 0;
  const l = new RateLimiter(rate, burst, () => now, maxBuckets ? { maxBuckets } : {});
  return { l, advance: (ms: number) => (now += ms) };
}

describe("RateLimiter under a flood of identities", () => {
  it("never resets a depleted budget to make room (default bound: 100,000 identities)", () => {
    const { l } = limiter(1, 2);
    expect(l.take("victim")).toBe(0);
    expect(l.take("victim")).toBe(0);
    expect(l.take("victim")).toBeGreaterThan(0);
    // An attacker with many addresses fills the map with fresh buckets.
    for (let i = 0; i < 99_999; i++) l.take(`flood-${i}`);
    expect(l.size).toBe(100_000);
    // The depleted identity is still depleted (clearing the map would have made it full again).
    expect(l.take("victim")).toBeGreaterThan(0);
    expect(l.peek("victim")).toBeGreaterThan(0);
    // The flood's newcomers share one budget: two calls, then none.
    expect(l.take("flood-new-1")).toBe(0);
    expect(l.take("flood-new-2")).toBe(0);
    expect(l.take("flood-new-3")).toBeGreaterThan(0);
    expect(l.size).toBe(100_000);
  });

  it("counts identities past the bound in one bucket, sweeps at most once a second, and empties once refilled", () => {
    const { l, advance } = limiter(1, 2, 10);
    const sweep = vi.spyOn(l as unknown as { sweep: (now: number) => void }, "sweep");
    l.take("victim");
    l.take("victim");
    for (let i = 0; i < 9; i++) expect(l.take(`flood-${i}`)).toBe(0);
    expect(l.size).toBe(10);
    // Newcomers past the bound share the overflow bucket (burst 2): a tenth, eleventh... are refused.
    expect(l.take("new-a")).toBe(0);
    expect(l.take("new-b")).toBe(0);
    expect(l.take("new-c")).toBeGreaterThan(0);
    expect(l.take("new-a")).toBeGreaterThan(0);
    expect(l.peek("new-d")).toBeGreaterThan(0);
    for (let i = 0; i < 1000; i++) expect(l.take(`more-${i}`)).toBeGreaterThan(0);
    // The victim keeps its own (empty) bucket; the tracked ones keep theirs.
    expect(l.take("victim")).toBeGreaterThan(0);
    expect(l.take("flood-0")).toBe(0);
    expect(l.size).toBe(10);
    // A thousand calls of the flood, one sweep (which freed nothing); the next waits a second.
    expect(sweep).toHaveBeenCalledTimes(1);
    advance(500);
    l.take("more-x");
    expect(sweep).toHaveBeenCalledTimes(1);
    // Once every bucket is full again the next newcomer's sweep drops them all.
    advance(2000);
    expect(l.take("after")).toBe(0);
    expect(sweep).toHaveBeenCalledTimes(2);
    expect(l.size).toBe(1);
    // Newcomers get budgets of their own again.
    expect(l.take("after")).toBe(0);
    expect(l.take("after")).toBeGreaterThan(0);
    expect(l.take("other")).toBe(0);
    expect(l.take("other")).toBe(0);
  });

  it("keeps only the bucket-bound in memory under ten times as many identities", () => {
    const { l, advance } = limiter(1, 2, 1000);
    for (let i = 0; i < 10_000; i++) {
      l.take(`id-${i}`);
      if (i % 100 === 0) advance(10);
      expect(l.size).toBeLessThanOrEqual(1000);
    }
    expect(l.size).toBe(1000);
  });

  it("drops a bucket as soon as it is full again, and not before", () => {
    const { l, advance } = limiter(1, 10, 2);
    const tracked = () => [...(l as unknown as { buckets: Map<string, unknown> }).buckets.keys()];
    for (let i = 0; i < 10; i++) l.take("drained");
    advance(1000);
    l.take("one");
    // A second later "drained" has 2 of 10 back, idle as it is; "one" is full again (it spent
    // one token): the sweep for a newcomer drops only "one".
    advance(1000);
    expect(l.take("new")).toBe(0);
    expect(tracked()).toEqual(["drained", "new"]);
    for (let i = 0; i < 2; i++) expect(l.take("drained")).toBe(0);
    expect(l.take("drained")).toBeGreaterThan(0);
  });

  it("refunds and peeks where take counted: an identity in the overflow bucket there", () => {
    const { l } = limiter(1, 1, 1);
    expect(l.take("tracked")).toBe(0);
    expect(l.take("spill-1")).toBe(0);
    expect(l.peek("spill-2")).toBeGreaterThan(0);
    expect(l.take("spill-2")).toBeGreaterThan(0);
    l.refund("spill-1");
    expect(l.peek("spill-2")).toBe(0);
    expect(l.take("spill-2")).toBe(0);
    // The tracked identity's refund goes to its own bucket, never past its burst.
    l.refund("tracked");
    l.refund("tracked");
    expect(l.take("tracked")).toBe(0);
    expect(l.take("tracked")).toBeGreaterThan(0);
    expect(l.take("spill-3")).toBeGreaterThan(0);
    expect(l.size).toBe(1);
  });
});
