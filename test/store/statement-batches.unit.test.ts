/**
 * StatementBatches (src/store/statement-batches.ts): at most `maxInFlight` statements at once,
 * what queued meanwhile goes as one, a lone call runs alone, and a batch that fails is run
 * again one by one so that only the item at fault fails.
 */
import { describe, expect, it } from "vitest";
import { StatementBatches } from "../../src/store/statement-batches";

/** A statement runner whose statements end when the test says so. */
function runner(failMany?: (items: number[]) => boolean, lost?: Error) {
  const calls: Array<{ items: number[]; end: () => void }> = [];
  const hold = (items: number[]) =>
    new Promise<void>((resolve) => calls.push({ items, end: resolve }));
  const batches = new StatementBatches<number, string>(
    async (item) => {
      await hold([item]);
      if (item < 0) throw new Error(`item ${item} is at fault`);
      return `one:${item}`;
    },
    async (items) => {
      await hold(items);
      if (lost) throw lost;
      if (failMany?.(items)) throw new Error("the batch failed");
      return items.map((i) => `many:${i}`);
    },
    { maxInFlight: 2, maxBatch: 3, refused: (err) => err !== lost },
  );
  return { batches, calls };
}
const settle = () => new Promise((r) => setImmediate(r));

describe("statement batches", () => {
  it("runs a lone call alone, at once", async () => {
    const { batches, calls } = runner();
    const result = batches.run(1);
    await settle();
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    calls[0]!.end();
    expect(await result).toBe("one:1");
  });

  it("queues behind the statements in flight and sends what queued together, up to maxBatch", async () => {
    const { batches, calls } = runner();
    const results = [1, 2, 3, 4, 5, 6].map((i) => batches.run(i));
    await settle();
    // Two in flight, each alone; the other four wait.
    expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
    calls[0]!.end();
    await settle();
    expect(calls.map((c) => c.items)).toEqual([[1], [2], [3, 4, 5]]);
    calls[1]!.end();
    await settle();
    expect(calls.map((c) => c.items)).toEqual([[1], [2], [3, 4, 5], [6]]);
    for (const c of calls.slice(2)) c.end();
    expect(await Promise.all(results)).toEqual([
      "one:1",
      "one:2",
      "many:3",
      "many:4",
      "many:5",
      "one:6",
    ]);
  });

  it("a failed batch is run one by one: the item at fault fails, the others succeed", async () => {
    const { batches, calls } = runner((items) => items.includes(-4));
    const results = [1, 2, 3, -4, 5].map((i) => batches.run(i).catch((e: Error) => e.message));
    await settle();
    calls[0]!.end();
    calls[1]!.end();
    await settle();
    expect(calls[2]!.items).toEqual([3, -4, 5]);
    calls[2]!.end();
    await settle();
    expect(calls.slice(3).map((c) => c.items)).toEqual([[3], [-4], [5]]);
    for (const c of calls.slice(3)) c.end();
    expect(await Promise.all(results)).toEqual([
      "one:1",
      "one:2",
      "one:3",
      "item -4 is at fault",
      "one:5",
    ]);
  });

  it("a batch whose outcome is unknown (connection lost) is not run again: each of its calls gets the error", async () => {
    const lost = new Error("Connection terminated unexpectedly");
    const { batches, calls } = runner(undefined, lost);
    const results = [1, 2, 3, 4].map((i) => batches.run(i).catch((e: Error) => e.message));
    await settle();
    calls[0]!.end();
    calls[1]!.end();
    await settle();
    expect(calls[2]!.items).toEqual([3, 4]);
    calls[2]!.end();
    await settle();
    expect(calls).toHaveLength(3);
    expect(await Promise.all(results)).toEqual([
      "one:1",
      "one:2",
      "Connection terminated unexpectedly",
      "Connection terminated unexpectedly",
    ]);
  });
});
