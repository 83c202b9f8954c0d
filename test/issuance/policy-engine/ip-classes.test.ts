/**
 * Issue 17 class 4: addresses that are never certified, and IPv4 addresses in IPv6 clothing.
 * Every IPv6 form that carries an IPv4 address (mapped, compatible, NAT64 well-known and
 * local-use prefixes, 6to4, Teredo) must meet the IPv4 rules too; the table covers each form
 * and the properties check it for random addresses and rule sets against integer arithmetic.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicy, evaluate, type NameRule } from "../../../src/issuance/policy-engine";
import { formatIpv6 } from "../../../src/model/ip";
import { baseRequest, baseSpec } from "./fixtures";

/** The reasons of the violations on ip_addresses[0] under the given IP rule. */
function verdict(rule: NameRule, address: string): string[] {
  const spec = baseSpec();
  spec.sans = { ip: rule };
  const req = baseRequest();
  req.sans = { dns: [], ip: [address], email: [], uri: [] };
  return evaluate(compilePolicy(spec), req)
    .filter((v) => v.field === "sans.ip_addresses[0]")
    .map((v) => v.reason!);
}
const rule = (allowed: string[], denied: string[] = []): NameRule => ({
  allowed,
  denied,
  required: false,
});

/** The IPv6 forms of IPv4 address v4 (a 32-bit integer) that carry it. ::1 is the loopback
 * address, not the compatible form of 0.0.0.1 (RFC 4291 2.5.3, 2.5.5.1). */
function embeddings(v4: bigint): Record<string, string> {
  const hi = v4 >> 16n;
  const lo = v4 & 0xffffn;
  return {
    mapped: formatIpv6((0xffffn << 32n) | v4),
    ...(v4 > 1n ? { compatible: formatIpv6(v4) } : {}),
    nat64: formatIpv6((0x64ff9bn << 96n) | v4),
    nat64LocalUse: formatIpv6((0x64ff9b0001n << 80n) | (hi << 64n) | (lo << 40n)),
    sixToFour: formatIpv6((0x2002n << 112n) | (v4 << 80n) | 1n),
    teredo: formatIpv6((0x20010000n << 96n) | (~v4 & 0xffffffffn)),
  };
}
const v4Of = (text: string) =>
  text.split(".").reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);

describe("addresses never certified", () => {
  const anything = rule(["0.0.0.0/0", "::/0"]);
  it.each([
    "0.0.0.0",
    "::",
    "0:0:0:0:0:0:0:0",
    "255.255.255.255",
    "::ffff:0.0.0.0",
    "::ffff:255.255.255.255",
    "::255.255.255.255",
    "64:ff9b::",
    "64:ff9b::ffff:ffff",
    "64:ff9b:1::",
    "2002::1",
    "2001:0:1:2:3:4:0:0", // Teredo whose client is 255.255.255.255 (inverted)
  ])("refuses %s even when every address is allowed", (address) => {
    expect(verdict(anything, address)).toEqual(["SAN_INVALID"]);
  });

  it("still certifies the neighbours of the special addresses", () => {
    for (const a of ["0.0.0.1", "255.255.255.254", "::1", "::2", "64:ff9b::1"]) {
      expect(verdict(anything, a), a).toEqual([]);
    }
  });
});

describe("IPv4 in IPv6 clothing meets the IPv4 rules", () => {
  const forms = embeddings(v4Of("10.1.2.3"));

  it.each(Object.entries(forms))("a denied 10.0.0.0/8 denies its %s form %s", (_, address) => {
    expect(verdict(rule(["0.0.0.0/0", "::/0"], ["10.0.0.0/8"]), address)).toEqual(["SAN_DENIED"]);
  });

  it.each(Object.entries(forms))(
    "an IPv6 catch-all alone does not allow the %s form %s",
    (form, address) => {
      // The IPv4 address it carries must be allowed too; a mapped address is only IPv4.
      expect(verdict(rule(["::/0", "192.0.2.0/24"]), address), form).toEqual(["SAN_NOT_ALLOWED"]);
    },
  );

  it.each(Object.entries(forms))(
    "IPv4 and IPv6 rules together allow the %s form %s",
    (form, address) => {
      expect(verdict(rule(["::/0", "10.0.0.0/8"]), address), form).toEqual([]);
    },
  );

  it("allows a mapped address through an IPv4 range alone, as before", () => {
    expect(verdict(rule(["10.0.0.0/8"]), "::ffff:10.1.2.3")).toEqual([]);
    expect(verdict(rule(["10.0.0.0/8"]), "64:ff9b::a01:203")).toEqual(["SAN_NOT_ALLOWED"]);
  });

  it("leaves an operator NAT64 prefix (RFC 6052 network-specific) as a plain IPv6 address", () => {
    expect(verdict(rule(["::/0"], ["10.0.0.0/8"]), "2001:db8:64::a01:203")).toEqual([]);
  });
});

describe("properties", () => {
  const v4 = fc.bigInt({ min: 1n, max: 0xfffffffen });
  const prefix = fc.integer({ min: 0, max: 32 });
  const range = fc.tuple(v4, prefix).map(([base, p]) => {
    const masked = p === 0 ? 0n : (base >> BigInt(32 - p)) << BigInt(32 - p);
    return { base: masked, prefix: p };
  });
  const inRange = (r: { base: bigint; prefix: number }, a: bigint) =>
    r.prefix === 0 || a >> BigInt(32 - r.prefix) === r.base >> BigInt(32 - r.prefix);
  const text = (r: { base: bigint; prefix: number }) =>
    `${[24n, 16n, 8n, 0n].map((s) => (r.base >> s) & 0xffn).join(".")}/${r.prefix}`;

  it("any IPv6 form of an IPv4 address the IPv4 rules deny is denied, under any IPv6 allow", () => {
    fc.assert(
      fc.property(v4, fc.array(range, { minLength: 1, maxLength: 4 }), (a, denied) => {
        fc.pre(a !== 0xffffffffn);
        const r = rule(["::/0", "0.0.0.0/0"], denied.map(text));
        const isDenied = denied.some((d) => inRange(d, a));
        for (const [form, address] of Object.entries(embeddings(a))) {
          const got = verdict(r, address);
          expect(got.includes("SAN_DENIED"), `${form} ${address}`).toBe(isDenied);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("an IPv6 form is allowed only when the IPv4 address it carries is", () => {
    fc.assert(
      fc.property(v4, fc.array(range, { maxLength: 3 }), (a, allowed) => {
        fc.pre(a !== 0xffffffffn);
        const r = rule(["::/0", ...allowed.map(text)]);
        const v4Allowed = allowed.some((x) => inRange(x, a));
        for (const [form, address] of Object.entries(embeddings(a))) {
          const got = verdict(r, address);
          expect(got.length === 0, `${form} ${address}`).toBe(v4Allowed);
        }
      }),
      { numRuns: 300 },
    );
  });
});
