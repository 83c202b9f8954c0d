/**
 * Key usages against extended key usages in the policy engine (probe39 F2, F3):
 * - RFC 3161 2.3: TIME_STAMPING is an end-entity certificate's only purpose;
 * - RFC 5280 4.2.1.12 as zlint's e_key_usage_and_extended_key_usage_inconsistent decides,
 *   checked against a literal port of that lint run in many map orders.
 */
import { describe, expect, it } from "vitest";
import {
  compilePolicy,
  evaluate,
  type PolicyRequest,
  type PolicySpec,
  PRESET_NAMES,
  presetSpec,
} from "../../src/issuance/policy-engine";
import {
  CONSISTENT_KEY_USAGES,
  zlintConsistent,
} from "../../src/issuance/policy-engine/usage-purposes";
import { keyUsagesAllowedFor } from "../../src/model/keys";
import {
  EXTENDED_KEY_USAGES,
  type ExtendedKeyUsage,
  KEY_USAGES,
  type KeyUsage,
} from "../../src/model/pki";
import { baseRequest, baseSpec, brief } from "../issuance/policy-engine/fixtures";

/** The base policy with every usage open (OCSP_SIGNING and CRL_SIGN must be named). */
const freeSpec = (): PolicySpec => {
  const s = baseSpec();
  s.keyUsages = { allowed: [], required: [], denied: [] };
  s.extendedKeyUsages = { allowed: [...EXTENDED_KEY_USAGES], required: [], denied: [] };
  return s;
};

const RSA = (r: PolicyRequest) => {
  r.keyAlgorithm = "RSA_3072";
  r.signatureAlgorithm = "SHA256_WITH_RSA";
};

const TS_ALONE = "extended_key_usages EXTENDED_KEY_USAGE_TIME_STAMPING_NOT_ALONE";
const KU_EKU = "key_usages KEY_USAGE_INCONSISTENT_WITH_EKU";

interface Case {
  name: string;
  spec?: (s: PolicySpec) => void;
  rsa?: boolean;
  ku: KeyUsage[];
  eku: ExtendedKeyUsage[];
  isCa?: boolean;
  expect: string[];
}

