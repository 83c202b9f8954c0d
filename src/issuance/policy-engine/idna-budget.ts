/**
 * A bound on the UTS #46 work of one request (probe39 MEDIUM-1). UTS #46 processing (idna.ts)
 * runs on the event loop at about 0.3-0.6 us per non-ASCII code point (bench/idna); a request
 * of 100 DNS names of 230 non-ASCII characters each cost 20-60 ms of CPU, which fair admission,
 * counting calls, not their cost, let one token spend 20 times a second. ASCII names take a
 * fast path and cost nothing here.
 */
import type { FieldViolation } from "../../errors";
import type { SubjectAltNames, SubjectName } from "../../model/pki";
import { quote, violation } from "./evaluate-names";

/**
 * Internationalised characters (non-ASCII code points, and the letters of A-labels; see
 * normalisedCharacters) one request's names may hold in all: 2,048, which UTS #46 processes in
 * about 1 ms. Twenty names of 100 such characters each, or 100 names of 20, fit.
 */
export const MAX_NON_ASCII_PER_REQUEST = 2048;

const isLdh = (c: number) =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d;

/**
 * The characters of `s` UTS #46 would process one by one: its non-ASCII code points (a
 * surrogate pair counted once), and the letters of each A-label ("xn--" and what follows it up
 * to the next character that is not a letter, digit or '-'), which are decoded and validated
 * as the U-label they encode (RFC 5891 5.4) at about the same cost.
 */
export function normalisedCharacters(s: string): number {
  let n = 0;
  let labelStart = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      if (c < 0xdc00 || c > 0xdfff) n++;
      labelStart = false;
    } else if (!isLdh(c)) {
      labelStart = true;
    } else if (labelStart) {
      labelStart = false;
      if ((c === 0x78 || c === 0x58) && /^xn--/i.test(s.slice(i, i + 4))) {
        let end = i + 4;
        while (end < s.length && isLdh(s.charCodeAt(end))) end++;
        n += end - i - 4;
        i = end - 1;
      }
    }
  }
  return n;
}

/** The names of a request that go through UTS #46, with their field paths, in evaluate's order. */
function* namesOf(subject: SubjectName, sans: SubjectAltNames) {
  for (const { type, value } of subject?.attributes ?? []) {
    if (type === "COMMON_NAME") yield { field: "subject.common_name", value };
    else if (type === "EMAIL_ADDRESS") yield { field: "subject.email_address", value };
  }
  const lists: Array<[readonly string[] | undefined, string]> = [
    [sans?.dns, "sans.dns_names"],
    [sans?.email, "sans.email_addresses"],
    [sans?.uri, "sans.uris"],
  ];
  for (const [values, field] of lists) {
    for (const [i, value] of (values ?? []).entries()) yield { field: `${field}[${i}]`, value };
  }
}

/**
 * The refusal of a request whose names hold more than MAX_NON_ASCII_PER_REQUEST
 * internationalised characters in all: one violation (SAN_INVALID, or SUBJECT_INVALID for a subject field) on
 * the first name that goes past the bound, or none. A counting pass over the strings, to run
 * before any name is normalised (before certifiedNames and evaluate).
 */
export function nameNormalisationBudget(
  subject: SubjectName,
  sans: SubjectAltNames,
): FieldViolation[] {
  let total = 0;
  for (const { field, value } of namesOf(subject, sans)) {
    total += normalisedCharacters(value);
    if (total <= MAX_NON_ASCII_PER_REQUEST) continue;
    const reason = field.startsWith("subject.") ? "SUBJECT_INVALID" : "SAN_INVALID";
    const why =
      `${quote(value)} brings the internationalised characters of this request's names ` +
      `(non-ASCII characters and A-label letters) to ${total}, more than the ` +
      `${MAX_NON_ASCII_PER_REQUEST} one request may have normalised (UTS #46); ` +
      "put the names from this one on in another certificate request";
    return [violation(field, reason, why)];
  }
  return [];
}
