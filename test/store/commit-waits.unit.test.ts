/**
 * The health probe's judge of commits waiting for a synchronous standby (src/store/database.ts,
 * CommitWaits): only a wait seen for the probe's timeout and more is a stall. A review of stop
 * 42 found the first version judging a statement's age instead, so a long statement sampled in
 * a normal millisecond wait made every replica NOT_SERVING.
 */
import { describe, expect, it } from "vitest";
import { CommitWaits } from "../../src/store/database";

describe("CommitWaits", () => {
  it("a wait seen once, or by another statement of the session each time, is no stall", () => {
    const waits = new CommitWaits();
    expect(waits.observe(["101@2026-12-06 04:00:00+00"], 0, 3000)).toBeUndefined();
    // The same session's next commits: each a new wait.
    expect(waits.observe(["101@2026-12-06 04:00:01+00"], 1000, 3000)).toBeUndefined();
    expect(waits.observe(["101@2026-12-06 04:00:02+00"], 2000, 3000)).toBeUndefined();
    expect(waits.observe(["101@2026-12-06 04:00:03+00"], 3000, 3000)).toBeUndefined();
  });

  it("one wait seen from probe to probe for the timeout is a stall, and ends when it is gone", () => {
    const waits = new CommitWaits();
    const stuck = "7@2026-12-06 04:00:00+00";
    expect(waits.observe([stuck], 0, 3000)).toBeUndefined();
    expect(waits.observe([stuck, "8@2026-12-06 04:00:02+00"], 2000, 3000)).toBeUndefined();
    expect(waits.observe([stuck, "8@2026-12-06 04:00:02+00"], 3500, 3000)).toEqual({
      count: 1,
      waitEvent: "SyncRep",
      seconds: 3.5,
    });
    // A wait missing from one probe has ended: seen again, it counts from anew.
    expect(waits.observe([], 4000, 3000)).toBeUndefined();
    expect(waits.observe([stuck], 5000, 3000)).toBeUndefined();
  });
});