const cases: Case[] = [
  // RFC 3161 2.3
  {
    name: "timeStamping alone, digitalSignature",
    ku: ["DIGITAL_SIGNATURE"],
    eku: ["TIME_STAMPING"],
    expect: [],
  },
  {
    name: "timeStamping alone, nonRepudiation",
    ku: ["CONTENT_COMMITMENT"],
    eku: ["TIME_STAMPING"],
    expect: [],
  },
  {
    name: "timeStamping + serverAuth",
    ku: ["DIGITAL_SIGNATURE"],
    eku: ["TIME_STAMPING", "SERVER_AUTH"],
    expect: [TS_ALONE],
  },
  {
    name: "clientAuth + timeStamping",
    ku: ["DIGITAL_SIGNATURE"],
    eku: ["CLIENT_AUTH", "TIME_STAMPING"],
    expect: [TS_ALONE],
  },
  {
    name: "codeSigning + timeStamping",
    ku: ["DIGITAL_SIGNATURE"],
    eku: ["CODE_SIGNING", "TIME_STAMPING"],
    expect: [TS_ALONE],
  },
  {
    name: "timeStamping + emailProtection",
    ku: ["DIGITAL_SIGNATURE"],
    eku: ["TIME_STAMPING", "EMAIL_PROTECTION"],
    expect: [TS_ALONE],
  },
  {
    name: "timeStamping + OCSPSigning",
    ku: ["DIGITAL_SIGNATURE"],
    eku: ["TIME_STAMPING", "OCSP_SIGNING"],
    expect: [TS_ALONE],
  },
  {
    name: "every purpose at once (the probe's 'multi')",
    ku: ["DIGITAL_SIGNATURE"],
    eku: [
      "OCSP_SIGNING",
      "TIME_STAMPING",
      "SERVER_AUTH",
      "CLIENT_AUTH",
      "CODE_SIGNING",
      "EMAIL_PROTECTION",
    ],
    expect: [TS_ALONE],
  },
  {
    name: "timeStamping with keyEncipherment only",
    rsa: true,
    ku: ["KEY_ENCIPHERMENT"],
    eku: ["TIME_STAMPING"],
    expect: [KU_EKU],
  },
  {
    name: "a CA may carry timeStamping beside codeSigning",
    spec: (s) => {
      s.basicConstraints = { ca: "ALLOWED", maxPathLength: 1 };
    },
    isCa: true,
    ku: ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"],
    eku: ["CODE_SIGNING", "TIME_STAMPING"],
    expect: [],
  },
  // RFC 5280 4.2.1.12: the probe's findings
  {
    name: "serverAuth with only nonRepudiation",
    ku: ["CONTENT_COMMITMENT"],
    eku: ["SERVER_AUTH"],
    expect: [KU_EKU],
  },
  {
    name: "codeSigning with only keyAgreement",
    ku: ["KEY_AGREEMENT"],
    eku: ["CODE_SIGNING"],
    expect: [KU_EKU],
  },
  {
    name: "OCSPSigning with only keyEncipherment",
    rsa: true,
    ku: ["KEY_ENCIPHERMENT"],
    eku: ["OCSP_SIGNING"],
    expect: [KU_EKU],
  },
  {
    name: "clientAuth with only dataEncipherment",
    rsa: true,
    ku: ["DATA_ENCIPHERMENT"],
    eku: ["CLIENT_AUTH"],
    expect: [KU_EKU],
  },
  // consistent combinations
  {
    name: "serverAuth, digitalSignature + keyEncipherment (RSA)",
    rsa: true,
    ku: ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"],
    eku: ["SERVER_AUTH"],
    expect: [],
  },
  {
    name: "serverAuth, keyEncipherment only (RSA)",
    rsa: true,
    ku: ["KEY_ENCIPHERMENT"],
    eku: ["SERVER_AUTH"],
    expect: [],
  },
  {
    name: "serverAuth, digitalSignature + keyAgreement (EC)",
    ku: ["DIGITAL_SIGNATURE", "KEY_AGREEMENT"],
    eku: ["SERVER_AUTH"],
    expect: [],
  },
  {
    name: "clientAuth, keyAgreement only (EC)",
    ku: ["KEY_AGREEMENT"],
    eku: ["CLIENT_AUTH"],
    expect: [],
  },
  {
    name: "emailProtection, all three (RSA)",
    rsa: true,
    ku: ["DIGITAL_SIGNATURE", "CONTENT_COMMITMENT", "KEY_ENCIPHERMENT"],
    eku: ["EMAIL_PROTECTION"],
    expect: [],
  },
  {
    name: "OCSPSigning, digitalSignature + nonRepudiation",
    ku: ["DIGITAL_SIGNATURE", "CONTENT_COMMITMENT"],
    eku: ["OCSP_SIGNING"],
    expect: [],
  },
  {
    name: "no key usages: no keyUsage extension to reconcile",
    ku: [],
    eku: ["CODE_SIGNING"],
    expect: [],
  },
  {
    name: "no purposes: no extKeyUsage extension to reconcile",
    ku: ["KEY_AGREEMENT"],
    eku: [],
    expect: [],
  },
  // exact match: one bit too many is inconsistent
  {
    name: "clientAuth, digitalSignature + keyEncipherment (RSA)",
    rsa: true,
    ku: ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"],
    eku: ["CLIENT_AUTH"],
    expect: [KU_EKU],
  },
  {
    name: "codeSigning, digitalSignature + nonRepudiation",
    ku: ["DIGITAL_SIGNATURE", "CONTENT_COMMITMENT"],
    eku: ["CODE_SIGNING"],
    expect: [KU_EKU],
  },
  {
    name: "serverAuth, keyAgreement + encipherOnly",
    ku: ["KEY_AGREEMENT", "ENCIPHER_ONLY"],
    eku: ["SERVER_AUTH"],
    expect: [KU_EKU],
  },
  {
    name: "serverAuth on a leaf with cRLSign the policy names",
    spec: (s) => {
      s.keyUsages.allowed = ["DIGITAL_SIGNATURE", "CRL_SIGN"];
    },
    ku: ["DIGITAL_SIGNATURE", "CRL_SIGN"],
    eku: ["SERVER_AUTH"],
    expect: [KU_EKU],
  },
  {
    name: "cRLSign leaf without purposes",
    spec: (s) => {
      s.keyUsages.allowed = ["DIGITAL_SIGNATURE", "CRL_SIGN"];
    },
    ku: ["DIGITAL_SIGNATURE", "CRL_SIGN"],
    eku: [],
    expect: [],
  },
  // several purposes (zlint's multiPurpose)
  {
    name: "serverAuth + clientAuth, digitalSignature + keyEncipherment (RSA)",
    rsa: true,
    ku: ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"],
    eku: ["SERVER_AUTH", "CLIENT_AUTH"],
    expect: [],
  },
  {
    name: "serverAuth + codeSigning, digitalSignature",
    ku: ["DIGITAL_SIGNATURE"],
    eku: ["SERVER_AUTH", "CODE_SIGNING"],
    expect: [],
  },
  {
    name: "serverAuth + OCSPSigning, all three (RSA): zlint passes in every map order",
    rsa: true,
    ku: ["DIGITAL_SIGNATURE", "CONTENT_COMMITMENT", "KEY_ENCIPHERMENT"],
    eku: ["SERVER_AUTH", "OCSP_SIGNING"],
    expect: [],
  },
  {
    name: "serverAuth + OCSPSigning, nonRepudiation + keyEncipherment (RSA): zlint fails in some map orders",
    rsa: true,
    ku: ["CONTENT_COMMITMENT", "KEY_ENCIPHERMENT"],
    eku: ["SERVER_AUTH", "OCSP_SIGNING"],
    expect: [KU_EKU],
  },
  {
    name: "clientAuth + codeSigning, dataEncipherment (RSA)",
    rsa: true,
    ku: ["DATA_ENCIPHERMENT"],
    eku: ["CLIENT_AUTH", "CODE_SIGNING"],
    expect: [KU_EKU],
  },
  // a usage another rule refuses is reported once; the rest is judged
  {
    name: "a denied key usage is not reported again",
    spec: (s) => {
      s.keyUsages.denied = ["CONTENT_COMMITMENT"];
    },
    ku: ["DIGITAL_SIGNATURE", "CONTENT_COMMITMENT"],
    eku: ["SERVER_AUTH"],
    expect: ["key_usages[1] KEY_USAGE_DENIED"],
  },
  {
    name: "keyEncipherment on an EC key is reported as the key type's",
    ku: ["KEY_ENCIPHERMENT"],
    eku: ["CODE_SIGNING"],
    expect: ["key_usages[0] KEY_USAGE_INCONSISTENT"],
  },
  {
    name: "a purpose the policy does not allow is not reported again",
    spec: (s) => {
      s.extendedKeyUsages.allowed = ["SERVER_AUTH"];
    },
    ku: ["DIGITAL_SIGNATURE"],
    eku: ["SERVER_AUTH", "TIME_STAMPING"],
    expect: ["extended_key_usages[1] EXTENDED_KEY_USAGE_NOT_ALLOWED"],
  },
  {
    name: "what remains after a denied purpose still mixes timeStamping",
    spec: (s) => {
      s.extendedKeyUsages = { allowed: [], required: [], denied: ["CODE_SIGNING"] };
    },
    ku: ["DIGITAL_SIGNATURE"],
    eku: ["SERVER_AUTH", "TIME_STAMPING", "CODE_SIGNING"],
    expect: ["extended_key_usages[2] EXTENDED_KEY_USAGE_DENIED", TS_ALONE],
  },
];

