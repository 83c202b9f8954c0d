/**
 * A CSR carries as much identity as IssueCertificate's attributes may, no more
 * (src/model/limits.ts): at most so many values per subject attribute, values within their
 * RFC 5280 upper bounds, at most so many names of each SAN type, each of a bounded length.
 * Without this, 64 KiB of CSR could hold thousands of attributes, each evaluated by the policy
 * and stored with the refused request.
 */
import type { CertmintError } from "../errors";
import { SAN_MAX_CHARS, SAN_MAX_PER_TYPE, SUBJECT_ATTRIBUTE_MAX_VALUES } from "../model/limits";
import {
  SUBJECT_ATTRIBUTE_UPPER_BOUNDS,
  type SubjectAltNames,
  type SubjectAttribute,
  type SubjectName,
} from "../model/pki";
import { csrError } from "./csr-fields";

const SAN_NAMES: Record<keyof SubjectAltNames, string> = {
  dns: "DNS names",
  ip: "IP addresses",
  email: "email addresses",
  uri: "URIs",
};

/** The first bound the CSR's subject or SANs break, as the CertmintError to throw. */
export function csrBoundsError(
  subject: SubjectName,
  sans: SubjectAltNames,
): CertmintError | undefined {
  const counts = new Map<SubjectAttribute, number>();
  for (const { type, value } of subject.attributes) {
    const n = (counts.get(type) ?? 0) + 1;
    counts.set(type, n);
    if (n > SUBJECT_ATTRIBUTE_MAX_VALUES[type]) {
      return csrError(
        "CSR_SUBJECT_TOO_MANY_VALUES",
        `the CSR subject has more than ${SUBJECT_ATTRIBUTE_MAX_VALUES[type]} ${type} value(s)`,
      );
    }
    const bound = SUBJECT_ATTRIBUTE_UPPER_BOUNDS[type];
    if ([...value].length > bound) {
      return csrError(
        "CSR_SUBJECT_VALUE_TOO_LONG",
        `a ${type} value of the CSR subject is longer than ${bound} characters (RFC 5280 Appendix A)`,
      );
    }
  }
  for (const type of Object.keys(SAN_NAMES) as Array<keyof SubjectAltNames>) {
    if (sans[type].length > SAN_MAX_PER_TYPE) {
      return csrError(
        "CSR_SAN_TOO_MANY",
        `the CSR requests more than ${SAN_MAX_PER_TYPE} ${SAN_NAMES[type]}`,
      );
    }
    if (sans[type].some((name) => name.length > SAN_MAX_CHARS[type])) {
      return csrError(
        "CSR_SAN_TOO_LONG",
        `the CSR requests one of its ${SAN_NAMES[type]} longer than ${SAN_MAX_CHARS[type]} characters`,
      );
    }
  }
  return undefined;
}
