/**
 * The one IDNA normalisation of host names, wherever a name appears (DNS SANs, email domains,
 * URI hosts, a common name or emailAddress that reads as a name): UTS #46 processing
 * (Unicode IDNA Compatibility Processing, version 15.1) with the IDNA2008 validity checks on,
 * through tr46 (jsdom/tr46, pinned exactly; Node's url.domainToASCII skips CheckBidi and
 * CheckHyphens). Options, UTS #46 section 4:
 * - Nontransitional processing: deviation characters are kept ("faß.de" -> "xn--fa-hia.de").
 * - UseSTD3ASCIIRules: ASCII is letters, digits and '-' only (RFC 1123 host names).
 * - CheckHyphens: no '-' first or last, none in positions 3-4 (RFC 5891 4.2.3.1).
 * - CheckJoiners: ZWJ / ZWNJ only where RFC 5892 Appendix A (CONTEXTJ) allows them.
 * - CheckBidi: every label of a domain with right-to-left characters satisfies the Bidi rule
 *   of RFC 5893 section 2.
 * - An A-label ("xn--...") is decoded and its U-label validated exactly as a U-label would be;
 *   one that does not decode, decodes to ASCII only (a fake A-label) or to an invalid U-label
 *   is refused (RFC 5891 5.4). So a name is valid or invalid alike in either form, whichever
 *   route it came by.
 */

import type { Uts46Options } from "tr46";
import * as tr46 from "tr46";
import { quoted } from "../../errors";
import { fail, ok, type Parsed } from "./types";

/**
 * The UTS #46 implementation, called through this object only, so that tests can count the
 * calls (test/policies/idna-cost.test.ts).
 */
export const uts46 = { toASCII: tr46.toASCII, toUnicode: tr46.toUnicode };

const CHECKS: Uts46Options = {
  checkHyphens: true,
  checkBidi: true,
  checkJoiners: true,
  useSTD3ASCIIRules: true,
  transitionalProcessing: false,
  verifyDNSLength: false, // lengths are checked by the caller, with precise messages
};

const hasALabel = (s: string) => /(^|\.)xn--/i.test(s);
// biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII range test
const ASCII = /^[\x00-\x7f]*$/;
/** The label separators of UTS #46 (section 4, step 3, after mapping; RFC 3490 3.1). */
const SEPARATORS = /[.\u3002\uff0e\uff61]/;

/**
 * Code points that each stay at least one octet of their label's A-label, whatever surrounds
 * them: letters and decimal digits, which UTS #46 maps to one or more code points without a
 * '.', one of which no NFC composition absorbs into the code point before it. Not counted:
 * Hangul jamo and their compatibility and halfwidth forms (they compose into syllables), the
 * halfwidth voiced sound marks (mapped to combining marks), Kirat Rai U+16D63-16D6A (they
 * compose in Node's ICU, Unicode 16), and everything else (marks, ignored and format
 * characters, symbols mapping to text with a '.'). test/policies/idna-cost.test.ts checks the
 * claim against tr46 for every code point.
 */
// '-' too: it stays one octet of the A-label (until 2026-12-05 it was not counted, so a label of
// one letter and a thousand hyphens went through UTS #46: a reviewer).
const COUNTED = /[\p{L}\p{Nd}-]/u;
const NOT_COUNTED =
  /[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff\uff9e-\uffdc\u{16d63}-\u{16d6a}]/u;

/** A-labels (RFC 5890 2.3.2.1: 63 octets) and names (RFC 1035 2.3.4: 253 octets) at most. */
const MAX_LABEL = 63;
const MAX_NAME = 253;

/**
 * Why `input` cannot become a name of at most 253 octets with labels of at most 63, known
 * without UTS #46 processing: a lower bound of each A-label's length (its COUNTED code
 * points) already exceeds them. UTS #46 costs about 0.3 us per code point on the event loop
 * (bench/idna), so a label too long is refused before it (probe39 MEDIUM-1). Undefined when
 * the bounds allow the name (then UTS #46 decides); the caller checks exact lengths after.
 */
