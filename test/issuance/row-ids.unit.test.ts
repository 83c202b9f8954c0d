/**
 * Row ids are UUIDv7 (RFC 9562 5.7; src/issuance/common/ids.ts): the version and variant bits
 * set, the first 48 bits the time in milliseconds, the rest random; so ids made later sort
 * after ids made earlier (what keeps inserts on an index's newest pages), and none repeat.
 */
import { describe, expect, it } from "vitest";
import { newRowId } from "../../src/issuance/common/ids";
import { isUuid } from "../../src/issuance/common/refs";

describe("row ids", () => {
  it("are UUIDv7: version 7, variant 10, the creation time in the first 48 bits", () => {
    for (const at of [0, 1, 255, 2 ** 32 + 5, Date.UTC(2026, 11, 2, 17, 0, 0, 123), 2 ** 48 - 1]) {
      const id = newRowId(at);
      expect(isUuid(id)).toBe(true);
      const hex = id.replace(/-/g, "");
      expect(Number.parseInt(hex.slice(0, 12), 16)).toBe(at);
      expect(hex[12]).toBe("7");
      expect(["8", "9", "a", "b"]).toContain(hex[16]);
    }
    // Now, when no time is given.
    const before = Date.now();
    const at = Number.parseInt(newRowId().replace(/-/g, "").slice(0, 12), 16);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });

  it("sort in the order of their times, and do not repeat", () => {
    const ids = Array.from({ length: 100_000 }, (_, i) =>
      newRowId(1_800_000_000_000 + Math.floor(i / 100)),
    );
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 100; i < ids.length; i += 100) {
      expect(ids[i - 1]! < ids[i]!).toBe(true); // the last of one millisecond, the first of the next
    }
    // The 74 random bits: as many ones as zeros, over all ids (within 1%).
    let ones = 0;
    for (const id of ids) {
      const hex = id.replace(/-/g, "");
      // rand_a (12 bits), the 2 bits after the variant, rand_b's other 60 bits.
      const bits =
        BigInt(`0x${hex.slice(13, 16)}`).toString(2) +
        (Number.parseInt(hex[16]!, 16) & 0b11).toString(2) +
        BigInt(`0x${hex.slice(17)}`).toString(2);
      ones += bits.split("1").length - 1;
    }
    expect(ones / (ids.length * 74)).toBeGreaterThan(0.49);
    expect(ones / (ids.length * 74)).toBeLessThan(0.51);
  });
});
