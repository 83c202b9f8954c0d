/**
 * DNS names and DNS name patterns: parsing to A-label arrays and matching on whole labels.
 * Matching compares label arrays, never strings with regular expressions, so "evil-example.com"
 * can never match a pattern for "example.com".
 */

import { toALabels } from "./idna";
import { isIcannPublicSuffix } from "./public-suffix";
import { fail, ok, type Parsed } from "./types";

/** Inputs longer than this are rejected before any work (a name is at most 253 octets). */
export const MAX_NAME_INPUT = 1024;

/** A requested DNS name, normalised. */
export interface DnsName {
  /** A wildcard request "*.base" (RFC 6125 6.4.3: '*' is the whole left-most label). */
  readonly wildcard: boolean;
  /** A-labels of the name (for a wildcard: of its base), left to right. */
  readonly labels: readonly string[];
  readonly text: string;
}

/**
 * exact: the name itself; one: "*.base", exactly one label below base; many: "**.base", one
 * or more labels below base; any: "**", every name.
 */
export type DnsPatternKind = "exact" | "one" | "many" | "any";

export interface DnsPattern {
  readonly kind: DnsPatternKind;
  readonly base: readonly string[];
  readonly text: string;
}

const isLdhOrDot = (c: number) =>
  (c >= 0x61 && c <= 0x7a) ||
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x30 && c <= 0x39) ||
  c === 0x2d ||
  c === 0x2e;

/** RFC 1034 3.5 LDH label and RFC 5890 2.3.1 reserved labels, on the A-label form (UTS #46
 * has already validated every A-label's U-label, idna.ts). */
function labelError(label: string): string | undefined {
  if (label.length === 0) return "has an empty label";
  if (label.length > 63) return `has a label longer than 63 octets ("${label.slice(0, 20)}...")`;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    const ldh = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d;
    if (!ldh) return `has an invalid character in label "${label}"`;
  }
  if (label.startsWith("-") || label.endsWith("-")) {
    return `has a label starting or ending with '-' ("${label}")`;
  }
  if (label.slice(2, 4) === "--" && !label.startsWith("xn--")) {
    return `has a reserved label with "--" in positions 3-4 ("${label}")`;
  }
  return undefined;
}

/**
 * A host name without wildcards to A-labels (UTS #46 with the IDNA2008 checks, idna.ts).
 * ASCII characters other than letters, digits, '-' and '.' are refused first, with a message
 * naming the character (and so that no URL-style parsing could ever see them).
 */
export function parseHostLabels(input: string): Parsed<string[]> {
  if (input.length === 0) return fail("is empty");
  if (input.length > MAX_NAME_INPUT) return fail("is too long");
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c < 0x80 && !isLdhOrDot(c)) {
      const shown = c < 0x20 || c === 0x7f ? `U+${c.toString(16).padStart(4, "0")}` : input[i];
      return fail(
        `contains the character "${shown}"; only letters, digits, '-' and '.' are allowed`,
      );
    }
  }
  // UTS #46 mapping, validation and Punycode (RFC 5891 4.4).
  const converted = toALabels(input);
  if (!converted.ok) return converted;
  const ascii = converted.value;
  const name = ascii.endsWith(".") ? ascii.slice(0, -1) : ascii;
  if (name.length === 0) return fail("is empty");
  if (name.length > 253) return fail("is longer than 253 octets");
  const labels = name.split(".");
  for (const label of labels) {
    const error = labelError(label);
    if (error) return fail(error);
  }
  // WHATWG URL and many resolvers read a numeric last label as IPv4 ("10.0.0.1", "0x7f.1").
  const last = labels[labels.length - 1]!;
  if (/^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/.test(last)) {
    return fail("ends in a numeric label (looks like an IP address; use an IP SAN)");
  }
  return ok(labels);
}

