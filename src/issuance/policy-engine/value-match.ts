/**
 * Subject attribute values and '*' glob patterns. Comparison is on a folded key (NFKC, case
 * fold, collapsed white space) after the caseIgnoreMatch of RFC 5280 7.1 / RFC 4518, so that
 * "ACME  Corp" cannot slip past a denied "acme corp". The glob has no backtracking: the
 * literal pieces between '*'s are found left to right, each at its first occurrence, which is
 * optimal for '*'-only globs and linear in the number of pieces.
 */

import { countryCodeHint, isCountryCode } from "../../model/country-codes";
import { SUBJECT_ATTRIBUTE_UPPER_BOUNDS, type SubjectAttribute } from "../../model/pki";
import { parseEmail } from "./email-match";

export interface ValuePattern {
  readonly text: string;
  /** The folded pattern split on '*'; one piece means an exact value. */
  readonly pieces: readonly string[];
}

// Control, format (zero-width, bidi overrides), surrogate, private-use, unassigned; and the
// line and paragraph separators U+2028 and U+2029, which viewers and log pipelines split lines
// on ("evil.org\u2028x" shows "evil.org" as its first line; allowed until a review of stop 43 of
// 2026-12-06).
// And what renders as nothing or as a blank without being white space: the default-ignorable
// code points outside Cf (U+034F, variation selectors, the Hangul fillers U+115F, U+3164, U+FFA0,
// U+17B4, the Mongolian selectors) and U+2800 BRAILLE PATTERN BLANK. Folding keeps them, so
// "E\u034Fvil Corp" passed a denied "*Evil Corp*" and "evil.org \u3164" passed the edge-space
// rule below (allowed until stop 49 of 2026-12-06: an outside probe).
const FORBIDDEN =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800]/u;
const SPACES = /\s+/gu;
/** White space (any: U+00A0 and U+3000 too) at the start or the end of a value. */
const EDGE_SPACE = /^\s|\s$/u;

/**
 * The scripts whose letters look alike (UTS #39 confusables: Latin "E", Cyrillic "Е", Greek
 * "Ε"). A word with letters of two of them reads as a word of one: "Еvil Corp" with a
 * Cyrillic Е passed a denied "*Evil Corp*", which compares folded text (an outside probe, stop
 * 52 of 2026-12-07, POLICY F3). A value may still hold words of different scripts ("ООО Ромашка
 * (Romashka LLC)"); one word may not mix them (UTS #39 5.1's single-script restriction, per word).
 */
const LOOK_ALIKE_SCRIPTS = [/\p{Script=Latin}/u, /\p{Script=Cyrillic}/u, /\p{Script=Greek}/u];
const WORD_SEPARATORS = /[^\p{L}\p{M}\p{N}]+/u;

/** The first word of `value` with letters of more than one look-alike script, if any. */
export function mixedScriptWord(value: string): string | undefined {
  for (const word of value.split(WORD_SEPARATORS)) {
    let scripts = 0;
    for (const script of LOOK_ALIKE_SCRIPTS) if (script.test(word)) scripts++;
    if (scripts > 1) return word;
  }
  return undefined;
}

/** RFC 5280 Appendix A upper bounds (street and postal code: X.520), in characters. */
const MAX_LENGTH = SUBJECT_ATTRIBUTE_UPPER_BOUNDS;

/** The comparison key of a value or pattern. */
export function foldValue(s: string): string {
  const folded = s.normalize("NFKC").toUpperCase().toLowerCase().normalize("NFKC");
  return folded.replace(SPACES, " ").trim();
}

/** Why a requested value is invalid, or undefined. */
export function subjectValueError(type: SubjectAttribute, value: string): string | undefined {
  if (typeof value !== "string") return "is not a string";
  // Length first, so that no further work is done on an oversized value.
  if (value.length > 4 * MAX_LENGTH[type] || [...value].length > MAX_LENGTH[type]) {
    return `is longer than ${MAX_LENGTH[type]} characters (RFC 5280 Appendix A)`;
  }
  if (FORBIDDEN.test(value)) {
    return "contains a control, format, invisible, line-separator or unassigned character";
  }
  if (foldValue(value).length === 0) return "is empty";
  // "evil.org " read as free text (white space: no host name has it), so it passed the DNS
  // rules and the CA's name constraints, while whatever trims the value (a log pipeline, an
  // inventory, a validator following RFC 4518's insignificant-space handling) reads "evil.org".
  // Until stop 43 of 2026-12-06 it was signed, with no SAN (an outside probe); zlint flags it
  // (w_subject_dn_leading_whitespace, w_subject_dn_trailing_whitespace).
  if (EDGE_SPACE.test(value)) {
    return "starts or ends with white space, which readers that trim it would take for another value: remove it";
  }
  if (foldValue(value).includes("*")) {
    return "contains '*'; wildcard names belong in DNS SANs under a rule that allows them";
  }
  const mixed = mixedScriptWord(value.normalize("NFKC"));
  if (mixed !== undefined) {
    return `has a word (${JSON.stringify(mixed.slice(0, 64))}) with Latin, Cyrillic or Greek letters mixed, which reads as another word: write each word in one script`;
  }
  if (type === "COUNTRY" && !isCountryCode(value.toUpperCase())) {
    return `is not an ISO 3166-1 alpha-2 country code${countryCodeHint(value)}`;
  }
  if (type === "EMAIL_ADDRESS") {
    const email = parseEmail(value);
    if (!email.ok) return `is not a valid email address: it ${email.error}`;
  }
  return undefined;
}

/** Why a pattern is invalid, or the compiled pattern. */
export function parseValuePattern(text: string): ValuePattern | string {
  if (typeof text !== "string") return "is not a string";
  if (text.length > 1024) return "is too long";
  if (foldValue(text).length === 0) return "is empty";
  if (FORBIDDEN.test(text)) {
    return "contains a control, format, invisible or unassigned character";
  }
  return { text, pieces: foldValue(text).split("*") };
}

/** Whether the folded value matches the pattern. */
export function globMatch(p: ValuePattern, key: string): boolean {
  const pieces = p.pieces;
  if (pieces.length === 1) return key === pieces[0];
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (key.length < first.length + last.length) return false;
  if (!key.startsWith(first) || !key.endsWith(last)) return false;
  let pos = first.length;
  const end = key.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!;
    if (piece.length === 0) continue;
    const at = key.indexOf(piece, pos);
    if (at === -1 || at + piece.length > end) return false;
    pos = at + piece.length;
  }
  return true;
}

/** A pattern matching every value ("*", "**", ...). */
export const isCatchAll = (p: ValuePattern) => p.pieces.every((s) => s.length === 0);
