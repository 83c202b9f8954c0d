import { describe, expect, it } from "vitest";
import {
  compilePolicy,
  defaultUsagesFor,
  evaluate,
  type PolicyRequest,
  PRESET_NAMES,
  type PresetName,
  presetSpec,
} from "../../../src/issuance/policy-engine";
import { brief } from "./fixtures";

/** A request that conforms to each preset once its name slots are filled in. */
const conforming: Record<PresetName, PolicyRequest> = {
  TLS_SERVER: {
    subject: { attributes: [] },
    sans: { dns: ["api.svc.example.com"], ip: ["10.1.2.3"], email: [], uri: [] },
    keyAlgorithm: "RSA_2048",
    signatureAlgorithm: "SHA256_WITH_RSA",
    keyUsages: ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"],
    extendedKeyUsages: ["SERVER_AUTH"],
    ttlSeconds: 90 * 86_400,
    isCa: false,
  },
  TLS_CLIENT: {
    subject: { attributes: [] },
    sans: { dns: [], ip: [], email: [], uri: ["spiffe://prod.example/ns/a/sa/b"] },
    keyAlgorithm: "EC_P256",
    signatureAlgorithm: "ECDSA_WITH_SHA256",
    keyUsages: ["DIGITAL_SIGNATURE"],
    extendedKeyUsages: ["CLIENT_AUTH"],
    ttlSeconds: 86_400,
    isCa: false,
  },
  DUAL_PURPOSE_SERVER: {
    subject: { attributes: [] },
    sans: {
      dns: ["api.svc.example.com"],
      ip: [],
      email: [],
      uri: ["spiffe://prod.example/ns/a/sa/b"],
    },
    keyAlgorithm: "ED25519",
    signatureAlgorithm: "ED25519",
    keyUsages: ["DIGITAL_SIGNATURE"],
    extendedKeyUsages: ["SERVER_AUTH", "CLIENT_AUTH"],
    ttlSeconds: 86_400,
    isCa: false,
  },
  CODE_SIGNING: {
    subject: { attributes: [{ type: "COMMON_NAME", value: "Example Release Signing" }] },
    sans: { dns: [], ip: [], email: [], uri: [] },
    keyAlgorithm: "RSA_3072",
    signatureAlgorithm: "SHA384_WITH_RSA",
    keyUsages: ["DIGITAL_SIGNATURE"],
    extendedKeyUsages: ["CODE_SIGNING"],
    ttlSeconds: 365 * 86_400,
    isCa: false,
  },
  EMAIL_PROTECTION: {
    subject: { attributes: [] },
    sans: { dns: [], ip: [], email: ["alice@example.com"], uri: [] },
    keyAlgorithm: "RSA_2048",
    signatureAlgorithm: "SHA256_WITH_RSA",
    keyUsages: ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"],
    extendedKeyUsages: ["EMAIL_PROTECTION"],
    ttlSeconds: 365 * 86_400,
    isCa: false,
  },
  INTERMEDIATE_CA: {
    subject: { attributes: [{ type: "COMMON_NAME", value: "Example Issuing CA 1" }] },
    sans: { dns: [], ip: [], email: [], uri: [] },
    keyAlgorithm: "EC_P384",
    signatureAlgorithm: "ECDSA_WITH_SHA384",
    keyUsages: ["KEY_CERT_SIGN", "CRL_SIGN", "DIGITAL_SIGNATURE"],
    extendedKeyUsages: [],
    ttlSeconds: 1826 * 86_400,
    pathLength: 0,
    isCa: true,
  },
};

/** The preset with names filled in the way an operator would. */
function filled(name: PresetName) {
  const spec = presetSpec(name);
  if (spec.sans.dns) spec.sans.dns.allowed = ["*.svc.example.com"];
  if (spec.sans.ip) spec.sans.ip.allowed = ["10.0.0.0/8"];
  if (spec.sans.email) spec.sans.email.allowed = ["@example.com"];
  if (spec.sans.uri) spec.sans.uri.allowed = ["spiffe://prod.example/*"];
  if (name === "CODE_SIGNING" || name === "INTERMEDIATE_CA") {
    spec.subject.COMMON_NAME = { allowed: ["Example *"], denied: [], required: true };
  }
  return spec;
}

const clone = (r: PolicyRequest) => structuredClone(r);

