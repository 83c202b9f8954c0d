/**
 * Compiles subject ValueRules and SAN NameRules into pre-parsed matchers. One generic NameRule
 * compiler over the four name kinds keeps the deny-first logic in exactly one place.
 */

import {
  type DnsName,
  type DnsPattern,
  dnsAllows,
  dnsDenies,
  dnsPatternSubsumes,
  parseDnsName,
  parseDnsPattern,
} from "./dns-match";
import {
  type EmailAddress,
  type EmailPattern,
  emailAllows,
  emailDenies,
  emailPatternSubsumes,
  parseEmail,
  parseEmailPattern,
} from "./email-match";
import {
  type IpAddress,
  type IpRange,
  ipAllowedBy,
  ipAllows,
  ipDenies,
  ipRangeSubsumes,
  parseIpRange,
  parseRequestedIp,
} from "./ip-match";
import { join, type SpecReader } from "./spec-reader";
import type { NameRule, Parsed, SanType, ValueRule } from "./types";
import {
  parseUri,
  parseUriPattern,
  type Uri,
  type UriPattern,
  uriAllows,
  uriDenies,
  uriPatternSubsumes,
} from "./uri-match";
import { isCatchAll, parseValuePattern, type ValuePattern } from "./value-match";

/** The outcome of checking one requested name against a compiled rule. */
export type NameVerdict =
  | { readonly valid: false; readonly error: string }
  | {
      readonly valid: true;
      /** Normalised name. */
      readonly text: string;
      readonly wildcard: boolean;
      /** The first denied pattern the name matches (canonical text). */
      readonly deniedBy?: string;
      /** Whether an allowed pattern covers it (regardless of deny). */
      readonly allowed: boolean;
    };

export interface CompiledNameRule {
  readonly required: boolean;
  readonly allowWildcardNames: boolean;
  /** Email only: domain patterns allow '+' sub-addresses (RFC 5233). */
  readonly allowSubAddresses: boolean;
  /** Whether the allowed list is empty (nothing of this type may appear). */
  readonly allowsNothing: boolean;
  readonly check: (input: string) => NameVerdict;
}

export interface CompiledValueRule {
  readonly required: boolean;
  readonly allowed: readonly ValuePattern[];
  readonly denied: readonly ValuePattern[];
}

interface NameKind<N extends { text: string }, P extends { text: string }> {
  readonly parseName: (s: string) => Parsed<N>;
  readonly parsePattern: (s: string) => Parsed<P>;
  readonly allows: (p: P, n: N) => boolean;
  /** Rule-level allow check, when it is more than "some pattern allows" (IP embedding forms). */
  readonly allowedBy?: (ps: readonly P[], n: N) => boolean;
  readonly denies: (p: P, n: N) => boolean;
  readonly subsumes: (denied: P, allowed: P) => boolean;
  readonly isWildcard: (n: N) => boolean;
}

const DNS: NameKind<DnsName, DnsPattern> = {
  parseName: parseDnsName,
  parsePattern: parseDnsPattern,
  allows: dnsAllows,
  denies: dnsDenies,
  subsumes: dnsPatternSubsumes,
  isWildcard: (n) => n.wildcard,
};
const IP: NameKind<IpAddress, IpRange> = {
  parseName: parseRequestedIp,
  parsePattern: parseIpRange,
  allows: ipAllows,
  allowedBy: ipAllowedBy,
  denies: ipDenies,
  subsumes: ipRangeSubsumes,
  isWildcard: () => false,
};
const email = (allowSubAddresses: boolean): NameKind<EmailAddress, EmailPattern> => ({
  parseName: parseEmail,
  parsePattern: parseEmailPattern,
  allows: (p, e) => emailAllows(p, e, allowSubAddresses),
  denies: emailDenies,
  subsumes: emailPatternSubsumes,
  isWildcard: () => false,
});
const URI: NameKind<Uri, UriPattern> = {
  parseName: parseUri,
  parsePattern: parseUriPattern,
  allows: uriAllows,
  denies: uriDenies,
  subsumes: uriPatternSubsumes,
  isWildcard: () => false,
};

const PATTERN_DESCRIPTIONS: Record<SanType, string> = {
  dns: "DNS pattern",
  ip: "IP range",
  email: "email pattern",
  uri: "URI pattern",
};

