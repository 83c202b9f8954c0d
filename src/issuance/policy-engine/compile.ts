/**
 * compilePolicy: parse a policy spec once, when it is created or updated, into checked and
 * frozen matchers (Boulder's NewProfile), so evaluation never meets a malformed rule.
 */

import { invalidArgument } from "../../errors";
import { RSA_MIN_BITS, rsaBitsOf } from "../../model/keys";
import { MAX_DURATION_SECONDS } from "../../model/limits";
import {
  EXTENDED_KEY_USAGES,
  type ExtendedKeyUsage,
  KEY_ALGORITHMS,
  KEY_USAGES,
  type KeyAlgorithm,
  type KeyUsage,
  SIGNATURE_ALGORITHMS,
  type SignatureAlgorithm,
  SUBJECT_ATTRIBUTES,
  type SubjectAttribute,
} from "../../model/pki";
import {
  type CompiledNameRule,
  type CompiledValueRule,
  compileNameRule,
  compileValueRule,
} from "./compile-names";
import { join, SpecReader } from "./spec-reader";
import {
  CA_RULES,
  type CaRule,
  type NameRule,
  type PolicySpec,
  SAN_TYPES,
  type SanType,
  SUBJECT_NAMES_IN_SANS,
  type SubjectNamesInSans,
  type UsageRule,
  type ValueRule,
} from "./types";

export interface CompiledUsageRule<T extends string> {
  /** Empty: any usage not denied. */
  readonly allowed: readonly T[];
  readonly required: readonly T[];
  readonly denied: readonly T[];
}

/** A checked, frozen policy. Only compilePolicy makes one; evaluate refuses anything else. */
export interface CompiledPolicy {
  /** The canonical spec: name patterns normalised, unknown nothing. Store this one. */
  readonly spec: Readonly<PolicySpec>;
  readonly subject: Readonly<Partial<Record<SubjectAttribute, CompiledValueRule>>>;
  /** One rule per SAN type; a type the spec leaves out allows nothing. */
  readonly sans: Readonly<Record<SanType, CompiledNameRule>>;
  readonly keyUsages: CompiledUsageRule<KeyUsage>;
  readonly extendedKeyUsages: CompiledUsageRule<ExtendedKeyUsage>;
  readonly keyAlgorithms: {
    readonly allowed: readonly KeyAlgorithm[];
    readonly minRsaBits: number;
  };
  readonly signatureAlgorithms: { readonly allowed: readonly SignatureAlgorithm[] };
  readonly maxTtlSeconds: number;
  readonly basicConstraints: { readonly ca: CaRule; readonly maxPathLength?: number };
  readonly subjectNamesInSans: SubjectNamesInSans;
}

/** The smallest RSA modulus certmint ever accepts (src/model/keys.ts). */
export const RSA_FLOOR_BITS = RSA_MIN_BITS;
const RSA_CEILING_BITS = 16384;

const compiledPolicies = new WeakSet<object>();

export const isCompiledPolicy = (p: unknown): p is CompiledPolicy =>
  typeof p === "object" && p !== null && compiledPolicies.has(p);

const TOP_LEVEL = [
  "subject",
  "sans",
  "keyUsages",
  "extendedKeyUsages",
  "keyAlgorithms",
  "signatureAlgorithms",
  "maxTtlSeconds",
  "basicConstraints",
] as const;
const OPTIONAL_TOP_LEVEL = ["subjectNamesInSans"] as const;

const indexIn = (list: unknown, item: unknown) => (Array.isArray(list) ? list.indexOf(item) : -1);