function tooLong(input: string): string | undefined {
  // Code points are an upper bound of the counted ones: most names stop here.
  let longest = 0;
  let run = 0;
  let total = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) continue; // the second half of a surrogate pair
    total++;
    if (c === 0x2e || c === 0x3002 || c === 0xff0e || c === 0xff61) run = 0;
    else if (++run > longest) longest = run;
  }
  if (longest <= MAX_LABEL && total <= MAX_NAME) return undefined;
  const labels = input.split(SEPARATORS);
  let octets = labels.length - 2; // the dots between labels, a trailing one not counted
  for (const label of labels) {
    let counted = 0;
    for (const ch of label) if (COUNTED.test(ch) && !NOT_COUNTED.test(ch)) counted++;
    if (counted > MAX_LABEL)
      return `has a label longer than 63 octets ("${label.slice(0, 20)}...")`;
    octets += counted;
  }
  return octets > MAX_NAME ? "is longer than 253 octets" : undefined;
}

/**
 * Results of UTS #46 processing for the names seen last. One request normalises each name
 * several times (certifiedNames for signing, then evaluate for the verdict and the copy
 * checks), so all but the first are lookups. Bounded: keys are at most 1,024 characters
 * (MAX_NAME_INPUT), so the cache holds at most a few MiB.
 */
const CACHE_SIZE = 1024;
const cache = new Map<string, Parsed<string>>();

function remember(input: string, result: Parsed<string>): Parsed<string> {
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(input, result);
  return result;
}

/**
 * The A-label form of a host name (lower case; a trailing dot kept, empty labels kept, for
 * the caller to judge), or why UTS #46 refuses it. The caller has refused ASCII characters
 * other than letters, digits, '-' and '.' before.
 */
export function toALabels(input: string): Parsed<string> {
  // Fast path, same result: plain ASCII without A-labels maps only upper to lower case, and
  // the hyphen rules are the caller's label checks.
  if (ASCII.test(input) && !hasALabel(input)) return ok(input.toLowerCase());
  const known = cache.get(input);
  if (known) {
    cache.delete(input); // least recently used first
    cache.set(input, known);
    return known;
  }
  const long = tooLong(input);
  if (long) return remember(input, fail(long));
  const ascii = uts46.toASCII(input, CHECKS);
  return remember(input, ascii !== null ? ok(ascii) : fail(diagnose(input)));
}

/** The U-label form of a normalised name (for matching subject patterns written in Unicode). */
export function toULabels(aLabels: string): string {
  return hasALabel(aLabels) ? uts46.toUnicode(aLabels, CHECKS).domain : aLabels;
}

/**
 * Which UTS #46 check a refused name fails, for an actionable message (failure path only).
 * Label by label, so it costs about one more pass over the name, not one per check: every
 * check but the Bidi rule is a check of one label (UTS #46 4.1), and a label with
 * right-to-left characters makes its own domain a Bidi domain. So when every label passes
 * alone, the whole name fails the Bidi rule (RFC 5893 2: a left-to-right label, such as one
 * starting with a digit, in a domain with right-to-left labels).
 */
function diagnose(input: string): string {
  const base = "is not a valid internationalised domain name (UTS #46)";
  for (const label of input.split(SEPARATORS)) {
    if (uts46.toASCII(label, CHECKS) !== null) continue;
    if (/^xn--/i.test(label) && uts46.toUnicode(label, { useSTD3ASCIIRules: true }).error) {
      return `${base}: ${quoted(label, 70)} is not a valid A-label (RFC 5891 5.4)`;
    }
    return `${base}: ${labelDiagnosis(label)}`;
  }
  return `${base}: ${BIDI}`;
}

const BIDI = "it breaks the Bidi rule for right-to-left labels (RFC 5893 section 2)";

/** Which check one label fails (the label alone fails UTS #46 with every check on). */
function labelDiagnosis(label: string): string {
  if (uts46.toASCII(label, { ...CHECKS, checkBidi: false }) !== null) return BIDI;
  if (uts46.toASCII(label, { ...CHECKS, checkJoiners: false }) !== null) {
    return "it has a zero-width joiner or non-joiner where RFC 5892 Appendix A does not allow one";
  }
  if (uts46.toASCII(label, { ...CHECKS, checkHyphens: false }) !== null) {
    return `a label starts or ends with '-' or has "--" in positions 3-4 (RFC 5891 4.2.3.1)`;
  }
  return "it has a disallowed character, a label starting with a combining mark, or a label not in NFC";
}
