/**
 * Evaluation of the subject and the SANs. Field paths are those of the IssueCertificate API
 * (`subject.common_name`, `subject.organization[0]`, `sans.dns_names[1]`).
 */

import type { FieldViolation } from "../../errors";
import {
  SUBJECT_ATTRIBUTES,
  type SubjectAltNames,
  type SubjectAttribute,
  type SubjectName,
} from "../../model/pki";
import type { CompiledPolicy } from "./compile";
import type { SanType, ViolationReason } from "./types";
import { foldValue, globMatch, subjectValueError } from "./value-match";

export const violation = (
  field: string,
  reason: ViolationReason,
  description: string,
): FieldViolation => ({ field, reason, description });

/** A user-supplied string for a description: JSON-quoted (escapes controls), length-capped. */
export const quote = (s: unknown): string => {
  const str = String(s);
  return JSON.stringify(str.length > 200 ? `${str.slice(0, 200)}...` : str);
};

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

export function evaluateSubject(policy: CompiledPolicy, subject: SubjectName): FieldViolation[] {
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
    const rule = policy.subject[type];
    if (!rule || rule.allowed.length === 0) {
      out.push(violation(field, "SUBJECT_NOT_ALLOWED", `the policy allows no ${type} attribute`));
      continue;
    }
    const key = foldValue(value);
    const denied = rule.denied.find((p) => globMatch(p, key));
    if (denied) {
      out.push(
        violation(
          field,
          "SUBJECT_DENIED",
          `${quote(value)} matches denied pattern ${quote(denied.text)}`,
        ),
      );
    } else if (!rule.allowed.some((p) => globMatch(p, key))) {
      out.push(
        violation(
          field,
          "SUBJECT_NOT_ALLOWED",
          `${quote(value)} matches no allowed ${type} pattern`,
        ),
      );
    }
  }
  for (const type of SUBJECT_ATTRIBUTES) {
    if (policy.subject[type]?.required && !seen.has(type)) {
      const field = `subject.${SUBJECT_FIELDS[type].name}`;
      out.push(violation(field, "SUBJECT_REQUIRED", `the policy requires a ${type} attribute`));
    }
  }
  return out;
}

const SAN_FIELDS: Record<SanType, { key: keyof SubjectAltNames; field: string; noun: string }> = {
  dns: { key: "dns", field: "sans.dns_names", noun: "DNS name" },
  ip: { key: "ip", field: "sans.ip_addresses", noun: "IP address" },
  email: { key: "email", field: "sans.email_addresses", noun: "email address" },
  uri: { key: "uri", field: "sans.uris", noun: "URI" },
};

export function evaluateSans(
  policy: CompiledPolicy,
  sans: SubjectAltNames,
  type: SanType,
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
    if (v.deniedBy !== undefined) {
      out.push(
        violation(field, "SAN_DENIED", `${shown} matches denied pattern ${quote(v.deniedBy)}`),
      );
    } else if (!v.allowed) {
      const why = rule.allowsNothing
        ? `the policy allows no ${noun}s`
        : `${shown} matches no allowed ${noun} pattern`;
      out.push(violation(field, "SAN_NOT_ALLOWED", rule.allowsNothing ? `${shown}: ${why}` : why));
    }
  });
  if (rule.required && names.length === 0) {
    out.push(violation(base, "SAN_REQUIRED", `the policy requires at least one ${noun}`));
  }
  return out;
}
