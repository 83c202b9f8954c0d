/** How a policy's SAN rules become a sub-CA's name constraints (policy/name-constraints.ts). */
import { describe, expect, it } from "vitest";
import {
  compilePolicy,
  nameConstraintsFor,
  type PolicySpec,
} from "../../../src/issuance/policy-engine";
import { caSpec } from "./fixtures";

const EMBEDDING = [
  "::ffff:0:0/96",
  "::/96",
  "64:ff9b::/96",
  "64:ff9b:1::/48",
  "2002::/16",
  "2001::/32",
];

describe("nameConstraintsFor", () => {
  it("maps every pattern form to the smallest RFC 5280 subtree that holds it", () => {
    const nc = nameConstraintsFor(compilePolicy(caSpec()));
    expect(nc.permitted).toEqual({
      // api.example.com, *.svc.example.com, **.apps.example.com, bücher.example, *.xn--caf-dma.example
      dns: [
        "api.example.com",
        "svc.example.com",
        "apps.example.com",
        "xn--bcher-kva.example",
        "xn--caf-dma.example",
      ],
      ip: ["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32"],
      email: ["example.com", "alice@partner.example", ".corp.example"],
      uri: ["prod.example", ".example.com", "api.example.com"],
    });
    expect(nc.excluded).toEqual({
      dns: ["admin.svc.example.com", "secret.apps.example.com"],
      ip: ["10.0.0.0/24", "2001:db8:dead::/48", "0.0.0.0/32", "255.255.255.255/32", ...EMBEDDING],
      // ".example.com" and ".prod.example": hosts below an exactly allowed host, which Go reads
      // a permitted "example.com" / "prod.example" as allowing (api.example.com is below the
      // allowed *.example.com, so nothing is excluded for it).
      email: [".example.com", "root@example.com"],
      uri: [".prod.example", "prod.example", "admin.example.com"],
    });
  });

  it("excludes the hosts below an exact URI or email host unless a wildcard allows them", () => {
    const spec: PolicySpec = caSpec();
    spec.sans = {
      uri: {
        allowed: [
          "spiffe://prod.example/ns/a/*",
          "spiffe://x.corp.example/*",
          "spiffe://*.corp.example/*",
        ],
        denied: [],
        required: false,
      },
      email: {
        allowed: ["@example.com", "@a.corp.example", "@**.corp.example", "bob@b.example"],
        denied: [],
        required: false,
      },
    };
    const nc = nameConstraintsFor(compilePolicy(spec));
    expect(nc.permitted.uri).toEqual(["prod.example", "x.corp.example", ".corp.example"]);
    expect(nc.excluded.uri).toEqual([".prod.example"]);
    expect(nc.permitted.email).toEqual([
      "example.com",
      "a.corp.example",
      ".corp.example",
      "bob@b.example",
    ]);
    expect(nc.excluded.email).toEqual([".example.com"]);
  });

  it("adds no such exclusion where the policy allows names below the host (it would forbid them)", () => {
    // A review of stop 41: an exclusion overrides every permitted subtree.
    const spec: PolicySpec = caSpec();
    spec.sans = {
      uri: {
        allowed: [
          "spiffe://prod.example/*",
          "spiffe://*.ns.prod.example/*",
          "spiffe://corp.example/*",
          "spiffe://x.corp.example/*",
        ],
        denied: [],
        required: false,
      },
      email: { allowed: ["@prod.example", "alice@sub.prod.example"], denied: [], required: false },
    };
    const nc = nameConstraintsFor(compilePolicy(spec));
    expect(nc.excluded.uri).toEqual([".x.corp.example"]);
    expect(nc.excluded.email).toEqual([]);
  });

  it("leaves a catch-all type free and forbids a type with no allowed pattern", () => {
    const spec: PolicySpec = caSpec();
    spec.sans = {
      dns: { allowed: ["**"], denied: ["**.internal"], required: false },
      ip: { allowed: ["0.0.0.0/0", "::/0"], denied: [], required: false },
    };
    const nc = nameConstraintsFor(compilePolicy(spec));
    expect(nc.permitted).toEqual({
      dns: [],
      ip: [],
      email: ["nowhere.invalid"],
      uri: ["nowhere.invalid"],
    });
    expect(nc.excluded.dns).toEqual(["internal"]);
    spec.sans = {};
    const none = nameConstraintsFor(compilePolicy(spec));
    expect(none.excluded.dns).toEqual([""]);
    expect(none.excluded.ip).toEqual(["0.0.0.0/0", "::/0"]);
  });
});
