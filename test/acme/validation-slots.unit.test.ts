import pino from "pino";
import { describe, expect, it } from "vitest";
import type { AcmeContext } from "../../src/acme/context";
import { runValidation } from "../../src/acme/validation/run";
import { ValidationSlots } from "../../src/acme/validation/slots";
import type {
  AccountRow,
  AuthorizationRow,
  ChallengeResult,
  ChallengeRow,
} from "../../src/issuance/repositories";

/**
 * The process-wide cap of ACME validations (src/acme/validation/slots.ts): places taken at
 * once, a bounded FIFO queue, a bounded wait. test/acme/validation-cap.test.ts counts the
 * connections a real server opens.
 */
describe("ValidationSlots", () => {
  it("gives at most `max` places, queues up to `maxQueued` in order, and refuses past that", async () => {
    const slots = new ValidationSlots(2, 2, 60_000);
    // One account each: none holds more than its share (slots.ts).
    const a = slots.reserve("a")!;
    const b = slots.reserve("b")!;
    const c = slots.reserve("c")!;
    const d = slots.reserve("d")!;
    expect(slots.reserve("e")).toBeUndefined();
    expect(slots.counts()).toEqual({ running: 2, queued: 2 });
    expect(await a.ready).toBe("run");
    expect(await b.ready).toBe("run");
    const granted: string[] = [];
    void c.ready.then((outcome) => granted.push(`c:${outcome}`));
    void d.ready.then((outcome) => granted.push(`d:${outcome}`));
    a.release();
    a.release(); // idempotent: frees one place only
    await c.ready;
    expect(granted).toEqual(["c:run"]);
    expect(slots.counts()).toEqual({ running: 2, queued: 1 });
    // Released synchronously right after its grant, before anything awaited it: no leak.
    b.release();
    d.release();
    expect(await d.ready).toBe("run");
    c.release();
    expect(slots.counts()).toEqual({ running: 0, queued: 0 });
    expect(slots.reserve("e")).toBeDefined();
  });

  it("shares places between accounts: one runs a quarter of them and queues a quarter of the queue, and a freed place goes to the first under its share", async () => {
    const slots = new ValidationSlots(4, 8, 60_000);
    expect([slots.runningShare, slots.queuedShare]).toEqual([1, 2]);
    const x1 = slots.reserve("x")!;
    const x2 = slots.reserve("x")!;
    const x3 = slots.reserve("x")!;
    // Its share of both taken: refused, though places are free for others.
    expect(slots.reserve("x")).toBeUndefined();
    expect(slots.counts()).toEqual({ running: 1, queued: 2 });
    const y1 = slots.reserve("y")!;
    expect(await y1.ready).toBe("run");
    const y2 = slots.reserve("y")!; // queued behind x's, with a place free: y runs its share
    expect(slots.counts()).toEqual({ running: 2, queued: 3 });
    // y's place ends: x runs its share already, so y's queued one takes it, not x's first.
    y1.release();
    expect(await y2.ready).toBe("run");
    expect(slots.counts()).toEqual({ running: 2, queued: 2 });
    x1.release();
    expect(await x2.ready).toBe("run");
    x2.release();
    expect(await x3.ready).toBe("run");
    x3.release();
    y2.release();
    expect(slots.counts()).toEqual({ running: 0, queued: 0 });
  });

  it("lets a queued place leave (released, or its wait ran out) without taking a place", async () => {
    const slots = new ValidationSlots(1, 2, 60_000);
    const a = slots.reserve("a")!;
    const b = slots.reserve("b")!;
    b.release();
    expect(await b.ready).toBe("late");
    expect(slots.counts()).toEqual({ running: 1, queued: 0 });
    const short = new ValidationSlots(1, 1, 1);
    short.reserve("a");
    const late = short.reserve("b")!;
    expect(await late.ready).toBe("late");
    expect(short.counts()).toEqual({ running: 1, queued: 0 });
    a.release();
    expect(slots.counts()).toEqual({ running: 0, queued: 0 });
  });

  it("on close, lets the queued go without a place and records nothing for them (a later poll runs them again)", async () => {
    const slots = new ValidationSlots(1, 2, 60_000);
    const running = slots.reserve("a")!;
    const queued = slots.reserve("acc1")!;
    const recorded: ChallengeResult[] = [];
    const ctx = {
      store: {
        acme: {
          finishChallenge: async (_c: ChallengeRow, r: ChallengeResult) => void recorded.push(r),
        },
      },
      deps: { now: () => new Date() },
      logger: pino({ level: "silent" }),
      validationSlots: slots,
    } as unknown as AcmeContext;
    const run = runValidation(
      ctx,
      { id: "c1", type: "http-01", token: "t" } as ChallengeRow,
      { identifier_type: "dns", identifier_value: "a.acme.localhost" } as AuthorizationRow,
      { id: "acc1", key_thumbprint: "k" } as AccountRow,
      queued,
      [1],
    );
    slots.close();
    await run;
    expect(recorded).toEqual([]);
    expect(slots.counts()).toEqual({ running: 1, queued: 0 });
    running.release();
    expect(slots.counts()).toEqual({ running: 0, queued: 0 });
  });

  it("records a validation whose place did not come in time as invalid (serverInternal), without connecting", async () => {
    const slots = new ValidationSlots(1, 1, 1);
    const held = slots.reserve("a")!;
    const recorded: ChallengeResult[] = [];
    const ctx = {
      store: {
        acme: {
          finishChallenge: async (_c: ChallengeRow, r: ChallengeResult) => void recorded.push(r),
        },
      },
      deps: { now: () => new Date() },
      // No target: connecting would throw.
      targets: undefined,
      logger: pino({ level: "silent" }),
      validationSlots: slots,
      validations: new Set(),
    } as unknown as AcmeContext;
    const challenge = { id: "c1", type: "http-01", token: "t" } as ChallengeRow;
    const authorization = {
      identifier_type: "dns",
      identifier_value: "svc.acme.localhost",
      wildcard: false,
    } as AuthorizationRow;
    const account = { id: "acc1", key_thumbprint: "k" } as AccountRow;
    await runValidation(ctx, challenge, authorization, account, slots.reserve("acc1")!, [1]);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      valid: false,
      error: {
        type: "urn:ietf:params:acme:error:serverInternal",
        identifier: { type: "dns", value: "svc.acme.localhost" },
      },
    });
    expect(slots.counts()).toEqual({ running: 1, queued: 0 });
    held.release();
    expect(slots.counts()).toEqual({ running: 0, queued: 0 });
  });
});
