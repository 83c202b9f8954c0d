/**
 * A policy's subject and SAN rules from options. On create they fill an empty rule; on update
 * they change the rule as stored, each given list replacing that list (the rest of the rule kept).
 */
import type {
  CertificatePolicy,
  NameRule,
  SanRules,
  SubjectRules,
  ValueRule,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import type { Args } from "../args";
import { type OptionSection, type OptionSpecs, UsageError } from "../command";

/** Subject attribute keys of --allow-subject and friends: [SubjectRules field, mask path]. */
const SUBJECT_ATTRIBUTES: Readonly<Record<string, readonly [keyof SubjectRules, string]>> = {
  cn: ["commonName", "common_name"],
  o: ["organization", "organization"],
  ou: ["organizationalUnit", "organizational_unit"],
  c: ["country", "country"],
  st: ["state", "state"],
  l: ["locality", "locality"],
  street: ["streetAddress", "street_address"],
  "postal-code": ["postalCode", "postal_code"],
  serial: ["serialNumber", "serial_number"],
  email: ["emailAddress", "email_address"],
};
const ATTRIBUTE_LIST = Object.keys(SUBJECT_ATTRIBUTES).join(", ");

export const SUBJECT_RULES_SECTION: OptionSection = {
  title: `Subject rules (ATTR: ${ATTRIBUTE_LIST}; patterns are values or '*' globs)`,
  specs: {
    "allow-subject": {
      type: "string",
      value: "ATTR=PATTERN",
      multiple: true,
      description:
        "a value the attribute may have, e.g. 'cn=*'; an attribute without one may not appear",
    },
    "deny-subject": {
      type: "string",
      value: "ATTR=PATTERN",
      multiple: true,
      description: "a value the attribute must not have",
    },
    "require-subject": {
      type: "string",
      value: "ATTR",
      multiple: true,
      description: "the attribute must be present",
    },
  },
};

const SAN_TYPES: ReadonlyArray<
  readonly [flag: string, field: keyof SanRules, label: string, example: string]
> = [
  [
    "dns",
    "dns",
    "DNS",
    "'**.example.com' is one or more labels below, '*.example.com' one, '**' any",
  ],
  ["ip", "ip", "IP", "a CIDR range, e.g. 10.0.0.0/8"],
  [
    "email",
    "email",
    "email",
    "'alice@example.com'; '@example.com' is any mailbox there, '@**' any",
  ],
  ["uri", "uri", "URI", "e.g. 'spiffe://prod.example/ns/payments/*'"],
];

export const SAN_RULES_SECTION: OptionSection = {
  title: "SAN rules (a SAN type without an allowed pattern permits no names of that type)",
  specs: Object.fromEntries([
    ...SAN_TYPES.flatMap(
      ([flag, , label, example]): Array<[string, OptionSpecs[string]]> => [
        [
          `allow-${flag}`,
          {
            type: "string",
            value: "PATTERN",
            multiple: true,
            description: `${label} names allowed: ${example}`,
          },
        ],
        [
          `deny-${flag}`,
          {
            type: "string",
            value: "PATTERN",
            multiple: true,
            description: `${label} names denied (deny wins)`,
          },
        ],
        [
          `require-${flag}`,
          {
            type: "boolean",
            negatable: true,
            description: `at least one ${label} name`,
          },
        ],
      ],
    ),
    [
      "allow-wildcard-names",
      {
        type: "boolean",
        negatable: true,
        description: "requests may ask for wildcard DNS names (*.example.com)",
      },
    ],
    [
      "allow-sub-addresses",
      {
        type: "boolean",
        negatable: true,
        description: "email domain patterns also allow '+' sub-addresses",
      },
    ],
  ]),
};

function emptyValueRule(): ValueRule {
  return { allowed: [], denied: [], required: false };
}

function emptyNameRule(): NameRule {
  return {
    allowed: [],
    denied: [],
    required: false,
    allowWildcardNames: false,
    allowSubAddresses: false,
  };
}

function attributeOf(entry: string, flag: string): readonly [keyof SubjectRules, string] {
  const attr = entry.toLowerCase();
  const found = SUBJECT_ATTRIBUTES[attr];
  if (!found)
    throw new UsageError(
      `--${flag}: unknown subject attribute "${entry}" (one of: ${ATTRIBUTE_LIST})`,
    );
  return found;
}

/** "cn=*" as ["cn", "*"]. */
function splitPattern(entry: string, flag: string): [string, string] {
  const at = entry.indexOf("=");
  if (at <= 0) throw new UsageError(`--${flag}: "${entry}" is not ATTR=PATTERN (e.g. cn=*)`);
  return [entry.slice(0, at), entry.slice(at + 1)];
}

/** Applies the subject rule options; returns the update mask paths they touch. */
export function applySubjectRules(args: Args, policy: CertificatePolicy): string[] {
  const changes = new Map<
    keyof SubjectRules,
    { path: string; allowed?: string[]; denied?: string[]; required?: boolean }
  >();
  const change = (field: keyof SubjectRules, path: string) => {
    const c = changes.get(field) ?? { path };
    changes.set(field, c);
    return c;
  };
  for (const flag of ["allow-subject", "deny-subject"] as const) {
    for (const entry of args.strings(flag)) {
      const [attr, pattern] = splitPattern(entry, flag);
      const c = change(...attributeOf(attr, flag));
      const list = flag === "allow-subject" ? "allowed" : "denied";
      c[list] = [...(c[list] ?? []), pattern];
    }
  }
  for (const attr of args.strings("require-subject"))
    change(...attributeOf(attr, "require-subject")).required = true;
  if (changes.size === 0) return [];
  const rules: SubjectRules = { ...policy.subjectRules };
  for (const [field, c] of changes) {
    const rule = { ...(rules[field] ?? emptyValueRule()) };
    if (c.allowed) rule.allowed = c.allowed;
    if (c.denied) rule.denied = c.denied;
    if (c.required) rule.required = true;
    rules[field] = rule;
  }
  policy.subjectRules = rules;
  return [...changes.values()].map((c) => `subject_rules.${c.path}`);
}

/** Applies the SAN rule options; returns the update mask paths they touch. */
export function applySanRules(args: Args, policy: CertificatePolicy): string[] {
  const rules: SanRules = { ...policy.sanRules };
  const paths: string[] = [];
  for (const [flag, field] of SAN_TYPES) {
    const extra =
      field === "dns" ? ["allow-wildcard-names"] : field === "email" ? ["allow-sub-addresses"] : [];
    const touched = [`allow-${flag}`, `deny-${flag}`, `require-${flag}`, ...extra].some((f) =>
      args.given(f),
    );
    if (!touched) continue;
    const rule = { ...(rules[field] ?? emptyNameRule()) };
    if (args.given(`allow-${flag}`)) rule.allowed = args.strings(`allow-${flag}`);
    if (args.given(`deny-${flag}`)) rule.denied = args.strings(`deny-${flag}`);
    rule.required = args.flag(`require-${flag}`) ?? rule.required;
    if (field === "dns")
      rule.allowWildcardNames = args.flag("allow-wildcard-names") ?? rule.allowWildcardNames;
    if (field === "email")
      rule.allowSubAddresses = args.flag("allow-sub-addresses") ?? rule.allowSubAddresses;
    rules[field] = rule;
    paths.push(`san_rules.${field}`);
  }
  if (paths.length > 0) policy.sanRules = rules;
  return paths;
}
