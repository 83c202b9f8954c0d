/** Issue 17 class 5: what a mailbox rule says about sub-addresses and routing syntax. */
import { describe, expect, it } from "vitest";
import { compilePolicy, evaluate, type NameRule } from "../../../src/issuance/policy-engine";
import { baseRequest, baseSpec } from "./fixtures";

function verdict(rule: NameRule, address: string): string[] {
  const spec = baseSpec();
  spec.sans = { email: rule };
  const req = baseRequest();
  req.sans = { dns: [], ip: [], email: [address], uri: [] };
  return evaluate(compilePolicy(spec), req)
    .filter((v) => v.field === "sans.email_addresses[0]")
    .map((v) => v.reason!);
}
const domainRule = (allowSubAddresses?: boolean): NameRule => ({
  allowed: ["@example.com", "ops+pager@example.com"],
  denied: ["ceo@example.com", "Audit+Legal@example.com"],
  required: false,
  ...(allowSubAddresses === undefined ? {} : { allowSubAddresses }),
});

describe("mailbox rules", () => {
  it.each([
    // [address, reasons by default, reasons with allowSubAddresses]
    ["alice@example.com", [], []],
    ["alice+tag@example.com", ["SAN_NOT_ALLOWED"], []],
    ["ops+pager@example.com", [], []], // named exactly by an allowed mailbox
    ["ceo@example.com", ["SAN_DENIED"], ["SAN_DENIED"]],
    ["CEO@example.com", ["SAN_DENIED"], ["SAN_DENIED"]],
    ["ceo+x@example.com", ["SAN_DENIED"], ["SAN_DENIED"]],
    ["Ceo+x+y@example.com", ["SAN_DENIED"], ["SAN_DENIED"]],
    ["ceox@example.com", [], []], // another mailbox, not a sub-address
    ["audit+legal@example.com", ["SAN_DENIED"], ["SAN_DENIED"]],
    ["audit+legal+2@example.com", ["SAN_DENIED"], ["SAN_DENIED"]],
    ["audit+other@example.com", ["SAN_NOT_ALLOWED"], []],
    ["ceo%evil.example@example.com", ["SAN_INVALID"], ["SAN_INVALID"]],
    ["evil!ceo@example.com", ["SAN_INVALID"], ["SAN_INVALID"]],
    ['"ceo"@example.com', ["SAN_INVALID"], ["SAN_INVALID"]],
  ] as Array<[string, string[], string[]]>)("%s", (address, strict, lenient) => {
    expect(verdict(domainRule(), address)).toEqual(strict);
    expect(verdict(domainRule(true), address)).toEqual(lenient);
  });

  it("refuses routing characters in patterns too", () => {
    const spec = baseSpec();
    spec.sans = { email: { allowed: ["a%b@example.com"], denied: [], required: false } };
    expect(() => compilePolicy(spec)).toThrow(/invalid/);
  });
});
