import { CertmintError } from "../errors";
import { peerAddressKeys } from "./address-keys";
import { AddressRateLimiter } from "./address-rate-limiter";
import type { RateLimit, RateLimiterOptions } from "./rate-limiter";

// The keys were derived here first; the ACME server and handlers import them from here.
export { peerAddressKey, peerAddressKeys } from "./address-keys";

/** What the authenticator asks of the failure limit (Authenticator). */
export interface AuthFailureLimit {
  /** Before a database lookup of a credential: RESOURCE_EXHAUSTED while `peer` is over its limit. */
  checkBeforeLookup(peer: string): void | Promise<void>;
  /** Counts a failed authentication of `peer`: the refusal to send, or RESOURCE_EXHAUSTED. */
  failed(peer: string, refusal: CertmintError): CertmintError | Promise<CertmintError>;
}

/**
 * Failed authentication, limited per peer address (issue 10 item 6). Every call refused as
 * UNAUTHENTICATED takes one from its address's bucket; once the bucket is empty the caller
 * gets RESOURCE_EXHAUSTED with RetryInfo instead, and while it is empty a credential that is
 * in no cache is not even looked up: a flood of made-up tokens from one address costs
 * `burst` database lookups and then none. A credential already known (cached) is still
 * accepted, so a well-behaved client behind the same address keeps working while the cache
 * holds it. An IPv6 peer counts against its /64 and its /48 (AddressRateLimiter), so a holder of
 * many /64s cannot multiply its guesses by rotating them.
 */
export class FailureLimiter implements AuthFailureLimit {
  private readonly buckets: AddressRateLimiter;

  constructor(
    perSecond: number,
    burst: number,
    clock?: () => number,
    options?: RateLimiterOptions,
  ) {
    this.buckets = new AddressRateLimiter(perSecond, burst, clock, options);
  }

  /** Before a database lookup of a credential: RESOURCE_EXHAUSTED while `peer` is over its limit. */
  checkBeforeLookup(peer: string): void {
    const wait = this.buckets.peek(peer);
    if (wait > 0) throw limited(peer, wait);
  }

  /**
   * Counts a failed authentication of `peer`; returns the error to send: the refusal itself, or
   * RESOURCE_EXHAUSTED once the peer is over its limit.
   */
  failed(peer: string, refusal: CertmintError): CertmintError {
    const wait = this.buckets.take(peer);
    return wait > 0 ? limited(peer, wait) : refusal;
  }
}

function limited(peer: string, waitSeconds: number): CertmintError {
  return new CertmintError(
    "resource_exhausted",
    "AUTHENTICATION_FAILURES_LIMITED",
    `too many failed authentications from ${peerAddressKeys(peer).join(" or ")}; retry in ${Math.ceil(waitSeconds * 1000)} ms with valid credentials`,
    { retryAfterSeconds: Math.max(1, Math.ceil(waitSeconds)) },
  );
}

/**
 * The same limit on buckets kept elsewhere: with CERTMINT_PROCESSES above 1, by the supervisor for
 * the whole server (auth/limits.ts), so that a guesser spreading its attempts over connections,
 * and so over workers, gets the configured budget once, not once per worker. The buckets answer
 * at once from what they know and otherwise after an IPC round trip.
 */
export class SharedFailureLimiter implements AuthFailureLimit {
  constructor(private readonly buckets: RateLimit) {}

  checkBeforeLookup(peer: string): void | Promise<void> {
    const wait = this.buckets.peek(peer);
    if (typeof wait !== "number") {
      return wait.then((w) => {
        if (w > 0) throw limited(peer, w);
      });
    }
    if (wait > 0) throw limited(peer, wait);
  }

  failed(peer: string, refusal: CertmintError): CertmintError | Promise<CertmintError> {
    const wait = this.buckets.take(peer);
    if (typeof wait !== "number") return wait.then((w) => (w > 0 ? limited(peer, w) : refusal));
    return wait > 0 ? limited(peer, wait) : refusal;
  }
}
