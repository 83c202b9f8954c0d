/**
 * Email addresses (rfc822Name, RFC 5280 4.2.1.6) and email patterns. Only the RFC 5321 4.1.2
 * Dot-string local part is accepted: quoted local parts and address literals are legal but
 * rare, and every extra syntax is one more place for two parsers to disagree. For the same
 * reason the routing characters '%' (the "percent hack", RFC 1123 5.2.16) and '!' (UUCP bang
 * paths, RFC 976) are refused: "ceo%example.com@relay.example" delivers to another mailbox
 * than its text says to a relay that still honours them.
 *
 * Sub-addresses (RFC 5233): "ceo+x@example.com" is delivered to ceo@example.com by most mail
 * servers. So a denied mailbox denies its sub-addresses too, and a '+' local part is allowed
 * only by a mailbox pattern naming it exactly, or by a domain pattern of a rule with
 * allowSubAddresses. Other delimiters ('-' on some servers) and dot-insensitive mailboxes
 * cannot be known from here: deny such mailboxes explicitly.
 */

import {
  type DnsPattern,
  dnsPatternMatchesLabels,
  dnsPatternSubsumes,
  parseDnsPattern,
  parseHostLabels,
} from "./dns-match";
import { fail, ok, type Parsed } from "./types";

export interface EmailAddress {
  /** Local part as given (RFC 5321 2.4: it may be case-sensitive). */
  readonly local: string;
  readonly domain: readonly string[];
  readonly text: string;
}

/** "local@exact.domain" (one mailbox) or "@domainpattern" (any mailbox there). */
export interface EmailPattern {
  readonly local?: string;
  readonly domain: DnsPattern;
  readonly text: string;
}

// RFC 5322 3.2.3 atext, less the routing characters '!' and '%' (refused, see above).
const ATEXT_SPECIALS = "#$&'*+-/=?^_`{|}~";
const SUB_ADDRESS = "+";

function localPartError(local: string): string | undefined {
  if (local.length === 0) return "has an empty local part";
  if (local.length > 64) return "has a local part longer than 64 octets (RFC 5321 4.5.3.1.1)";
  const atoms = local.split(".");
  if (atoms.some((a) => a.length === 0)) {
    return "has a local part with an empty dot-atom (leading, trailing or double '.')";
  }
  for (let i = 0; i < local.length; i++) {
    const c = local.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (c === 0x25 || c === 0x21) {
      return `has '${local[i]}' in the local part: mail routing syntax (RFC 1123 5.2.16, RFC 976) is not accepted`;
    }
    if (!alnum && c !== 0x2e && !ATEXT_SPECIALS.includes(local[i]!)) {
      return "has a local part with a character outside the RFC 5321 Dot-string syntax (quoted local parts are not accepted)";
    }
  }
  return undefined;
}

export function parseEmail(input: string): Parsed<EmailAddress> {
  if (input.length === 0) return fail("is empty");
  if (input.length > 1024) return fail("is too long");
  const at = input.indexOf("@");
  if (at === -1 || input.indexOf("@", at + 1) !== -1) return fail("must contain exactly one '@'");
  const local = input.slice(0, at);
  const localError = localPartError(local);
  if (localError) return fail(localError);
  const domainText = input.slice(at + 1);
  if (domainText.startsWith("["))
    return fail("has an address literal domain, which is not accepted");
  const domain = parseHostLabels(domainText);
  if (!domain.ok) return fail(`has a domain that ${domain.error}`);
  const text = `${local}@${domain.value.join(".")}`;
  if (text.length > 254) return fail("is longer than 254 octets (RFC 5321 4.5.3.1.3)");
  return ok({ local, domain: domain.value, text });
}

export function parseEmailPattern(input: string): Parsed<EmailPattern> {
  const at = input.indexOf("@");
  if (at === -1) {
    return fail('must be "local@domain" or "@domain" ("@*.domain", "@**.domain", "@**")');
  }
  if (at === 0) {
    if (input.indexOf("@", 1) !== -1) return fail("must contain exactly one '@'");
    const domain = parseDnsPattern(input.slice(1));
    if (!domain.ok) return fail(`has a domain pattern that ${domain.error}`);
    return ok({ domain: domain.value, text: `@${domain.value.text}` });
  }
  const mailbox = parseEmail(input);
  if (!mailbox.ok) return mailbox;
  const { local, domain, text } = mailbox.value;
  return ok({ local, domain: { kind: "exact", base: domain, text: domain.join(".") }, text });
}

/** Whether the local part carries a sub-address ("ceo+x"). */
export const isSubAddress = (e: EmailAddress): boolean => e.local.includes(SUB_ADDRESS);

/**
 * Allow check: a mailbox pattern compares the local part exactly (never its sub-addresses); a
 * domain pattern allows a sub-address only when the rule allows sub-addresses.
 */
export function emailAllows(p: EmailPattern, e: EmailAddress, allowSubAddresses = false): boolean {
  if (p.local !== undefined ? p.local !== e.local : isSubAddress(e) && !allowSubAddresses) {
    return false;
  }
  return dnsPatternMatchesLabels(p.domain, e.domain);
}

/**
 * Deny check: the local part compared case-insensitively, so case cannot dodge a deny, and a
 * denied mailbox denies every sub-address of it ("ceo" denies "ceo+x", RFC 5233).
 */
export function emailDenies(p: EmailPattern, e: EmailAddress): boolean {
  if (p.local !== undefined) {
    const denied = p.local.toLowerCase();
    const local = e.local.toLowerCase();
    if (local !== denied && !local.startsWith(denied + SUB_ADDRESS)) return false;
  }
  return dnsPatternMatchesLabels(p.domain, e.domain);
}

/** Whether every address `allowed` matches is also matched by `denied` (compile-time check). */
export function emailPatternSubsumes(denied: EmailPattern, allowed: EmailPattern): boolean {
  if (denied.local !== undefined) {
    return (
      allowed.local !== undefined &&
      denied.local.toLowerCase() === allowed.local.toLowerCase() &&
      dnsPatternSubsumes(denied.domain, allowed.domain)
    );
  }
  return dnsPatternSubsumes(denied.domain, allowed.domain);
}
