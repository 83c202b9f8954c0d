/**
 * ListQueryGate (src/issuance/common/list-gate.ts) on its own: how many of one caller's list
 * queries run at once, who goes next, and what a full queue, a caller that stops waiting, a
 * failed read and a wait outside the calls at work do to the counts.
 */
import { describe, expect, it } from "vitest";
import { isCertmintError } from "../../src/errors";
import type { Actor } from "../../src/issuance/call";
import { ListQueryGate } from "../../src/issuance/common/list-gate";

const actor = (slug: string): Actor => ({
  id: `id-${slug}`,
  slug,
  role: "READER" as Actor["role"],
  profileIds: [],
});

/** A read that runs until the test ends it; `started` tells whether the gate let it start. */
function heldRead(label: string, log: string[]) {
  let end: (rows: string) => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  let started = false;
  const read = () =>
    new Promise<string>((resolve, reject) => {
      started = true;
      log.push(label);
      end = resolve;
      fail = reject;
    });
  return {
    read,
    get started() {
      return started;
    },
    end: () => end(label),
    fail: (err: Error) => fail(err),
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe("list queries per access token (CERTMINT_LIST_QUERIES_PER_TOKEN)", () => {
  it("runs at most perCaller of one caller's reads; the next starts when one ends, in order; other callers are not held", async () => {
    const gate = new ListQueryGate(2, 100);
    const log: string[] = [];
    const noisy = actor("noisy");
    const reads = [0, 1, 2, 3].map((i) => heldRead(`noisy-${i}`, log));
    const results = reads.map((r) => gate.run({ actor: noisy }, r.read));
    await settle();
    expect(log).toEqual(["noisy-0", "noisy-1"]);
    expect({ running: gate.running, waiting: gate.waiting }).toEqual({ running: 2, waiting: 2 });

    // Another caller's list is not behind the first caller's.
    const quiet = heldRead("quiet", log);
    const quietResult = gate.run({ actor: actor("quiet") }, quiet.read);
    await settle();
    expect(quiet.started).toBe(true);
    quiet.end();
    expect(await quietResult).toBe("quiet");

    reads[1]!.end();
    expect(await results[1]).toBe("noisy-1");
    await settle();
    expect(log).toEqual(["noisy-0", "noisy-1", "quiet", "noisy-2"]);
    expect({ running: gate.running, waiting: gate.waiting }).toEqual({ running: 2, waiting: 1 });

    // A read that fails frees its place as one that succeeds does.
    reads[0]!.fail(new Error("boom"));
    await expect(results[0]).rejects.toThrow("boom");
    await settle();
    expect(reads[3]!.started).toBe(true);
    reads[2]!.end();
    reads[3]!.end();
    expect(await Promise.all(results.slice(2))).toEqual(["noisy-2", "noisy-3"]);
    expect({ running: gate.running, waiting: gate.waiting }).toEqual({ running: 0, waiting: 0 });
  });

  it("past queuedPerCaller waiting lists: RESOURCE_EXHAUSTED LIST_QUERIES_QUEUED with a retry delay; the refused read never runs", async () => {
    const gate = new ListQueryGate(1, 2);
    const log: string[] = [];
    const a = actor("lister");
    const reads = [0, 1, 2].map((i) => heldRead(`r${i}`, log));
    const results = reads.map((r) => gate.run({ actor: a }, r.read));
    const refused = heldRead("refused", log);
    const err = await gate.run({ actor: a }, refused.read).catch((e: unknown) => e);
    expect(isCertmintError(err)).toBe(true);
    expect(err).toMatchObject({
      kind: "resource_exhausted",
      reason: "LIST_QUERIES_QUEUED",
      retryAfterSeconds: 1,
      metadata: { setting: "CERTMINT_LIST_QUERIES_PER_TOKEN", running: "1", queued: "2" },
    });
    expect((err as Error).message).toContain('access token "lister"');
    expect(refused.started).toBe(false);
    for (const [i, r] of reads.entries()) {
      await settle();
      r.end();
      expect(await results[i]).toBe(`r${i}`);
    }
    expect(log).toEqual(["r0", "r1", "r2"]);
    expect(gate.running).toBe(0);
  });

  it("a waiting list whose caller stops waiting leaves its queue (CALL_CANCELLED) and never reads", async () => {
    const gate = new ListQueryGate(1, 10);
    const log: string[] = [];
    const a = actor("lister");
    const first = heldRead("first", log);
    const firstResult = gate.run({ actor: a }, first.read);
    const gone = new AbortController();
    const abandoned = heldRead("abandoned", log);
    const abandonedResult = gate.run({ actor: a, signal: gone.signal }, abandoned.read);
    const next = heldRead("next", log);
    const nextResult = gate.run({ actor: a }, next.read);
    await settle();
    expect(gate.waiting).toBe(2);
    gone.abort();
    await expect(abandonedResult).rejects.toMatchObject({
      kind: "deadline_exceeded",
      reason: "CALL_CANCELLED",
    });
    expect(gate.waiting).toBe(1);
    first.end();
    await firstResult;
    await settle();
    next.end();
    expect(await nextResult).toBe("next");
    expect(abandoned.started).toBe(false);
    expect(log).toEqual(["first", "next"]);
    // An already cancelled call does not wait at all.
    const hold = heldRead("hold", log);
    const holding = gate.run({ actor: a }, hold.read);
    await expect(
      gate.run({ actor: a, signal: AbortSignal.abort() }, heldRead("late", log).read),
    ).rejects.toMatchObject({ reason: "CALL_CANCELLED" });
    expect(gate.waiting).toBe(0);
    hold.end();
    await holding;
    expect({ running: gate.running, waiting: gate.waiting }).toEqual({ running: 0, waiting: 0 });
  });

  it("waits outside the calls at work (whileOutside), and only when it has to wait", async () => {
    const gate = new ListQueryGate(1, 10);
    const log: string[] = [];
    const outside: string[] = [];
    const call = (label: string) => ({
      actor: actor("lister"),
      whileOutside: <T>(wait: Promise<T>) => {
        outside.push(label);
        return wait;
      },
    });
    const first = heldRead("first", log);
    const firstResult = gate.run(call("first"), first.read);
    const second = heldRead("second", log);
    const secondResult = gate.run(call("second"), second.read);
    await settle();
    expect(outside).toEqual(["second"]);
    first.end();
    await firstResult;
    await settle();
    second.end();
    expect(await secondResult).toBe("second");
  });
});

describe("list queries of every token, per process (CERTMINT_LIST_QUERIES)", () => {
  it("runs at most maxRunning reads of all callers; the next caller's starts when one ends, first come first served", async () => {
    const gate = new ListQueryGate(2, 100, 2);
    const log: string[] = [];
    const reads = ["a", "b", "c", "d"].map((slug) => ({ slug, held: heldRead(slug, log) }));
    const results = reads.map(({ slug, held }) => gate.run({ actor: actor(slug) }, held.read));
    await settle();
    expect(log).toEqual(["a", "b"]);
    // c and d hold a place of their token and wait for the process's.
    expect({ running: gate.running, waiting: gate.waiting }).toEqual({ running: 2, waiting: 2 });
    reads[1]!.held.end();
    expect(await results[1]).toBe("b");
    await settle();
    expect(log).toEqual(["a", "b", "c"]);
    expect({ running: gate.running, waiting: gate.waiting }).toEqual({ running: 2, waiting: 1 });
    for (const i of [0, 2]) reads[i]!.held.end();
    await settle();
    reads[3]!.held.end();
    expect(await Promise.all(results)).toEqual(["a", "b", "c", "d"]);
    expect({ running: gate.running, waiting: gate.waiting }).toEqual({ running: 0, waiting: 0 });
  });

  it("a list that stops waiting for the process's place gives its token's place back and never reads", async () => {
    const gate = new ListQueryGate(1, 100, 1);
    const log: string[] = [];
    const first = heldRead("first", log);
    const firstResult = gate.run({ actor: actor("one") }, first.read);
    const controller = new AbortController();
    const cancelled = heldRead("cancelled", log);
    const cancelledResult = gate
      .run({ actor: actor("two"), signal: controller.signal }, cancelled.read)
      .catch((err: unknown) => err);
    await settle();
    expect(gate.waiting).toBe(1);
    controller.abort();
    const err = await cancelledResult;
    expect(isCertmintError(err) && err.reason).toBe("CALL_CANCELLED");
    expect(cancelled.started).toBe(false);
    // Token "two" holds no place now: its next list starts as soon as the process has one.
    const next = heldRead("next", log);
    const nextResult = gate.run({ actor: actor("two") }, next.read);
    first.end();
    await settle();
    expect(next.started).toBe(true);
    next.end();
    expect([await firstResult, await nextResult]).toEqual(["first", "next"]);
    expect({ running: gate.running, waiting: gate.waiting }).toEqual({ running: 0, waiting: 0 });
  });
});