/** A requested DNS SAN: a host name, or "*." + host name. */
export function parseDnsName(input: string): Parsed<DnsName> {
  let wildcard = false;
  let rest = input;
  if (input.startsWith("**")) return fail("may not contain '**' (only policy patterns may)");
  if (input.startsWith("*.")) {
    wildcard = true;
    rest = input.slice(2);
  }
  if (rest.includes("*")) return fail("may contain '*' only as the whole left-most label");
  const labels = parseHostLabels(rest);
  if (!labels.ok) return labels;
  // OpenSSL's host check reads '*' as a wildcard only with two labels after it (v3_utl.c,
  // valid_star), and browsers never match one over a public suffix: "*.com" or "*.corp" would be
  // signed for nothing any client matches, or, for a client that did, for every name of the
  // suffix (CA/Browser Forum BR 3.2.2.6). Until stop 53 of 2026-12-07 a policy allowing every
  // name signed it (an outside probe of stop 52, POLICY).
  if (wildcard && labels.value.length < 2) {
    return fail(
      "is a wildcard over a single label, which no client matches: put it at least two labels up ('*.example.com')",
    );
  }
  // The same over a public suffix of more labels ("*.co.uk" stands for every domain registered
  // under co.uk): public-suffix.ts. Until stop 55 of 2026-12-07 a policy allowing every name
  // signed it.
  if (wildcard && isIcannPublicSuffix(labels.value)) {
    return fail(
      `is a wildcard over the public suffix '${labels.value.join(".")}' (Public Suffix List), which would stand for every domain registered under it: put it below a domain ('*.example.${labels.value.join(".")}')`,
    );
  }
  const text = (wildcard ? "*." : "") + labels.value.join(".");
  if (text.length > 253) return fail("is longer than 253 octets");
  return ok({ wildcard, labels: labels.value, text });
}

/** A DNS pattern: exact, "*.base", "**.base" or "**". */
export function parseDnsPattern(input: string): Parsed<DnsPattern> {
  if (input === "**") return ok({ kind: "any", base: [], text: "**" });
  if (input === "*") return fail("'*' alone is not a pattern; use '**' to match any name");
  let kind: DnsPatternKind = "exact";
  let rest = input;
  if (input.startsWith("**.")) {
    kind = "many";
    rest = input.slice(3);
  } else if (input.startsWith("*.")) {
    kind = "one";
    rest = input.slice(2);
  }
  if (rest.includes("*")) {
    return fail("may contain '*' or '**' only as the whole left-most label");
  }
  const labels = parseHostLabels(rest);
  if (!labels.ok) return labels;
  const prefix = kind === "many" ? "**." : kind === "one" ? "*." : "";
  return ok({ kind, base: labels.value, text: prefix + labels.value.join(".") });
}

/** Whether `labels` ends with all of `suffix` (whole labels). */
function endsWith(labels: readonly string[], suffix: readonly string[]): boolean {
  if (labels.length < suffix.length) return false;
  const offset = labels.length - suffix.length;
  for (let i = 0; i < suffix.length; i++) {
    if (labels[offset + i] !== suffix[i]) return false;
  }
  return true;
}

/** Whether the pattern matches the (non-wildcard) name given as labels. */
export function dnsPatternMatchesLabels(p: DnsPattern, labels: readonly string[]): boolean {
  switch (p.kind) {
    case "any":
      return true;
    case "exact":
      return labels.length === p.base.length && endsWith(labels, p.base);
    case "one":
      return labels.length === p.base.length + 1 && endsWith(labels, p.base);
    case "many":
      return labels.length > p.base.length && endsWith(labels, p.base);
  }
}

/**
 * Allow check: the pattern covers EVERY name the request stands for. A wildcard request
 * "*.B" stands for {x.B}: covered by "*.B", by "**.S" when B is S or below S, by "**".
 */
export function dnsAllows(p: DnsPattern, n: DnsName): boolean {
  if (!n.wildcard) return dnsPatternMatchesLabels(p, n.labels);
  switch (p.kind) {
    case "any":
      return true;
    case "exact":
      return false;
    case "one":
      return n.labels.length === p.base.length && endsWith(n.labels, p.base);
    case "many":
      return endsWith(n.labels, p.base);
  }
}

/**
 * Deny check: the pattern matches ANY name the request stands for. For "*.B" that is an exact
 * denied name one label below B, or the same coverage as the allow check for wildcards.
 */
export function dnsDenies(p: DnsPattern, n: DnsName): boolean {
  if (!n.wildcard) return dnsPatternMatchesLabels(p, n.labels);
  if (p.kind === "exact") {
    return p.base.length === n.labels.length + 1 && endsWith(p.base, n.labels);
  }
  return dnsAllows(p, n);
}

/** Whether every name `allowed` matches is also matched by `denied` (compile-time check). */
export function dnsPatternSubsumes(denied: DnsPattern, allowed: DnsPattern): boolean {
  switch (allowed.kind) {
    case "exact":
      return dnsPatternMatchesLabels(denied, allowed.base);
    case "one":
      return dnsAllows(denied, { wildcard: true, labels: allowed.base, text: allowed.text });
    case "many":
      return (
        denied.kind === "any" || (denied.kind === "many" && endsWith(allowed.base, denied.base))
      );
    case "any":
      return denied.kind === "any";
  }
}