describe("presets", () => {
  it.each(PRESET_NAMES)("%s compiles as is", (name) => {
    expect(() => compilePolicy(presetSpec(name))).not.toThrow();
  });

  it.each(PRESET_NAMES)("%s accepts a conforming request once names are filled in", (name) => {
    expect(evaluate(compilePolicy(filled(name)), conforming[name])).toEqual([]);
  });

  it.each(PRESET_NAMES)("%s alone allows no names or subject (fails closed)", (name) => {
    const reasons = evaluate(compilePolicy(presetSpec(name)), conforming[name]).map(
      (v) => v.reason,
    );
    expect(reasons.length).toBeGreaterThan(0);
    expect(reasons.every((r) => r === "SAN_NOT_ALLOWED" || r === "SUBJECT_NOT_ALLOWED")).toBe(true);
  });

  it.each(PRESET_NAMES)("%s catches a request missing its required usages", (name) => {
    const request = clone(conforming[name]);
    request.keyUsages = [];
    request.extendedKeyUsages = [];
    const policy = compilePolicy(filled(name));
    const required = defaultUsagesFor(policy);
    expect(brief(evaluate(policy, request))).toEqual([
      ...required.keyUsages.map(() => "key_usages KEY_USAGE_REQUIRED"),
      ...required.extendedKeyUsages.map(() => "extended_key_usages EXTENDED_KEY_USAGE_REQUIRED"),
    ]);
  });

  it("defaultUsagesFor gives the required usages, which conform", () => {
    expect(defaultUsagesFor(compilePolicy(presetSpec("TLS_SERVER")))).toEqual({
      keyUsages: ["DIGITAL_SIGNATURE"],
      extendedKeyUsages: ["SERVER_AUTH"],
    });
    expect(defaultUsagesFor(compilePolicy(presetSpec("INTERMEDIATE_CA")))).toEqual({
      keyUsages: ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"],
      extendedKeyUsages: [],
    });
    for (const name of PRESET_NAMES) {
      const policy = compilePolicy(filled(name));
      const request = { ...clone(conforming[name]), ...defaultUsagesFor(policy) };
      expect(evaluate(policy, request)).toEqual([]);
    }
  });

  it("TLS server: keyEncipherment only for RSA keys, no wildcards, 90 days", () => {
    const policy = compilePolicy(filled("TLS_SERVER"));
    const request = clone(conforming.TLS_SERVER);
    request.keyAlgorithm = "EC_P256";
    request.signatureAlgorithm = "ECDSA_WITH_SHA256";
    request.sans.dns = ["*.svc.example.com"];
    request.ttlSeconds = 90 * 86_400 + 1;
    expect(brief(evaluate(policy, request))).toEqual([
      "sans.dns_names[0] WILDCARD_NOT_ALLOWED",
      "key_usages[1] KEY_USAGE_INCONSISTENT",
      "ttl TTL_EXCEEDS_MAX",
    ]);
  });

  it("email protection requires an email SAN", () => {
    const request = clone(conforming.EMAIL_PROTECTION);
    request.sans.email = [];
    request.subject.attributes = [];
    request.sans.dns = [];
    expect(brief(evaluate(compilePolicy(filled("EMAIL_PROTECTION")), request))).toEqual([
      "sans.email_addresses SAN_REQUIRED",
      "subject SUBJECT_EMPTY",
    ]);
  });

  it("code signing needs RSA >= 3072", () => {
    const request = clone(conforming.CODE_SIGNING);
    request.keyAlgorithm = "RSA_2048";
    expect(brief(evaluate(compilePolicy(filled("CODE_SIGNING")), request))).toEqual([
      "key_algorithm RSA_KEY_TOO_SMALL",
    ]);
  });

  it("intermediate CA: CA required, path length 0, no OCSP signing", () => {
    const request = clone(conforming.INTERMEDIATE_CA);
    request.pathLength = 1;
    request.extendedKeyUsages = ["OCSP_SIGNING"];
    expect(brief(evaluate(compilePolicy(filled("INTERMEDIATE_CA")), request))).toEqual([
      "extended_key_usages[0] EXTENDED_KEY_USAGE_DENIED",
      "path_length PATH_LENGTH_EXCEEDS_MAX",
    ]);
    const leaf = clone(conforming.INTERMEDIATE_CA);
    leaf.isCa = false;
    leaf.pathLength = undefined;
    leaf.keyUsages = ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"];
    expect(brief(evaluate(compilePolicy(filled("INTERMEDIATE_CA")), leaf))).toEqual([
      "key_usages[1] KEY_USAGE_INCONSISTENT",
      "is_ca CA_REQUIRED",
    ]);
  });

  it("returns a fresh copy each time", () => {
    const a = presetSpec("TLS_SERVER");
    a.keyUsages.required.push("KEY_AGREEMENT");
    expect(presetSpec("TLS_SERVER").keyUsages.required).toEqual(["DIGITAL_SIGNATURE"]);
  });

  it("rejects an unknown preset name", () => {
    expect(() => presetSpec("ROOT_CA" as PresetName)).toThrow(/Unknown policy preset/);
  });
});
