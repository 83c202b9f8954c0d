/** Shared builders for the policy tests: a rich base policy and a request that conforms to it. */

import type { PolicyRequest, PolicySpec } from "../../../src/issuance/policy-engine";

const DAY = 86_400;

export const baseSpec = (): PolicySpec => ({
  subject: {
    COMMON_NAME: {
      allowed: ["*.example.com", "Payments API"],
      denied: ["*.internal.example.com"],
      required: false,
    },
    ORGANIZATION: { allowed: ["Example Corp"], denied: [], required: true },
    ORGANIZATIONAL_UNIT: { allowed: ["*"], denied: ["Security*"], required: false },
    COUNTRY: { allowed: ["DE", "US"], denied: [], required: false },
  },
  sans: {
    dns: {
      allowed: [
        "api.example.com",
        "*.svc.example.com",
        "**.apps.example.com",
        "bücher.example",
        "*.xn--caf-dma.example",
      ],
      denied: ["admin.svc.example.com", "**.secret.apps.example.com"],
      required: false,
      allowWildcardNames: true,
    },
    ip: {
      allowed: ["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32"],
      denied: ["10.0.0.0/24", "2001:db8:dead::/48"],
      required: false,
    },
    email: {
      allowed: ["@example.com", "alice@partner.example", "@**.corp.example"],
      denied: ["root@example.com"],
      required: false,
    },
    uri: {
      allowed: [
        "spiffe://prod.example/ns/payments/*",
        "https://**.example.com/*",
        "https://api.example.com",
      ],
      denied: ["spiffe://prod.example/ns/payments/sa/admin", "https://admin.example.com/*"],
      required: false,
    },
  },
  keyUsages: {
    allowed: ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"],
    required: ["DIGITAL_SIGNATURE"],
    denied: ["CONTENT_COMMITMENT"],
  },
  extendedKeyUsages: {
    allowed: ["SERVER_AUTH", "CLIENT_AUTH"],
    required: ["SERVER_AUTH"],
    denied: ["CODE_SIGNING"],
  },
  keyAlgorithms: { allowed: ["EC_P256", "RSA_2048", "RSA_3072"], minRsaBits: 3072 },
  signatureAlgorithms: { allowed: ["ECDSA_WITH_SHA256", "SHA256_WITH_RSA"] },
  maxTtlSeconds: 30 * DAY,
  basicConstraints: { ca: "DENIED" },
});

/** The base policy turned into one that may issue CA certificates with path length <= 1. */
export const caSpec = (ca: "ALLOWED" | "REQUIRED" = "ALLOWED"): PolicySpec => {
  const s = baseSpec();
  s.keyUsages = {
    allowed: ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"],
    required: ["DIGITAL_SIGNATURE"],
    denied: [],
  };
  s.basicConstraints = { ca, maxPathLength: 1 };
  return s;
};

export const baseRequest = (): PolicyRequest => ({
  subject: { attributes: [{ type: "ORGANIZATION", value: "Example Corp" }] },
  sans: { dns: ["api.example.com"], ip: [], email: [], uri: [] },
  keyAlgorithm: "EC_P256",
  signatureAlgorithm: "ECDSA_WITH_SHA256",
  keyUsages: ["DIGITAL_SIGNATURE"],
  extendedKeyUsages: ["SERVER_AUTH"],
  ttlSeconds: 3600,
  isCa: false,
});

/** "field REASON" pairs, the form the tables assert on. */
export const brief = (vs: Array<{ field: string; reason?: string }>) =>
  vs.map((v) => `${v.field} ${v.reason}`);
