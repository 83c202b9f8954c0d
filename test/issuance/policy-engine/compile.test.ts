import { describe, expect, it } from "vitest";
import { CertmintError } from "../../../src/errors";
import { compilePolicy, evaluate } from "../../../src/issuance/policy-engine";
import { baseRequest, baseSpec, brief } from "./fixtures";

/** The "field REASON" list of the POLICY_INVALID error compilePolicy throws. */
function rejection(spec: unknown): string[] {
  try {
    compilePolicy(spec);
  } catch (e) {
    expect(e).toBeInstanceOf(CertmintError);
    const err = e as CertmintError;
    expect(err.kind).toBe("invalid_argument");
    expect(err.reason).toBe("POLICY_INVALID");
    for (const v of err.violations) expect(v.description.length).toBeGreaterThan(0);
    return brief(err.violations);
  }
  throw new Error("compilePolicy accepted the spec");
}

// biome-ignore lint/suspicious/noExplicitAny: these tests build malformed specs on purpose.
type Loose = any;

const mutate = (f: (s: Loose) => void) => {
  const s = baseSpec() as Loose;
  f(s);
  return s;
};

describe("compilePolicy", () => {
  it("accepts the base spec and freezes the result", () => {
    const p = compilePolicy(baseSpec());
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.spec.sans.dns?.allowed)).toBe(true);
    expect(Object.isFrozen(p.sans.dns)).toBe(true);
  });

  it("returns the canonical spec, which compiles to the same thing", () => {
    const p = compilePolicy(baseSpec());
    expect(p.spec.sans.dns?.allowed).toContain("xn--bcher-kva.example");
    expect(p.spec.sans.ip?.allowed).toContain("2001:db8::/32");
    const again = compilePolicy(structuredClone(p.spec));
    expect(again.spec).toEqual(p.spec);
  });

  it("does not alias the caller's spec", () => {
    const spec = baseSpec();
    const p = compilePolicy(spec);
    spec.sans.dns!.denied = [];
    const request = baseRequest();
    request.sans.dns = ["admin.svc.example.com"];
    expect(brief(evaluate(p, request))).toEqual(["sans.dns_names[0] SAN_DENIED"]);
  });

  it("rejects a non-object", () => {
    expect(rejection(null)).toEqual(["policy POLICY_FIELD_INVALID"]);
    expect(rejection([])).toEqual(["policy POLICY_FIELD_INVALID"]);
    expect(rejection(undefined)).toEqual(["policy POLICY_FIELD_INVALID"]);
  });

  it("reports every missing top-level field", () => {
    expect(rejection({})).toEqual([
      "subject POLICY_FIELD_MISSING",
      "sans POLICY_FIELD_MISSING",
      "keyUsages POLICY_FIELD_MISSING",
      "extendedKeyUsages POLICY_FIELD_MISSING",
      "keyAlgorithms POLICY_FIELD_MISSING",
      "signatureAlgorithms POLICY_FIELD_MISSING",
      "maxTtlSeconds POLICY_FIELD_MISSING",
      "basicConstraints POLICY_FIELD_MISSING",
    ]);
  });

  it("rejects unknown fields (a typo must not silently mean false)", () => {
    const spec = mutate((s) => {
      s.sans.dns.allowWildCardNames = true;
      s.sans.ftp = { allowed: [], denied: [], required: false };
      s.subject.NICKNAME = { allowed: ["*"], denied: [], required: false };
      s.extra = 1;
    });
    expect(rejection(spec)).toEqual([
      "extra POLICY_FIELD_UNKNOWN",
      "subject.NICKNAME POLICY_FIELD_UNKNOWN",
      "sans.ftp POLICY_FIELD_UNKNOWN",
      "sans.dns.allowWildCardNames POLICY_FIELD_UNKNOWN",
    ]);
  });

  it("rejects malformed DNS patterns with their paths", () => {
    const spec = mutate((s) => {
      s.sans.dns.allowed = [
        "ok.example.com",
        "f*o.example.com",
        "a.*.example.com",
        "*",
        "bad_label.com",
        7,
      ];
      s.sans.dns.denied = ["***.example.com", "a..b", "x".repeat(64)];
    });
    expect(rejection(spec)).toEqual([
      "sans.dns.allowed[1] POLICY_PATTERN_INVALID",
      "sans.dns.allowed[2] POLICY_PATTERN_INVALID",
      "sans.dns.allowed[3] POLICY_PATTERN_INVALID",
      "sans.dns.allowed[4] POLICY_PATTERN_INVALID",
      "sans.dns.allowed[5] POLICY_PATTERN_INVALID",
      "sans.dns.denied[0] POLICY_PATTERN_INVALID",
      "sans.dns.denied[1] POLICY_PATTERN_INVALID",
      "sans.dns.denied[2] POLICY_PATTERN_INVALID",
    ]);
  });

  it("rejects malformed CIDRs", () => {
    const spec = mutate((s) => {
      s.sans.ip.allowed = [
        "10.0.0.1/8",
        "10.0.0.0/33",
        "010.0.0.0/8",
        "10.0.0.0/08",
        "2001:db8::/129",
        "fe80::/10",
        "10.0.0.0/",
      ];
      s.sans.ip.denied = ["::ffff:10.0.0.1/96", "not-an-ip"];
    });
    expect(rejection(spec)).toEqual([
      "sans.ip.allowed[0] POLICY_PATTERN_INVALID",
      "sans.ip.allowed[1] POLICY_PATTERN_INVALID",
      "sans.ip.allowed[2] POLICY_PATTERN_INVALID",
      "sans.ip.allowed[3] POLICY_PATTERN_INVALID",
      "sans.ip.allowed[4] POLICY_PATTERN_INVALID",
      "sans.ip.allowed[6] POLICY_PATTERN_INVALID",
      "sans.ip.denied[0] POLICY_PATTERN_INVALID",
      "sans.ip.denied[1] POLICY_PATTERN_INVALID",
    ]);
  });

  it("explains host bits with the range meant", () => {
    try {
      compilePolicy(
        mutate((s) => {
          s.sans.ip.allowed = ["10.0.0.1/8"];
        }),
      );
    } catch (e) {
      expect((e as CertmintError).violations[0]?.description).toContain('"10.0.0.0/8"');
    }
    expect.assertions(1);
  });

  it("rejects malformed email and URI patterns, and wildcards outside DNS", () => {
    const spec = mutate((s) => {
      s.sans.email.allowed = ["example.com", "@", "a@*.example.com", "@*.example.com"];
      s.sans.email.allowWildcardNames = true;
      s.sans.uri.allowed = [
        "spiffe://prod.example/ns/*/sa",
        "spiffe://prod.example:443/ns/*",
        "https://u@example.com/*",
        "https://example.com/a/../b",
        "urn:*",
        "https://**.example.com/*",
      ];
    });
    expect(rejection(spec)).toEqual([
      "sans.email.allowed[0] POLICY_PATTERN_INVALID",
      "sans.email.allowed[1] POLICY_PATTERN_INVALID",
      "sans.email.allowed[2] POLICY_PATTERN_INVALID",
      "sans.email.allowWildcardNames POLICY_FIELD_INVALID",
      "sans.uri.allowed[0] POLICY_PATTERN_INVALID",
      "sans.uri.allowed[1] POLICY_PATTERN_INVALID",
      "sans.uri.allowed[2] POLICY_PATTERN_INVALID",
      "sans.uri.allowed[3] POLICY_PATTERN_INVALID",
      "sans.uri.allowed[4] POLICY_PATTERN_INVALID",
    ]);
  });

  it("rejects malformed subject rules", () => {
    const spec = mutate((s) => {
      s.subject.COMMON_NAME.allowed = ["", "ok", "bad\u0000value"];
      s.subject.COUNTRY.required = "yes";
      s.subject.LOCALITY = ["Berlin"];
    });
    expect(rejection(spec)).toEqual([
      "subject.COMMON_NAME.allowed[0] POLICY_PATTERN_INVALID",
      "subject.COMMON_NAME.allowed[2] POLICY_PATTERN_INVALID",
      "subject.COUNTRY.required POLICY_FIELD_INVALID",
      "subject.LOCALITY POLICY_FIELD_INVALID",
    ]);
  });

  it("rejects unknown enum values and bad numbers", () => {
    const spec = mutate((s) => {
      s.keyUsages.allowed = ["DIGITAL_SIGNATURE", "digitalSignature"];
      s.extendedKeyUsages.denied = ["ANY"];
      s.keyAlgorithms = { allowed: ["EC_P256", "DSA_1024"], minRsaBits: 1024 };
      s.signatureAlgorithms.allowed = ["MD5_WITH_RSA"];
      s.maxTtlSeconds = 0;
      s.basicConstraints = { ca: "MAYBE", maxPathLength: -1 };
    });
    expect(rejection(spec)).toEqual([
      "keyUsages.allowed[1] POLICY_FIELD_INVALID",
      "extendedKeyUsages.denied[0] POLICY_FIELD_INVALID",
      "keyAlgorithms.allowed[1] POLICY_FIELD_INVALID",
      "keyAlgorithms.minRsaBits POLICY_FIELD_INVALID",
      "signatureAlgorithms.allowed[0] POLICY_FIELD_INVALID",
      "maxTtlSeconds POLICY_FIELD_INVALID",
      "basicConstraints.ca POLICY_FIELD_INVALID",
      "basicConstraints.maxPathLength POLICY_FIELD_INVALID",
    ]);
  });

  it("rejects a negative, fractional or string maxTtlSeconds", () => {
    for (const v of [-1, 1.5, "3600", Number.POSITIVE_INFINITY]) {
      const spec = mutate((s) => {
        s.maxTtlSeconds = v;
      });
      expect(rejection(spec)).toEqual(["maxTtlSeconds POLICY_FIELD_INVALID"]);
    }
  });

  it("rejects usage contradictions", () => {
    const spec = mutate((s) => {
      s.keyUsages = {
        allowed: ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"],
        required: ["DIGITAL_SIGNATURE", "KEY_AGREEMENT", "CRL_SIGN"],
        denied: ["CRL_SIGN", "KEY_ENCIPHERMENT"],
      };
      s.extendedKeyUsages = { allowed: [], required: ["SERVER_AUTH"], denied: ["SERVER_AUTH"] };
    });
    expect(rejection(spec)).toEqual([
      "keyUsages.required[1] POLICY_CONTRADICTION",
      "keyUsages.required[2] POLICY_CONTRADICTION",
      "keyUsages.denied[1] POLICY_CONTRADICTION",
      "extendedKeyUsages.required[0] POLICY_CONTRADICTION",
    ]);
  });

  it("rejects required names that every deny covers", () => {
    const spec = mutate((s) => {
      s.sans.dns = {
        allowed: ["*.a.example.com", "b.example.com"],
        denied: ["**.example.com"],
        required: true,
      };
      s.sans.ip = { allowed: ["10.1.0.0/16"], denied: ["10.0.0.0/8"], required: true };
      s.sans.email = { allowed: ["bob@example.com"], denied: ["@example.com"], required: true };
      s.sans.uri = {
        allowed: ["spiffe://td/ns/a/*"],
        denied: ["spiffe://td/ns/*"],
        required: true,
      };
      s.subject.ORGANIZATION = { allowed: ["Acme"], denied: ["*"], required: true };
    });
    expect(rejection(spec)).toEqual([
      "subject.ORGANIZATION.required POLICY_CONTRADICTION",
      "sans.dns.required POLICY_CONTRADICTION",
      "sans.ip.required POLICY_CONTRADICTION",
      "sans.email.required POLICY_CONTRADICTION",
      "sans.uri.required POLICY_CONTRADICTION",
    ]);
  });

  it("accepts a required rule when one allowed pattern survives the denies", () => {
    const spec = mutate((s) => {
      s.sans.dns = {
        allowed: ["example.com", "*.a.example.com"],
        denied: ["**.example.com"],
        required: true,
      };
    });
    expect(() => compilePolicy(spec)).not.toThrow();
  });

  it("rejects basic-constraint and algorithm contradictions", () => {
    const spec = mutate((s) => {
      s.keyUsages = { allowed: [], required: ["KEY_CERT_SIGN"], denied: [] };
      s.basicConstraints = { ca: "DENIED", maxPathLength: 0 };
      s.keyAlgorithms = { allowed: ["RSA_2048", "RSA_3072"], minRsaBits: 4096 };
    });
    expect(rejection(spec)).toEqual([
      "keyAlgorithms.minRsaBits POLICY_CONTRADICTION",
      "basicConstraints.maxPathLength POLICY_CONTRADICTION",
      "basicConstraints.ca POLICY_CONTRADICTION",
    ]);
    const required = mutate((s) => {
      s.keyUsages = { allowed: [], required: [], denied: ["KEY_CERT_SIGN"] };
      s.basicConstraints = { ca: "REQUIRED" };
    });
    expect(rejection(required)).toEqual(["basicConstraints.ca POLICY_CONTRADICTION"]);
  });

  it("rejects lists that are not lists or are too long", () => {
    const spec = mutate((s) => {
      s.sans.dns.allowed = "api.example.com";
      s.sans.ip.denied = Array.from({ length: 1001 }, () => "10.0.0.0/8");
    });
    expect(rejection(spec)).toEqual([
      "sans.dns.allowed POLICY_FIELD_INVALID",
      "sans.ip.denied POLICY_FIELD_INVALID",
    ]);
  });

  it("accepts an empty policy shape that allows nothing (fails closed)", () => {
    const p = compilePolicy({
      subject: {},
      sans: {},
      keyUsages: { allowed: [], required: [], denied: [] },
      extendedKeyUsages: { allowed: [], required: [], denied: [] },
      keyAlgorithms: { allowed: [] },
      signatureAlgorithms: { allowed: [] },
      maxTtlSeconds: 3600,
      basicConstraints: { ca: "DENIED" },
    });
    const request = baseRequest();
    expect(brief(evaluate(p, request))).toEqual([
      "subject.organization[0] SUBJECT_NOT_ALLOWED",
      "sans.dns_names[0] SAN_NOT_ALLOWED",
    ]);
  });
});
