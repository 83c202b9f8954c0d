import {
  CertificatePolicy,
  type NameRule,
  type SanRules,
  type SubjectRules,
  type ValueRule,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import type { EnumFlag } from "../enum-flag";
import {
  CA_CERTIFICATE_RULE,
  EXTENDED_KEY_USAGE,
  KEY_ALGORITHM,
  KEY_USAGE,
  SIGNATURE_ALGORITHM,
  SUBJECT_NAMES_IN_SANS,
} from "../enums";
import type { Column } from "../output";
import { formatDuration, formatTime } from "../values";
import type { OneView } from "./print";

const SUBJECT_KEYS: ReadonlyArray<[keyof SubjectRules, string]> = [
  ["commonName", "cn"],
  ["organization", "o"],
  ["organizationalUnit", "ou"],
  ["country", "c"],
  ["state", "st"],
  ["locality", "l"],
  ["streetAddress", "street"],
  ["postalCode", "postal-code"],
  ["serialNumber", "serial"],
  ["emailAddress", "email"],
];

function ruleText(rule: ValueRule | NameRule): string {
  const parts = [
    `allow ${rule.allowed.length > 0 ? rule.allowed.join(" ") : "nothing"}`,
    ...(rule.denied.length > 0 ? [`deny ${rule.denied.join(" ")}`] : []),
    ...(rule.required ? ["required"] : []),
    ...("allowWildcardNames" in rule && rule.allowWildcardNames ? ["wildcard names"] : []),
    ...("allowSubAddresses" in rule && rule.allowSubAddresses ? ["sub-addresses"] : []),
  ];
  return parts.join("; ");
}

function subjectLines(rules: SubjectRules | undefined): string[] {
  return SUBJECT_KEYS.flatMap(([field, key]) => {
    const rule = rules?.[field];
    return rule ? [`${key}: ${ruleText(rule)}`] : [];
  });
}

function sanLines(rules: SanRules | undefined): string[] {
  return (["dns", "ip", "email", "uri"] as const).flatMap((t) => {
    const rule = rules?.[t];
    return rule ? [`${t}: ${ruleText(rule)}`] : [];
  });
}

function usageText(
  rule: { allowed: number[]; required: number[]; denied: number[] } | undefined,
  e: EnumFlag,
): string {
  const names = (values: number[]) => values.map((v) => e.name(v)).join(" ");
  if (!rule) return "any";
  return [
    `allow ${rule.allowed.length > 0 ? names(rule.allowed) : "any"}`,
    ...(rule.required.length > 0 ? [`require ${names(rule.required)}`] : []),
    ...(rule.denied.length > 0 ? [`deny ${names(rule.denied)}`] : []),
  ].join("; ");
}

/** The allowed name patterns of a policy, e.g. "dns:**.example.com ip:10.0.0.0/8". */
function allowedNames(p: CertificatePolicy): string {
  return (["dns", "ip", "email", "uri"] as const)
    .flatMap((t) => (p.sanRules?.[t]?.allowed ?? []).map((a) => `${t}:${a}`))
    .join(" ");
}

export const POLICY_COLUMNS: ReadonlyArray<Column<CertificatePolicy>> = [
  { header: "SLUG", value: (p) => p.slug },
  { header: "MAX TTL", value: (p) => formatDuration(p.maxTtl) },
  { header: "CA CERTS", value: (p) => CA_CERTIFICATE_RULE.name(p.basicConstraints?.ca ?? 0) },
  { header: "ALLOWED NAMES", value: allowedNames },
  { header: "ID", value: (p) => p.id },
];

export const POLICY_VIEW: OneView<CertificatePolicy> = {
  codec: CertificatePolicy,
  fields: (p) => [
    ["id", p.id],
    ["slug", p.slug],
    ["description", p.description],
    ["subject rules", subjectLines(p.subjectRules)],
    ["san rules", sanLines(p.sanRules)],
    ["subject names", SUBJECT_NAMES_IN_SANS.name(p.subjectNamesInSans)],
    ["key usages", usageText(p.keyUsages, KEY_USAGE)],
    ["extended key usages", usageText(p.extendedKeyUsages, EXTENDED_KEY_USAGE)],
    [
      "key algorithms",
      `${p.keyAlgorithms?.allowed.length ? p.keyAlgorithms.allowed.map((a) => KEY_ALGORITHM.name(a)).join(" ") : "any"}` +
        (p.keyAlgorithms?.minRsaBits ? `; RSA at least ${p.keyAlgorithms.minRsaBits} bits` : ""),
    ],
    [
      "signature algorithms",
      p.signatureAlgorithms?.allowed.length
        ? p.signatureAlgorithms.allowed.map((a) => SIGNATURE_ALGORITHM.name(a)).join(" ")
        : "any",
    ],
    ["max ttl", formatDuration(p.maxTtl)],
    [
      "ca certificates",
      CA_CERTIFICATE_RULE.name(p.basicConstraints?.ca ?? 0) +
        (p.basicConstraints?.maxPathLength === undefined
          ? ""
          : `; max path length ${p.basicConstraints.maxPathLength}`),
    ],
    ["created", formatTime(p.createTime)],
    ["updated", formatTime(p.updateTime)],
    ["etag", p.etag],
  ],
};