const run = (c: Case) => {
  const spec = freeSpec();
  c.spec?.(spec);
  const r = baseRequest();
  if (c.rsa) RSA(r);
  r.keyUsages = c.ku;
  r.extendedKeyUsages = c.eku;
  r.isCa = c.isCa ?? false;
  if (c.isCa) r.pathLength = 0;
  return evaluate(compilePolicy(spec), r);
};

describe("evaluate: key usages against purposes", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const violations = run(c);
    expect(brief(violations)).toEqual(c.expect);
    for (const v of violations) expect(v.description.length).toBeGreaterThan(0);
  });

  it("tells a mixed time-stamping request what to do", () => {
    const [v] = run(cases[2]!);
    expect(v!.description).toContain("TIME_STAMPING cannot be combined with SERVER_AUTH");
    expect(v!.description).toContain("RFC 3161 2.3");
    expect(v!.description.length).toBeLessThanOrEqual(256); // the API's cap
    expect(v!.description).toContain("request TIME_STAMPING alone");
  });

  it("names the purpose and the key usages that would fit the key and the policy", () => {
    // codeSigning with keyAgreement on an EC key: only [DIGITAL_SIGNATURE] fits.
    const [v] = run({ name: "", ku: ["KEY_AGREEMENT"], eku: ["CODE_SIGNING"], expect: [] });
    expect(v!.description).toContain("key usages [KEY_AGREEMENT]");
    expect(v!.description).toContain("inconsistent with CODE_SIGNING");
    expect(v!.description).toContain("RFC 5280 4.2.1.12");
    expect(v!.description).toContain("for an EC_P256 key: CODE_SIGNING: [DIGITAL_SIGNATURE]");
    expect(v!.description.length).toBeLessThanOrEqual(256); // the API's cap
    // serverAuth with nonRepudiation on an EC key: no keyEncipherment combinations offered.
    const [w] = run({ name: "", ku: ["CONTENT_COMMITMENT"], eku: ["SERVER_AUTH"], expect: [] });
    expect(w!.description).toContain(
      "SERVER_AUTH: [DIGITAL_SIGNATURE] or [KEY_AGREEMENT] or [DIGITAL_SIGNATURE, KEY_AGREEMENT]",
    );
    expect(w!.description).not.toContain("KEY_ENCIPHERMENT");
  });

  it("says when the policy itself rules every fitting combination out", () => {
    const [v] = run({
      name: "",
      rsa: true,
      spec: (s) => {
        s.keyUsages.required = ["KEY_ENCIPHERMENT"];
      },
      ku: ["KEY_ENCIPHERMENT"],
      eku: ["CODE_SIGNING"],
      expect: [],
    });
    expect(v!.reason).toBe("KEY_USAGE_INCONSISTENT_WITH_EKU");
    expect(v!.description).toContain("CODE_SIGNING: none");
  });
});

