/**
 * The cost bounds of name normalisation (probe39 MEDIUM-1): cheap refusals before UTS #46,
 * one UTS #46 pass per name and request, one more on failure, and the per-request budget of
 * internationalised characters. Behaviour only (calls into tr46 are counted, never timed).
 */
import { domainToASCII } from "node:url";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  MAX_NON_ASCII_PER_REQUEST,
  nameNormalisationBudget,
  normalisedCharacters,
  normalizeDnsName,
} from "../../src/issuance/policy-engine";
import { uts46 } from "../../src/issuance/policy-engine/idna";

// vitest runs files in shared forks (isolate: false), so tr46 cannot be mocked reliably here:
// the calls are counted on the object idna.ts calls it through.
const toASCII = vi.spyOn(uts46, "toASCII");
const realToUnicode = uts46.toUnicode;

/** A name no other test uses, so that no cached result answers for it. */
let serial = 0;
const unique = (name: string) => `u${++serial}.${name}`;
const sans = (dns: string[]) => ({ dns, ip: [], email: [], uri: [] });
const noSubject = { attributes: [] };

beforeEach(() => {
  toASCII.mockClear();
});
afterAll(() => {
  toASCII.mockRestore();
});

describe("refusals before UTS #46", () => {
  it("refuses a U-label of more than 63 letters without running UTS #46", () => {
    const r = normalizeDnsName(unique(`${"ü".repeat(64)}.example.com`));
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/label longer than 63 octets/) });
    expect(toASCII).not.toHaveBeenCalled();
  });

  it("refuses a name whose letters alone pass 253 octets without running UTS #46", () => {
    const label = "ü".repeat(60);
    const r = normalizeDnsName(unique([label, label, label, label, "example.com"].join(".")));
    expect(r).toEqual({ ok: false, error: "is longer than 253 octets" });
    expect(toASCII).not.toHaveBeenCalled();
  });

  // A reviewer's bypass of the first version: hyphens were not counted.
  it("counts hyphens: a label of one non-ASCII letter and 100 hyphens is refused without UTS #46", () => {
    const r = normalizeDnsName(unique(`x0é${"-".repeat(100)}.example.com`));
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/label longer than 63 octets/) });
    expect(toASCII).not.toHaveBeenCalled();
  });

  it("leaves to UTS #46 a long label that maps to a short one (ignored and combining code points)", () => {
    // 40 x (u + U+0308 + soft hyphen) is 120 code points; UTS #46 makes it 40 x ü.
    const long = "u\u0308\u00ad".repeat(40);
    const r = normalizeDnsName(unique(`${long}.example.com`));
    expect(r.ok && r.value.endsWith(`${domainToASCII(`${"ü".repeat(40)}.example.com`)}`)).toBe(
      true,
    );
  });

  it("counts only code points that keep an octet of the A-label (every code point, against tr46)", () => {
    // What idna.ts COUNTED / NOT_COUNTED claim: each counted code point maps (UTS #46) to a
    // non-empty text without '.', with a code point after NFD that no composition absorbs
    // (not a mark, not a Hangul V or T jamo).
    const counted = /[\p{L}\p{Nd}]/u;
    const notCounted =
      /[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff\uff9e-\uffdc\u{16d63}-\u{16d6a}]/u;
    // Marks, Hangul V and T jamo, and U+16D67 (Kirat Rai, Unicode 16 in Node's ICU).
    const absorbable = /^[\p{M}\u1161-\u1175\u11a8-\u11c2\u{16d63}-\u{16d6a}]/u;
    const wrong: string[] = [];
    for (let cp = 0x80; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (!counted.test(ch) || notCounted.test(ch)) continue;
      const mapped = realToUnicode(ch, {}).domain;
      const kept = [...mapped.normalize("NFD")].some((c) => !absorbable.test(c));
      if (mapped === "" || mapped.includes(".") || !kept) {
        wrong.push(cp.toString(16));
      }
    }
    expect(wrong).toEqual([]);
    // And composition absorbs only marks and jamo: the later code points of every canonical
    // decomposition are such.
    for (let cp = 0x80; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const later = [...String.fromCodePoint(cp).normalize("NFD")].slice(1);
      for (const c of later) if (!absorbable.test(c)) wrong.push(cp.toString(16));
    }
    expect(wrong).toEqual([]);
  });
});

describe("one UTS #46 pass", () => {
  it("normalises a repeated name once", () => {
    const name = unique("bücher.example.com");
    expect(normalizeDnsName(name)).toEqual(normalizeDnsName(name));
    expect(normalizeDnsName(name)).toEqual({ ok: true, value: domainToASCII(name) });
    expect(toASCII).toHaveBeenCalledTimes(1);
  });

  it("diagnoses a refused name in one more pass, not one per check", () => {
    const name = unique(`${"ü".repeat(20)}.${"ü".repeat(20)}.bad-.example.com`);
    const r = normalizeDnsName(name);
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/starts or ends with '-'/) });
    // The whole name once; then its labels, each once, and variants of the failing label only.
    const wholeName = toASCII.mock.calls.filter(([input]) => input === name);
    expect(wholeName).toHaveLength(1);
    const nonAsciiAgain = toASCII.mock.calls.filter(([input]) => input.includes("ü"));
    expect(nonAsciiAgain).toHaveLength(3); // the name, then each ü label alone
  });

  it("still names the Bidi rule for a digit-first label in a right-to-left domain", () => {
    const r = normalizeDnsName(unique("1.xn--4dbrk0ce"));
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/Bidi rule/) });
  });
});

