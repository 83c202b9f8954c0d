/**
 * A policy's usage, algorithm, lifetime and CA rules from options; each given list replaces that
 * list of the rule (on update, the rest of the rule is kept).
 */
import type { CertificatePolicy } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import type { Args } from "../args";
import type { OptionSection } from "../command";
import type { EnumFlag } from "../enum-flag";
import {
  CA_CERTIFICATE_RULE,
  EXTENDED_KEY_USAGE,
  KEY_ALGORITHM,
  KEY_USAGE,
  SIGNATURE_ALGORITHM,
  SUBJECT_NAMES_IN_SANS,
} from "../enums";
import { parseDuration, parseInteger } from "../values";

function listOption(description: string, e: EnumFlag) {
  return {
    type: "string",
    value: "VALUE",
    multiple: true,
    description,
    choices: e.choices,
  } as const;
}

export const USAGE_RULES_SECTION: OptionSection = {
  title: "Usage rules",
  specs: {
    "allow-key-usage": listOption(
      "a keyUsage requests may ask for (none given: any not denied)",
      KEY_USAGE,
    ),
    "require-key-usage": listOption("a keyUsage every certificate carries", KEY_USAGE),
    "deny-key-usage": listOption("a keyUsage no certificate may carry", KEY_USAGE),
    "allow-eku": listOption(
      "an extKeyUsage requests may ask for (none given: any not denied)",
      EXTENDED_KEY_USAGE,
    ),
    "require-eku": listOption("an extKeyUsage every certificate carries", EXTENDED_KEY_USAGE),
    "deny-eku": listOption("an extKeyUsage no certificate may carry", EXTENDED_KEY_USAGE),
  },
};

export const LIMITS_SECTION: OptionSection = {
  title: "Keys, lifetime and CA certificates",
  specs: {
    "allow-key-algorithm": listOption(
      "a key algorithm certificates may certify (none given: any)",
      KEY_ALGORITHM,
    ),
    "min-rsa-bits": {
      type: "string",
      value: "BITS",
      description: "smallest RSA modulus (at least 2048)",
    },
    "allow-signature-algorithm": listOption(
      "a signature algorithm the CA may sign with (none given: any)",
      SIGNATURE_ALGORITHM,
    ),
    "max-ttl": {
      type: "string",
      value: "DURATION",
      description: "the longest lifetime, e.g. 90d (required without --preset)",
    },
    "ca-certificates": {
      type: "string",
      value: "RULE",
      description: "whether requests may or must be for CA certificates (default: denied)",
      choices: CA_CERTIFICATE_RULE.choices,
    },
    "max-path-length": {
      type: "string",
      value: "N",
      description: "the largest pathLenConstraint of a CA certificate; 'unlimited' for none",
    },
    "subject-names-in-sans": {
      type: "string",
      value: "MODE",
      description:
        "a CN that is a name: copied into the SANs, required among them, or not required (default: copy)",
      choices: SUBJECT_NAMES_IN_SANS.choices,
    },
  },
};

function parseAll(args: Args, flag: string, e: EnumFlag): number[] {
  return args.strings(flag).map((v) => e.parse(v, flag));
}

const USAGE_KINDS = [
  { flag: "key-usage", field: "keyUsages", path: "key_usages", values: KEY_USAGE },
  {
    flag: "eku",
    field: "extendedKeyUsages",
    path: "extended_key_usages",
    values: EXTENDED_KEY_USAGE,
  },
] as const;
const USAGE_LISTS = [
  ["allowed", "allow"],
  ["required", "require"],
  ["denied", "deny"],
] as const;

/** Applies the usage rule options; returns the update mask paths they touch. */
export function applyUsageRules(args: Args, policy: CertificatePolicy): string[] {
  const paths: string[] = [];
  for (const kind of USAGE_KINDS) {
    const given = USAGE_LISTS.filter(([, verb]) => args.given(`${verb}-${kind.flag}`));
    if (given.length === 0) continue;
    const rule: Record<(typeof USAGE_LISTS)[number][0], number[]> = {
      allowed: [],
      required: [],
      denied: [],
      ...policy[kind.field],
    };
    for (const [list, verb] of given)
      rule[list] = parseAll(args, `${verb}-${kind.flag}`, kind.values);
    // Both usage rules have the same shape: lists of their enum's numbers.
    (policy as unknown as Record<string, unknown>)[kind.field] = rule;
    paths.push(kind.path);
  }
  return paths;
}

/** Applies the algorithm, lifetime and CA options; returns the update mask paths they touch. */
export function applyLimits(args: Args, policy: CertificatePolicy): string[] {
  const paths: string[] = [];
  if (args.given("allow-key-algorithm") || args.given("min-rsa-bits")) {
    const rule = { allowed: [], minRsaBits: 0, ...policy.keyAlgorithms };
    if (args.given("allow-key-algorithm"))
      rule.allowed = parseAll(args, "allow-key-algorithm", KEY_ALGORITHM);
    const bits = args.string("min-rsa-bits");
    if (bits !== undefined) rule.minRsaBits = parseInteger(bits, "min-rsa-bits", 2048, 16384);
    policy.keyAlgorithms = rule;
    paths.push("key_algorithms");
  }
  if (args.given("allow-signature-algorithm")) {
    policy.signatureAlgorithms = {
      allowed: parseAll(args, "allow-signature-algorithm", SIGNATURE_ALGORITHM),
    };
    paths.push("signature_algorithms");
  }
  const maxTtl = args.string("max-ttl");
  if (maxTtl !== undefined) {
    policy.maxTtl = parseDuration(maxTtl, "max-ttl");
    paths.push("max_ttl");
  }
  if (args.given("ca-certificates") || args.given("max-path-length")) {
    const rule = { ca: 0, ...policy.basicConstraints };
    const ca = args.string("ca-certificates");
    if (ca !== undefined) rule.ca = CA_CERTIFICATE_RULE.parse(ca, "ca-certificates");
    const length = args.string("max-path-length");
    if (length !== undefined) {
      rule.maxPathLength =
        length === "unlimited" ? undefined : parseInteger(length, "max-path-length", 0, 100);
    }
    policy.basicConstraints = rule;
    paths.push("basic_constraints");
  }
  const names = args.string("subject-names-in-sans");
  if (names !== undefined) {
    policy.subjectNamesInSans = SUBJECT_NAMES_IN_SANS.parse(names, "subject-names-in-sans");
    paths.push("subject_names_in_sans");
  }
  return paths;
}
