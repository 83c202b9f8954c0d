/**
 * Every flag that takes a duration refuses a number without a unit (exit 2, naming the flag and
 * the units to add), 0 aside, and still takes every documented form with a unit. Until stop 42
 * of 2026-12-06 a bare number was seconds: `audit list --since 24` listed the last 24 seconds
 * to a user who meant hours. The refusal comes before any connection: no server is needed (the
 * address below has nothing listening).
 */
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/command";
import { parseDurationSeconds, parseTime } from "../../src/cli/values";
import { runCli } from "./cli";

const NOWHERE = ["--server", "127.0.0.1:1"];

describe("a duration flag given a number without a unit", () => {
  it.each([
    [["audit", "list", "--since", "24"], "since", "24"],
    [["audit", "list", "--until", "3600"], "until", "3600"],
    [["cert", "list", "--expires-before", "30"], "expires-before", "30"],
    [["ca", "list", "--timeout", "5"], "timeout", "5"],
    [["--timeout", "5", "ca", "list"], "timeout", "5"],
    [["token", "create", "t1", "--role", "issuer", "--ttl", "3600"], "ttl", "3600"],
    [["profile", "create", "p1", "--ca", "c1", "--ttl", "7"], "ttl", "7"],
    [["policy", "create", "p1", "--max-ttl", "90"], "max-ttl", "90"],
  ])("%j is a usage error (exit 2) saying to add a unit", async (args, flag, n) => {
    const r = await runCli([...args, ...NOWHERE]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `certmint: --${flag}: "${n}" has no unit: add one, e.g. ${n}s, ${n}m, ${n}h or ${n}d (seconds, minutes, hours, days)`,
    );
    expect(r.stdout).toBe("");
  });

  it("0 is not ambiguous: refused as before, for not being positive", async () => {
    const r = await runCli(["audit", "list", "--since", "0", ...NOWHERE]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('certmint: --since: "0" must be a positive duration');
  });

  it("with a unit, the same flags go on to the call (here: no server at the address)", async () => {
    const r = await runCli(["audit", "list", "--since", "24h", "--timeout", "30s", ...NOWHERE]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("UNAVAILABLE");
    expect(r.stderr).not.toContain("has no unit");
  });
});

describe("the duration forms with units", () => {
  it.each([
    ["90d", 90 * 86_400],
    ["12h", 12 * 3600],
    ["1h30m", 5400],
    ["3600s", 3600],
    ["2w", 14 * 86_400],
    ["1y", 365 * 86_400],
    [" 24H ", 24 * 3600],
  ])("%j is %i seconds", (text, seconds) => {
    expect(parseDurationSeconds(text, "ttl")).toBe(seconds);
  });

  it("--since 24h is a day ago; an RFC 3339 time is taken as written", () => {
    const now = Date.parse("2026-12-06T12:00:00Z");
    expect(parseTime("24h", "since", -1, now).toISOString()).toBe("2026-12-05T12:00:00.000Z");
    expect(parseTime("2026-12-01T00:00:00Z", "since", -1, now).toISOString()).toBe(
      "2026-12-01T00:00:00.000Z",
    );
  });

  it.each(["24", "1", "86400"])("%j alone is refused", (text) => {
    expect(() => parseDurationSeconds(text, "since")).toThrow(UsageError);
  });
});
