import { describe, expect, it } from "vitest";
import { FailureLimiter, peerAddressKey } from "../../src/auth/failure-limiter";
import { TtlCache } from "../../src/auth/ttl-cache";
import { unauthenticated } from "../../src/errors";

describe("peerAddressKey: the address a failure limit applies to", () => {
  it.each([
    ["10.0.0.1:5000", "10.0.0.1"],
    ["127.0.0.1:1", "127.0.0.1"],
    // One /64 for every address of a host's network.
    ["[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64"],
    ["[2001:db8:1:2:bbbb:cccc:dddd:eeee]:443", "2001:db8:1:2::/64"],
    ["[2001:DB8:0001:0002::9]:443", "2001:db8:1:2::/64"],
    ["[::1]:50051", "0:0:0:0::/64"],
    ["[fe80::1%eth0]:1", "fe80:0:0:0::/64"],
    // An IPv4-mapped address is its IPv4 address.
    ["[::ffff:10.0.0.1]:5000", "10.0.0.1"],
    ["/run/certmint.sock", "/run/certmint.sock"],
  ])("%s -> %s", (peer, key) => {
    expect(peerAddressKey(peer)).toBe(key);
  });
});

describe("FailureLimiter", () => {
  const refusal = unauthenticated("TOKEN_UNKNOWN", "unknown");

  it("refuses an address past its burst, and only that address, until it refills", () => {
    let now = 0;
    const limiter = new FailureLimiter(1, 3, () => now);
    for (let i = 0; i < 3; i++) {
      expect(limiter.failed("10.0.0.1:1", refusal)).toBe(refusal);
    }
    const limited = limiter.failed("10.0.0.1:2", refusal);
    expect(limited).toMatchObject({
      kind: "resource_exhausted",
      reason: "AUTHENTICATION_FAILURES_LIMITED",
      retryAfterSeconds: 1,
    });
    expect(() => limiter.checkBeforeLookup("10.0.0.1:3")).toThrow(/too many failed/);
    // Another address, and another /64, are unaffected.
    expect(() => limiter.checkBeforeLookup("10.0.0.2:1")).not.toThrow();
    expect(limiter.failed("[2001:db8::1]:1", refusal)).toBe(refusal);
    // Checking does not count; a second later one failure is allowed again.
    now += 1000;
    expect(() => limiter.checkBeforeLookup("10.0.0.1:3")).not.toThrow();
    expect(limiter.failed("10.0.0.1:3", refusal)).toBe(refusal);
    expect(limiter.failed("10.0.0.1:3", refusal)).not.toBe(refusal);
  });

  it("counts an IPv6 peer against its /48 too: rotating /64s does not multiply the guesses", () => {
    const limiter = new FailureLimiter(1, 3, () => 0);
    // 16 /64s' worth: 48 failures from 16 /64s of 2001:db8:1::/48, then none from a 17th.
    for (let subnet = 0; subnet < 16; subnet++) {
      for (let i = 0; i < 3; i++) {
        expect(limiter.failed(`[2001:db8:1:${subnet.toString(16)}::1]:1`, refusal)).toBe(refusal);
      }
    }
    const limited = limiter.failed("[2001:db8:1:10::1]:1", refusal);
    expect(limited).toMatchObject({ reason: "AUTHENTICATION_FAILURES_LIMITED" });
    expect(limited.message).toContain("from 2001:db8:1:10::/64 or 2001:db8:1::/48;");
    expect(() => limiter.checkBeforeLookup("[2001:db8:1:ffff::2]:1")).toThrow(/too many failed/);
    expect(() => limiter.checkBeforeLookup("[2001:db8:2::1]:1")).not.toThrow();
    expect(() => limiter.checkBeforeLookup("10.0.0.1:1")).not.toThrow();
  });

  it("a flood from 100,000 new addresses does not reset an address's failures", () => {
    const limiter = new FailureLimiter(1, 3, () => 0);
    for (let i = 0; i < 3; i++) limiter.failed("192.0.2.1:1", refusal);
    for (let i = 0; i < 100_000; i++) {
      limiter.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:1`, refusal);
    }
    expect(() => limiter.checkBeforeLookup("192.0.2.1:1")).toThrow(/too many failed/);
    expect(limiter.failed("192.0.2.1:1", refusal)).not.toBe(refusal);
  });

  it("a rate of 0 limits nothing", () => {
    const limiter = new FailureLimiter(0, 1);
    for (let i = 0; i < 100; i++) expect(limiter.failed("10.0.0.1:1", refusal)).toBe(refusal);
    expect(() => limiter.checkBeforeLookup("10.0.0.1:1")).not.toThrow();
  });
});

describe("TtlCache", () => {
  it("expires entries, and drops the oldest at its bound", () => {
    let now = 0;
    const cache = new TtlCache<number>(100, 2, () => now);
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("c", 3);
    expect([cache.get("a"), cache.get("b"), cache.get("c")]).toEqual([undefined, 2, 3]);
    now = 100;
    expect(cache.get("b")).toBeUndefined();
    cache.set("d", 4);
    cache.deleteWhere((v) => v === 4);
    expect(cache.get("d")).toBeUndefined();
  });
});
