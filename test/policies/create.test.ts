import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CaCertificateRule,
  CertificatePolicyPreset as Preset,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import {
  ExtendedKeyUsage as Eku,
  KeyAlgorithm,
  KeyUsage as Ku,
  SignatureAlgorithm,
} from "../../gen/ts/certmint/v1/common";
import { compilePolicy, type PresetName, presetSpec } from "../../src/issuance/policy-engine";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { countRows, createPolicyRpc, DAY, days, policyMessage, policyRow } from "./helpers";

let h: TestCertmint;
beforeAll(async () => {
  h = await startTestCertmint();
});
afterAll(async () => {
  await h?.stop();
});

const emptyName = {
  allowed: [],
  denied: [],
  required: false,
  allowWildcardNames: false,
  allowSubAddresses: false,
};

describe("CreateCertificatePolicy from a preset", () => {
  const cases: Array<{
    preset: Preset;
    name: PresetName;
    keyUsages: { allowed: Ku[]; required: Ku[]; denied: Ku[] };
    extendedKeyUsages: { allowed: Eku[]; required: Eku[]; denied: Eku[] };
    sanTypes: string[];
    maxTtlDays: number;
    ca: CaCertificateRule;
    maxPathLength?: number;
    minRsaBits?: number;
  }> = [
    {
      preset: Preset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
      name: "TLS_SERVER",
      keyUsages: {
        allowed: [Ku.KEY_USAGE_DIGITAL_SIGNATURE, Ku.KEY_USAGE_KEY_ENCIPHERMENT],
        required: [Ku.KEY_USAGE_DIGITAL_SIGNATURE],
        denied: [],
      },
      extendedKeyUsages: {
        allowed: [Eku.EXTENDED_KEY_USAGE_SERVER_AUTH],
        required: [Eku.EXTENDED_KEY_USAGE_SERVER_AUTH],
        denied: [],
      },
      sanTypes: ["dns", "ip"],
      maxTtlDays: 90,
      ca: CaCertificateRule.CA_CERTIFICATE_RULE_DENIED,
    },
    {
      preset: Preset.CERTIFICATE_POLICY_PRESET_TLS_CLIENT,
      name: "TLS_CLIENT",
      keyUsages: {
        allowed: [Ku.KEY_USAGE_DIGITAL_SIGNATURE],
        required: [Ku.KEY_USAGE_DIGITAL_SIGNATURE],
        denied: [],
      },
      extendedKeyUsages: {
        allowed: [Eku.EXTENDED_KEY_USAGE_CLIENT_AUTH],
        required: [Eku.EXTENDED_KEY_USAGE_CLIENT_AUTH],
        denied: [],
      },
      sanTypes: ["dns", "email", "uri"],
      maxTtlDays: 90,
      ca: CaCertificateRule.CA_CERTIFICATE_RULE_DENIED,
    },
    {
      preset: Preset.CERTIFICATE_POLICY_PRESET_DUAL_PURPOSE_SERVER,
      name: "DUAL_PURPOSE_SERVER",
      keyUsages: {
        allowed: [Ku.KEY_USAGE_DIGITAL_SIGNATURE, Ku.KEY_USAGE_KEY_ENCIPHERMENT],
        required: [Ku.KEY_USAGE_DIGITAL_SIGNATURE],
        denied: [],
      },
      extendedKeyUsages: {
        allowed: [Eku.EXTENDED_KEY_USAGE_SERVER_AUTH, Eku.EXTENDED_KEY_USAGE_CLIENT_AUTH],
        required: [Eku.EXTENDED_KEY_USAGE_SERVER_AUTH, Eku.EXTENDED_KEY_USAGE_CLIENT_AUTH],
        denied: [],
      },
      sanTypes: ["dns", "ip", "uri"],
      maxTtlDays: 90,
      ca: CaCertificateRule.CA_CERTIFICATE_RULE_DENIED,
    },
    {
      preset: Preset.CERTIFICATE_POLICY_PRESET_CODE_SIGNING,
      name: "CODE_SIGNING",
      keyUsages: {
        allowed: [Ku.KEY_USAGE_DIGITAL_SIGNATURE],
        required: [Ku.KEY_USAGE_DIGITAL_SIGNATURE],
        denied: [],
      },
      extendedKeyUsages: {
        allowed: [Eku.EXTENDED_KEY_USAGE_CODE_SIGNING],
        required: [Eku.EXTENDED_KEY_USAGE_CODE_SIGNING],
        denied: [],
      },
      sanTypes: [],
      maxTtlDays: 365,
      ca: CaCertificateRule.CA_CERTIFICATE_RULE_DENIED,
      minRsaBits: 3072,
    },
    {
      preset: Preset.CERTIFICATE_POLICY_PRESET_EMAIL_PROTECTION,
      name: "EMAIL_PROTECTION",
      keyUsages: {
        allowed: [Ku.KEY_USAGE_DIGITAL_SIGNATURE, Ku.KEY_USAGE_KEY_ENCIPHERMENT],
        required: [Ku.KEY_USAGE_DIGITAL_SIGNATURE],
        denied: [],
      },
      extendedKeyUsages: {
        allowed: [Eku.EXTENDED_KEY_USAGE_EMAIL_PROTECTION],
        required: [Eku.EXTENDED_KEY_USAGE_EMAIL_PROTECTION],
        denied: [],
      },
      sanTypes: ["email"],
      maxTtlDays: 365,
      ca: CaCertificateRule.CA_CERTIFICATE_RULE_DENIED,
    },
    {
      preset: Preset.CERTIFICATE_POLICY_PRESET_INTERMEDIATE_CA,
      name: "INTERMEDIATE_CA",
      keyUsages: {
        allowed: [
          Ku.KEY_USAGE_KEY_CERT_SIGN,
          Ku.KEY_USAGE_CRL_SIGN,
          Ku.KEY_USAGE_DIGITAL_SIGNATURE,
        ],
        required: [
          Ku.KEY_USAGE_DIGITAL_SIGNATURE,
          Ku.KEY_USAGE_KEY_CERT_SIGN,
          Ku.KEY_USAGE_CRL_SIGN,
        ],
        denied: [],
      },
      extendedKeyUsages: {
        allowed: [],
        required: [],
        denied: [Eku.EXTENDED_KEY_USAGE_OCSP_SIGNING],
      },
      sanTypes: [],
      maxTtlDays: 1826,
      ca: CaCertificateRule.CA_CERTIFICATE_RULE_REQUIRED,
      maxPathLength: 0,
    },
  ];

  it.each(cases)("$name fills every rule field and stores the compiled spec", async (c) => {
    const slug = `preset-${c.name.toLowerCase().replace(/_/g, "-")}`;
    const p = await createPolicyRpc(h, { slug, description: c.name }, c.preset);
    expect(p).toMatchObject({
      slug,
      description: c.name,
      subjectRules: {},
      keyUsages: c.keyUsages,
      extendedKeyUsages: c.extendedKeyUsages,
      keyAlgorithms: { allowed: [], minRsaBits: c.minRsaBits ?? 0 },
      signatureAlgorithms: { allowed: [] },
      maxTtl: days(c.maxTtlDays),
      basicConstraints: { ca: c.ca, maxPathLength: c.maxPathLength },
      etag: '"1"',
    });
    const setSanTypes = Object.entries(p.sanRules ?? {}).filter(([, rule]) => rule !== undefined);
    expect(setSanTypes.map(([type]) => type).sort()).toEqual([...c.sanTypes].sort());
    // Preset SAN slots allow nothing until names are filled in (fail closed).
    for (const type of c.sanTypes) {
      expect(p.sanRules?.[type as "dns"]).toMatchObject({ allowed: [], denied: [] });
    }
    const row = await policyRow(h, slug);
    expect(row?.spec).toEqual(compilePolicy(presetSpec(c.name)).spec);
    expect(row?.version).toBe(1);
  });

  it("EMAIL_PROTECTION requires an email SAN", async () => {
    const p = await call(h.policies, "getCertificatePolicy", {
      certificatePolicy: "preset-email-protection",
    });
    expect(p.certificatePolicy?.sanRules?.email).toEqual({ ...emptyName, required: true });
  });
});

