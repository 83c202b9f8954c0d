/**
 * `certmint ca create-intermediate --help` says what the name-constraint options do: an empty
 * --permit-dns is refused by the server (NAME_CONSTRAINTS_INVALID: it would permit every DNS
 * name, a no-op that reads as a limit), an empty --exclude-dns forbids every DNS name, and with
 * any --permit-* option the kinds given no option are forbidden (CreateIntermediate, since stop
 * 44 of 2026-12-06). Until then the help said `--permit-dns ""` permits every name (an outside
 * probe, E F8).
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./cli";

describe("name constraint options in the help", () => {
  it("an empty DNS name: refused when permitted, forbids DNS names when excluded", async () => {
    const help = await runCli(["ca", "create-intermediate", "--help"]);
    expect(help.code).toBe(0);
    const text = help.stdout.replace(/\s+/g, " ");
    expect(text).toContain(
      '--permit-dns NAME permitted DNS subtree: "example.com" is it and every name below it; "" is refused',
    );
    expect(text).toContain(
      '--exclude-dns NAME excluded DNS subtree: "example.com" is it and every name below it; "" forbids every DNS name',
    );
    expect(text).not.toContain('"" every name');
    expect(help.stdout.replace(/\s+/g, " ")).toContain(
      "with any --permit-*, each kind given no --permit-/--exclude- option is forbidden",
    );
  });
});
