/**
 * The fair share of the process's budget for unread answers (src/api/unread-answers.ts), on its
 * own and played at the default sizes: tokens that never read fill the budget one after another,
 * and a token holding nothing is still answered. test/server/unread-answers.test.ts checks the
 * same on a server, with small budgets.
 */
import { describe, expect, it } from "vitest";
import {
  fairShare,
  type HeldNow,
  type UnreadAnswerLimits,
  unreadAnswerLimitReached,
} from "../../src/api/unread-answers";

const KIB = 1024;
const MIB = 1024 * KIB;
const DEFAULTS: UnreadAnswerLimits = {
  unreadAnswerBytesPerConnection: 32 * MIB,
  unreadAnswerBytesPerToken: 64 * MIB,
  unreadAnswerBytes: 256 * MIB,
};
/** A 1,000-row ListCertificates page with PEMs. */
const PAGE = 2_300_000;

const held = (now: Partial<HeldNow>): HeldNow => ({
  connection: 0,
  token: 0,
  server: 0,
  tokens: 0,
  tokenless: false,
  ...now,
});

/**
 * Tokens that never read ask for `answer`-byte answers one after another, each on a connection
 * of its own (no connection limit binds), each until refused; returns what each holds and the
 * process's bytes.
 */
function fill(limits: UnreadAnswerLimits, tokens: number, answer: number) {
  const holds: number[] = [];
  let server = 0;
  const refusedBy: string[] = [];
  for (let t = 0; t < tokens; t++) {
    holds.push(0);
    for (;;) {
      const reached = unreadAnswerLimitReached(
        limits,
        held({ token: holds[t], server, tokens: holds.filter((h) => h > 0).length }),
        () => answer,
      );
      if (reached) {
        refusedBy.push(reached.limit);
        break;
      }
      holds[t] = (holds[t] ?? 0) + answer;
      server += answer;
    }
  }
  return { holds, server, refusedBy };
}

describe("the fair share of unread answer bytes", () => {
  it("applies from three quarters of the ceiling on: the room left, shared, or a floor", () => {
    expect(fairShare(256 * MIB, 192 * MIB - 1, 4)).toBeUndefined();
    expect(fairShare(256 * MIB, 192 * MIB, 4)).toBe(16 * MIB);
    expect(fairShare(256 * MIB, 200 * MIB, 7)).toBe(8 * MIB);
    // The floor: 1/256 of the ceiling, at least 64 KiB.
    expect(fairShare(256 * MIB, 250 * MIB, 100)).toBe(1 * MIB);
    expect(fairShare(1 * MIB, 1000 * KIB, 10)).toBe(64 * KIB);
  });

  it.each([
    ["connection at its budget", held({ connection: 32 * MIB }), "connection"],
    ["token at its budget", held({ token: 64 * MIB }), "token"],
    ["ceiling, connection holding some", held({ connection: 1, server: 256 * MIB }), "server"],
    ["ceiling, a fresh connection's large answer", held({ server: 256 * MIB }), "server"],
    [
      "under pressure, a token at its share",
      held({ token: 16 * MIB, server: 192 * MIB, tokens: 4 }),
      "share",
    ],
    [
      "under pressure, a token below its share",
      held({ token: 15 * MIB, server: 192 * MIB, tokens: 4 }),
      undefined,
    ],
    [
      "under pressure, a token holding nothing",
      held({ server: 255 * MIB, tokens: 400 }),
      undefined,
    ],
    [
      "below pressure, a token past any share",
      held({ token: 60 * MIB, server: 190 * MIB, tokens: 3 }),
      undefined,
    ],
    [
      "under pressure, a connection without a token",
      held({ connection: 2 * MIB, server: 250 * MIB, tokens: 3, tokenless: true }),
      "share",
    ],
  ] as const)("%s", (_, now, limit) => {
    expect(unreadAnswerLimitReached(DEFAULTS, now, () => PAGE)?.limit).toBe(limit);
  });

  it("a small answer on a connection holding nothing passes even at the ceiling", () => {
    expect(unreadAnswerLimitReached(DEFAULTS, held({ server: 300 * MIB }), () => 60 * KIB)).toBe(
      undefined,
    );
  });

  it("five tokens that never read leave room below the ceiling, and a token holding nothing is answered", () => {
    // Before the fair share: five tokens at 64 MiB each passed the 256 MiB, and every large
    // answer was refused from then on (bench/memory/probe.ts).
    const { holds, server, refusedBy } = fill(DEFAULTS, 5, PAGE);
    expect(server).toBeLessThan(DEFAULTS.unreadAnswerBytes);
    // Two fill their own budgets, the third passes the pressure point (three quarters), and it
    // and the next two stop at their share of what is left.
    expect(refusedBy).toEqual(["token", "token", "share", "share", "share"]);
    expect(Math.max(...holds.slice(3))).toBeLessThan(16 * MIB + PAGE);
    // Each hog asking again is refused; a token holding nothing is answered, even with a CRL.
    for (const h of holds) {
      const now = held({ token: h, server, tokens: 5 });
      expect(unreadAnswerLimitReached(DEFAULTS, now, () => PAGE)?.limit).toMatch(/token|share/);
    }
    const innocent = held({ server, tokens: 5 });
    expect(unreadAnswerLimitReached(DEFAULTS, innocent, () => 5 * MIB)).toBeUndefined();
  });

  it("reaching the ceiling takes tokens by the dozen, each holding little", () => {
    // The bound against many tokens that never read: each newcomer takes its share of the room
    // left (which shrinks as they come), or the floor, and one answer past it.
    let tokens = 0;
    let result = fill(DEFAULTS, 1, PAGE);
    while (result.server < DEFAULTS.unreadAnswerBytes) {
      tokens++;
      result = fill(DEFAULTS, tokens, PAGE);
    }
    // Where five did before (README: the last ones hold one page each, let in below the floor).
    expect(tokens).toBe(19);
    // Past the pressure point no token holds more than its share when it came and one answer.
    expect(Math.max(...result.holds.slice(3))).toBeLessThan(16 * MIB + PAGE);
    // The ceiling itself: crossed by at most the one answer that crossed it.
    expect(result.server).toBeLessThan(DEFAULTS.unreadAnswerBytes + PAGE);
  });
});
