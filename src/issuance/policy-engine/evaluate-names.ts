/**
 * Evaluation of the subject and the SANs. Field paths are those of the IssueCertificate API
 * (`subject.common_name`, `subject.organization[0]`, `sans.dns_names[1]`).
 */

import type { FieldViolation } from "../../errors";
import { fieldViolation, quoted } from "../../errors";
import {
  SUBJECT_ATTRIBUTES,
  type SubjectAltNames,
  type SubjectAttribute,
  type SubjectName,
} from "../../model/pki";
import type { CompiledPolicy } from "./compile";
import type { NameVerdict } from "./compile-names";
import { isSubAddress, parseEmail } from "./email-match";
import { mustBeInSans, readSubjectName, sanNoun } from "./subject-names";
import type { SanType, ViolationReason } from "./types";
import { foldValue, globMatch, subjectValueError, type ValuePattern } from "./value-match";

export const violation = (
  field: string,
  reason: ViolationReason,
  description: string,
): FieldViolation => fieldViolation(field, reason, description);

/**
 * A user-supplied string for a description: errors.ts quoted (JSON-escaped, at most 64 code
 * points, as the README promises). Until stop 40 of 2026-12-05 the policy engine kept its own
 * copy that quoted 200 characters (an outside probe).
 */
export const quote = (s: unknown): string => quoted(String(s));

/** Proto field names of the subject attributes; O and OU are repeated in the API. */
const SUBJECT_FIELDS: Record<SubjectAttribute, { name: string; repeated: boolean }> = {
  COMMON_NAME: { name: "common_name", repeated: false },
  ORGANIZATION: { name: "organization", repeated: true },
  ORGANIZATIONAL_UNIT: { name: "organizational_unit", repeated: true },
  COUNTRY: { name: "country", repeated: false },
  STATE: { name: "state", repeated: false },
  LOCALITY: { name: "locality", repeated: false },
  STREET_ADDRESS: { name: "street_address", repeated: false },
  POSTAL_CODE: { name: "postal_code", repeated: false },
  SERIAL_NUMBER: { name: "serial_number", repeated: false },
  EMAIL_ADDRESS: { name: "email_address", repeated: false },
};

export function evaluateSubject(
  policy: CompiledPolicy,
  subject: SubjectName,
  sans: SubjectAltNames,
): FieldViolation[] {
  const out: FieldViolation[] = [];
  const seen = new Map<SubjectAttribute, number>();
  for (const { type, value } of subject?.attributes ?? []) {
    const meta = SUBJECT_FIELDS[type];
    if (!meta) {
      out.push(violation("subject", "SUBJECT_INVALID", `unknown subject attribute ${quote(type)}`));
      continue;
    }
    const index = seen.get(type) ?? 0;
    seen.set(type, index + 1);
    const field = `subject.${meta.name}${meta.repeated ? `[${index}]` : ""}`;
    if (!meta.repeated && index > 0) {
      out.push(violation(field, "SUBJECT_ATTRIBUTE_REPEATED", `${type} may appear only once`));
    }
    const error = subjectValueError(type, value);
    if (error) {
      out.push(violation(field, "SUBJECT_INVALID", `${quote(value)} ${error}`));
      continue;
    }
    // A value that reads as a name is matched in its normalised forms (subject-names.ts).
    const name = readSubjectName(type, value);
    if (name.kind === "invalid") {
      const why = `${quote(value)} reads as ${sanNoun(name.as)} but is not a valid one: it ${name.error}`;
      out.push(violation(field, "SUBJECT_INVALID", why));
      continue;
    }
    const keys = name.kind === "text" ? [foldValue(value)] : name.forms.map(foldValue);
    const matching = (ps: readonly ValuePattern[]) =>
      ps.find((p) => keys.some((k) => globMatch(p, k)));
    const rule = policy.subject[type];
    if (!rule || rule.allowed.length === 0) {
      out.push(violation(field, "SUBJECT_NOT_ALLOWED", `the policy allows no ${type} attribute`));
    } else {
      const denied = matching(rule.denied);
      if (denied) {
        const why = `${quote(value)} matches denied pattern ${quote(denied.text)}`;
        out.push(violation(field, "SUBJECT_DENIED", why));
      } else if (!matching(rule.allowed)) {
        const why = `${quote(value)} matches no allowed ${type} pattern`;
        out.push(violation(field, "SUBJECT_NOT_ALLOWED", why));
      }
    }
    if (name.kind !== "text") out.push(...subjectNameAsSan(policy, type, field, value, name, sans));
  }
  for (const type of SUBJECT_ATTRIBUTES) {
    if (policy.subject[type]?.required && !seen.has(type)) {
      const field = `subject.${SUBJECT_FIELDS[type].name}`;
      out.push(violation(field, "SUBJECT_REQUIRED", `the policy requires a ${type} attribute`));
    }
  }
  return out;
}

/**
 * A subject value that reads as a name meets the SAN rules of its kind, as if it were a SAN
 * (same reasons, on the subject field), and is among the SANs when the policy requires it.
 */
