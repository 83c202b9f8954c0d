import { invalidField } from "../../errors";
import { REQUEST_ID_MAX_LENGTH } from "../../issuance/certificates/idempotency";

/**
 * The characters a request_id may hold: Unicode letters, marks, numbers, punctuation and
 * symbols (general categories L, M, N, P, S) and the ASCII space U+0020. Everything else is
 * refused: controls (Cc: C0, DEL, and the C1 range U+0080-U+009F with NEL and CSI), format
 * characters (Cf: zero-width U+200B-U+200F and U+FEFF, bidi embeddings/overrides U+202A-U+202E
 * and isolates U+2066-U+2069), the line and paragraph separators (Zl, Zp), spaces other than
 * U+0020 (Zs: U+00A0, U+3000 ...), private use (Co), surrogates (Cs) and unassigned code points
 * (Cn, the noncharacters U+FFFE/U+FFFF and U+FDD0-U+FDEF among them). Each of these is invisible
 * or renders as something else, so "dup-T" and "dup\u200B-T" looked the same in every listing
 * and yet were two idempotency keys: until stop 46 of 2026-12-06 only C0 and DEL were refused,
 * and four request_ids that look identical issued four certificates (an outside probe).
 */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** What a refused code point is, for the message: the general category in words. */
const KINDS: ReadonlyArray<[RegExp, string]> = [
  [/\p{Cc}/u, "a control character (Cc)"],
  [/\p{Cf}/u, "a format character (Cf: zero-width or bidi control)"],
  [/\p{Zl}/u, "a line separator (Zl)"],
  [/\p{Zp}/u, "a paragraph separator (Zp)"],
  [/\p{Zs}/u, "a space other than U+0020 (Zs)"],
  [/\p{Co}/u, "a private-use character (Co)"],
  [/\p{Cs}/u, "a lone surrogate (Cs)"],
];

/** A character as U+XXXX, for a refusal (shared with free text: api/request-check.ts). */
export const codePoint = (c: string) =>
  `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;

/** What a refused character is, in words (shared with free text: api/request-check.ts). */
export const kindOf = (c: string): string =>
  KINDS.find(([re]) => re.test(c))?.[1] ?? "unassigned or a noncharacter (Cn)";

/** Why a request_id is refused (its first offending character), or undefined. */
export function requestIdProblem(value: string): string | undefined {
  let position = 0;
  for (const c of value) {
    position += 1;
    if (!PRINTABLE.test(c)) return `character ${position} is ${codePoint(c)}, ${kindOf(c)}`;
  }
  // "dup-T" and "dup-T " look the same in a listing too.
  if (value.startsWith(" ") || value.endsWith(" ")) {
    return "it starts or ends with a space";
  }
  // "café" composed (U+00E9) and decomposed (e + U+0301) render the same but are different
  // strings, so two keys (Unicode canonical equivalence, UAX #15). Refused rather than
  // normalized: a normalized lookup would miss a key stored before this check and issue again.
  if (value.normalize("NFC") !== value) {
    return 'it is not in Unicode Normalization Form C (NFC): send value.normalize("NFC")';
  }
  return undefined;
}

/**
 * A request's `request_id`: an idempotency key of the calling access token (IssueCertificate,
 * RenewCertificate, CreateAccessToken); empty or unset means none. 1-128 printable characters:
 * see PRINTABLE.
 */
export function requestIdOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (value.length > REQUEST_ID_MAX_LENGTH) {
    throw invalidField(
      "REQUEST_ID_INVALID",
      `request_id must be 1-${REQUEST_ID_MAX_LENGTH} printable characters`,
      "request_id",
      "too long or not printable",
    );
  }
  const problem = requestIdProblem(value);
  if (problem) {
    throw invalidField(
      "REQUEST_ID_INVALID",
      `request_id must be 1-${REQUEST_ID_MAX_LENGTH} printable characters (Unicode letters, marks, numbers, punctuation, symbols, and the space U+0020 but not first or last, in NFC), but ${problem}`,
      "request_id",
      `not printable: ${problem}`,
    );
  }
  return value;
}