describe("CreateCertificatePolicy with explicit rules", () => {
  it("stores every rule, names normalised to their canonical form", async () => {
    const p = await createPolicyRpc(h, {
      slug: "explicit",
      description: "payments mTLS",
      subjectRules: {
        commonName: { allowed: ["*.payments.example.com"], required: true },
        organization: { allowed: ["Example Corp"], denied: ["Evil*"] },
      },
      sanRules: {
        dns: {
          allowed: ["**.Payments.Example.COM."],
          denied: ["admin.payments.example.com"],
          allowWildcardNames: true,
        },
        ip: { allowed: ["10.20.0.0/16", "2001:DB8::/32"] },
        uri: { allowed: ["spiffe://prod.example/ns/payments/*"], required: true },
        email: { allowed: ["@bücher.example"] },
      },
      keyUsages: {
        allowed: [Ku.KEY_USAGE_DIGITAL_SIGNATURE],
        required: [Ku.KEY_USAGE_DIGITAL_SIGNATURE],
      },
      extendedKeyUsages: {
        allowed: [Eku.EXTENDED_KEY_USAGE_SERVER_AUTH, Eku.EXTENDED_KEY_USAGE_CLIENT_AUTH],
        denied: [Eku.EXTENDED_KEY_USAGE_CODE_SIGNING],
      },
      keyAlgorithms: {
        allowed: [KeyAlgorithm.KEY_ALGORITHM_EC_P256, KeyAlgorithm.KEY_ALGORITHM_RSA_3072],
        minRsaBits: 3072,
      },
      signatureAlgorithms: { allowed: [SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_WITH_SHA256] },
      maxTtl: { seconds: String(7 * DAY), nanos: 0 },
      basicConstraints: { ca: CaCertificateRule.CA_CERTIFICATE_RULE_UNSPECIFIED },
    });
    expect(p.sanRules).toEqual({
      dns: {
        allowed: ["**.payments.example.com"],
        denied: ["admin.payments.example.com"],
        required: false,
        allowWildcardNames: true,
        allowSubAddresses: false,
      },
      ip: { ...emptyName, allowed: ["10.20.0.0/16", "2001:db8::/32"] },
      uri: { ...emptyName, allowed: ["spiffe://prod.example/ns/payments/*"], required: true },
      email: { ...emptyName, allowed: ["@xn--bcher-kva.example"] },
    });
    expect(p.subjectRules).toEqual({
      commonName: { allowed: ["*.payments.example.com"], denied: [], required: true },
      organization: { allowed: ["Example Corp"], denied: ["Evil*"], required: false },
    });
    expect(p.keyAlgorithms).toEqual({
      allowed: [KeyAlgorithm.KEY_ALGORITHM_EC_P256, KeyAlgorithm.KEY_ALGORITHM_RSA_3072],
      minRsaBits: 3072,
    });
    // CaCertificateRule UNSPECIFIED is stored as DENIED.
    expect(p.basicConstraints).toEqual({ ca: CaCertificateRule.CA_CERTIFICATE_RULE_DENIED });
    expect(p.maxTtl).toEqual(days(7));
    const row = await policyRow(h, "explicit");
    expect(row?.spec).toMatchObject({
      maxTtlSeconds: 7 * DAY,
      basicConstraints: { ca: "DENIED" },
      extendedKeyUsages: {
        allowed: ["SERVER_AUTH", "CLIENT_AUTH"],
        required: [],
        denied: ["CODE_SIGNING"],
      },
    });
  });

  it("leaves unset rule fields at their proto defaults without a preset", async () => {
    const p = await createPolicyRpc(h, { slug: "minimal", maxTtl: days(1) });
    expect(p).toMatchObject({
      subjectRules: {},
      sanRules: {},
      keyUsages: { allowed: [], required: [], denied: [] },
      extendedKeyUsages: { allowed: [], required: [], denied: [] },
      keyAlgorithms: { allowed: [], minRsaBits: 0 },
      basicConstraints: { ca: CaCertificateRule.CA_CERTIFICATE_RULE_DENIED },
    });
  });
});

