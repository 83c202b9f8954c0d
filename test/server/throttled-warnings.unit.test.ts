/**
 * ThrottledWarnings (src/server/throttled-warnings.ts): one warning per cause per window, the
 * rest of the window at debug, the next warning counting what it held back.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ThrottledWarnings } from "../../src/server/throttled-warnings";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: "debug" },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

describe("ThrottledWarnings", () => {
  it("warns once per cause per window, and counts the failures it held back", () => {
    let now = 0;
    const throttle = new ThrottledWarnings(10_000, () => now);
    const { logger, lines } = capture();
    for (let i = 0; i < 80; i++) {
      throttle.warn(logger, "ECONNREFUSED", { requestId: `r${i}` }, "database unavailable");
    }
    // Another cause has its own window.
    throttle.warn(logger, "57P01", { requestId: "other" }, "database unavailable");
    const warnings = () => lines.filter((l) => l.level === 40);
    expect(warnings().map((l) => [l.requestId, l.suppressed])).toEqual([
      ["r0", undefined],
      ["other", undefined],
    ]);
    // The others are still there, at debug, each with its own fields.
    expect(lines.filter((l) => l.level === 20)).toHaveLength(79);

    now = 9_999;
    throttle.warn(logger, "ECONNREFUSED", { requestId: "still" }, "database unavailable");
    expect(warnings()).toHaveLength(2);
    now = 10_000;
    throttle.warn(logger, "ECONNREFUSED", { requestId: "next" }, "database unavailable");
    expect(warnings().at(-1)).toMatchObject({ requestId: "next", suppressed: 80 });
  });
});
