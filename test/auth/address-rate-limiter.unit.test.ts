/**
 * Limits per client address (src/auth/address-keys.ts, src/auth/address-rate-limiter.ts): an
 * IPv4 address on its own; an IPv6 /64 and, at 16 times its budget, its /48, so that one holder
 * of a /48 does not get 65,536 budgets. Also the ACME new-account limit built as the server
 * builds it (src/acme/index.ts). An injected clock: nothing here waits.
 */
import { describe, expect, it } from "vitest";
import { acmeLimiters } from "../../src/acme/index";
import { peerAddressKeys } from "../../src/auth/address-keys";
import { AddressRateLimiter, IPV6_RANGE_MULTIPLE } from "../../src/auth/address-rate-limiter";

/** A /64 budget of 1 a second, bursts of 2 (so its /48: 16 a second, bursts of 32). */
function limiter() {
  let now = 0;
  const l = new AddressRateLimiter(1, 2, () => now);
  return { l, advance: (ms: number) => (now += ms) };
}

/** A peer in the /64 number `subnet` of 2001:db8:<site>::/48. */
const v6 = (subnet: number, site = 1, host = "1") =>
  `[2001:db8:${site.toString(16)}:${subnet.toString(16)}::${host}]:443`;

describe("peerAddressKeys", () => {
  it.each([
    ["10.0.0.1:5000", ["10.0.0.1"]],
    ["[2001:db8:1:2:aaaa::1]:443", ["2001:db8:1:2::/64", "2001:db8:1::/48"]],
    ["[2001:DB8:0001:0002::9]:443", ["2001:db8:1:2::/64", "2001:db8:1::/48"]],
    ["[2001:db8:1:ffff:1:2:3:4]:443", ["2001:db8:1:ffff::/64", "2001:db8:1::/48"]],
    ["[::1]:50051", ["0:0:0:0::/64", "0:0:0::/48"]],
    // A zone id names the server's interface, not the client.
    ["[fe80::1%eth0]:1", ["fe80:0:0:0::/64", "fe80:0:0::/48"]],
    // An IPv4-mapped address is its IPv4 address, and no range.
    ["[::ffff:10.0.0.1]:5000", ["10.0.0.1"]],
    ["/run/certmint.sock", ["/run/certmint.sock"]],
  ])("%s -> %j", (peer, keys) => {
    expect(peerAddressKeys(peer)).toEqual(keys);
  });
});

describe("AddressRateLimiter", () => {
  it("refuses a /48 holder past the /48's budget, whatever /64 it uses; others are unaffected", () => {
    const { l } = limiter();
    expect(IPV6_RANGE_MULTIPLE).toBe(16);
    for (let subnet = 0; subnet < 16; subnet++) {
      expect(l.take(v6(subnet, 1, "1"))).toBe(0);
      expect(l.take(v6(subnet, 1, "2"))).toBe(0);
    }
    // A 17th /64, full on its own, waits for the /48 (a 16th of a second).
    expect(l.peek(v6(16))).toBeCloseTo(1 / 16);
    expect(l.take(v6(16))).toBeCloseTo(1 / 16);
    expect(l.take(v6(0xffff))).toBeGreaterThan(0);
    // Another /48 has its own budget.
    expect(l.take(v6(0, 2))).toBe(0);
    expect(l.take(v6(0, 2))).toBe(0);
    expect(l.take(v6(0, 2))).toBeCloseTo(1);
    // IPv4 addresses are limited each on its own, and never by a range.
    expect(l.take("10.0.0.1:1")).toBe(0);
    expect(l.take("10.0.0.1:2")).toBe(0);
    expect(l.take("10.0.0.1:3")).toBeCloseTo(1);
    expect(l.take("10.0.0.2:1")).toBe(0);
    expect(l.take("[::ffff:10.0.0.3]:1")).toBe(0);
  });

  it("a call refused by the /64 takes nothing from the /48", () => {
    const { l } = limiter();
    expect(l.take(v6(0))).toBe(0);
    expect(l.take(v6(0))).toBe(0);
    for (let i = 0; i < 100; i++) expect(l.take(v6(0))).toBeCloseTo(1);
    // The /48 still holds the 30 tokens the other 15 /64s may spend.
    for (let subnet = 1; subnet < 16; subnet++) {
      expect(l.take(v6(subnet))).toBe(0);
      expect(l.take(v6(subnet))).toBe(0);
    }
    expect(l.take(v6(16))).toBeGreaterThan(0);
  });

  it("a call refused by the /48 takes nothing from the /64", () => {
    const { l, advance } = limiter();
    expect(l.take(v6(0))).toBe(0);
    for (let subnet = 1; subnet < 16; subnet++) {
      l.take(v6(subnet));
      l.take(v6(subnet));
    }
    expect(l.take(v6(16))).toBe(0);
    // The /48 is empty; /64 number 0 still has one of its two.
    for (let i = 0; i < 10; i++) expect(l.take(v6(0))).toBeGreaterThan(0);
    // An eighth of a second later the /48 has two back, /64 number 0 1.125: one call, not two.
    advance(125);
    expect(l.take(v6(0))).toBe(0);
    expect(l.take(v6(0))).toBeCloseTo(0.875);
    // That refusal by the /64 gave the /48 its token back for another /64.
    expect(l.take(v6(17))).toBe(0);
    expect(l.take(v6(18))).toBeGreaterThan(0);
  });

  it("refund gives the call back to the /64 and the /48", () => {
    const { l } = limiter();
    for (let subnet = 0; subnet < 16; subnet++) {
      l.take(v6(subnet));
      l.take(v6(subnet));
    }
    expect(l.peek(v6(15))).toBeGreaterThan(0);
    l.refund(v6(15));
    expect(l.peek(v6(15))).toBe(0);
    expect(l.take(v6(15))).toBe(0);
    expect(l.take(v6(15))).toBeGreaterThan(0);
    expect(l.take(v6(16))).toBeGreaterThan(0);
    l.take("10.0.0.1:1");
    l.take("10.0.0.1:1");
    l.refund("10.0.0.1:2");
    expect(l.take("10.0.0.1:3")).toBe(0);
    expect(l.take("10.0.0.1:3")).toBeGreaterThan(0);
  });
});

describe("ACME new accounts per address (acmeLimiters)", () => {
  it("10 per /64 and 160 per /48 at the default of 10 an hour; IPv4 10 per address", () => {
    let now = 0;
    const { newAccountLimiter } = acmeLimiters(
      { rateLimit: { perSecond: 10, burst: 100 }, newAccountsPerAddressPerHour: 10 },
      () => now,
    );
    for (let subnet = 0; subnet < 16; subnet++) {
      for (let i = 0; i < 10; i++) expect(newAccountLimiter.take(v6(subnet))).toBe(0);
      expect(newAccountLimiter.take(v6(subnet))).toBeGreaterThan(0);
    }
    // The /48's 160 are spent: a fresh /64 of it waits 3600/160 s for the next.
    expect(newAccountLimiter.take(v6(0x1234))).toBeCloseTo(3600 / 160);
    expect(newAccountLimiter.take(v6(0, 2))).toBe(0);
    for (let i = 0; i < 10; i++) expect(newAccountLimiter.take(`192.0.2.1:${i}`)).toBe(0);
    expect(newAccountLimiter.take("192.0.2.1:10")).toBeCloseTo(360);
    expect(newAccountLimiter.take("192.0.2.2:1")).toBe(0);
    now += (3600 / 160) * 1000 + 1;
    expect(newAccountLimiter.take(v6(0x1234))).toBe(0);
  });
});
