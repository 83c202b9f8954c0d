import { describe, expect, it } from "vitest";
import {
  compilePolicy,
  evaluate,
  type PolicyRequest,
  type PolicySpec,
} from "../../../src/issuance/policy-engine";
import type { SubjectAttribute } from "../../../src/model/pki";
import { baseRequest, baseSpec, brief, caSpec } from "./fixtures";

interface Case {
  name: string;
  spec?: PolicySpec | ((s: PolicySpec) => void);
  req: (r: PolicyRequest) => void;
  expect: string[];
}

const dns =
  (...names: string[]) =>
  (r: PolicyRequest) => {
    r.sans.dns = names;
  };
const ip =
  (...names: string[]) =>
  (r: PolicyRequest) => {
    r.sans.ip = names;
  };
const email =
  (...names: string[]) =>
  (r: PolicyRequest) => {
    r.sans.email = names;
  };
const uri =
  (...names: string[]) =>
  (r: PolicyRequest) => {
    r.sans.uri = names;
  };
const subject =
  (...attrs: Array<[SubjectAttribute, string]>) =>
  (r: PolicyRequest) => {
    r.subject.attributes = attrs.map(([type, value]) => ({ type, value }));
  };
const withO = (...attrs: Array<[SubjectAttribute, string]>) =>
  subject(["ORGANIZATION", "Example Corp"], ...attrs);
const noWildcards = (s: PolicySpec) => {
  s.sans.dns!.allowWildcardNames = false;
};
const D = (i: number) => `sans.dns_names[${i}]`;
const I = (i: number) => `sans.ip_addresses[${i}]`;
const E = (i: number) => `sans.email_addresses[${i}]`;
const U = (i: number) => `sans.uris[${i}]`;