describe("ordinary internationalised names", () => {
  const names = [
    "bücher.example.com",
    "faß.de",
    "中文.example.com",
    "例え.テスト",
    "مثال.example",
    "пример.испытание",
    "παράδειγμα.δοκιμή",
    "उदाहरण.परीक्षा",
    "xn--bcher-kva.example.com",
  ];
  it.each(names)("%s converts to the A-labels of url.domainToASCII", (name) => {
    expect(normalizeDnsName(name)).toEqual({ ok: true, value: domainToASCII(name) });
  });
  it("a label of 63 octets as an A-label still passes", () => {
    const name = `${"ü".repeat(50)}.example.com`;
    const r = normalizeDnsName(name);
    expect(r.ok && r.value.split(".")[0]!.length).toBeLessThanOrEqual(63);
    expect(r).toEqual({ ok: true, value: domainToASCII(name) });
  });
});

describe("the per-request budget of internationalised characters", () => {
  it("counts every code point of a name that leaves the ASCII fast path, none of plain ASCII", () => {
    expect(normalisedCharacters("api.example.com")).toBe(0);
    expect(normalisedCharacters("bücher.example.com")).toBe(18);
    expect(normalisedCharacters("😀.example")).toBe(9);
    expect(normalisedCharacters("xn--bcher-kva.example.com")).toBe(25);
    expect(normalisedCharacters("a.XN--bcher-kva.example")).toBe(23);
    expect(normalisedCharacters("bob@xn--bcher-kva.example")).toBe(25);
    expect(normalisedCharacters("https://xn--bcher-kva.example/axn--b")).toBe(36);
    expect(normalisedCharacters("axn--bcher.example")).toBe(0);
    // A reviewer's bypass of the first version: one "é" and a thousand hyphens counted 1.
    expect(normalisedCharacters(`x0é${"-".repeat(1000)}`)).toBe(1003);
  });

  it("refuses the probe's request (100 names of 6 x 36 ü) on the first name past the budget", () => {
    const dns = Array.from({ length: 100 }, (_, i) =>
      [...Array.from({ length: 6 }, () => `${i}${"ü".repeat(35)}`), "evil.com"].join("."),
    );
    const vs = nameNormalisationBudget(noSubject, sans(dns));
    // Every code point of each name counts: the first name past 4,096 in all is refused.
    let total = 0;
    let over = -1;
    for (const [i, n] of dns.entries()) {
      total += [...n].length;
      if (total > MAX_NON_ASCII_PER_REQUEST) {
        over = i;
        break;
      }
    }
    expect(over).toBeGreaterThan(0);
    expect(vs).toEqual([
      {
        field: `sans.dns_names[${over}]`,
        reason: "SAN_INVALID",
        description: expect.stringMatching(
          new RegExp(
            `brings the internationalised characters of this request's names .* to ${total}, more than the 4096 .*another certificate request`,
          ),
        ),
      },
    ]);
    expect(toASCII).not.toHaveBeenCalled();
  });

  it("counts A-labels, the subject and every SAN type", () => {
    const label = `xn--${"a".repeat(59)}`;
    const name = `${label}.${label}.${label}.example`; // 203 code points with "bob@"
    const vs = nameNormalisationBudget(
      { attributes: [{ type: "COMMON_NAME", value: "ü".repeat(4000) }] },
      { dns: [], ip: [], email: [`bob@${name}`], uri: [] },
    );
    expect(vs.map((v) => `${v.field} ${v.reason}`)).toEqual([
      "sans.email_addresses[0] SAN_INVALID",
    ]);
    const cn = nameNormalisationBudget(
      { attributes: [{ type: "COMMON_NAME", value: "ü".repeat(MAX_NON_ASCII_PER_REQUEST + 1) }] },
      sans([]),
    );
    expect(cn.map((v) => `${v.field} ${v.reason}`)).toEqual([
      "subject.common_name SUBJECT_INVALID",
    ]);
  });

  it("lets ordinary internationalised requests through (100 names of 20 characters)", () => {
    const dns = Array.from({ length: 100 }, (_, i) => `${"中".repeat(20)}-${i}.example.com`);
    expect(MAX_NON_ASCII_PER_REQUEST).toBeGreaterThanOrEqual(2000);
    expect(nameNormalisationBudget(noSubject, sans(dns))).toEqual([]);
    expect(
      nameNormalisationBudget(
        { attributes: [{ type: "ORGANIZATION", value: "ü".repeat(3000) }] },
        sans([]),
      ),
    ).toEqual([]);
  });
});
