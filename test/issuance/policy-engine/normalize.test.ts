import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type NormalizeResult,
  normalizeDnsName,
  normalizeEmail,
  normalizeIp,
  normalizeUri,
} from "../../../src/issuance/policy-engine";

const value = (r: NormalizeResult) => (r.ok ? r.value : `ERROR: ${r.error}`);

describe("normalizeDnsName", () => {
  it.each([
    ["API.Example.COM.", "api.example.com"],
    ["Bücher.Example", "xn--bcher-kva.example"],
    ["xn--BCHER-kva.example", "xn--bcher-kva.example"],
    ["faß.de", "xn--fa-hia.de"],
    ["ａｐｉ．example．com", "api.example.com"],
    ["*.Example.com", "*.example.com"],
    ["db", "db"],
    // The ideographic, fullwidth and halfwidth full stops are label separators (UTS #46 4.1).
    ["x\u3002internal.example.com", "x.internal.example.com"],
    ["x\uff0einternal.example.com", "x.internal.example.com"],
    ["x\uff61internal.example.com", "x.internal.example.com"],
    // A right-to-left label on its own satisfies the Bidi rule; so does a Latin label beside it.
    ["\u05d0\u05d1.example", "xn--4dbc.example"],
    ["ab.xn--4dbrk0ce", "ab.xn--4dbrk0ce"],
  ])("%s -> %s", (input, expected) => {
    expect(value(normalizeDnsName(input))).toBe(expected);
  });

  // UTS #46 with CheckBidi, CheckJoiners and CheckHyphens (idna.ts), alike for U-labels and
  // for the A-labels that encode them, so a CSR cannot bring in what the attributes cannot.
  it.each([
    ["a\u05d0.example.com", /Bidi rule/],
    ["xn--a-0hc.example.com", /A-label|Bidi/], // the A-label of the line above
    ["1.xn--4dbrk0ce", /Bidi rule/], // a digit-first label in a right-to-left domain
    ["a\u200db.example.com", /joiner/], // ZWJ outside the CONTEXTJ rules
    ["xn--ab-m1t.example.com", /A-label|joiner/], // the A-label of "a\u200db"
    ["xn--abc-.example.com", /A-label/], // decodes to plain ASCII: a fake A-label
    ["xn--zzzzzzz-.example.com", /A-label/],
    ["xn--.example.com", /A-label/],
    ["xn--55qx5d\u00e9.example.com", /A-label|internationalised/], // non-ASCII in an A-label
    ["\u0301a.example.com", /combining|internationalised/], // starts with a combining mark
  ])("refuses %j under UTS #46", (input, why) => {
    const r = normalizeDnsName(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(why);
  });

  it.each([
    "",
    ".",
    "example.com..",
    ".example.com",
    "a_b.example.com",
    "a b.example.com",
    "a%41.example.com",
    "a/b.example.com",
    "a\tb.example.com",
    "-a.example.com",
    "a-.example.com",
    "ab--c.example.com",
    "xn--abc-.example.com",
    "10.0.0.1",
    "example.0x1f",
    "*.*.example.com",
    "**.example.com",
    "*",
    "*.",
    `${"a".repeat(64)}.com`,
    `${"abcdefghi.".repeat(26)}com`,
  ])("rejects %j", (input) => {
    expect(normalizeDnsName(input).ok).toBe(false);
  });
});

describe("normalizeIp", () => {
  it.each([
    ["10.0.0.1", "10.0.0.1"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["::FFFF:0a00:0001", "::ffff:10.0.0.1"],
    ["0:0:0:0:0:ffff:10.0.0.1", "::ffff:10.0.0.1"],
    ["::10.0.0.1", "::a00:1"],
  ])("%s -> %s", (input, expected) => {
    expect(value(normalizeIp(input))).toBe(expected);
  });

  it.each([
    "010.0.0.1",
    "10.0.0.01",
    "0x0a.0.0.1",
    "167772161",
    "10.1",
    "10.0.0.256",
    " 10.0.0.1",
    "fe80::1%eth0",
    "[::1]",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "12345::",
    "::ffff:010.0.0.1",
    "1.2.3.4::",
  ])("rejects %j", (input) => {
    expect(normalizeIp(input).ok).toBe(false);
  });
});

describe("normalizeEmail", () => {
  it.each([
    ["Alice@Example.COM", "Alice@example.com"],
    ["bob@bücher.example", "bob@xn--bcher-kva.example"],
  ])("%s -> %s", (input, expected) => {
    expect(value(normalizeEmail(input))).toBe(expected);
  });

  it.each([
    "",
    "bob",
    "@example.com",
    "bob@",
    "a@b@c.com",
    ".bob@x.com",
    "b..ob@x.com",
    "bob@[10.0.0.1]",
    '"b b"@x.com',
    "böb@x.com",
  ])("rejects %j", (input) => {
    expect(normalizeEmail(input).ok).toBe(false);
  });
});

describe("normalizeUri", () => {
  it.each([
    ["SPIFFE://Prod.Example/ns/a", "spiffe://prod.example/ns/a"],
    ["https://Example.com/", "https://example.com"],
    ["https://example.com:8443/%7Euser/%c3%a9", "https://example.com:8443/~user/%C3%A9"],
    ["https://bücher.example/x", "https://xn--bcher-kva.example/x"],
  ])("%s -> %s", (input, expected) => {
    expect(value(normalizeUri(input))).toBe(expected);
  });

  it.each([
    "https://example.com/a/../b",
    "https://example.com/a/./b",
    "https://example.com/a/%2e%2E/b",
    "https://example.com/a%2fb",
    "https://example.com/a%5Cb",
    "https://example.com/a%00b",
    "https://example.com/a//b",
    "https://example.com/a/",
    "https://user:pw@example.com/",
    "https://example.com/?q",
    "https://example.com/#f",
    "https://[::1]/",
    "https://10.0.0.1/",
    "https://example.com:0/",
    "https://example.com:080/",
    "https://example.com:/",
    "spiffe://td:443/a",
    "spiffe://td/%61",
    "spiffe://td/a:b",
    "urn:uuid:1",
    "https:/example.com",
    "https://example.com/*",
    "https://exa%6dple.com/",
    "https://example.com/a b",
  ])("rejects %j", (input) => {
    expect(normalizeUri(input).ok).toBe(false);
  });
});

// Idempotence: normalize(normalize(x)) === normalize(x), on valid, near-valid and garbage input.
const idempotent = (f: (s: string) => NormalizeResult) => (input: string) => {
  const once = f(input);
  if (!once.ok) return;
  const twice = f(once.value);
  expect(twice).toEqual(once);
};

const chars = (list: string) => fc.constantFrom(...[...list]);
const RUNS = { numRuns: 1500 };

describe("normalisation is idempotent (property)", () => {
  it("DNS names", () => {
    const noisy = fc.string({ unit: chars("aBz09-.*üßÉ。．_Ⅸ\u200Bxn"), maxLength: 30 });
    const domains = fc.tuple(fc.domain(), fc.boolean(), fc.boolean()).map(([d, up, dot]) => {
      const s = up ? d.toUpperCase() : d;
      return dot ? `${s}.` : s;
    });
    const idn = fc
      .array(fc.constantFrom("bücher", "café", "faß", "ÉCOLE", "xn--bcher-kva", "api", "*"), {
        minLength: 1,
        maxLength: 4,
      })
      .map((labels) => `${labels.join(".")}.example`);
    fc.assert(fc.property(fc.oneof(noisy, domains, idn), idempotent(normalizeDnsName)), RUNS);
  });

  it("DNS output is lower-case ASCII without a trailing dot", () => {
    fc.assert(
      fc.property(fc.oneof(fc.domain(), fc.string()), (s) => {
        const r = normalizeDnsName(s);
        if (r.ok) expect(r.value).toMatch(/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$/);
      }),
      RUNS,
    );
  });

  it("IP addresses", () => {
    const mapped = fc.ipV4().map((a) => `::ffff:${a}`);
    const noisy = fc.string({ unit: chars("0123456789abcdefABCDEF:.%x"), maxLength: 40 });
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.ipV6(), mapped, noisy),
        idempotent(normalizeIp),
      ),
      RUNS,
    );
  });

  it("email addresses", () => {
    const upper = fc.emailAddress().map((e) => e.toUpperCase());
    const noisy = fc.string({ unit: chars('aB.@+ü-_%"[]x'), maxLength: 20 });
    fc.assert(
      fc.property(fc.oneof(fc.emailAddress(), upper, noisy), idempotent(normalizeEmail)),
      RUNS,
    );
  });

  it("URIs", () => {
    const segment = fc.oneof(
      fc.constantFrom(
        ".",
        "..",
        "%2e",
        "%2E%2e",
        "%2F",
        "%41",
        "%7e",
        "a",
        "B",
        "",
        "%c3%a9",
        "~x",
      ),
      fc.string({ unit: chars("aZ09-._~!$&'()+,;=:@%"), maxLength: 6 }),
    );
    const uri = fc
      .tuple(
        fc.constantFrom("https", "SPIFFE", "spiffe", "HTTP"),
        fc.oneof(fc.domain(), fc.constantFrom("Bücher.Example", "prod.example", "x.")),
        fc.option(fc.integer({ min: 1, max: 65535 })),
        fc.array(segment, { maxLength: 4 }),
      )
      .map(
        ([s, h, p, segs]) =>
          `${s}://${h}${p === null ? "" : `:${p}`}${segs.map((x) => `/${x}`).join("")}`,
      );
    fc.assert(fc.property(fc.oneof(uri, fc.webUrl()), idempotent(normalizeUri)), RUNS);
  });
});