const cases: Case[] = [
  { name: "conforming base request", req: () => {}, expect: [] },

  // DNS: exact, one label, many labels, boundaries.
  { name: "dns: case and trailing dot normalised", req: dns("API.Example.COM."), expect: [] },
  {
    name: "dns: name outside every pattern",
    req: dns("www.example.com"),
    expect: [`${D(0)} SAN_NOT_ALLOWED`],
  },
  { name: "dns: *.x matches one label", req: dns("a.svc.example.com"), expect: [] },
  {
    name: "dns: *.x does not match two labels",
    req: dns("a.b.svc.example.com"),
    expect: [`${D(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "dns: *.x does not match its base",
    req: dns("svc.example.com"),
    expect: [`${D(0)} SAN_NOT_ALLOWED`],
  },
  { name: "dns: **.x matches one label", req: dns("x.apps.example.com"), expect: [] },
  { name: "dns: **.x matches many labels", req: dns("x.y.z.apps.example.com"), expect: [] },
  {
    name: "dns: **.x does not match its base",
    req: dns("apps.example.com"),
    expect: [`${D(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "dns: label boundary (xapps is not apps)",
    req: dns("a.xapps.example.com"),
    expect: [`${D(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "dns: suffix trick",
    req: dns("api.example.com.evil.net"),
    expect: [`${D(0)} SAN_NOT_ALLOWED`],
  },
  { name: "dns: exact deny", req: dns("admin.svc.example.com"), expect: [`${D(0)} SAN_DENIED`] },
  {
    name: "dns: deny survives case and trailing dot",
    req: dns("ADMIN.Svc.Example.com."),
    expect: [`${D(0)} SAN_DENIED`],
  },
  {
    name: "dns: ** deny below",
    req: dns("db.secret.apps.example.com"),
    expect: [`${D(0)} SAN_DENIED`],
  },
  { name: "dns: ** deny excludes its base", req: dns("secret.apps.example.com"), expect: [] },
  // Internationalised names.
  { name: "idn: U-label request, U-label pattern", req: dns("bücher.example"), expect: [] },
  { name: "idn: upper-case U-label request", req: dns("BÜCHER.example"), expect: [] },
  { name: "idn: A-label request, U-label pattern", req: dns("xn--bcher-kva.example"), expect: [] },
  { name: "idn: U-label request, A-label pattern", req: dns("menu.café.example"), expect: [] },
  {
    name: "idn: lookalike is another name",
    req: dns("bucher.example"),
    expect: [`${D(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "idn: fake A-label invalid",
    req: dns("xn--abc.example"),
    expect: [`${D(0)} SAN_INVALID`],
  },
  // Invalid names.
  {
    name: "dns: wildcard over one label invalid",
    req: dns("*.com"),
    expect: [`${D(0)} SAN_INVALID`],
  },
  {
    name: "dns: underscore invalid",
    req: dns("a_b.svc.example.com"),
    expect: [`${D(0)} SAN_INVALID`],
  },
  {
    name: "dns: empty label invalid",
    req: dns("a..svc.example.com"),
    expect: [`${D(0)} SAN_INVALID`],
  },
  {
    name: "dns: label over 63 invalid",
    req: dns(`${"a".repeat(64)}.svc.example.com`),
    expect: [`${D(0)} SAN_INVALID`],
  },
  { name: "dns: 63-octet label valid", req: dns(`${"a".repeat(63)}.svc.example.com`), expect: [] },
  {
    name: "dns: reserved -- label invalid",
    req: dns("ab--cd.svc.example.com"),
    expect: [`${D(0)} SAN_INVALID`],
  },
  {
    name: "dns: IP address as DNS name invalid",
    req: dns("10.0.0.1"),
    expect: [`${D(0)} SAN_INVALID`],
  },
  {
    name: "dns: slash cannot truncate the name",
    req: dns("api.example.com/evil.net"),
    expect: [`${D(0)} SAN_INVALID`],
  },
  // Requested wildcard names.
  { name: "wildcard: covered by **.x", req: dns("*.x.apps.example.com"), expect: [] },
  { name: "wildcard: covered by **.x at its base", req: dns("*.apps.example.com"), expect: [] },
  {
    name: "wildcard: covered by *.x but intersects an exact deny",
    req: dns("*.svc.example.com"),
    expect: [`${D(0)} SAN_DENIED`],
  },
  {
    name: "wildcard: exact pattern never covers",
    req: dns("*.example.com"),
    expect: [`${D(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "wildcard: inside a ** deny",
    req: dns("*.secret.apps.example.com"),
    expect: [`${D(0)} SAN_DENIED`],
  },
  {
    name: "wildcard: not allowed by the rule",
    spec: noWildcards,
    req: dns("*.x.apps.example.com"),
    expect: [`${D(0)} WILDCARD_NOT_ALLOWED`],
  },
  {
    name: "wildcard: not allowed and not covered",
    spec: noWildcards,
    req: dns("*.example.com"),
    expect: [`${D(0)} WILDCARD_NOT_ALLOWED`, `${D(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "wildcard: partial label invalid",
    req: dns("f*o.svc.example.com"),
    expect: [`${D(0)} SAN_INVALID`],
  },
  {
    name: "wildcard: inner label invalid",
    req: dns("a.*.example.com"),
    expect: [`${D(0)} SAN_INVALID`],
  },
  {
    name: "wildcard: ** request invalid",
    req: dns("**.apps.example.com"),
    expect: [`${D(0)} SAN_INVALID`],
  },
  // Missing, empty and catch-all rules.
  {
    name: "dns required but only an IP given",
    spec: (s) => {
      s.sans.dns!.required = true;
    },
    req: (r) => {
      r.sans.dns = [];
      r.sans.ip = ["10.1.2.3"];
    },
    expect: ["sans.dns_names SAN_REQUIRED"],
  },
  {
    name: "SAN type without a rule allows nothing",
    spec: (s) => {
      delete s.sans.uri;
    },
    req: uri("spiffe://prod.example/ns/payments/sa/api"),
    expect: [`${U(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "empty allowed list allows nothing",
    spec: (s) => {
      s.sans.ip!.allowed = [];
    },
    req: ip("10.1.2.3"),
    expect: [`${I(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "explicit ** catch-all still loses to deny",
    spec: (s) => {
      s.sans.dns = { allowed: ["**"], denied: ["evil.com", "**.evil.com"], required: false };
    },
    req: dns("good.org", "evil.com", "a.b.evil.com", "EVIL.com."),
    expect: [`${D(1)} SAN_DENIED`, `${D(2)} SAN_DENIED`, `${D(3)} SAN_DENIED`],
  },

  // IP addresses and CIDR edges.
  { name: "ip: inside 10/8", req: ip("10.1.2.3"), expect: [] },
  { name: "ip: first address of denied /24", req: ip("10.0.0.0"), expect: [`${I(0)} SAN_DENIED`] },
  { name: "ip: last address of denied /24", req: ip("10.0.0.255"), expect: [`${I(0)} SAN_DENIED`] },
  { name: "ip: one past denied /24", req: ip("10.0.1.0"), expect: [] },
  { name: "ip: last address of 10/8", req: ip("10.255.255.255"), expect: [] },
  { name: "ip: one past 10/8", req: ip("11.0.0.0"), expect: [`${I(0)} SAN_NOT_ALLOWED`] },
  { name: "ip: one before 10/8", req: ip("9.255.255.255"), expect: [`${I(0)} SAN_NOT_ALLOWED`] },
  { name: "ip: /24 first and last", req: ip("192.168.1.0", "192.168.1.255"), expect: [] },
  {
    name: "ip: /24 one outside each end",
    req: ip("192.168.0.255", "192.168.2.0"),
    expect: [`${I(0)} SAN_NOT_ALLOWED`, `${I(1)} SAN_NOT_ALLOWED`],
  },
  {
    name: "ip: IPv4-mapped form of a denied address",
    req: ip("::ffff:10.0.0.1"),
    expect: [`${I(0)} SAN_DENIED`],
  },
  {
    name: "ip: IPv4-mapped hex form of a denied address",
    req: ip("::FFFF:a00:1"),
    expect: [`${I(0)} SAN_DENIED`],
  },
  { name: "ip: IPv4-mapped form of an allowed address", req: ip("::ffff:10.1.2.3"), expect: [] },
  { name: "ip: leading zero rejected", req: ip("010.1.2.3"), expect: [`${I(0)} SAN_INVALID`] },
  {
    name: "ip: hex and integer IPv4 rejected",
    req: ip("0x0a.1.2.3", "167837955", "10.1"),
    expect: [`${I(0)} SAN_INVALID`, `${I(1)} SAN_INVALID`, `${I(2)} SAN_INVALID`],
  },
  { name: "ip: shortened IPv6", req: ip("2001:db8::1"), expect: [] },
  { name: "ip: full IPv6", req: ip("2001:0db8:0000:0000:0000:0000:0000:0001"), expect: [] },
  {
    name: "ip: last address of 2001:db8::/32",
    req: ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
    expect: [],
  },
  {
    name: "ip: one past 2001:db8::/32",
    req: ip("2001:db9::"),
    expect: [`${I(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "ip: denied /48, full upper-case form",
    req: ip("2001:DB8:DEAD:0:0:0:0:1"),
    expect: [`${I(0)} SAN_DENIED`],
  },
  { name: "ip: zone id rejected", req: ip("fe80::1%eth0"), expect: [`${I(0)} SAN_INVALID`] },
  {
    name: "ip: IPv6 deny-all also denies mapped IPv4",
    spec: (s) => {
      s.sans.ip = { allowed: ["0.0.0.0/0"], denied: ["::/0"], required: false };
    },
    req: ip("10.1.2.3", "::ffff:10.1.2.3"),
    expect: [`${I(1)} SAN_DENIED`],
  },
  {
    name: "ip: mapped CIDR pattern denies plain IPv4",
    spec: (s) => {
      s.sans.ip!.denied = ["::ffff:10.9.0.0/112"];
    },
    req: ip("10.9.9.9", "10.10.0.1"),
    expect: [`${I(0)} SAN_DENIED`],
  },
  {
    name: "ip: ::/0 does not allow IPv4-mapped addresses",
    spec: (s) => {
      s.sans.ip = { allowed: ["::/0"], denied: [], required: false };
    },
    req: ip("2001:db8::1", "::ffff:10.1.2.3"),
    expect: [`${I(1)} SAN_NOT_ALLOWED`],
  },

  // Email.
  { name: "email: domain rule", req: email("bob@example.com"), expect: [] },
  { name: "email: domain case-insensitive", req: email("bob@EXAMPLE.com"), expect: [] },
  { name: "email: denied mailbox", req: email("root@example.com"), expect: [`${E(0)} SAN_DENIED`] },
  {
    name: "email: denied mailbox, other case",
    req: email("ROOT@Example.COM"),
    expect: [`${E(0)} SAN_DENIED`],
  },
  { name: "email: exact mailbox", req: email("alice@partner.example"), expect: [] },
  {
    name: "email: exact mailbox local part is case-sensitive",
    req: email("Alice@partner.example"),
    expect: [`${E(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "email: other mailbox at an exact-mailbox domain",
    req: email("bob@partner.example"),
    expect: [`${E(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "email: @domain excludes subdomains",
    req: email("bob@mail.example.com"),
    expect: [`${E(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "email: @**.domain",
    req: email("bob@eu.corp.example", "bob@corp.example"),
    expect: [`${E(1)} SAN_NOT_ALLOWED`],
  },
  {
    name: "email: invalid forms",
    req: email("not-an-email", "a@b@example.com", "bob@[10.0.0.1]", '"bob smith"@example.com'),
    expect: [
      `${E(0)} SAN_INVALID`,
      `${E(1)} SAN_INVALID`,
      `${E(2)} SAN_INVALID`,
      `${E(3)} SAN_INVALID`,
    ],
  },

  // URI.
  {
    name: "uri: SPIFFE ID under the prefix",
    req: uri("spiffe://prod.example/ns/payments/sa/api"),
    expect: [],
  },
  {
    name: "uri: scheme and host case-folded",
    req: uri("SPIFFE://PROD.Example/ns/payments/sa/api"),
    expect: [],
  },
  {
    name: "uri: the prefix itself is not below it",
    req: uri("spiffe://prod.example/ns/payments"),
    expect: [`${U(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "uri: path prefix is segment-aware",
    spec: (s) => {
      s.sans.uri!.allowed = ["spiffe://prod.example/ns/pay/*"];
    },
    req: uri("spiffe://prod.example/ns/payments/sa/api", "spiffe://prod.example/ns/pay/sa/api"),
    expect: [`${U(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "uri: denied SPIFFE ID",
    req: uri("spiffe://prod.example/ns/payments/sa/admin"),
    expect: [`${U(0)} SAN_DENIED`],
  },
  {
    name: "uri: dot-dot traversal invalid",
    req: uri("spiffe://prod.example/ns/payments/../admin/sa"),
    expect: [`${U(0)} SAN_INVALID`],
  },
  {
    name: "uri: encoded dot-dot invalid",
    req: uri("https://app.example.com/a/%2E%2E/b"),
    expect: [`${U(0)} SAN_INVALID`],
  },
  {
    name: "uri: percent-encoding in SPIFFE invalid",
    req: uri("spiffe://prod.example/ns/payments/sa/%61pi"),
    expect: [`${U(0)} SAN_INVALID`],
  },
  {
    name: "uri: encoded slash invalid",
    req: uri("https://app.example.com/a%2Fb"),
    expect: [`${U(0)} SAN_INVALID`],
  },
  {
    name: "uri: userinfo invalid",
    req: uri("https://user@app.example.com/x"),
    expect: [`${U(0)} SAN_INVALID`],
  },
  { name: "uri: https host pattern and path", req: uri("https://app.example.com/x"), expect: [] },
  {
    name: "uri: allowed pattern without port refuses a port",
    req: uri("https://app.example.com:8443/x"),
    expect: [`${U(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "uri: denied pattern without port denies every port",
    req: uri("https://admin.example.com:8443/x"),
    expect: [`${U(0)} SAN_DENIED`],
  },
  {
    name: "uri: encoded unreserved cannot dodge deny",
    req: uri("https://admin.example.com/%78"),
    expect: [`${U(0)} SAN_DENIED`],
  },
  {
    name: "uri: exact host pattern, empty and root path",
    req: uri("https://api.example.com", "https://api.example.com/"),
    expect: [],
  },
  {
    name: "uri: scheme is exact",
    req: uri("http://app.example.com/x"),
    expect: [`${U(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "uri: other trust domain",
    req: uri("spiffe://other.example/ns/payments/sa/api"),
    expect: [`${U(0)} SAN_NOT_ALLOWED`],
  },
  {
    name: "uri: query and URN invalid",
    req: uri("https://app.example.com/x?a=1", "urn:uuid:123"),
    expect: [`${U(0)} SAN_INVALID`, `${U(1)} SAN_INVALID`],
  },

  // Subject.
  { name: "subject: CN glob", req: withO(["COMMON_NAME", "api.example.com"]), expect: [] },
  {
    // A CN that reads as a DNS name meets the DNS SAN rules too (issue 17 class 1).
    name: "subject: CN glob, but not an allowed DNS name",
    req: withO(["COMMON_NAME", "web.example.com"]),
    expect: ["subject.common_name SAN_NOT_ALLOWED"],
  },
  {
    name: "subject: CN denied",
    req: withO(["COMMON_NAME", "db.internal.example.com"]),
    expect: ["subject.common_name SUBJECT_DENIED", "subject.common_name SAN_NOT_ALLOWED"],
  },
  {
    name: "subject: case and space folding",
    req: withO(["COMMON_NAME", "payments   API"]),
    expect: [],
  },
  {
    name: "subject: wildcard CN invalid",
    req: withO(["COMMON_NAME", "*.example.com"]),
    expect: ["subject.common_name SUBJECT_INVALID"],
  },
  {
    name: "subject: zero-width character invalid",
    req: withO(["COMMON_NAME", "Pay\u200Bments API"]),
    expect: ["subject.common_name SUBJECT_INVALID"],
  },
  {
    name: "subject: required O missing",
    req: subject(),
    expect: ["subject.organization SUBJECT_REQUIRED"],
  },
  {
    name: "subject: O not allowed",
    req: subject(["ORGANIZATION", "Other Corp"]),
    expect: ["subject.organization[0] SUBJECT_NOT_ALLOWED"],
  },
  {
    name: "subject: second O not allowed",
    req: withO(["ORGANIZATION", "Evil"]),
    expect: ["subject.organization[1] SUBJECT_NOT_ALLOWED"],
  },
  {
    name: "subject: OU deny glob, case-insensitive",
    req: withO(["ORGANIZATIONAL_UNIT", "SECURITY team"]),
    expect: ["subject.organizational_unit[0] SUBJECT_DENIED"],
  },
  {
    name: "subject: attribute without a rule",
    req: withO(["LOCALITY", "Berlin"]),
    expect: ["subject.locality SUBJECT_NOT_ALLOWED"],
  },
  {
    name: "subject: CN repeated",
    req: withO(["COMMON_NAME", "x.svc.example.com"], ["COMMON_NAME", "y.svc.example.com"]),
    expect: ["subject.common_name SUBJECT_ATTRIBUTE_REPEATED"],
  },
  {
    name: "subject: country format",
    req: withO(["COUNTRY", "de"], ["COUNTRY", "Germany"]),
    expect: ["subject.country SUBJECT_ATTRIBUTE_REPEATED", "subject.country SUBJECT_INVALID"],
  },
  {
    name: "subject: empty subject and no SANs",
    spec: (s) => {
      s.subject.ORGANIZATION!.required = false;
    },
    req: (r) => {
      r.subject.attributes = [];
      r.sans.dns = [];
    },
    expect: ["subject SUBJECT_EMPTY"],
  },

  // Usages.
  {
    name: "ku: required missing",
    req: (r) => {
      r.keyUsages = [];
    },
    expect: ["key_usages KEY_USAGE_REQUIRED"],
  },
  {
    name: "ku: not allowed",
    req: (r) => {
      r.keyUsages = ["DIGITAL_SIGNATURE", "KEY_AGREEMENT"];
    },
    expect: ["key_usages[1] KEY_USAGE_NOT_ALLOWED"],
  },
  {
    name: "ku: denied",
    req: (r) => {
      r.keyUsages = ["DIGITAL_SIGNATURE", "CONTENT_COMMITMENT"];
    },
    expect: ["key_usages[1] KEY_USAGE_DENIED"],
  },
  {
    name: "ku: keyEncipherment with an EC key",
    req: (r) => {
      r.keyUsages = ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"];
    },
    expect: ["key_usages[1] KEY_USAGE_INCONSISTENT"],
  },
  {
    name: "ku: keyEncipherment with an RSA key",
    req: (r) => {
      r.keyAlgorithm = "RSA_3072";
      r.signatureAlgorithm = "SHA256_WITH_RSA";
      r.keyUsages = ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"];
    },
    expect: [],
  },
  {
    name: "ku: keyCertSign without CA",
    spec: (s) => {
      s.keyUsages.allowed.push("KEY_CERT_SIGN");
    },
    req: (r) => {
      r.keyUsages = ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN"];
    },
    expect: ["key_usages[1] KEY_USAGE_INCONSISTENT"],
  },
  {
    name: "eku: required missing",
    req: (r) => {
      r.extendedKeyUsages = ["CLIENT_AUTH"];
    },
    expect: ["extended_key_usages EXTENDED_KEY_USAGE_REQUIRED"],
  },
  {
    name: "eku: denied and not allowed",
    req: (r) => {
      r.extendedKeyUsages = ["SERVER_AUTH", "CODE_SIGNING", "TIME_STAMPING"];
    },
    expect: [
      "extended_key_usages[1] EXTENDED_KEY_USAGE_DENIED",
      "extended_key_usages[2] EXTENDED_KEY_USAGE_NOT_ALLOWED",
    ],
  },
  {
    name: "eku: empty allowed means any not denied",
    spec: (s) => {
      s.extendedKeyUsages.allowed = [];
    },
    req: (r) => {
      r.extendedKeyUsages = ["SERVER_AUTH", "EMAIL_PROTECTION", "CODE_SIGNING"];
    },
    expect: ["extended_key_usages[2] EXTENDED_KEY_USAGE_DENIED"],
  },
  {
    // A delegated OCSP responder answers for every certificate of its CA (RFC 6960 4.2.2.2).
    name: "eku: OCSP_SIGNING is never granted by an empty allowed list",
    spec: (s) => {
      s.extendedKeyUsages.allowed = [];
      s.extendedKeyUsages.denied = [];
    },
    req: (r) => {
      r.extendedKeyUsages = ["SERVER_AUTH", "OCSP_SIGNING"];
    },
    expect: ["extended_key_usages[1] EXTENDED_KEY_USAGE_NOT_ALLOWED"],
  },
  {
    name: "eku: OCSP_SIGNING named in allowed",
    spec: (s) => {
      s.extendedKeyUsages.allowed = ["SERVER_AUTH", "OCSP_SIGNING"];
      s.extendedKeyUsages.denied = [];
    },
    req: (r) => {
      r.extendedKeyUsages = ["SERVER_AUTH", "OCSP_SIGNING"];
    },
    expect: [],
  },
  {
    name: "eku: OCSP_SIGNING named in required (allowed empty)",
    spec: (s) => {
      s.extendedKeyUsages.allowed = [];
      s.extendedKeyUsages.denied = [];
      s.extendedKeyUsages.required = ["OCSP_SIGNING"];
    },
    req: (r) => {
      r.extendedKeyUsages = ["OCSP_SIGNING"];
    },
    expect: [],
  },

  {
    // A leaf that signs CRLs for its CA (RFC 5280 5.2.5); found by an outside probe, 2026-12-05.
    name: "ku: CRL_SIGN on a leaf is never granted by an empty allowed list",
    spec: (s) => {
      s.keyUsages = { allowed: [], required: [], denied: [] };
    },
    req: (r) => {
      r.keyUsages = ["DIGITAL_SIGNATURE", "CRL_SIGN"];
    },
    expect: ["key_usages[1] KEY_USAGE_NOT_ALLOWED"],
  },
  {
    name: "ku: CRL_SIGN on a leaf named in allowed",
    spec: (s) => {
      s.keyUsages = { allowed: ["DIGITAL_SIGNATURE", "CRL_SIGN"], required: [], denied: [] };
      s.extendedKeyUsages.required = [];
    },
    req: (r) => {
      r.keyUsages = ["DIGITAL_SIGNATURE", "CRL_SIGN"];
      // With an EKU, cRLSign fits none of its purposes (RFC 5280 4.2.1.12; zlint's table).
      r.extendedKeyUsages = [];
    },
    expect: [],
  },
  {
    name: "ku: CRL_SIGN on a CA certificate with an empty allowed list",
    spec: (s) => {
      s.keyUsages = { allowed: [], required: [], denied: [] };
      s.basicConstraints = { ca: "ALLOWED", maxPathLength: 1 };
    },
    req: (r) => {
      r.isCa = true;
      r.pathLength = 0;
      r.keyUsages = ["KEY_CERT_SIGN", "CRL_SIGN"];
    },
    expect: [],
  },

  // Algorithms.
  {
    name: "alg: RSA below minRsaBits",
    req: (r) => {
      r.keyAlgorithm = "RSA_2048";
      r.signatureAlgorithm = "SHA256_WITH_RSA";
    },
    expect: ["key_algorithm RSA_KEY_TOO_SMALL"],
  },
  {
    name: "alg: RSA at minRsaBits",
    req: (r) => {
      r.keyAlgorithm = "RSA_3072";
      r.signatureAlgorithm = "SHA256_WITH_RSA";
    },
    expect: [],
  },
  {
    name: "alg: actual modulus below minRsaBits",
    req: (r) => {
      r.keyAlgorithm = "RSA_3072";
      r.rsaBits = 3071;
    },
    expect: ["key_algorithm RSA_KEY_TOO_SMALL"],
  },
  {
    name: "alg: key algorithm not allowed",
    req: (r) => {
      r.keyAlgorithm = "RSA_4096";
    },
    expect: ["key_algorithm KEY_ALGORITHM_NOT_ALLOWED"],
  },
  {
    name: "alg: rsaBits on an EC key",
    req: (r) => {
      r.rsaBits = 2048;
    },
    expect: ["key_algorithm KEY_ALGORITHM_INVALID"],
  },
  {
    name: "alg: Ed25519 key and signature both refused",
    req: (r) => {
      r.keyAlgorithm = "ED25519";
      r.signatureAlgorithm = "ED25519";
    },
    expect: [
      "key_algorithm KEY_ALGORITHM_NOT_ALLOWED",
      "signature_algorithm SIGNATURE_ALGORITHM_NOT_ALLOWED",
    ],
  },
  {
    name: "alg: signature algorithm not allowed",
    req: (r) => {
      r.signatureAlgorithm = "ECDSA_WITH_SHA384";
    },
    expect: ["signature_algorithm SIGNATURE_ALGORITHM_NOT_ALLOWED"],
  },

  // Lifetime.
  {
    name: "ttl: exactly the maximum",
    req: (r) => {
      r.ttlSeconds = 30 * 86_400;
    },
    expect: [],
  },
  {
    name: "ttl: one second over",
    req: (r) => {
      r.ttlSeconds = 30 * 86_400 + 1;
    },
    expect: ["ttl TTL_EXCEEDS_MAX"],
  },
  {
    name: "ttl: zero",
    req: (r) => {
      r.ttlSeconds = 0;
    },
    expect: ["ttl TTL_INVALID"],
  },
  {
    name: "ttl: NaN",
    req: (r) => {
      r.ttlSeconds = Number.NaN;
    },
    expect: ["ttl TTL_INVALID"],
  },

  // Basic constraints.
  {
    name: "ca: CA under a DENIED rule",
    req: (r) => {
      r.isCa = true;
    },
    expect: ["is_ca CA_NOT_ALLOWED"],
  },
  {
    name: "ca: path length within the cap",
    spec: caSpec(),
    req: (r) => {
      r.isCa = true;
      r.pathLength = 1;
    },
    expect: [],
  },
  {
    name: "ca: path length over the cap",
    spec: caSpec(),
    req: (r) => {
      r.isCa = true;
      r.pathLength = 2;
    },
    expect: ["path_length PATH_LENGTH_EXCEEDS_MAX"],
  },
  {
    name: "ca: unlimited path length exceeds a cap",
    spec: caSpec(),
    req: (r) => {
      r.isCa = true;
    },
    expect: ["path_length PATH_LENGTH_EXCEEDS_MAX"],
  },
  {
    name: "ca: negative path length",
    spec: caSpec(),
    req: (r) => {
      r.isCa = true;
      r.pathLength = -1;
    },
    expect: ["path_length PATH_LENGTH_INVALID"],
  },
  {
    name: "ca: path length on an end entity",
    spec: caSpec(),
    req: (r) => {
      r.pathLength = 0;
    },
    expect: ["path_length PATH_LENGTH_INVALID"],
  },
  {
    name: "ca: end entity under REQUIRED",
    spec: caSpec("REQUIRED"),
    req: () => {},
    expect: ["is_ca CA_REQUIRED"],
  },
  {
    name: "ca: keyCertSign on a CA is fine",
    spec: caSpec(),
    req: (r) => {
      r.isCa = true;
      r.pathLength = 0;
      r.keyUsages = ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"];
    },
    expect: [],
  },
  {
    name: "ca: CA with an empty subject",
    spec: caSpec(),
    req: (r) => {
      r.isCa = true;
      r.pathLength = 0;
      r.subject.attributes = [];
    },
    expect: ["subject.organization SUBJECT_REQUIRED", "subject SUBJECT_EMPTY"],
  },

  // Several violations at once: every one comes back, in a fixed order.
  {
    name: "multi: names, key, usages, ttl, CA",
    req: (r) => {
      r.subject.attributes = [{ type: "COMMON_NAME", value: "x.internal.example.com" }];
      r.sans = {
        dns: [
          "admin.svc.example.com",
          "www.example.org",
          "bad_name.example.com",
          "a.svc.example.com",
        ],
        ip: ["::ffff:10.0.0.7"],
        email: ["root@example.com"],
        uri: ["spiffe://prod.example/ns/payments/../sa"],
      };
      r.keyAlgorithm = "RSA_2048";
      r.signatureAlgorithm = "SHA512_WITH_RSA";
      r.keyUsages = ["CONTENT_COMMITMENT"];
      r.extendedKeyUsages = ["CODE_SIGNING"];
      r.ttlSeconds = 365 * 86_400;
      r.isCa = true;
    },
    expect: [
      "subject.common_name SUBJECT_DENIED",
      "subject.common_name SAN_NOT_ALLOWED",
      "subject.organization SUBJECT_REQUIRED",
      `${D(0)} SAN_DENIED`,
      `${D(1)} SAN_NOT_ALLOWED`,
      `${D(2)} SAN_INVALID`,
      `${I(0)} SAN_DENIED`,
      `${E(0)} SAN_DENIED`,
      `${U(0)} SAN_INVALID`,
      "key_algorithm RSA_KEY_TOO_SMALL",
      "signature_algorithm SIGNATURE_ALGORITHM_NOT_ALLOWED",
      "key_usages[0] KEY_USAGE_DENIED",
      "key_usages KEY_USAGE_REQUIRED",
      "extended_key_usages[0] EXTENDED_KEY_USAGE_DENIED",
      "extended_key_usages EXTENDED_KEY_USAGE_REQUIRED",
      "ttl TTL_EXCEEDS_MAX",
      "is_ca CA_NOT_ALLOWED",
    ],
  },
  {
    name: "multi: every SAN type wrong once",
    req: (r) => {
      r.sans = {
        dns: ["api.example.com", "*.example.com"],
        ip: ["10.1.2.3", "172.16.0.1"],
        email: ["bob@example.com", "bob@gmail.com"],
        uri: ["https://app.example.com/x", "https://app.example.net/x"],
      };
    },
    expect: [
      `${D(1)} SAN_NOT_ALLOWED`,
      `${I(1)} SAN_NOT_ALLOWED`,
      `${E(1)} SAN_NOT_ALLOWED`,
      `${U(1)} SAN_NOT_ALLOWED`,
    ],
  },
  {
    name: "multi: wildcard refused, key usage mismatch, EKU and TTL",
    spec: noWildcards,
    req: (r) => {
      r.sans.dns = ["*.x.apps.example.com", "db.secret.apps.example.com"];
      r.keyUsages = ["KEY_ENCIPHERMENT"];
      r.extendedKeyUsages = [];
      r.ttlSeconds = -1;
    },
    expect: [
      `${D(0)} WILDCARD_NOT_ALLOWED`,
      `${D(1)} SAN_DENIED`,
      "key_usages KEY_USAGE_REQUIRED",
      "key_usages[0] KEY_USAGE_INCONSISTENT",
      "extended_key_usages EXTENDED_KEY_USAGE_REQUIRED",
      "ttl TTL_INVALID",
    ],
  },
];

describe("evaluate: policy table", () => {
  it("has at least 60 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    let spec = baseSpec();
    if (typeof c.spec === "function") c.spec(spec);
    else if (c.spec) spec = c.spec;
    const request = baseRequest();
    c.req(request);
    const violations = evaluate(compilePolicy(spec), request);
    expect(brief(violations)).toEqual(c.expect);
    for (const v of violations) expect(v.description.length).toBeGreaterThan(0);
  });
});

describe("evaluate: descriptions name the rule", () => {
  it("says which denied pattern a name matched", () => {
    const spec = baseSpec();
    spec.sans.dns = { allowed: ["**"], denied: ["*.evil.com"], required: false };
    const request = baseRequest();
    request.sans.dns = ["api.evil.com", "API.Evil.com."];
    const [first, second] = evaluate(compilePolicy(spec), request);
    expect(first?.description).toBe('"api.evil.com" matches denied pattern "*.evil.com"');
    expect(second?.description).toBe(
      '"API.Evil.com." (normalised "api.evil.com") matches denied pattern "*.evil.com"',
    );
  });

  it("refuses a policy object that compilePolicy did not make", () => {
    const forged = { ...compilePolicy(baseSpec()) };
    expect(() => evaluate(forged, baseRequest())).toThrow(/not compiled/);
  });
});
