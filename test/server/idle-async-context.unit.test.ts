/**
 * server/idle-async-context.ts: an AsyncLocalStorage is on while one of its runs is in
 * progress, each run sees its own store across awaits, and once the last run has settled the
 * storage is off again (Node 20's `enabled` field: the promise hooks go when no storage is on).
 * The prototype is patched for this file's process only (vitest runs each file in its own).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { disableAsyncLocalStorageWhenIdle } from "../../src/server/idle-async-context";

/** Node 20's own flag: whether the storage takes part in the promise hooks. */
const enabled = (s: AsyncLocalStorage<unknown>) => (s as unknown as { enabled: boolean }).enabled;

describe("AsyncLocalStorage turned off when idle", () => {
  beforeAll(() => {
    disableAsyncLocalStorageWhenIdle();
    disableAsyncLocalStorageWhenIdle(); // twice: installed once
  });

  it("keeps each concurrent run's store across awaits, and is off once the last settles", async () => {
    const storage = new AsyncLocalStorage<string>();
    let releaseA!: () => void;
    const gateA = new Promise<void>((r) => {
      releaseA = r;
    });
    const seen: string[] = [];
    const a = storage.run("a", async () => {
      await gateA;
      seen.push(`a:${storage.getStore()}`);
      return "done a";
    });
    const b = storage.run("b", async () => {
      await nextTurn();
      seen.push(`b:${storage.getStore()}`);
    });
    await b;
    // b settled, a still runs: on, and a's continuation still sees "a".
    expect(enabled(storage)).toBe(true);
    releaseA();
    expect(await a).toBe("done a");
    await nextTurn(); // the settle handler runs after the caller's await resumed
    expect(seen).toEqual(["b:b", "a:a"]);
    expect(enabled(storage)).toBe(false);
    expect(storage.getStore()).toBeUndefined();
  });

  it("is on again for the next run, and off after a synchronous one", async () => {
    const storage = new AsyncLocalStorage<number>();
    expect(storage.run(1, () => storage.getStore())).toBe(1);
    expect(enabled(storage)).toBe(false);
    const inner = await storage.run(2, async () => {
      await nextTurn();
      // A nested run ends inside the outer one: the outer's store is back after it.
      const nested = storage.run(3, () => storage.getStore());
      return [nested, storage.getStore(), enabled(storage)];
    });
    expect(inner).toEqual([3, 2, true]);
    await nextTurn();
    expect(enabled(storage)).toBe(false);
  });

  it("passes a run's failure to its caller, synchronous or not, and is off afterwards", async () => {
    const storage = new AsyncLocalStorage<string>();
    expect(() =>
      storage.run("x", () => {
        throw new Error("sync failure");
      }),
    ).toThrow("sync failure");
    expect(enabled(storage)).toBe(false);
    await expect(
      storage.run("y", async () => {
        await nextTurn();
        throw new Error("async failure");
      }),
    ).rejects.toThrow("async failure");
    await nextTurn();
    expect(enabled(storage)).toBe(false);
  });

  it("never turns off a storage entered with enterWith", async () => {
    const storage = new AsyncLocalStorage<string>();
    storage.enterWith("entered");
    await storage.run("run", async () => {
      await nextTurn();
    });
    await nextTurn();
    expect(enabled(storage)).toBe(true);
    expect(storage.getStore()).toBe("entered");
  });
});
