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
 * Code points of internationalised names (every code point of a name with a non-ASCII character
 * or an A-label; see normalisedCharacters) one request may hold in all: 4,096, which UTS #46
 * processes in about 2 ms, and a refused name's diagnosis in a few passes more. A hundred
 * names such as "bücher-123.example.com" fit.
 */
export const MAX_NON_ASCII_PER_REQUEST = 4096;

/**
 * The code points of `s` UTS #46 would process: all of them (a surrogate pair counted once)
 * when `s` leaves the ASCII fast path, that is when it has a non-ASCII character or an A-label
 * ("xn--", decoded and validated as the U-label it encodes, RFC 5891 5.4); none otherwise.
 * Until 2026-12-05 only the non-ASCII characters and the A-labels' letters counted, so a name of
 * one "é" and a thousand hyphens cost 1 against the budget and five passes of UTS #46 (a
 * reviewer of the first version).
 */
export function normalisedCharacters(s: string): number {
  let total = 0;
  let slow = /(^|[^a-z0-9-])xn--/i.test(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) slow = true;
    if (c < 0xdc00 || c > 0xdfff) total++;
  }
  return slow ? total : 0;
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
