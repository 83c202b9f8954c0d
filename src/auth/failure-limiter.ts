import { isIPv6 } from "node:net";
import { CertmintError } from "../errors";
import { RateLimiter } from "./rate-limiter";

/**
 * Failed authentication, limited per peer address (issue 10 item 6). Every call refused as
 * UNAUTHENTICATED takes one from its address's bucket; once the bucket is empty the caller
 * gets RESOURCE_EXHAUSTED with RetryInfo instead, and while it is empty a credential that is
 * in no cache is not even looked up: a flood of made-up tokens from one address costs
 * `burst` database lookups and then none. A credential already known (cached) is still
 * accepted, so a well-behaved client behind the same address keeps working while the cache
 * holds it.
 */
export class FailureLimiter {
  private readonly buckets: RateLimiter;

  constructor(perSecond: number, burst: number, clock?: () => number) {
    this.buckets = new RateLimiter(perSecond, burst, clock);
  }

  /** Before a database lookup of a credential: RESOURCE_EXHAUSTED while `peer` is over its limit. */
  checkBeforeLookup(peer: string): void {
    const wait = this.buckets.peek(peerAddressKey(peer));
    if (wait > 0) throw limited(peer, wait);
  }

  /**
   * Counts a failed authentication of `peer`; returns the error to send: the refusal itself, or
   * RESOURCE_EXHAUSTED once the peer is over its limit.
   */
  failed(peer: string, refusal: CertmintError): CertmintError {
    const wait = this.buckets.take(peerAddressKey(peer));
    return wait > 0 ? limited(peer, wait) : refusal;
  }
}

function limited(peer: string, waitSeconds: number): CertmintError {
  return new CertmintError(
    "resource_exhausted",
    "AUTHENTICATION_FAILURES_LIMITED",
    `too many failed authentications from ${peerAddressKey(peer)}; retry in ${Math.ceil(waitSeconds * 1000)} ms with valid credentials`,
    { retryAfterSeconds: Math.max(1, Math.ceil(waitSeconds)) },
  );
}

/**
 * The address a limit applies to, from grpc-js's getPeer() ("10.0.0.1:5000", "[2001:db8::1]:5000",
 * or a Unix socket path): the IPv4 address; for IPv6 its /64, the smallest block a host is
 * usually given (RFC 6177), so one host cannot dodge the limit by rotating addresses within
 * its own network; an IPv4-mapped IPv6 address as its IPv4 address.
 */
export function peerAddressKey(peer: string): string {
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(peer);
  if (v6) {
    const address = v6[1]!.split("%")[0]!.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
    if (mapped) return mapped[1]!;
    return isIPv6(address) ? `${expandV6(address).slice(0, 4).join(":")}::/64` : address;
  }
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(peer);
  return v4 ? v4[1]! : peer;
}

/** The eight 16-bit groups of an IPv6 address, in lower-case hex without leading zeros. */
function expandV6(address: string): string[] {
  const [head, tail] = address.includes("::") ? address.split("::") : [address, undefined];
  const part = (s: string | undefined) => (s ? s.split(":") : []);
  const toGroups = (groups: string[]) =>
    groups.flatMap((g) => {
      if (!g.includes(".")) return [g];
      // An embedded IPv4 tail (RFC 4291 2.2 form 3) is two groups.
      const [a, b, c, d] = g.split(".").map(Number) as [number, number, number, number];
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  const left = toGroups(part(head));
  const right = toGroups(part(tail));
  const fill = tail === undefined ? [] : Array(8 - left.length - right.length).fill("0");
  return [...left, ...fill, ...right].map((g) => Number.parseInt(g, 16).toString(16));
}
