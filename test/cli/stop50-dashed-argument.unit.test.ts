/**
 * An argument that starts with "-" (stop 50 of 2026-12-06). CI failed once on
 * test/cli/stop48-acme-admin.test.ts: the External Account Binding key id it revoked had come out
 * as "-..." (one in 64 base64url ids did), and the CLI read it as options and said only "Unknown
 * option '-F'". New key ids never start with "-" or "_"; one made before is given after "--", and
 * the refusal without it names the word and says so.
 */
import { describe, expect, it } from "vitest";
import { newExternalAccountKeyId } from "../../src/acme/eab";
import { GROUPS } from "../../src/cli/commands";
import { parseCommandLine } from "../../src/cli/parse";

describe("External Account Binding key ids", () => {
  it("are drawn again while they start with - or _", () => {
    // 0xf8 encodes as "-" first (62 = 0b111110), 0xfc as "_" (63), 0x04 as "B".
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0xfc), Buffer.alloc(16, 0x04)];
    const seen: string[] = [];
    const id = newExternalAccountKeyId(() => {
      const b = draws.shift()!;
      seen.push(b.toString("base64url"));
      return b;
    });
    expect(seen.map((s) => s[0])).toEqual(["-", "_", "B"]);
    expect(id).toBe(Buffer.alloc(16, 0x04).toString("base64url"));
  });

  it("are 22 base64url characters starting with a letter or digit, all distinct", () => {
    const ids = Array.from({ length: 2000 }, () => newExternalAccountKeyId());
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{21}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("a command-line argument that starts with -", () => {
  const KEY = "-Fx3Qw0k1tqUJ6x2mYpQH9";

  it('after "--" it is the argument', () => {
    const parsed = parseCommandLine(["profile", "revoke-acme-key", "--", KEY], GROUPS);
    expect(parsed.kind).toBe("run");
    if (parsed.kind !== "run") return;
    expect(parsed.command.name).toBe("revoke-acme-key");
    expect(parsed.args.positional(0, "KEY_ID")).toBe(KEY);
  });

  it('without "--", the refusal names the word and says how to give it', () => {
    expect(() => parseCommandLine(["profile", "revoke-acme-key", KEY], GROUPS)).toThrow(
      `Unknown option '-F' (in "${KEY}"); an argument that starts with "-" goes after "--", as in 'certmint profile revoke-acme-key -- ${KEY}'`,
    );
  });

  it("a token-shaped word is not shown back, and an unknown long option keeps its message", () => {
    const secret = `-${"A".repeat(40)}`;
    let message = "";
    try {
      parseCommandLine(["ca", "list", secret], GROUPS);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("Unknown option '-A'");
    expect(message).toContain("not shown");
    expect(message).not.toContain(secret);
    expect(() => parseCommandLine(["ca", "list", "--bogus"], GROUPS)).toThrow(
      "Unknown option '--bogus'; run 'certmint ca list --help'",
    );
  });
});