describe("CreateCertificatePolicy with a preset and overrides", () => {
  it("replaces the fields the request sets and keeps the preset's others", async () => {
    const p = await createPolicyRpc(
      h,
      {
        slug: "web-override",
        sanRules: { dns: { allowed: ["**.example.com"] } },
        maxTtl: days(7),
      },
      Preset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
    );
    expect(p.sanRules).toEqual({
      dns: { ...emptyName, allowed: ["**.example.com"] },
      ip: emptyName, // the preset's slot: san_rules.ip was left unset
    });
    expect(p.maxTtl).toEqual(days(7));
    expect(p.keyUsages?.required).toEqual([Ku.KEY_USAGE_DIGITAL_SIGNATURE]);
    expect(p.extendedKeyUsages?.required).toEqual([Eku.EXTENDED_KEY_USAGE_SERVER_AUTH]);
  });

  it("replaces a set message field whole: an email rule without required drops the preset's", async () => {
    const p = await createPolicyRpc(
      h,
      { slug: "smime-optional", sanRules: { email: { allowed: ["@example.com"] } } },
      Preset.CERTIFICATE_POLICY_PRESET_EMAIL_PROTECTION,
    );
    expect(p.sanRules?.email).toEqual({ ...emptyName, allowed: ["@example.com"] });
    expect(p.maxTtl).toEqual(days(365));
  });
});

