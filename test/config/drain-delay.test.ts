/**
 * CERTMINT_SHUTDOWN_DRAIN_DELAY_MS (src/server/drain.ts) is checked like the other durations:
 * an integer of milliseconds in its range, 0 (the default) for no delay.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env, "/srv/certmint");
    return "";
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

describe("CERTMINT_SHUTDOWN_DRAIN_DELAY_MS", () => {
  it("is 0 unless set", () => {
    expect(loadConfig({}, "/srv/certmint").shutdownDrainDelayMs).toBe(0);
  });

  it.each([
    // Empty is unset, as for every setting.
    ["", 0],
    ["0", 0],
    ["5000", 5000],
    ["300000", 300_000],
  ])("takes %s", (value, ms) => {
    expect(
      loadConfig({ CERTMINT_SHUTDOWN_DRAIN_DELAY_MS: value }, "/srv/certmint").shutdownDrainDelayMs,
    ).toBe(ms);
  });

  it.each(["-1", "300001", "5s", "1.5", " "])("refuses %j", (value) => {
    expect(problemsOf({ CERTMINT_SHUTDOWN_DRAIN_DELAY_MS: value })).toContain(
      "CERTMINT_SHUTDOWN_DRAIN_DELAY_MS must be an integer from 0 to 300000",
    );
  });

  it("is a known name: a misspelling is refused with it as the suggestion", () => {
    expect(problemsOf({ CERTMINT_SHUTDOWN_DRAIN_DELAY: "5000" })).toContain(
      "CERTMINT_SHUTDOWN_DRAIN_DELAY is not a certmint setting; did you mean CERTMINT_SHUTDOWN_DRAIN_DELAY_MS?",
    );
  });
});
