/**
 * FairAdmission (src/api/fair-admission.ts) on its own: who is admitted when, in what order,
 * and what a full queue, a caller that stops waiting and a wait outside do to the counts.
 */
import { describe, expect, it } from "vitest";
import { FairAdmission } from "../../src/api/fair-admission";
import { isCertmintError } from "../../src/errors";

const token = (slug: string) => ({ id: `id-${slug}`, slug });
const never = () => new AbortController().signal;

/** Enters a call and records when it is admitted (`order`), or how it was refused. */
function enter(
  gate: FairAdmission,
  slug: string,
  order: string[],
  label = slug,
  signal: AbortSignal = never(),
) {
  const turn = gate.enter(token(slug), () => signal);
  if (!turn) {
    order.push(label);
    return Promise.resolve();
  }
  return turn.then(() => {
    order.push(label);
  });
}

const settle = () => new Promise((r) => setImmediate(r));

describe("fair admission by access token", () => {
  it("admits at once below the limit, then gives freed places to the tokens in turn", async () => {
    const gate = new FairAdmission({ inProgress: 2, queuedPerToken: 100 });
    const order: string[] = [];
    void enter(gate, "noisy", order, "noisy-0");
    void enter(gate, "noisy", order, "noisy-1");
    expect(order).toEqual(["noisy-0", "noisy-1"]);
    expect(gate.inProgress).toBe(2);
    for (let i = 2; i < 7; i++) void enter(gate, "noisy", order, `noisy-${i}`);
    void enter(gate, "quiet", order, "quiet-0");
    void enter(gate, "other", order, "other-0");
    void enter(gate, "quiet", order, "quiet-1");
    expect(gate.queued).toBe(8);
    // Nothing is admitted ahead of the calls at work.
    await settle();
    expect(order).toHaveLength(2);
    for (let i = 0; i < 8; i++) {
      gate.leave();
      await settle();
    }
    expect(order.slice(2)).toEqual([
      "noisy-2",
      "quiet-0",
      "other-0",
      "noisy-3",
      "quiet-1",
      "noisy-4",
      "noisy-5",
      "noisy-6",
    ]);
    expect(gate.queued).toBe(0);
    expect(gate.inProgress).toBe(2);
  });

  it("a new call waits behind the queue even when a place is free for a moment", async () => {
    const gate = new FairAdmission({ inProgress: 1, queuedPerToken: 100 });
    const order: string[] = [];
    void enter(gate, "a", order, "a-0");
    void enter(gate, "b", order, "b-0");
    gate.leave(); // b-0 takes the place
    void enter(gate, "a", order, "a-1");
    await settle();
    expect(order).toEqual(["a-0", "b-0"]);
    expect(gate.queued).toBe(1);
  });

  it("refuses a token's call past its queue (RESOURCE_EXHAUSTED, CALLS_QUEUED), not another token's", () => {
    let refusals = 0;
    const gate = new FairAdmission({ inProgress: 1, queuedPerToken: 2 }, () => refusals++);
    const order: string[] = [];
    void enter(gate, "noisy", order);
    void enter(gate, "noisy", order);
    void enter(gate, "noisy", order);
    let refused: unknown;
    try {
      gate.enter(token("noisy"), never);
    } catch (err) {
      refused = err;
    }
    expect(isCertmintError(refused)).toBe(true);
    if (!isCertmintError(refused)) return;
    expect(refused.kind).toBe("resource_exhausted");
    expect(refused.reason).toBe("CALLS_QUEUED");
    expect(refused.retryAfterSeconds).toBe(1);
    expect(refused.message).toContain("CERTMINT_CALLS_QUEUED_PER_TOKEN");
    expect(refused.metadata).toMatchObject({ access_token: "noisy", queued: "2" });
    expect(refusals).toBe(1);
    expect(gate.enter(token("quiet"), never)).toBeInstanceOf(Promise);
    expect(gate.queued).toBe(3);
  });

  it("a waiting call whose caller stops waiting leaves its queue and is refused", async () => {
    const gate = new FairAdmission({ inProgress: 1, queuedPerToken: 100 });
    const order: string[] = [];
    void enter(gate, "a", order, "a-0");
    const abandon = new AbortController();
    const gone = enter(gate, "b", order, "b-0", abandon.signal);
    void enter(gate, "c", order, "c-0");
    expect(gate.queued).toBe(2);
    abandon.abort();
    const err = await gone.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCertmintError(err) && err.reason).toBe("CALL_CANCELLED");
    expect(gate.queued).toBe(1);
    gate.leave();
    await settle();
    expect(order).toEqual(["a-0", "c-0"]);
    // Already abandoned when it arrives: refused at once, never queued.
    const late = new AbortController();
    late.abort();
    expect(() => gate.enter(token("d"), () => late.signal)).toThrow(/stopped waiting/);
    expect(gate.queued).toBe(0);
  });

  it("a wait outside frees the call's place, and the call comes back ahead of new calls", async () => {
    const gate = new FairAdmission({ inProgress: 1, queuedPerToken: 100 });
    const order: string[] = [];
    void enter(gate, "rsa", order, "rsa-0");
    void enter(gate, "csr", order, "csr-0");
    let keyReady!: (v: string) => void;
    const key = new Promise<string>((resolve) => {
      keyReady = resolve;
    });
    const outside = gate.whileOutside(key);
    await settle();
    // The CSR call took the place while the key is made.
    expect(order).toEqual(["rsa-0", "csr-0"]);
    expect(gate.inProgress).toBe(1);
    void enter(gate, "csr", order, "csr-1");
    keyReady("key");
    await settle();
    expect(gate.queued).toBe(2); // the call back from outside, and csr-1
    let back = false;
    void outside.then(() => {
      back = true;
    });
    gate.leave(); // csr-0 done: the call from outside goes first
    await settle();
    expect(back).toBe(true);
    expect(await outside).toBe("key");
    expect(order).toEqual(["rsa-0", "csr-0"]);
    gate.leave(); // rsa-0 done
    await settle();
    expect(order).toEqual(["rsa-0", "csr-0", "csr-1"]);
    expect(gate.inProgress).toBe(1);
  });
});