function compileWith<N extends { text: string }, P extends { text: string }>(
  kind: NameKind<N, P>,
  type: SanType,
  raw: Record<string, unknown> | undefined,
  path: string,
  r: SpecReader,
): { rule: CompiledNameRule; spec?: NameRule } {
  const patterns = (key: "allowed" | "denied"): P[] => {
    const out: P[] = [];
    (r.array(raw?.[key], join(path, key)) ?? []).forEach((v, i) => {
      const field = `${join(path, key)}[${i}]`;
      const p = typeof v === "string" ? kind.parsePattern(v) : undefined;
      if (p?.ok) out.push(p.value);
      else {
        const why = p ? p.error : "must be a string";
        r.add(
          field,
          "POLICY_PATTERN_INVALID",
          `is not a valid ${PATTERN_DESCRIPTIONS[type]}: it ${why}`,
        );
      }
    });
    return out;
  };
  const allowed = raw ? patterns("allowed") : [];
  const denied = raw ? patterns("denied") : [];
  const required = raw ? r.boolean(raw.required, join(path, "required"), false) : false;
  if (raw && raw.allowWildcardNames !== undefined && type !== "dns") {
    r.add(join(path, "allowWildcardNames"), "POLICY_FIELD_INVALID", "applies to DNS names only");
  }
  const allowWildcardNames =
    raw && type === "dns"
      ? r.boolean(raw.allowWildcardNames, join(path, "allowWildcardNames"), false)
      : false;
  const allowSubAddresses = raw ? subAddressFlag(type, raw, path, r) : false;
  if (
    required &&
    allowed.length > 0 &&
    allowed.every((a) => denied.some((d) => kind.subsumes(d, a)))
  ) {
    r.add(
      join(path, "required"),
      "POLICY_CONTRADICTION",
      "is set but every allowed pattern is denied",
    );
  }
  const check = (input: string): NameVerdict => {
    const parsed = typeof input === "string" ? kind.parseName(input) : undefined;
    if (!parsed?.ok) return { valid: false, error: parsed ? parsed.error : "is not a string" };
    const n = parsed.value;
    const deniedBy = denied.find((p) => kind.denies(p, n))?.text;
    const isAllowed = kind.allowedBy
      ? kind.allowedBy(allowed, n)
      : allowed.some((p) => kind.allows(p, n));
    return {
      valid: true,
      text: n.text,
      wildcard: kind.isWildcard(n),
      deniedBy,
      allowed: isAllowed,
    };
  };
  const rule = {
    required,
    allowWildcardNames,
    allowSubAddresses,
    allowsNothing: allowed.length === 0,
    check,
  };
  const spec: NameRule | undefined = raw
    ? {
        allowed: allowed.map((p) => p.text),
        denied: denied.map((p) => p.text),
        required,
        ...(type === "dns" ? { allowWildcardNames } : {}),
        ...(type === "email" && allowSubAddresses ? { allowSubAddresses } : {}),
      }
    : undefined;
  return { rule, spec };
}

/** allowSubAddresses: email only, like allowWildcardNames is DNS only. */
function subAddressFlag(
  type: SanType,
  raw: Record<string, unknown>,
  path: string,
  r: SpecReader,
): boolean {
  if (raw.allowSubAddresses === undefined) return false;
  if (type !== "email") {
    r.add(
      join(path, "allowSubAddresses"),
      "POLICY_FIELD_INVALID",
      "applies to email addresses only",
    );
    return false;
  }
  return r.boolean(raw.allowSubAddresses, join(path, "allowSubAddresses"), false);
}

/** A SAN NameRule; `raw` undefined means "no rule": nothing of this type is allowed. */
export function compileNameRule(type: SanType, raw: unknown, path: string, r: SpecReader) {
  const obj =
    raw === undefined
      ? undefined
      : r.object(
          raw,
          path,
          ["allowed", "denied", "required"],
          ["allowWildcardNames", "allowSubAddresses"],
        );
  switch (type) {
    case "dns":
      return compileWith(DNS, type, obj, path, r);
    case "ip":
      return compileWith(IP, type, obj, path, r);
    case "email":
      return compileWith(email(obj?.allowSubAddresses === true), type, obj, path, r);
    case "uri":
      return compileWith(URI, type, obj, path, r);
  }
}

/** A subject ValueRule. */
export function compileValueRule(
  raw: unknown,
  path: string,
  r: SpecReader,
): { rule: CompiledValueRule; spec: ValueRule } | undefined {
  const obj = r.object(raw, path, ["allowed", "denied", "required"]);
  if (!obj) return undefined;
  const patterns = (key: "allowed" | "denied"): ValuePattern[] => {
    const out: ValuePattern[] = [];
    (r.array(obj[key], join(path, key)) ?? []).forEach((v, i) => {
      const p = parseValuePattern(v as string);
      if (typeof p === "string") {
        r.add(
          `${join(path, key)}[${i}]`,
          "POLICY_PATTERN_INVALID",
          `is not a valid value pattern: it ${p}`,
        );
      } else out.push(p);
    });
    return out;
  };
  const allowed = patterns("allowed");
  const denied = patterns("denied");
  const required = r.boolean(obj.required, join(path, "required"), false);
  const key = (p: ValuePattern) => p.pieces.join("*");
  const isDenied = (a: ValuePattern) => denied.some((d) => isCatchAll(d) || key(d) === key(a));
  if (required && allowed.length > 0 && allowed.every(isDenied)) {
    r.add(
      join(path, "required"),
      "POLICY_CONTRADICTION",
      "is set but every allowed pattern is denied",
    );
  }
  return {
    rule: { required, allowed, denied },
    spec: { allowed: allowed.map((p) => p.text), denied: denied.map((p) => p.text), required },
  };
}
