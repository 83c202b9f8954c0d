/**
 * The event pump (src/issuance/events/pump.ts) drains a backlog: a sequencer round numbers at
 * most a batch of events and a prune deletes at most a batch, so a round that left work behind is
 * followed by the next at once, not after the poll period (one round per second capped numbering
 * at 1,000 events per second, below one server's issuance rate).
 */
import { afterEach, describe, expect, it } from "vitest";
import { EventPump } from "../../src/issuance/events/pump";
import type { SequencerRound } from "../../src/issuance/repositories";
import { waitFor } from "../support/wait";

/** A repository whose rounds answer from scripts; counts rounds, wakes and prunes. */
function scriptedEvents(rounds: (SequencerRound | "busy")[], prunes: number[] = []) {
  const seen = { rounds: 0, prunes: 0, wakes: 0 };
  const events = {
    async sequence() {
      seen.rounds++;
      return rounds.shift() ?? { highest: 0, more: false };
    },
    async pruneOlderThan() {
      seen.prunes++;
      return prunes.shift() ?? 0;
    },
    subscribe: () => undefined,
  };
  return { events, seen };
}

describe("EventPump", () => {
  let pump: EventPump | undefined;
  afterEach(async () => {
    await pump?.stop();
    pump = undefined;
  });

  const start = (events: ReturnType<typeof scriptedEvents>["events"], seen: { wakes: number }) => {
    const errors: unknown[] = [];
    pump = new EventPump(
      { store: { events } },
      { wake: () => seen.wakes++ },
      // A poll period no test waits out: every round after the first is a drain round.
      { pollMs: 3_600_000, retentionSeconds: 86_400, onError: (e) => errors.push(e) },
    );
    pump.start();
    return errors;
  };

  it("runs rounds back to back while each numbers a full batch, then waits a period", async () => {
    const { events, seen } = scriptedEvents([
      { highest: 1000, more: true },
      { highest: 2000, more: true },
      { highest: 2400, more: false },
    ]);
    const errors = start(events, seen);
    await waitFor("three rounds", () => seen.rounds >= 3);
    // The third left nothing: no fourth round within the hour-long period (checked after the
    // drain rounds' own scheduling has had its turns).
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 0));
    expect(seen.rounds).toBe(3);
    expect(seen.wakes).toBe(3);
    expect(errors).toEqual([]);
  });

  it("a full prune batch also runs the next round at once; a busy round wakes the watchers", async () => {
    const { events, seen } = scriptedEvents(["busy", { highest: 0, more: false }], [1000, 12]);
    start(events, seen);
    await waitFor("two rounds", () => seen.rounds >= 2 && seen.prunes >= 2);
    await new Promise((r) => setTimeout(r, 0));
    expect(seen.rounds).toBe(2);
    // busy: another replica numbered, its events may be there; the empty round wakes no one.
    expect(seen.wakes).toBe(1);
  });

  it("after a failed round it waits a period (no tight loop against a database that is down)", async () => {
    let calls = 0;
    const seen = { wakes: 0 };
    const events = {
      async sequence(): Promise<SequencerRound> {
        calls++;
        throw new Error("connect ECONNREFUSED");
      },
      pruneOlderThan: async () => 0,
      subscribe: () => undefined,
    };
    const errors = start(events, seen);
    await waitFor("the failure reported", () => errors.length === 1);
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toBe(1);
  });
});
