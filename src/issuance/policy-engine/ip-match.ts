/**
 * IP addresses and CIDR ranges as bigints, parsed and formatted by model/ip.ts (the one
 * definition the signer uses too). Matching knows which IPv6 forms carry an IPv4 address, so
 * an IPv4 rule cannot be walked around in IPv6 clothing.
 */

import { quoted } from "../../errors";
import {
  embeddedIpv4,
  embeddedIpv4Candidates,
  formatIp,
  formatIpv4,
  formatIpv6,
  type IpValue,
  MAPPED_PREFIX,
  parseIp,
} from "../../model/ip";
import { fail, ok, type Parsed } from "./types";

// Defined with the address parser, where the signer's name-constraint check finds them too.
export { type EmbeddingForm, embeddedIpv4, embeddedIpv4Candidates } from "../../model/ip";

export interface IpAddress extends IpValue {
  /** RFC 5952 canonical text. */
  readonly text: string;
}

export interface IpRange {
  readonly version: 4 | 6;
  readonly base: bigint;
  readonly prefix: number;
  /** Canonical text as written in the policy (before any IPv4-mapped conversion). */
  readonly text: string;
}

const V4_BITS = 32;
const V6_BITS = 128;
const LOW32 = 0xffffffffn;
const V4_UNSPECIFIED = 0n; // 0.0.0.0, "this host" (RFC 1122 3.2.1.3)
const V4_BROADCAST = LOW32; // 255.255.255.255, limited broadcast (RFC 919, RFC 8190)

/** Any IPv4 or IPv6 address in text form (requests and patterns). */
export function parseIpAddress(input: string): Parsed<IpAddress> {
  const ip = parseIp(input);
  return ip.ok ? ok({ version: ip.version, value: ip.value, text: formatIp(ip) }) : fail(ip.error);
}

/**
 * A requested address (a SAN, or a subject name that reads as an address). Never certified,
 * whatever the rules (a relying party would take them for "any host" or "every host"): the
 * unspecified addresses 0.0.0.0 and :: (RFC 4291 2.5.2), the limited broadcast address
 * 255.255.255.255, and any IPv6 form embedding 0.0.0.0 or 255.255.255.255.
 */
export function parseRequestedIp(input: string): Parsed<IpAddress> {
  const parsed = parseIpAddress(input);
  if (!parsed.ok) return parsed;
  const a = parsed.value;
  const v4 = a.version === 4 ? a.value : embeddedIpv4(a)?.v4;
  if ((a.version === 6 && a.value === 0n) || v4 === V4_UNSPECIFIED) {
    return fail("is an unspecified address (0.0.0.0 or ::), which is never certified");
  }
  // The broadcast address in any layout the form may carry: the local-use NAT64 prefix
  // 64:ff9b:1::/48 (RFC 8215) has four, as the allow and deny rules read it
  // (embeddedIpv4Candidates). Until stop 52 of 2026-12-07 only its /48 layout was read here,
  // so 64:ff9b:1:abcd::ffff:ffff (255.255.255.255 in the usual /96 layout) was signed (an
  // outside probe, POLICY F2). Not so for 0.0.0.0: the zero bits that read as 0.0.0.0 in one
  // layout are the padding of another (64:ff9b:1:a01:2:300:: is 10.1.2.3 in the /48 layout),
  // and the rules judge every layout's address anyway.
  const v4s = a.version === 4 ? [a.value] : embeddedIpv4Candidates(a);
  if (v4s.includes(V4_BROADCAST)) {
    return fail("is the limited broadcast address 255.255.255.255, which is never certified");
  }
  return parsed;
}

/** A CIDR range; a bare address is /32 or /128; host bits must be zero. */
export function parseIpRange(input: string): Parsed<IpRange> {
  const slash = input.indexOf("/");
  const addrText = slash === -1 ? input : input.slice(0, slash);
  const addr = parseIpAddress(addrText);
  if (!addr.ok) return addr;
  const bits = addr.value.version === 4 ? V4_BITS : V6_BITS;
  let prefix = bits;
  if (slash !== -1) {
    const p = input.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > bits) {
      return fail(`has an invalid prefix length ${quoted(p)} (0-${bits})`);
    }
    prefix = Number(p);
  }
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((addr.value.value & hostMask) !== 0n) {
    const base = addr.value.value & ~hostMask;
    const baseText = addr.value.version === 4 ? formatIpv4(base) : formatIpv6(base);
    return fail(`has host bits set; did you mean "${baseText}/${prefix}"?`);
  }
  const text = `${addr.value.text}/${prefix}`;
  // A range inside ::ffff:0:0/96 is an IPv4 range (see the mapped-address rule in types.ts).
  if (addr.value.version === 6 && prefix >= 96 && addr.value.value >> 32n === MAPPED_PREFIX) {
    return ok({ version: 4, base: addr.value.value & LOW32, prefix: prefix - 96, text });
  }
  return ok({ version: addr.value.version, base: addr.value.value, prefix, text });
}

function contains(r: IpRange, version: 4 | 6, value: bigint): boolean {
  if (r.version !== version) return false;
  const shift = BigInt((version === 4 ? V4_BITS : V6_BITS) - r.prefix);
  return value >> shift === r.base >> shift;
}

/**
 * Allow check over a rule's allowed ranges (all of them at once: the embedded IPv4 address and
 * the IPv6 address may be allowed by different ranges). An IPv4-mapped address is the IPv4
 * address: only IPv4 ranges allow it. Any other embedding form needs an IPv6 range that allows
 * it AND an IPv4 range that allows the IPv4 address it carries.
 */
export function ipAllowedBy(ranges: readonly IpRange[], a: IpAddress): boolean {
  const embedded = embeddedIpv4(a);
  const v4Allowed = (v4: bigint) => ranges.some((r) => contains(r, 4, v4));
  if (embedded?.form === "mapped") return v4Allowed(embedded.v4);
  if (!ranges.some((r) => contains(r, a.version, a.value))) return false;
  return embeddedIpv4Candidates(a).every(v4Allowed);
}

/** One range's allow check (ipAllowedBy is the rule-level check, with embedded forms). */
export function ipAllows(r: IpRange, a: IpAddress): boolean {
  return ipAllowedBy([r], a);
}

/** Deny check: the range holds the address, or the IPv4 address an IPv6 form carries. */
export function ipDenies(r: IpRange, a: IpAddress): boolean {
  if (contains(r, a.version, a.value)) return true;
  return embeddedIpv4Candidates(a).some((v4) => contains(r, 4, v4));
}

/** Whether every address in `allowed` is in `denied` (compile-time check). */
export function ipRangeSubsumes(denied: IpRange, allowed: IpRange): boolean {
  return denied.prefix <= allowed.prefix && contains(denied, allowed.version, allowed.base);
}
