/**
 * KeyGenerator (src/signer/key-generator.ts): RSA keys shared fairly between callers, a bounded
 * queue per caller, keys whose caller stopped waiting dropped unmade, and the real worker
 * threads. The scheduling tests drive a gated generator: each generation runs until the test
 * releases it, so every step waits for a state, never for time.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import { KeyGenerator } from "../../src/signer";
import { gatedRsa as gated } from "../support/gated-keygen";
import { until } from "../support/wait";

/** A promise's outcome as a value, to observe it without awaiting it. */
function track<T>(p: Promise<T>) {
  const t = { done: false, value: undefined as T | undefined, error: undefined as unknown };
  p.then(
    (v) => {
      t.done = true;
      t.value = v;
    },
    (e) => {
      t.done = true;
      t.error = e;
    },
  );
  return t;
}

const open: KeyGenerator[] = [];
function generator(options: ConstructorParameters<typeof KeyGenerator>[0]): KeyGenerator {
  const g = new KeyGenerator(options);
  open.push(g);
  return g;
}
afterEach(async () => {
  for (const g of open.splice(0)) await g.close();
});

describe("KeyGenerator scheduling", () => {
  it("a burst from one caller delays another caller's key by the generation already running, not by the burst", async () => {
    const { generateRsa, started } = gated();
    const keys = generator({ workers: 1, queuePerCaller: 8, generateRsa });
    const order: string[] = [];
    const a = [1, 2, 3, 4, 5].map((i) =>
      keys.generate("RSA_4096", { caller: "A" }).then(() => order.push(`A${i}`)),
    );
    const b = keys.generate("RSA_2048", { caller: "B" }).then(() => order.push("B"));
    expect(keys.stats()).toMatchObject({ running: 1, waiting: 5 });
    // Release each generation as it starts, in start order, until everyone is done.
    for (let i = 0; i < 6; i++) {
      await until(`generation ${i + 1} to start`, () => started.length > i);
      started[i]!.release();
    }
    await Promise.all([...a, b]);
    expect(started.map((s) => s.bits)).toEqual([4096, 2048, 4096, 4096, 4096, 4096]);
    expect(order).toEqual(["A1", "B", "A2", "A3", "A4", "A5"]);
    expect(keys.stats()).toMatchObject({ running: 0, waiting: 0, generated: 6 });
  });

  it("callers waiting together take turns (least recently served first)", async () => {
    const { generateRsa, started } = gated();
    const keys = generator({ workers: 1, queuePerCaller: 8, generateRsa });
    const served: string[] = [];
    const all = [
      ...["A", "A", "A"].map((c) => keys.generate("RSA_2048", { caller: c })),
      ...["B", "B", "B"].map((c) => keys.generate("RSA_3072", { caller: c })),
      keys.generate("RSA_4096", { caller: "C" }),
    ];
    for (let i = 0; i < 7; i++) {
      await until(`generation ${i + 1} to start`, () => started.length > i);
      served.push(String(started[i]!.bits));
      started[i]!.release();
    }
    await Promise.all(all);
    // A (first in), then B and C (never served), then round robin between A and B.
    expect(served).toEqual(["2048", "3072", "4096", "2048", "3072", "2048", "3072"]);
  });

  it("a caller over its bound is refused RESOURCE_EXHAUSTED with a retry delay; other callers and unbounded requests are not", async () => {
    const { generateRsa } = gated();
    const keys = generator({ workers: 1, queuePerCaller: 3, generateRsa });
    // One running, three waiting: the queue of A is full.
    for (let i = 0; i < 4; i++) track(keys.generate("RSA_4096", { caller: "A" }));
    const refused = track(keys.generate("RSA_4096", { caller: "A" }));
    await until("the refusal", () => refused.done);
    expect(refused.error).toBeInstanceOf(CertmintError);
    expect(refused.error).toMatchObject({
      kind: "resource_exhausted",
      reason: "KEY_GENERATION_QUEUE_FULL",
    });
    const retry = (refused.error as CertmintError).retryAfterSeconds!;
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    const other = track(keys.generate("RSA_2048", { caller: "B" }));
    const approval = track(keys.generate("RSA_2048", { caller: "A", bounded: false }));
    await new Promise((r) => setImmediate(r));
    expect(other.done).toBe(false);
    expect(approval.done).toBe(false);
    expect(keys.stats()).toMatchObject({ running: 1, waiting: 5, refused: 1 });
  });

  it("a key whose caller stops waiting is dropped before it is generated", async () => {
    const { generateRsa, started } = gated();
    const keys = generator({ workers: 1, queuePerCaller: 8, generateRsa });
    const first = keys.generate("RSA_4096", { caller: "A" });
    const abort = new AbortController();
    const gone = track(keys.generate("RSA_2048", { caller: "B", signal: abort.signal }));
    const after = keys.generate("RSA_3072", { caller: "C" });
    expect(keys.stats()).toMatchObject({ running: 1, waiting: 2 });
    abort.abort();
    await until("the abandoned key to be answered", () => gone.done);
    expect(gone.error).toMatchObject({ kind: "deadline_exceeded" });
    expect(keys.stats()).toMatchObject({ running: 1, waiting: 1, dropped: 1 });
    started[0]!.release();
    await first;
    await until("C's generation to start", () => started.length === 2);
    started[1]!.release();
    await after;
    // B's key was never started: only A's and C's were generated.
    expect(started.map((s) => s.bits)).toEqual([4096, 3072]);
    expect(keys.stats()).toMatchObject({ generated: 2, dropped: 1 });
  });

  it("an already abandoned request is never queued", async () => {
    const { generateRsa, started } = gated();
    const keys = generator({ workers: 1, queuePerCaller: 8, generateRsa });
    await expect(
      keys.generate("RSA_2048", { caller: "A", signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ kind: "deadline_exceeded" });
    expect(started).toHaveLength(0);
    expect(keys.stats()).toMatchObject({ waiting: 0, dropped: 1 });
  });

  it("a caller that stops waiting during its generation is answered at once; the thread stays busy until the key is done", async () => {
    const { generateRsa, started } = gated();
    const keys = generator({ workers: 1, queuePerCaller: 8, generateRsa });
    const abort = new AbortController();
    const running = track(keys.generate("RSA_4096", { caller: "A", signal: abort.signal }));
    const next = track(keys.generate("RSA_2048", { caller: "B" }));
    abort.abort();
    await until("the abandoned caller to be answered", () => running.done);
    expect(running.error).toMatchObject({ kind: "deadline_exceeded" });
    // One thread, still busy: B waits until the abandoned generation ends.
    expect(started).toHaveLength(1);
    expect(keys.stats()).toMatchObject({ running: 1, waiting: 1 });
    started[0]!.release();
    await until("B's generation to start", () => started.length === 2);
    started[1]!.release();
    await until("B's key", () => next.done);
    expect(next.value).toBeDefined();
  });

  it("close() refuses the keys still waiting with UNAVAILABLE", async () => {
    const { generateRsa } = gated();
    const keys = new KeyGenerator({ workers: 1, queuePerCaller: 8, generateRsa });
    track(keys.generate("RSA_4096", { caller: "A" }));
    const waiting = keys.generate("RSA_4096", { caller: "A" });
    await keys.close();
    await expect(waiting).rejects.toMatchObject({ kind: "unavailable" });
    await expect(keys.generate("RSA_2048", { caller: "B" })).rejects.toMatchObject({
      kind: "unavailable",
    });
  });
});

describe("KeyGenerator on its worker threads", () => {
  // The threads run at the lowest priority on purpose (they yield the cores to signing and
  // gRPC work), so on a machine kept busy by other processes a key can take many seconds: the
  // limit is generous, nothing here is timed.
  it("generates RSA keys with e = 65537 on a worker thread, and EC keys directly", {
    timeout: 240_000,
  }, async () => {
    const keys = generator({ workers: 2, queuePerCaller: 8 });
    const { publicKey, privateKey } = await keys.generate("RSA_2048", { caller: "A" });
    expect(publicKey.asymmetricKeyType).toBe("rsa");
    expect(publicKey.asymmetricKeyDetails).toMatchObject({
      modulusLength: 2048,
      publicExponent: 65537n,
    });
    expect(privateKey.type).toBe("private");
    expect(keys.stats()).toMatchObject({ workers: 2, generated: 1, running: 0 });
    const ec = await keys.generate("EC_P256", { caller: "A" });
    expect(ec.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: "prime256v1" });
  });
});
