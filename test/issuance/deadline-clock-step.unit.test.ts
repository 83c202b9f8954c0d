/**
 * A call's deadline is a duration (src/issuance/call.ts monotonicDeadline, remainingMs): grpc-js
 * dates it by the wall clock as the call arrives, certmint converts it once to the monotonic
 * clock, and every later check (abandoned calls, lock waits, list statement bounds) reads the
 * time left from there. A wall clock stepped back must not lengthen a wait past the deadline
 * (the wait holds a pooled connection the caller no longer waits for), nor one stepped forward
 * end it early. test/probe/clock-steps.test.ts steps the clock during a call to a server.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { monotonicDeadline, remainingMs } from "../../src/issuance/call";
import { IN_PROGRESS_WAIT_MS, lockWaitMs } from "../../src/issuance/certificates/idempotency";
import { listReadBound } from "../../src/issuance/common/list-bound";

const HOUR_MS = 3_600_000;

/** Date.now() of this process, moved by what `step` is given from then on. */
function steppableWallClock(): { step(ms: number): void } {
  const realNow = Date.now.bind(Date);
  let offsetMs = 0;
  vi.spyOn(Date, "now").mockImplementation(() => realNow() + offsetMs);
  return {
    step(ms) {
      offsetMs += ms;
    },
  };
}

describe("a call's deadline on the monotonic clock", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("is the time left at arrival, counted from the monotonic clock's reading then", () => {
    expect(monotonicDeadline(new Date(10_000), 4_000, 100)).toBe(6_100);
    expect(monotonicDeadline(10_000, 4_000, 100)).toBe(6_100);
    // A deadline already past at arrival stays past.
    expect(monotonicDeadline(3_000, 4_000, 100)).toBe(-900);
    // grpc-js says Infinity for a call without a deadline.
    expect(monotonicDeadline(Infinity)).toBeUndefined();
    expect(monotonicDeadline(undefined)).toBeUndefined();
    expect(remainingMs({ deadlineAt: 6_100 }, 6_000)).toBe(100);
    expect(remainingMs({}, 6_000)).toBe(Infinity);
  });

  it("a wall clock stepped back an hour does not lengthen lock waits or statement bounds past it", () => {
    const clock = steppableWallClock();
    // The call arrives with 5 s left (grpc-js's Date: Date.now() + grpc-timeout).
    const call = { deadlineAt: monotonicDeadline(Date.now() + 5_000) };
    clock.step(-HOUR_MS);
    // Until 2026-12-04 these were deadline - Date.now(): an hour and 5 s.
    expect(remainingMs(call)).toBeLessThanOrEqual(5_000);
    expect(lockWaitMs(call)).toBeLessThanOrEqual(5_000);
    const { bound, byDeadline } = listReadBound(0, call);
    expect(byDeadline).toBe(true);
    expect(bound.timeoutMs).toBeLessThanOrEqual(5_000);
    // With a setting longer than the deadline, the deadline still bounds the statement.
    expect(listReadBound(60_000, call).bound.timeoutMs).toBeLessThanOrEqual(5_000);
  });

  it("a wall clock stepped forward an hour leaves the time left as it was", () => {
    const clock = steppableWallClock();
    // A minute left: far more than this test can take, however busy the machine.
    const call = { deadlineAt: monotonicDeadline(Date.now() + 60_000) };
    clock.step(HOUR_MS);
    // Until 2026-12-04 the call counted as past its deadline: a lock wait of 1 ms, a
    // statement bound of 1 ms.
    expect(remainingMs(call)).toBeGreaterThan(0);
    expect(lockWaitMs(call)).toBeGreaterThan(1_000);
    expect(listReadBound(0, call).bound.timeoutMs).toBeGreaterThan(1_000);
  });

  it("a call without a deadline waits as long as the settings say, whatever the wall clock does", () => {
    const clock = steppableWallClock();
    clock.step(-HOUR_MS);
    expect(lockWaitMs({})).toBe(IN_PROGRESS_WAIT_MS);
    expect(listReadBound(3_000, {})).toEqual({
      bound: { timeoutMs: 3_000, signal: undefined },
      byDeadline: false,
    });
  });
});
