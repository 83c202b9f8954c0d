/** computeValidity: backdating, whole seconds, truncation vs refusal at the issuer's notAfter. */
import { describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import { computeValidity } from "../../src/signer";

const now = new Date("2030-06-01T12:00:00.750Z");
const error = (f: () => unknown): CertmintError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CertmintError);
    return e as CertmintError;
  }
  throw new Error("expected an error");
};

describe("computeValidity", () => {
  it("backdates notBefore by 60 s by default and ends ttl after now, in whole seconds", () => {
    const v = computeValidity({ now, ttlSeconds: 3600 });
    expect(v.notBefore.toISOString()).toBe("2030-06-01T11:59:00.000Z");
    expect(v.notAfter.toISOString()).toBe("2030-06-01T13:00:00.000Z");
    expect(v.truncated).toBe(false);
  });

  it("honours a custom backdate, including none", () => {
    expect(
      computeValidity({ now, ttlSeconds: 60, backdateSeconds: 3600 }).notBefore.toISOString(),
    ).toBe("2030-06-01T11:00:00.000Z");
    expect(
      computeValidity({ now, ttlSeconds: 60, backdateSeconds: 0 }).notBefore.toISOString(),
    ).toBe("2030-06-01T12:00:00.000Z");
  });

  it("never starts before the issuer's path does (an outside CA signed without a backdate)", () => {
    const issuerNotBefore = new Date("2030-06-01T11:59:40.000Z");
    const v = computeValidity({ now, ttlSeconds: 3600, issuerNotBefore });
    expect(v.notBefore.toISOString()).toBe("2030-06-01T11:59:40.000Z");
    expect(v.notAfter.toISOString()).toBe("2030-06-01T13:00:00.000Z");
    // An issuer valid long before keeps the usual backdate; one not valid yet moves it to now
    // at the latest (such an issuer is refused elsewhere).
    const older = computeValidity({ now, ttlSeconds: 60, issuerNotBefore: new Date(0) });
    expect(older.notBefore.toISOString()).toBe("2030-06-01T11:59:00.000Z");
    const future = new Date("2030-06-02T00:00:00.000Z");
    const early = computeValidity({ now, ttlSeconds: 60, issuerNotBefore: future });
    expect(early.notBefore.toISOString()).toBe("2030-06-01T12:00:00.000Z");
  });

  // Found by an outside probe (2026-12-05, third stop): ttl = max_ttl gave a period of
  // max_ttl + 61 s, the backdate uncounted.
  it("keeps the period notBefore..notAfter (inclusive) within the policy's maximum", () => {
    const periodOf = (v: { notBefore: Date; notAfter: Date }) =>
      (v.notAfter.getTime() - v.notBefore.getTime()) / 1000 + 1;
    const atMax = computeValidity({ now, ttlSeconds: 2_592_000, maxPeriodSeconds: 2_592_000 });
    expect(atMax.notBefore.toISOString()).toBe("2030-06-01T11:59:00.000Z");
    expect(periodOf(atMax)).toBe(2_592_000);
    // Below the maximum by more than the backdate: unchanged, notAfter = now + ttl.
    const below = computeValidity({ now, ttlSeconds: 3600, maxPeriodSeconds: 7200 });
    expect(below.notAfter.toISOString()).toBe("2030-06-01T13:00:00.000Z");
    expect(periodOf(below)).toBe(3661);
    // Within the backdate of the maximum: notAfter earlier, by what the period would exceed.
    const near = computeValidity({ now, ttlSeconds: 3590, maxPeriodSeconds: 3600 });
    expect(periodOf(near)).toBe(3600);
    expect(near.notAfter.toISOString()).toBe("2030-06-01T12:58:59.000Z");
    // A maximum of a minute: half for the backdate, and still valid after signing.
    const tiny = computeValidity({ now, ttlSeconds: 60, maxPeriodSeconds: 60 });
    expect(periodOf(tiny)).toBe(60);
    expect(tiny.notAfter.getTime()).toBeGreaterThan(now.getTime());
    expect(tiny.notBefore.getTime()).toBeLessThan(now.getTime());
    expect(periodOf(computeValidity({ now, ttlSeconds: 1, maxPeriodSeconds: 1 }))).toBe(1);
  });

  const issuerNotAfter = new Date("2030-06-02T00:00:00Z");

  it("fails by default when the certificate would outlive its issuer", () => {
    const e = error(() => computeValidity({ now, ttlSeconds: 86_400, issuerNotAfter }));
    expect(e.kind).toBe("failed_precondition");
    expect(e.reason).toBe("VALIDITY_EXCEEDS_ISSUER");
    expect(e.message).toContain("2030-06-02T00:00:00.000Z");
    expect(e.message).toContain("at most 43199 seconds");
  });

  it("truncates to the issuer's notAfter when asked", () => {
    const v = computeValidity({ now, ttlSeconds: 86_400, issuerNotAfter, onExceed: "truncate" });
    expect(v.notAfter).toEqual(issuerNotAfter);
    expect(v.truncated).toBe(true);
  });

  it("accepts a TTL that ends exactly at the issuer's notAfter", () => {
    const v = computeValidity({
      now: new Date("2030-06-01T23:00:00Z"),
      ttlSeconds: 3600,
      issuerNotAfter,
    });
    expect(v.notAfter).toEqual(issuerNotAfter);
    expect(v.truncated).toBe(false);
  });

  it("refuses even truncation once the issuer has expired", () => {
    const e = error(() =>
      computeValidity({
        now,
        ttlSeconds: 60,
        issuerNotAfter: new Date("2030-01-01T00:00:00Z"),
        onExceed: "truncate",
      }),
    );
    expect(e.reason).toBe("ISSUER_EXPIRED");
  });

  it.each([0, -5, 1.5, Number.NaN])("refuses ttlSeconds %s", (ttl) => {
    const e = error(() => computeValidity({ now, ttlSeconds: ttl }));
    expect(e.kind).toBe("invalid_argument");
    expect(e.reason).toBe("TTL_INVALID");
  });
});

describe("computeValidity at the end of X.509 time", () => {
  const lastSecond = Date.UTC(9999, 11, 31, 23, 59, 59);
  const untilLast = Math.floor((lastSecond - Math.floor(now.getTime() / 1000) * 1000) / 1000);

  it("ends at 9999-12-31T23:59:59Z at the latest; a second more is TTL_TOO_LONG on the ttl", () => {
    expect(computeValidity({ now, ttlSeconds: untilLast }).notAfter.toISOString()).toBe(
      "9999-12-31T23:59:59.000Z",
    );
    const e = error(() => computeValidity({ now, ttlSeconds: untilLast + 1 }));
    expect(e.kind).toBe("invalid_argument");
    expect(e.reason).toBe("TTL_TOO_LONG");
    expect(e.violations.map((v) => v.field)).toEqual(["ttl"]);
  });

  it("refuses a TTL past what a Date holds (a stored ~2^53 s) the same way, not as an invalid date", () => {
    const e = error(() => computeValidity({ now, ttlSeconds: Number.MAX_SAFE_INTEGER }));
    expect(e.reason).toBe("TTL_TOO_LONG");
  });

  it("still shortens a very long TTL to the issuer's notAfter when asked to", () => {
    const issuerNotAfter = new Date("2040-01-01T00:00:00Z");
    const v = computeValidity({
      now,
      ttlSeconds: 315_576_000_000,
      issuerNotAfter,
      onExceed: "truncate",
    });
    expect(v.notAfter.toISOString()).toBe("2040-01-01T00:00:00.000Z");
    expect(v.truncated).toBe(true);
  });
});
