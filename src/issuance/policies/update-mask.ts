import { SUBJECT_ATTRIBUTES } from "../../model/pki";
import { resolveUpdateMask } from "../common/field-mask";
import { SAN_TYPES } from "../policy-engine";
import { type SpecDraft, unsetRules } from "./rules";
import type { PolicyRulesDraft } from "./types";

/** A policy being updated: the stored spec (a copy) and description. */
export interface PolicyUnderUpdate {
  spec: SpecDraft;
  description: string;
}

/** What the request gives: its description and rule fields. */
export interface PolicyGiven {
  description: string;
  rules: PolicyRulesDraft;
}

/** Replaces one field with the request's value; a rule field left unset gets the proto default. */
export type PolicyChange = (target: PolicyUnderUpdate, given: PolicyGiven) => void;

const ruleChange =
  (apply: (s: SpecDraft, r: PolicyRulesDraft) => void): PolicyChange =>
  (target, given) =>
    apply(target.spec, given.rules);

const TOP_LEVEL: Array<[string, PolicyChange]> = [
  ["description", (t, g) => (t.description = g.description)],
  ["subject_rules", ruleChange((s, r) => (s.subject = r.subject ?? unsetRules().subject))],
  ["san_rules", ruleChange((s, r) => (s.sans = r.sans ?? unsetRules().sans))],
  ["key_usages", ruleChange((s, r) => (s.keyUsages = r.keyUsages ?? unsetRules().keyUsages))],
  [
    "extended_key_usages",
    ruleChange(
      (s, r) => (s.extendedKeyUsages = r.extendedKeyUsages ?? unsetRules().extendedKeyUsages),
    ),
  ],
  [
    "key_algorithms",
    ruleChange((s, r) => (s.keyAlgorithms = r.keyAlgorithms ?? unsetRules().keyAlgorithms)),
  ],
  [
    "signature_algorithms",
    ruleChange(
      (s, r) => (s.signatureAlgorithms = r.signatureAlgorithms ?? unsetRules().signatureAlgorithms),
    ),
  ],
  // Unset stays unset: compilePolicy then reports max_ttl missing, as on create.
  ["max_ttl", ruleChange((s, r) => (s.maxTtlSeconds = r.maxTtlSeconds))],
  [
    "basic_constraints",
    ruleChange(
      (s, r) => (s.basicConstraints = r.basicConstraints ?? unsetRules().basicConstraints),
    ),
  ],
  // UNSPECIFIED means COPY: the field is removed from the stored spec.
  [
    "subject_names_in_sans",
    ruleChange((s, r) => {
      if (r.subjectNamesInSans === undefined) delete s.subjectNamesInSans;
      else s.subjectNamesInSans = r.subjectNamesInSans;
    }),
  ],
];

/** One entry of a keyed rule map (a subject attribute, a SAN type): replaced, or removed when unset. */
const entryChange = (map: "subject" | "sans", key: string): PolicyChange =>
  ruleChange((spec, rules) => {
    const next = { ...((spec[map] as Record<string, unknown> | undefined) ?? {}) };
    const given = (rules[map] as Record<string, unknown> | undefined)?.[key];
    if (given === undefined) delete next[key];
    else next[key] = given;
    spec[map] = next;
  });

const PATHS = new Map<string, PolicyChange>([
  ...TOP_LEVEL,
  ...SUBJECT_ATTRIBUTES.map((a): [string, PolicyChange] => [
    `subject_rules.${a.toLowerCase()}`,
    entryChange("subject", a),
  ]),
  ...SAN_TYPES.map((t): [string, PolicyChange] => [`san_rules.${t}`, entryChange("sans", t)]),
]);

/**
 * The changes an update mask asks for: "description", a rule field ("key_usages", "max_ttl"),
 * one subject attribute or SAN type ("subject_rules.common_name", "san_rules.dns"), or "*".
 */
export function policyChanges(mask: readonly string[]): PolicyChange[] {
  return resolveUpdateMask(
    mask,
    PATHS,
    TOP_LEVEL.map(([, change]) => change),
    "CertificatePolicy",
    '"san_rules.dns", "max_ttl" or "description"',
  );
}