describe("presets", () => {
  it("every usage combination a leaf preset allows, for every key type, is consistent", () => {
    for (const name of PRESET_NAMES) {
      const s = presetSpec(name);
      if (s.basicConstraints.ca === "REQUIRED") continue; // CA certificates are exempt
      for (const alg of ["EC_P256", "RSA_2048", "ED25519"] as const) {
        const optional = s.keyUsages.allowed.filter(
          (u) => !s.keyUsages.required.includes(u) && keyUsagesAllowedFor(alg).includes(u),
        );
        for (let m = 0; m < 1 << optional.length; m++) {
          const ku = [...s.keyUsages.required, ...optional.filter((_, i) => m & (1 << i))];
          const eku = s.extendedKeyUsages.required;
          expect({ name, alg, ku, ok: zlintConsistent(ku, eku) }).toEqual({
            name,
            alg,
            ku,
            ok: true,
          });
        }
      }
    }
  });
});

// ---- zlint, literally ------------------------------------------------------------------------

/** zcrypto's x509.KeyUsage bits: KEY_USAGES[n] is 1 << n. */
const bit = (u: KeyUsage) => 1 << KEY_USAGES.indexOf(u);
const mask = (us: readonly KeyUsage[]) => us.reduce((m, u) => m | bit(u), 0);
const TABLE = Object.fromEntries(
  EXTENDED_KEY_USAGES.map((e) => [e, CONSISTENT_KEY_USAGES[e].map(mask)]),
) as Record<ExtendedKeyUsage, number[]>;

