import { peerAddressKeys } from "./address-keys";
import { type Grant, type RateLimit, RateLimiter, type RateLimiterOptions } from "./rate-limiter";

/**
 * How many /64s' worth of budget an IPv6 /48 gets, in rate and in burst. Let's Encrypt counts
 * new registrations per IP address (10 per 3 hours) and, separately, per IPv6 /48 (500 per
 * 3 hours: 50 times): a /48 is what a site is given (RFC 6177), and there public hosting puts
 * many unrelated customers in one /48. Here the per-address budget is already a whole /64 (a
 * host's network, not one address) and clients are an organisation's own, so a /48 is
 * usually one site: 16 /64s' worth lets 16 of its subnets use their full budgets at once,
 * while a holder of a /48 gets 16 budgets instead of 65,536 (and of a /40, 4,096 instead of
 * 16 million).
 */
export const IPV6_RANGE_MULTIPLE = 16;

/**
 * A limit per client address (peerAddressKeys): an IPv4 address, or an IPv6 /64 and, with
 * IPV6_RANGE_MULTIPLE times the rate and burst, its /48. A call proceeds only if every key
 * allows it, and a refused call counts against none of them.
 */
export class AddressRateLimiter implements RateLimit {
  private readonly address: RateLimiter;
  private readonly range: RateLimiter;

  constructor(
    ratePerSecond: number,
    burst: number,
    clock?: () => number,
    options?: RateLimiterOptions,
  ) {
    this.address = new RateLimiter(ratePerSecond, burst, clock, options);
    this.range = new RateLimiter(
      IPV6_RANGE_MULTIPLE * ratePerSecond,
      IPV6_RANGE_MULTIPLE * burst,
      clock,
      options,
    );
  }

  /** 0 when the call may proceed (and it is counted); otherwise the seconds until it could. */
  take(peer: string): number {
    const [address, range] = peerAddressKeys(peer);
    if (range === undefined) return this.address.take(address);
    // The /48 first: a call it refuses makes no bucket for its /64, so a /48 past its budget
    // cannot fill the /64 map (and push everyone new into its overflow bucket) with fresh /64s.
    const rangeWait = this.range.take(range);
    if (rangeWait > 0) return Math.max(rangeWait, this.address.peek(address));
    const addressWait = this.address.take(address);
    if (addressWait > 0) this.range.refund(range);
    return addressWait;
  }

  /** Up to `max` calls at once (RateLimiter.takeUpTo), within both keys' budgets. */
  takeUpTo(peer: string, max: number): Grant {
    const [address, range] = peerAddressKeys(peer);
    if (range === undefined) return this.address.takeUpTo(address, max);
    const ranged = this.range.takeUpTo(range, max);
    if (ranged.granted === 0) {
      return { granted: 0, waitSeconds: Math.max(ranged.waitSeconds, this.address.peek(address)) };
    }
    const grant = this.address.takeUpTo(address, ranged.granted);
    if (grant.granted < ranged.granted) this.range.refund(range, ranged.granted - grant.granted);
    return grant;
  }

  /** Gives back `count` (default one) calls counted by take whose work was not done after all. */
  refund(peer: string, count = 1): void {
    const [address, range] = peerAddressKeys(peer);
    this.address.refund(address, count);
    if (range !== undefined) this.range.refund(range, count);
  }

  /** Like take, without counting anything: 0 when a take would succeed now. */
  peek(peer: string): number {
    const [address, range] = peerAddressKeys(peer);
    const addressWait = this.address.peek(address);
    return range === undefined ? addressWait : Math.max(addressWait, this.range.peek(range));
  }
}
