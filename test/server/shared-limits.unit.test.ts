/**
 * The limits kept for the whole server with CERTMINT_PROCESSES above 1, without processes: two
 * workers' clients (src/server/shared-limits-client.ts) on one supervisor's authority
 * (shared-limits-authority.ts), over an in-memory channel, on clocks the test moves.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RateLimit } from "../../src/auth/rate-limiter";
import { SharedLimitsAuthority } from "../../src/server/shared-limits-authority";
import {
  ALONE_MS,
  ANSWER_TIMEOUT_MS,
  LEASE_IDLE_MS,
  type LimitChannel,
  SharedLimitsClient,
} from "../../src/server/shared-limits-client";
import {
  LIMIT_REQUEST,
  type LimitAnswer,
  type RateAnswer,
} from "../../src/server/shared-limits-protocol";
import { waitFor } from "../support/wait";

/** A channel to `authority` as worker `workerId`; answers arrive on a later turn, as over IPC. */
function channel(
  authority: SharedLimitsAuthority,
  workerId: number,
  state = { connected: true, asked: 0 },
): LimitChannel {
  let deliver: (answer: LimitAnswer) => void = () => undefined;
  return {
    send: (request) => {
      if ("id" in request) state.asked++;
      const answer = authority.handle(workerId, request);
      if (answer) setImmediate(() => deliver(answer));
    },
    onAnswer: (listener) => {
      deliver = listener;
    },
    onDisconnect: () => undefined,
    connected: () => state.connected,
  };
}

const wait = (answer: LimitAnswer | undefined) => (answer as RateAnswer).waitSeconds;

/** Takes until the first refusal: how many were accepted. */
async function takeAll(limit: RateLimit, key: string, most = 1000): Promise<number> {
  for (let n = 0; n < most; n++) if ((await limit.take(key)) > 0) return n;
  return most;
}