/**
 * zlint v3 lint_key_usage_and_extended_key_usage_inconsistent.go Execute, line for line, with
 * Go's map iteration order made explicit: `orders[i]` is the order in which `range eku[e]`
 * meets the combinations of the i-th purpose.
 */
function zlintPasses(ku: number, ekus: ExtendedKeyUsage[], orders: number[][]): boolean {
  if (ekus.length <= 1) {
    // strictPurpose
    for (const e of ekus) if (!TABLE[e].includes(ku)) return false;
    return true;
  }
  // multiPurpose
  const mp = new Set<number>();
  ekus.forEach((_, p) => {
    let i = 0;
    for (const k of orders[p]!) {
      if (i > 0) for (const m of [...mp]) mp.add(m | k);
      mp.add(k);
      i++;
    }
  });
  return mp.has(ku);
}

/** A small deterministic PRNG, so a failure reproduces. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const shuffled = (xs: number[], rnd: () => number) => {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
};

/** Every map order that matters: each combination first (the rest shuffled), per purpose. */
function* mapOrders(ekus: ExtendedKeyUsage[], rnd: () => number): Generator<number[][]> {
  if (ekus.length === 0) {
    yield [];
    return;
  }
  const [head, ...tail] = ekus as [ExtendedKeyUsage, ...ExtendedKeyUsage[]];
  for (const rest of mapOrders(tail, rnd)) {
    for (const first of TABLE[head]) {
      const others = TABLE[head].filter((m) => m !== first);
      yield [[first, ...shuffled(others, rnd)], ...rest];
    }
  }
}

function* orderedLists(max: number): Generator<ExtendedKeyUsage[]> {
  const go = function* (prefix: ExtendedKeyUsage[]): Generator<ExtendedKeyUsage[]> {
    if (prefix.length > 0) yield prefix;
    if (prefix.length === max) return;
    for (const e of EXTENDED_KEY_USAGES) if (!prefix.includes(e)) yield* go([...prefix, e]);
  };
  yield* go([]);
}

describe("zlintConsistent mirrors zlint", () => {
  it("has zlint's table (v3, 2026-08): 5, 3, 1, 11, 3 and 3 combinations", () => {
    expect(EXTENDED_KEY_USAGES.map((e) => CONSISTENT_KEY_USAGES[e].length)).toEqual([
      5, 3, 1, 11, 3, 3,
    ]);
  });

  it("passes exactly what zlint passes in every map order (up to three purposes)", () => {
    // The bits zlint's table uses, and one it never allows (dataEncipherment).
    const bits: KeyUsage[] = [
      "DIGITAL_SIGNATURE",
      "CONTENT_COMMITMENT",
      "KEY_ENCIPHERMENT",
      "KEY_AGREEMENT",
      "DATA_ENCIPHERMENT",
    ];
    const rnd = prng(39);
    let passes = 0;
    let sometimes = 0;
    for (const ekus of orderedLists(3)) {
      const orders = [...mapOrders(ekus, rnd)];
      for (let m = 1; m < 1 << bits.length; m++) {
        const usages = bits.filter((_, i) => m & (1 << i));
        const results = orders.map((o) => zlintPasses(mask(usages), ekus, o));
        const always = results.every(Boolean);
        if (!always && results.some(Boolean)) sometimes++;
        if (always) passes++;
        expect({ ekus, usages, ok: zlintConsistent(usages, ekus) }).toEqual({
          ekus,
          usages,
          ok: always,
        });
      }
    }
    // The table lets some through, and zlint's own map order decides some others.
    expect(passes).toBeGreaterThan(0);
    expect(sometimes).toBeGreaterThan(0);
  });
});
