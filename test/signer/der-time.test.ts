/**
 * timeDer writes the bytes forge writes for the same time (CRL entries are encoded without
 * forge objects, signer/crl.ts): UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5280
 * 4.1.2.5), whole seconds, and the same refusal outside 1950-9999.
 */
import { describe, expect, it } from "vitest";
import { time, timeDer, toDer } from "../../src/signer/der";

describe("timeDer", () => {
  it.each([
    "1950-01-01T00:00:00Z",
    "1999-12-31T23:59:59Z",
    "2026-01-02T03:04:05.999Z",
    "2049-12-31T23:59:59Z",
    "2050-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
  ])("%s as forge encodes it", (iso) => {
    const d = new Date(iso);
    expect(timeDer(d).toString("hex")).toBe(toDer(time(d)).toString("hex"));
  });

  it("refuses years outside 1950-9999 as time does", () => {
    expect(() => timeDer(new Date("1949-12-31T23:59:59Z"))).toThrow(/1950-9999/);
    expect(() => timeDer(new Date(Number.NaN))).toThrow(/invalid date/);
  });
});
