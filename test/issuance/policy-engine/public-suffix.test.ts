/**
 * A wildcard over a public suffix of the Public Suffix List's ICANN section ("*.co.uk") is never
 * signed, whatever the policy (src/issuance/policy-engine/public-suffix.ts): it would stand for
 * every domain registered under the suffix (CA/Browser Forum BR 3.2.2.6). Until stop 55 of
 * 2026-12-07 only single-label wildcards ("*.com") were refused and a policy allowing every name
 * signed "*.co.uk". Checked where a requested name is read: a DNS SAN, a common name read as a
 * DNS name, and an ACME order's identifier.
 */
import { describe, expect, it } from "vitest";
import { checkIdentifiers } from "../../../src/acme/identifiers";
import { AcmeProblem } from "../../../src/acme/problem";
import { compilePolicy, evaluate, type PolicySpec } from "../../../src/issuance/policy-engine";
import { parseDnsName } from "../../../src/issuance/policy-engine/dns-match";
import { baseRequest, baseSpec } from "./fixtures";

/** Over an ICANN public suffix: never signed. */
const REFUSED = [
  "*.co.uk",
  "*.CO.UK.",
  "*.com.au",
  "*.xn--55qx5d.cn", // 公司.cn
  "*.公司.cn",
  "*.foo.kawasaki.jp", // under the rule *.kawasaki.jp
  "*.bar.ck", // under the rule *.ck
];
/** Over a registrable domain, a private-section suffix or a name outside the list: signed. */
const SIGNED = [
  "*.example.co.uk",
  "*.city.kawasaki.jp", // the exception !city.kawasaki.jp
  "*.www.ck", // the exception !www.ck
  "*.github.io", // private section: left to the policy
  "*.example.corp", // not in the list: only its last label is a suffix
  "*.a.b",
  "*.example.com",
];

/** A policy allowing every DNS name, wildcards included. */
function allowEverything(): PolicySpec {
  const spec = baseSpec();
  spec.sans.dns = { allowed: ["**"], denied: [], required: false, allowWildcardNames: true };
  return spec;
}

describe("a wildcard over a public suffix", () => {
  it.each(REFUSED)("%s is not a name certmint reads as requestable", (name) => {
    const parsed = parseDnsName(name.toLowerCase().replace(/\.$/, ""));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(/wildcard over the public suffix '[^']+'/);
  });

  it.each(SIGNED)("%s is read as a wildcard name", (name) => {
    const parsed = parseDnsName(name);
    expect(parsed).toMatchObject({ ok: true, value: { wildcard: true } });
  });

  it("a policy that allows every name refuses them as DNS SANs (SAN_INVALID) and allows the others", () => {
    const policy = compilePolicy(allowEverything());
    for (const name of REFUSED) {
      const request = baseRequest();
      request.sans = { dns: [name], ip: [], email: [], uri: [] };
      const violations = evaluate(policy, request).filter((v) => v.field.startsWith("sans.dns"));
      expect(
        violations.map((v) => v.reason),
        name,
      ).toEqual(["SAN_INVALID"]);
      expect(violations[0]!.description).toMatch(/public suffix/);
    }
    for (const name of SIGNED) {
      const request = baseRequest();
      request.sans = { dns: [name], ip: [], email: [], uri: [] };
      const violations = evaluate(policy, request).filter((v) => v.field.startsWith("sans.dns"));
      expect(violations, name).toEqual([]);
    }
  });

  it("an ACME order naming one is rejectedIdentifier at newOrder; one below a domain is taken", () => {
    const policy = compilePolicy(allowEverything());
    const refused = (() => {
      try {
        checkIdentifiers([{ type: "dns", value: "*.co.uk" }], policy);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(AcmeProblem);
    expect((refused as AcmeProblem).type).toMatch(/rejectedIdentifier$/);
    expect((refused as AcmeProblem).detail).toMatch(/public suffix 'co\.uk'/);
    expect(checkIdentifiers([{ type: "dns", value: "*.example.co.uk" }], policy)).toEqual([
      { type: "dns", value: "*.example.co.uk" },
    ]);
  });
});