function compileUsageRule<T extends string>(
  raw: unknown,
  path: string,
  members: readonly T[],
  r: SpecReader,
): UsageRule<T> {
  const obj = r.object(raw, path, ["allowed", "required", "denied"]);
  const allowed = [...new Set(r.enums(obj?.allowed, join(path, "allowed"), members))];
  const required = [...new Set(r.enums(obj?.required, join(path, "required"), members))];
  const denied = [...new Set(r.enums(obj?.denied, join(path, "denied"), members))];
  for (const u of required) {
    const at = `${join(path, "required")}[${indexIn(obj?.required, u)}]`;
    if (denied.includes(u)) r.add(at, "POLICY_CONTRADICTION", `${u} is both required and denied`);
    else if (allowed.length > 0 && !allowed.includes(u)) {
      r.add(at, "POLICY_CONTRADICTION", `${u} is required but not in the allowed list`);
    }
  }
  for (const u of denied) {
    if (allowed.includes(u)) {
      const at = `${join(path, "denied")}[${indexIn(obj?.denied, u)}]`;
      r.add(at, "POLICY_CONTRADICTION", `${u} is both allowed and denied`);
    }
  }
  return { allowed, required, denied };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Checks a policy spec (any JSON value) and compiles it. Throws CertmintError
 * invalid_argument POLICY_INVALID listing EVERY problem, each with its spec path as field.
 */
export function compilePolicy(input: unknown): CompiledPolicy {
  const r = new SpecReader();
  const root = r.object(input, "", TOP_LEVEL, OPTIONAL_TOP_LEVEL);

  // Subject rules.
  const subjectRaw = r.object(root?.subject, "subject", [], SUBJECT_ATTRIBUTES);
  const subject: Partial<Record<SubjectAttribute, CompiledValueRule>> = {};
  const subjectSpec: Partial<Record<SubjectAttribute, ValueRule>> = {};
  for (const attr of SUBJECT_ATTRIBUTES) {
    if (subjectRaw?.[attr] === undefined) continue;
    const compiled = compileValueRule(subjectRaw[attr], `subject.${attr}`, r);
    if (compiled) {
      subject[attr] = compiled.rule;
      subjectSpec[attr] = compiled.spec;
    }
  }

  // SAN rules; a type without a rule still gets one that allows nothing.
  const sansRaw = r.object(root?.sans, "sans", [], SAN_TYPES);
  const sans = {} as Record<SanType, CompiledNameRule>;
  const sansSpec: Partial<Record<SanType, NameRule>> = {};
  for (const type of SAN_TYPES) {
    const compiled = compileNameRule(type, sansRaw?.[type], `sans.${type}`, r);
    sans[type] = compiled.rule;
    if (compiled.spec) sansSpec[type] = compiled.spec;
  }

  const keyUsages = compileUsageRule(root?.keyUsages, "keyUsages", KEY_USAGES, r);
  const extendedKeyUsages = compileUsageRule(
    root?.extendedKeyUsages,
    "extendedKeyUsages",
    EXTENDED_KEY_USAGES,
    r,
  );

  // Algorithms.
  const ka = r.object(root?.keyAlgorithms, "keyAlgorithms", ["allowed"], ["minRsaBits"]);
  const keyAlgs = [...new Set(r.enums(ka?.allowed, "keyAlgorithms.allowed", KEY_ALGORITHMS))];
  const minRsaBitsSpec = r.integer(
    ka?.minRsaBits,
    "keyAlgorithms.minRsaBits",
    RSA_FLOOR_BITS,
    RSA_CEILING_BITS,
  );
  const minRsaBits = minRsaBitsSpec ?? RSA_FLOOR_BITS;
  if (keyAlgs.length > 0 && keyAlgs.every((a) => (rsaBitsOf(a) ?? Infinity) < minRsaBits)) {
    r.add(
      "keyAlgorithms.minRsaBits",
      "POLICY_CONTRADICTION",
      "is larger than every allowed key algorithm",
    );
  }
  const sa = r.object(root?.signatureAlgorithms, "signatureAlgorithms", ["allowed"]);
  const sigAlgs = [
    ...new Set(r.enums(sa?.allowed, "signatureAlgorithms.allowed", SIGNATURE_ALGORITHMS)),
  ];

  // Lifetime.
  const maxTtlSeconds = r.integer(root?.maxTtlSeconds, "maxTtlSeconds", 1, MAX_DURATION_SECONDS);

  // Basic constraints (RFC 5280 4.2.1.9).
  const bc = r.object(root?.basicConstraints, "basicConstraints", ["ca"], ["maxPathLength"]);
  let ca: CaRule | undefined;
  if (bc?.ca !== undefined) {
    if (CA_RULES.includes(bc.ca as CaRule)) ca = bc.ca as CaRule;
    else
      r.add("basicConstraints.ca", "POLICY_FIELD_INVALID", `must be one of ${CA_RULES.join(", ")}`);
  }
  const maxPathLength = r.integer(bc?.maxPathLength, "basicConstraints.maxPathLength", 0, 255);
  // Contradictions are reported only between values that are valid themselves.
  if (ca === "DENIED" && maxPathLength !== undefined) {
    r.add(
      "basicConstraints.maxPathLength",
      "POLICY_CONTRADICTION",
      "is set but CA certificates are denied",
    );
  }
  if (ca === "DENIED" && keyUsages.required.includes("KEY_CERT_SIGN")) {
    r.add(
      "basicConstraints.ca",
      "POLICY_CONTRADICTION",
      "is DENIED but KEY_CERT_SIGN is required (keyCertSign needs cA, RFC 5280 4.2.1.9)",
    );
  }
  if (ca === "REQUIRED" && keyUsages.denied.includes("KEY_CERT_SIGN")) {
    r.add("basicConstraints.ca", "POLICY_CONTRADICTION", "is REQUIRED but KEY_CERT_SIGN is denied");
  }

  // Subject names and the SANs (subject-names.ts); COPY when absent.
  let subjectNamesInSans: SubjectNamesInSans = "COPY";
  if (root?.subjectNamesInSans !== undefined) {
    if (SUBJECT_NAMES_IN_SANS.includes(root.subjectNamesInSans as SubjectNamesInSans)) {
      subjectNamesInSans = root.subjectNamesInSans as SubjectNamesInSans;
    } else {
      const members = SUBJECT_NAMES_IN_SANS.join(", ");
      r.add("subjectNamesInSans", "POLICY_FIELD_INVALID", `must be one of ${members}`);
    }
  }

  if (r.violations.length > 0 || maxTtlSeconds === undefined || ca === undefined) {
    const n = r.violations.length;
    throw invalidArgument(
      "POLICY_INVALID",
      `The certificate policy is invalid (${n} problem${n === 1 ? "" : "s"}).`,
      { violations: r.violations },
    );
  }

  const spec: PolicySpec = {
    subject: subjectSpec,
    sans: sansSpec,
    keyUsages,
    extendedKeyUsages,
    keyAlgorithms: { allowed: keyAlgs, ...(minRsaBitsSpec === undefined ? {} : { minRsaBits }) },
    signatureAlgorithms: { allowed: sigAlgs },
    maxTtlSeconds,
    basicConstraints: { ca, ...(maxPathLength === undefined ? {} : { maxPathLength }) },
    ...(subjectNamesInSans === "COPY" ? {} : { subjectNamesInSans }),
  };
  const policy: CompiledPolicy = {
    spec: structuredClone(spec),
    subject,
    sans,
    keyUsages: structuredClone(keyUsages),
    extendedKeyUsages: structuredClone(extendedKeyUsages),
    keyAlgorithms: { allowed: keyAlgs, minRsaBits },
    signatureAlgorithms: { allowed: sigAlgs },
    maxTtlSeconds,
    basicConstraints: { ca, maxPathLength },
    subjectNamesInSans,
  };
  deepFreeze(policy);
  compiledPolicies.add(policy);
  return policy;
}