function subjectNameAsSan(
  policy: CompiledPolicy,
  type: SubjectAttribute,
  field: string,
  value: string,
  name: { kind: SanType; text: string },
  sans: SubjectAltNames,
): FieldViolation[] {
  const out: FieldViolation[] = [];
  const rule = policy.sans[name.kind];
  const noun = sanNoun(name.kind);
  const shown = `${quote(value)} (${noun}${name.text === value ? "" : ` ${quote(name.text)}`})`;
  const v = rule.check(name.text);
  if (!v.valid) {
    out.push(violation(field, "SAN_INVALID", `${shown} is not valid as a SAN: it ${v.error}`));
    return out;
  }
  const verdict = sanVerdict(name.kind, rule, v, shown);
  if (verdict)
    out.push(
      violation(field, verdict.reason, `${verdict.why} (SAN rules apply to names in the subject)`),
    );
  const setting = policy.subjectNamesInSans;
  if (setting !== "COPY" && mustBeInSans(type, setting)) {
    const requested = (sans?.[SAN_FIELDS[name.kind].key] ?? []).map((n) => {
      const c = rule.check(n);
      return c.valid ? c.text : n;
    });
    if (!requested.includes(name.text)) {
      const why =
        type === "EMAIL_ADDRESS"
          ? "an emailAddress must also be an email SAN (RFC 5280 4.1.2.6)"
          : `the policy requires the common name among the SANs (CA/B BR 7.1.4.3)`;
      out.push(
        violation(
          field,
          "SUBJECT_NAME_NOT_IN_SANS",
          `${shown}: ${why}; add it to the ${SAN_FIELDS[name.kind].field}`,
        ),
      );
    }
  }
  return out;
}

/** The deny / allow verdict of a valid name under its SAN rule, or undefined when allowed. */
function sanVerdict(
  type: SanType,
  rule: CompiledPolicy["sans"][SanType],
  v: Extract<NameVerdict, { valid: true }>,
  shown: string,
): { reason: ViolationReason; why: string } | undefined {
  const noun = SAN_FIELDS[type].noun;
  if (v.deniedBy !== undefined) {
    return { reason: "SAN_DENIED", why: `${shown} matches denied pattern ${quote(v.deniedBy)}` };
  }
  if (v.allowed) return undefined;
  if (rule.allowsNothing)
    return { reason: "SAN_NOT_ALLOWED", why: `${shown}: the policy allows no ${plural(noun)}` };
  const subAddress = type === "email" && !rule.allowSubAddresses && isSubAddressText(v.text);
  const note = subAddress
    ? " (a '+' sub-address needs an allowed pattern naming it exactly, or allow_sub_addresses)"
    : "";
  return { reason: "SAN_NOT_ALLOWED", why: `${shown} matches no allowed ${noun} pattern${note}` };
}

const isSubAddressText = (text: string) => {
  const e = parseEmail(text);
  return e.ok && isSubAddress(e.value);
};

const SAN_FIELDS: Record<SanType, { key: keyof SubjectAltNames; field: string; noun: string }> = {
  dns: { key: "dns", field: "sans.dns_names", noun: "DNS name" },
  ip: { key: "ip", field: "sans.ip_addresses", noun: "IP address" },
  email: { key: "email", field: "sans.email_addresses", noun: "email address" },
  uri: { key: "uri", field: "sans.uris", noun: "URI" },
};

/** `copied`: how many names of this type COPY adds from the subject (they count as required). */
export function evaluateSans(
  policy: CompiledPolicy,
  sans: SubjectAltNames,
  type: SanType,
  copied = 0,
): FieldViolation[] {
  const out: FieldViolation[] = [];
  const { key, field: base, noun } = SAN_FIELDS[type];
  const rule = policy.sans[type];
  const names = sans?.[key] ?? [];
  names.forEach((input, i) => {
    const field = `${base}[${i}]`;
    const v = rule.check(input);
    if (!v.valid) {
      out.push(
        violation(field, "SAN_INVALID", `${quote(input)} is not a valid ${noun}: it ${v.error}`),
      );
      return;
    }
    const shown = v.text === input ? quote(input) : `${quote(input)} (normalised ${quote(v.text)})`;
    if (v.wildcard && !rule.allowWildcardNames) {
      out.push(
        violation(
          field,
          "WILDCARD_NOT_ALLOWED",
          `${shown} is a wildcard and the policy allows no wildcard names`,
        ),
      );
    }
    const verdict = sanVerdict(type, rule, v, shown);
    if (verdict) out.push(violation(field, verdict.reason, verdict.why));
  });
  if (rule.required && names.length === 0 && copied === 0) {
    out.push(violation(base, "SAN_REQUIRED", `the policy requires at least one ${noun}`));
  }
  return out;
}

/** "IP addresses", "DNS names": a noun of SAN_KINDS in the plural. */
const plural = (noun: string): string => (noun.endsWith("s") ? `${noun}es` : `${noun}s`);