describe("CreateCertificatePolicy refusals", () => {
  it("reports every malformed rule at once, on the request's proto field paths", async () => {
    const before = await countRows(h, "certificate_policy");
    const err = await expectRpcError(
      createPolicyRpc(h, {
        slug: "malformed",
        subjectRules: { commonName: { allowed: ["a"], denied: ["*"], required: true } },
        sanRules: {
          dns: { allowed: ["ok.example.com", "bad..name", "f*o.example.com"] },
          ip: { allowed: ["10.0.0.1/8"], allowWildcardNames: true },
        },
        keyUsages: {
          allowed: [Ku.KEY_USAGE_DIGITAL_SIGNATURE],
          required: [Ku.KEY_USAGE_KEY_ENCIPHERMENT],
          denied: [Ku.KEY_USAGE_UNSPECIFIED],
        },
        extendedKeyUsages: { allowed: [99 as Eku] },
        keyAlgorithms: { minRsaBits: 1024 },
        maxTtl: { seconds: "10", nanos: 5 },
        basicConstraints: { ca: CaCertificateRule.CA_CERTIFICATE_RULE_DENIED, maxPathLength: 2 },
      }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.reason).toBe("POLICY_INVALID");
    expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_policy.subject_rules.common_name.required", "POLICY_CONTRADICTION"],
      ["certificate_policy.san_rules.dns.allowed[1]", "POLICY_PATTERN_INVALID"],
      ["certificate_policy.san_rules.dns.allowed[2]", "POLICY_PATTERN_INVALID"],
      ["certificate_policy.san_rules.ip.allowed[0]", "POLICY_PATTERN_INVALID"],
      ["certificate_policy.san_rules.ip.allow_wildcard_names", "POLICY_FIELD_INVALID"],
      ["certificate_policy.key_usages.denied[0]", "POLICY_FIELD_INVALID"],
      ["certificate_policy.key_usages.required[0]", "POLICY_CONTRADICTION"],
      ["certificate_policy.extended_key_usages.allowed[0]", "POLICY_FIELD_INVALID"],
      ["certificate_policy.key_algorithms.min_rsa_bits", "POLICY_FIELD_INVALID"],
      ["certificate_policy.max_ttl", "POLICY_FIELD_INVALID"],
      ["certificate_policy.basic_constraints.max_path_length", "POLICY_CONTRADICTION"],
    ]);
    expect(err.violations.find((v) => v.field.endsWith("ip.allowed[0]"))?.description).toContain(
      'did you mean "10.0.0.0/8"',
    );
    expect(err.violations.find((v) => v.field.endsWith("max_ttl"))?.description).toBe(
      "must be a positive whole number of seconds",
    );
    expect(await countRows(h, "certificate_policy")).toBe(before);
  });

  it("requires max_ttl when no preset gives one", async () => {
    const err = await expectRpcError(createPolicyRpc(h, { slug: "no-ttl" }));
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "POLICY_INVALID" });
    expect(err.violations).toEqual([
      {
        field: "certificate_policy.max_ttl",
        reason: "POLICY_FIELD_MISSING",
        description: "is required",
      },
    ]);
    expect(await countRows(h, "certificate_policy", "slug = 'no-ttl'")).toBe(0);
  });

  it("refuses a max_ttl past google.protobuf.Duration's range (no certificate could end there)", async () => {
    // The last two: nanos past its range, which until 2026-12-05 was added as seconds (62 s).
    for (const [seconds, nanos] of [
      ["315576000001", 0],
      ["9007199254740991", 0],
      ["60", 2_000_000_000],
      ["60", -2_000_000_000],
    ] as const) {
      const err = await expectRpcError(
        createPolicyRpc(h, { slug: "forever", maxTtl: { seconds, nanos } }),
      );
      expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "POLICY_INVALID" });
      expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
        ["certificate_policy.max_ttl", "POLICY_FIELD_INVALID"],
      ]);
    }
    expect(await countRows(h, "certificate_policy", "slug = 'forever'")).toBe(0);
    // The longest valid Duration is accepted (issuance then shortens or refuses per request).
    const p = await createPolicyRpc(h, {
      slug: "forever",
      maxTtl: { seconds: "315576000000", nanos: 0 },
    });
    expect(p.maxTtl).toEqual({ seconds: "315576000000", nanos: 0 });
  });

  it("refuses a preset that leads to a contradiction with the request's fields", async () => {
    // INTERMEDIATE_CA requires KEY_CERT_SIGN; basic_constraints DENIED contradicts it.
    const err = await expectRpcError(
      createPolicyRpc(
        h,
        {
          slug: "ca-denied",
          basicConstraints: { ca: CaCertificateRule.CA_CERTIFICATE_RULE_DENIED },
        },
        Preset.CERTIFICATE_POLICY_PRESET_INTERMEDIATE_CA,
      ),
    );
    expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_policy.basic_constraints.ca", "POLICY_CONTRADICTION"],
    ]);
  });

  it("refuses an invalid slug and an unknown preset", async () => {
    const before = await countRows(h, "certificate_policy");
    const slugErr = await expectRpcError(createPolicyRpc(h, { slug: "Bad_Slug", maxTtl: days(1) }));
    expect(slugErr).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "SLUG_INVALID" });
    expect(slugErr.violations.map((v) => v.field)).toEqual(["certificate_policy.slug"]);
    const presetErr = await expectRpcError(
      createPolicyRpc(h, { slug: "odd-preset", maxTtl: days(1) }, 42 as Preset),
    );
    expect(presetErr).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: "ENUM_VALUE_UNKNOWN",
    });
    expect(presetErr.violations.map((v) => v.field)).toEqual(["preset"]);
    expect(await countRows(h, "certificate_policy")).toBe(before);
  });

  it("refuses a taken slug with ALREADY_EXISTS and writes no second row", async () => {
    await createPolicyRpc(h, { slug: "taken", maxTtl: days(1) });
    const err = await expectRpcError(createPolicyRpc(h, { slug: "taken", maxTtl: days(2) }));
    expect(err).toMatchObject({
      code: status.ALREADY_EXISTS,
      reason: "CERTIFICATE_POLICY_SLUG_TAKEN",
    });
    expect(await countRows(h, "certificate_policy", "slug = 'taken'")).toBe(1);
    expect((await policyRow(h, "taken"))?.spec).toMatchObject({ maxTtlSeconds: DAY });
  });

  it("lets exactly one of two racing creates of a slug win", async () => {
    const attempts = await Promise.allSettled(
      [1, 2, 3].map((n) => createPolicyRpc(h, { slug: "raced", maxTtl: days(n) })),
    );
    expect(attempts.filter((a) => a.status === "fulfilled")).toHaveLength(1);
    expect(await countRows(h, "certificate_policy", "slug = 'raced'")).toBe(1);
  });

  it("ignores id, etag and timestamps given on create", async () => {
    const p = await createPolicyRpc(h, {
      slug: "ignored-fields",
      id: "00000000-0000-0000-0000-000000000000",
      etag: '"9"',
      maxTtl: days(1),
    });
    expect(p.id).not.toBe("00000000-0000-0000-0000-000000000000");
    expect(p.etag).toBe('"1"');
    void policyMessage;
  });
});
