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
import { toASCII, toUnicode, type Uts46Options } from "tr46";
import { fail, ok, type Parsed } from "./types";

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

/**
 * The A-label form of a host name (lower case; a trailing dot kept, empty labels kept, for
 * the caller to judge), or why UTS #46 refuses it. The caller has refused ASCII characters
 * other than letters, digits, '-' and '.' before.
 */
export function toALabels(input: string): Parsed<string> {
  // Fast path, same result: plain ASCII without A-labels maps only upper to lower case, and
  // the hyphen rules are the caller's label checks.
  if (ASCII.test(input) && !hasALabel(input)) return ok(input.toLowerCase());
  const ascii = toASCII(input, CHECKS);
  if (ascii !== null) return ok(ascii);
  return fail(diagnose(input));
}

/** The U-label form of a normalised name (for matching subject patterns written in Unicode). */
export function toULabels(aLabels: string): string {
  return hasALabel(aLabels) ? toUnicode(aLabels, CHECKS).domain : aLabels;
}

/** Which UTS #46 check a refused name fails, for an actionable message (failure path only). */
function diagnose(input: string): string {
  const base = "is not a valid internationalised domain name (UTS #46)";
  for (const label of input.split(/[.\u3002\uff0e\uff61]/)) {
    if (/^xn--/i.test(label) && toUnicode(label, { useSTD3ASCIIRules: true }).error) {
      return `${base}: "${label.slice(0, 70)}" is not a valid A-label (RFC 5891 5.4)`;
    }
  }
  if (toASCII(input, { ...CHECKS, checkBidi: false }) !== null) {
    return `${base}: it breaks the Bidi rule for right-to-left labels (RFC 5893 section 2)`;
  }
  if (toASCII(input, { ...CHECKS, checkJoiners: false }) !== null) {
    return `${base}: it has a zero-width joiner or non-joiner where RFC 5892 Appendix A does not allow one`;
  }
  if (toASCII(input, { ...CHECKS, checkHyphens: false }) !== null) {
    return `${base}: a label starts or ends with '-' or has "--" in positions 3-4 (RFC 5891 4.2.3.1)`;
  }
  return `${base}: it has a disallowed character, a label starting with a combining mark, or a label not in NFC`;
}
