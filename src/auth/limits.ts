import { type HeldPlaces, LocalPlaces } from "../issuance/common/held-places";
import { AddressRateLimiter } from "./address-rate-limiter";
import { type RateLimit, RateLimiter } from "./rate-limiter";

export interface SharedLimitOptions {
  /**
   * Ask for every decision instead of leasing a few calls ahead: for limits whose budget is small
   * and whose calls are rare and costly to the caller anyway (failed authentications, new ACME
   * accounts and authorizations), where a lease would strand a good part of the budget in one
   * worker.
   */
  exact?: boolean;
}

/**
 * Where the limits on what one caller (access token, client address, ACME account) may consume
 * or hold come from. One process (CERTMINT_PROCESSES=1, the embedded database): in its memory,
 * as they always were. Several: kept for the whole server by the supervisor
 * (server/shared-limits-client.ts), so that a caller spreading its calls over connections, and
 * so over workers, does not get a budget per worker. `name` identifies the limit among the
 * workers.
 */
export interface Limits {
  rate(name: string, perSecond: number, burst: number, options?: SharedLimitOptions): RateLimit;
  addressRate(
    name: string,
    perSecond: number,
    burst: number,
    options?: SharedLimitOptions,
  ): RateLimit;
  places(name: string): HeldPlaces;
}

/** The limits of a single process, in its memory (`clock` for tests). */
export function localLimits(clock?: () => number): Limits {
  return {
    rate: (_name, perSecond, burst) => new RateLimiter(perSecond, burst, clock),
    addressRate: (_name, perSecond, burst) => new AddressRateLimiter(perSecond, burst, clock),
    places: () => new LocalPlaces(),
  };
}
