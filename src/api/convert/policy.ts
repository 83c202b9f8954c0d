import {
  CaCertificateRule as PbCaRule,
  type NameRule as PbNameRule,
  type CertificatePolicy as PbPolicy,
  CertificatePolicyPreset as PbPreset,
  type SanRules as PbSanRules,
  SubjectNamesInSans as PbSubjectNamesInSans,
  type SubjectRules as PbSubjectRules,
  type ValueRule as PbValueRule,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  ExtendedKeyUsage as PbExtendedKeyUsage,
  KeyAlgorithm as PbKeyAlgorithm,
  KeyUsage as PbKeyUsage,
  SignatureAlgorithm as PbSignatureAlgorithm,
} from "../../../gen/ts/certmint/v1/common";
import { etagOf } from "../../issuance/common/etag";
import type { PolicyRulesDraft } from "../../issuance/policies/types";
import {
  CA_RULES,
  type NameRule,
  type PolicySpec,
  PRESET_NAMES,
  SAN_TYPES,
  SUBJECT_NAMES_IN_SANS,
  type UsageRule,
  type ValueRule,
} from "../../issuance/policy-engine";
import type { CertificatePolicy } from "../../issuance/repositories";
import { SUBJECT_ATTRIBUTES, type SubjectAttribute } from "../../model/pki";
import {
  enumCodec,
  extendedKeyUsageCodec,
  keyAlgorithmCodec,
  keyUsageCodec,
  signatureAlgorithmCodec,
} from "./enums";
import { secondsToDuration } from "./time";

export const presetCodec = enumCodec(PbPreset, "CERTIFICATE_POLICY_PRESET_", PRESET_NAMES);
const caRuleCodec = enumCodec(PbCaRule, "CA_CERTIFICATE_RULE_", CA_RULES);
const subjectNamesCodec = enumCodec(
  PbSubjectNamesInSans,
  "SUBJECT_NAMES_IN_SANS_",
  SUBJECT_NAMES_IN_SANS,
);

/** SubjectRules field of each subject attribute: COMMON_NAME -> commonName. */
const SUBJECT_RULE_KEY = Object.fromEntries(
  SUBJECT_ATTRIBUTES.map((a) => [
    a,
    a.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
  ]),
) as Record<SubjectAttribute, keyof PbSubjectRules>;

/**
 * An enum value as its domain name, or (unknown, UNSPECIFIED) as its proto name or number, left
 * for compilePolicy to report at its index along with every other problem of the policy.
 */
function enumName(pbEnum: Record<string | number, string | number>, prefix: string, v: number) {
  const name = pbEnum[v];
  return typeof name === "string" && name.startsWith(prefix)
    ? name.slice(prefix.length)
    : String(v);
}
const enumNames =
  (pbEnum: Record<string | number, string | number>, prefix: string) => (values: number[]) =>
    values.map((v) => enumName(pbEnum, prefix, v));

const keyUsageNames = enumNames(PbKeyUsage, "KEY_USAGE_");
const ekuNames = enumNames(PbExtendedKeyUsage, "EXTENDED_KEY_USAGE_");

const valueRule = (r: PbValueRule): ValueRule => ({
  allowed: [...r.allowed],
  denied: [...r.denied],
  required: r.required,
});

/**
 * allow_wildcard_names is DNS-only and allow_sub_addresses email-only: sent for another type
 * only when set, so that it is refused.
 */
const nameRule = (r: PbNameRule, type: string): NameRule => ({
  allowed: [...r.allowed],
  denied: [...r.denied],
  required: r.required,
  ...(type === "dns" || r.allowWildcardNames ? { allowWildcardNames: r.allowWildcardNames } : {}),
  ...(r.allowSubAddresses ? { allowSubAddresses: true } : {}),
});

/**
 * The rule fields of a proto CertificatePolicy, each present iff the request set it. Unchecked:
 * compilePolicy checks them all at once. max_ttl keeps its fraction (refused as not whole);
 * min_rsa_bits 0 means unset (the proto's "2048 when 0").
 */