describe("shared limits: leases from the supervisor's buckets", () => {
  const clock = { now: 0 };
  const tick = () => clock.now;
  const opened: SharedLimitsClient[] = [];
  afterEach(() => {
    for (const client of opened.splice(0)) client.close();
  });

  const setup = () => {
    clock.now = 0;
    const authority = new SharedLimitsAuthority(tick);
    const states = [
      { connected: true, asked: 0 },
      { connected: true, asked: 0 },
    ];
    const [a, b] = states.map(
      (state, i) => new SharedLimitsClient(2, undefined, channel(authority, i + 1, state), tick),
    ) as [SharedLimitsClient, SharedLimitsClient];
    opened.push(a, b);
    return { authority, a, b, states };
  };

  it("grants one budget to both workers together, and remembers a refusal without asking again", async () => {
    const { a, b, states } = setup();
    // Burst 16: leases of 16 / (4 x 2) = 2 calls.
    const [onA, onB] = [a.rate("calls", 1, 16), b.rate("calls", 1, 16)];
    let accepted = 0;
    // Alternating between the workers, as a caller on two connections does.
    for (let i = 0; i < 40; i++) {
      if ((await (i % 2 ? onA : onB).take("token")) === 0) accepted++;
    }
    expect(accepted).toBe(16);
    // A call's lease answers without the supervisor: two calls per question.
    expect(states[0]!.asked + states[1]!.asked).toBeLessThanOrEqual(16 / 2 + 2 * 2);
    const asked = states[0]!.asked;
    const refused = onA.take("token");
    expect(typeof refused).toBe("number");
    expect(refused).toBeGreaterThan(0);
    expect(states[0]!.asked).toBe(asked);
    // Another identity has its own budget.
    expect(await takeAll(onB, "other")).toBe(16);
    // A second later one call refilled, for whichever worker asks first.
    clock.now += 1000;
    expect(await onB.take("token")).toBe(0);
    expect(await onA.take("token")).toBeGreaterThan(0);
  });

  it("gives an idle lease back, so the other worker can use it", async () => {
    const { authority, a, b } = setup();
    const [onA, onB] = [a.rate("calls", 1, 16), b.rate("calls", 1, 16)];
    expect(await onA.take("token")).toBe(0); // leased 2, holds 1
    expect(await takeAll(onB, "token")).toBe(14);
    // The rest of A's lease goes back to the supervisor once idle...
    clock.now += LEASE_IDLE_MS;
    const peek = () =>
      authority.handle(9, { type: LIMIT_REQUEST, op: "peek", id: 0, name: "calls", key: "token" });
    await waitFor("A's idle lease to go back", () => wait(peek()) === 0);
    // ...where B finds it once its remembered refusal ends (a second, when one call refilled):
    // the refilled call and the returned one.
    clock.now = 1000;
    expect(await takeAll(onB, "token")).toBe(2);
  });

  it("asks for every decision of an exact limit, and counts an address with its /48", async () => {
    const { a, b, states } = setup();
    const [onA, onB] = [
      a.addressRate("failures", 1, 3, { exact: true }),
      b.addressRate("failures", 1, 3, { exact: true }),
    ];
    expect(await onA.take("10.0.0.1:1")).toBe(0);
    expect(await onB.take("10.0.0.1:2")).toBe(0);
    expect(await onA.peek("10.0.0.1:3")).toBe(0);
    expect(await onA.take("10.0.0.1:4")).toBe(0);
    expect(await onB.peek("10.0.0.1:5")).toBeGreaterThan(0);
    expect(await onB.take("10.0.0.1:5")).toBeGreaterThan(0);
    expect(states[0]!.asked + states[1]!.asked).toBe(6);
    // 16 /64s' worth per /48, over both workers: 48 failures, then none from a 17th /64.
    let accepted = 0;
    for (let subnet = 0; subnet < 17; subnet++) {
      const limit = subnet % 2 ? onA : onB;
      for (let i = 0; i < 3; i++) {
        if ((await limit.take(`[2001:db8:1:${subnet.toString(16)}::1]:1`)) === 0) accepted++;
      }
    }
    expect(accepted).toBe(48);
  });

  it("holds places for the whole server, and frees a worker's when it exits", async () => {
    const { authority, a, b } = setup();
    const [onA, onB] = [a.places("watches"), b.places("watches")];
    expect(await onA.take("token", 3)).toBeUndefined();
    expect(await onA.take("token", 3)).toBeUndefined();
    expect(await onB.take("token", 3)).toBeUndefined();
    expect(await onB.take("token", 3)).toBe(3);
    onB.release("token");
    expect(await onA.take("token", 3)).toBeUndefined();
    expect(await onB.take("token", 3)).toBe(3);
    authority.workerExited(1);
    expect(await onB.take("token", 3)).toBeUndefined();
    expect(await onB.take("token", 3)).toBeUndefined();
    expect(await onB.take("token", 3)).toBeUndefined();
    expect(await onB.take("token", 3)).toBe(3);
  });

  it("limits alone to 1/N of each limit when the supervisor is gone", async () => {
    const { a, states } = setup();
    states[0]!.connected = false;
    const calls = a.rate("calls", 1, 20);
    const failures = a.addressRate("failures", 1, 20, { exact: true });
    const watches = a.places("watches");
    expect(await takeAll(calls, "token")).toBe(10);
    expect(await takeAll(failures, "10.0.0.1:1")).toBe(10);
    expect(await watches.take("token", 4)).toBeUndefined();
    expect(await watches.take("token", 4)).toBeUndefined();
    expect(await watches.take("token", 4)).toBe(2);
    expect(states[0]!.asked).toBe(0);
    // Nothing limits a rate of 0, alone or not.
    expect(await a.rate("off", 0, 1).take("token")).toBe(0);
  });

  it("limits alone for a while when the supervisor does not answer in time, then asks again", async () => {
    clock.now = 0;
    const asked: string[] = [];
    const silent: LimitChannel = {
      send: (request) => {
        asked.push(request.op);
      },
      onAnswer: () => undefined,
      onDisconnect: () => undefined,
      connected: () => true,
    };
    const client = new SharedLimitsClient(2, undefined, silent, tick);
    opened.push(client);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const calls = client.rate("calls", 1, 4);
      const first = calls.take("token");
      expect(first).toBeInstanceOf(Promise);
      vi.advanceTimersByTime(ANSWER_TIMEOUT_MS);
      // Decided alone: half the burst (of 2 workers), without asking.
      expect(await first).toBe(0);
      expect(calls.take("token")).toBe(0);
      expect(calls.take("token")).toBeGreaterThan(0);
      expect(asked).toEqual(["define", "take"]);
      clock.now += ALONE_MS;
      expect(calls.take("token")).toBeInstanceOf(Promise);
      expect(asked).toEqual(["define", "take", "take"]);
      vi.advanceTimersByTime(ANSWER_TIMEOUT_MS);
    } finally {
      vi.useRealTimers();
    }
  });
});