export function policyRulesFromProto(pb: PbPolicy | undefined): PolicyRulesDraft {
  const rules: PolicyRulesDraft = {};
  if (!pb) return rules;
  const subjectRules = pb.subjectRules;
  if (subjectRules) {
    rules.subject = {};
    for (const attr of SUBJECT_ATTRIBUTES) {
      const r = subjectRules[SUBJECT_RULE_KEY[attr]];
      if (r) rules.subject[attr] = valueRule(r);
    }
  }
  const sanRules: PbSanRules | undefined = pb.sanRules;
  if (sanRules) {
    rules.sans = {};
    for (const type of SAN_TYPES) {
      const r = sanRules[type];
      if (r) rules.sans[type] = nameRule(r, type);
    }
  }
  if (pb.keyUsages) rules.keyUsages = usageRule(pb.keyUsages, keyUsageNames);
  if (pb.extendedKeyUsages) rules.extendedKeyUsages = usageRule(pb.extendedKeyUsages, ekuNames);
  if (pb.keyAlgorithms) {
    const { allowed, minRsaBits } = pb.keyAlgorithms;
    rules.keyAlgorithms = {
      allowed: enumNames(PbKeyAlgorithm, "KEY_ALGORITHM_")(allowed),
      ...(minRsaBits === 0 ? {} : { minRsaBits }),
    };
  }
  if (pb.signatureAlgorithms) {
    const names = enumNames(PbSignatureAlgorithm, "SIGNATURE_ALGORITHM_");
    rules.signatureAlgorithms = { allowed: names(pb.signatureAlgorithms.allowed) };
  }
  if (pb.maxTtl) {
    const { seconds, nanos } = pb.maxTtl;
    // nanos past a Duration's own range (|nanos| < 10^9) is no duration: NaN, which the policy's
    // whole-seconds check refuses on max_ttl. Until 2026-12-05 60 s and 2e9 ns became 62 s.
    rules.maxTtlSeconds =
      Math.abs(nanos) > 999_999_999 ? Number.NaN : Number(seconds) + nanos / 1e9;
  }
  if (pb.basicConstraints) {
    const { ca, maxPathLength } = pb.basicConstraints;
    rules.basicConstraints = {
      // CaCertificateRule UNSPECIFIED is DENIED (the proto says so).
      ca:
        ca === PbCaRule.CA_CERTIFICATE_RULE_UNSPECIFIED
          ? "DENIED"
          : enumName(PbCaRule, "CA_CERTIFICATE_RULE_", ca),
      ...(maxPathLength === undefined ? {} : { maxPathLength }),
    };
  }
  // UNSPECIFIED is COPY (the proto says so); unknown numbers are left for compilePolicy.
  if (pb.subjectNamesInSans !== PbSubjectNamesInSans.SUBJECT_NAMES_IN_SANS_UNSPECIFIED) {
    rules.subjectNamesInSans = enumName(
      PbSubjectNamesInSans,
      "SUBJECT_NAMES_IN_SANS_",
      pb.subjectNamesInSans,
    );
  }
  return rules;
}

function usageRule(
  r: { allowed: number[]; required: number[]; denied: number[] },
  names: (values: number[]) => string[],
): UsageRule<string> {
  return { allowed: names(r.allowed), required: names(r.required), denied: names(r.denied) };
}

/** A stored policy as the API shows it; the spec is the canonical one compilePolicy returned. */
export function policyToProto(row: CertificatePolicy): PbPolicy {
  const spec = row.spec as unknown as PolicySpec;
  const subjectRules: PbSubjectRules = {};
  for (const [attr, r] of Object.entries(spec.subject) as Array<[SubjectAttribute, ValueRule]>) {
    subjectRules[SUBJECT_RULE_KEY[attr]] = valueRule(r);
  }
  const sanRules: PbSanRules = {};
  for (const [type, r] of Object.entries(spec.sans) as Array<[keyof PbSanRules, NameRule]>) {
    sanRules[type] = {
      ...r,
      allowWildcardNames: r.allowWildcardNames ?? false,
      allowSubAddresses: r.allowSubAddresses ?? false,
    };
  }
  const { basicConstraints: bc } = spec;
  return {
    id: row.id,
    slug: row.slug,
    description: row.description,
    subjectRules,
    sanRules,
    keyUsages: usagesToProto(spec.keyUsages, keyUsageCodec.toProto),
    extendedKeyUsages: usagesToProto(spec.extendedKeyUsages, extendedKeyUsageCodec.toProto),
    keyAlgorithms: {
      allowed: spec.keyAlgorithms.allowed.map(keyAlgorithmCodec.toProto),
      minRsaBits: spec.keyAlgorithms.minRsaBits ?? 0,
    },
    signatureAlgorithms: {
      allowed: spec.signatureAlgorithms.allowed.map(signatureAlgorithmCodec.toProto),
    },
    maxTtl: secondsToDuration(spec.maxTtlSeconds),
    basicConstraints: { ca: caRuleCodec.toProto(bc.ca), maxPathLength: bc.maxPathLength },
    subjectNamesInSans: subjectNamesCodec.toProto(spec.subjectNamesInSans ?? "COPY"),
    createTime: row.createdAt,
    updateTime: row.updatedAt,
    etag: etagOf(row.version),
  };
}

function usagesToProto<T extends string>(rule: UsageRule<T>, toProto: (v: T) => number) {
  return {
    allowed: rule.allowed.map(toProto),
    required: rule.required.map(toProto),
    denied: rule.denied.map(toProto),
  };
}
