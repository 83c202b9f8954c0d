/**
 * IP addresses and CIDR ranges as bigints. Our own strict parser rather than net.isIP: that
 * accepts zone ids ("fe80::1%eth0"), and the lenient IPv4 forms other parsers accept
 * ("010.0.0.1" is octal 8.0.0.1 to inet_aton, decimal 10.0.0.1 to others) are exactly the
 * ambiguity a deny rule must not depend on, so they are rejected.
 */

import { fail, ok, type Parsed } from "./types";

export interface IpAddress {
  readonly version: 4 | 6;
  readonly value: bigint;
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
const MAPPED_PREFIX = 0xffffn; // ::ffff:0:0/96 (RFC 4291 2.5.5.2)
const LOW32 = 0xffffffffn;

function parseIpv4(s: string): Parsed<bigint> {
  const parts = s.split(".");
  if (parts.length !== 4) return fail("is not four decimal octets (a.b.c.d)");
  let value = 0n;
  for (const part of parts) {
    if (part.length === 0 || part.length > 3) return fail("is not four decimal octets (a.b.c.d)");
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return fail("is not four decimal octets (a.b.c.d)");
    }
    if (part.length > 1 && part[0] === "0") {
      return fail("has an octet with a leading zero (ambiguous: octal to some parsers)");
    }
    const n = Number(part);
    if (n > 255) return fail("has an octet greater than 255");
    value = (value << 8n) | BigInt(n);
  }
  return ok(value);
}

function parseHexGroup(g: string): bigint | undefined {
  if (g.length === 0 || g.length > 4) return undefined;
  for (let i = 0; i < g.length; i++) {
    const c = g.charCodeAt(i);
    const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
    if (!hex) return undefined;
  }
  return BigInt(Number.parseInt(g, 16));
}

/** Hex groups (and a final dotted IPv4, as two groups, when `v4Last`); undefined if invalid. */
function parseGroups(parts: string[], v4Last: boolean): Parsed<bigint[]> {
  const groups: bigint[] = [];
  for (let i = 0; i < parts.length; i++) {
    const g = parts[i]!;
    if (v4Last && i === parts.length - 1 && g.includes(".")) {
      const v4 = parseIpv4(g);
      if (!v4.ok) return fail(`has an embedded IPv4 address that ${v4.error}`);
      groups.push(v4.value >> 16n, v4.value & 0xffffn);
    } else {
      const v = parseHexGroup(g);
      if (v === undefined) return fail("is not a valid IPv6 address (RFC 4291 2.2)");
      groups.push(v);
    }
  }
  return ok(groups);
}

/** RFC 4291 2.2 text forms, including "::" and a trailing dotted IPv4; no zone ids. */
function parseIpv6(s: string): Parsed<bigint> {
  const bad = fail<bigint>("is not a valid IPv6 address (RFC 4291 2.2)");
  if (s.length > 45) return bad;
  const dbl = s.indexOf("::");
  if (dbl !== -1 && s.indexOf("::", dbl + 1) !== -1) return bad;
  const split = (t: string) => (t === "" ? [] : t.split(":"));
  let groups: bigint[];
  if (dbl === -1) {
    const all = parseGroups(s.split(":"), true);
    if (!all.ok) return all;
    if (all.value.length !== 8) return bad;
    groups = all.value;
  } else {
    // "::" stands for one or more zero groups (RFC 4291 2.2 item 2).
    const head = parseGroups(split(s.slice(0, dbl)), false);
    if (!head.ok) return head;
    const tail = parseGroups(split(s.slice(dbl + 2)), true);
    if (!tail.ok) return tail;
    const missing = 8 - head.value.length - tail.value.length;
    if (missing < 1) return bad;
    groups = [...head.value, ...new Array<bigint>(missing).fill(0n), ...tail.value];
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | g;
  return ok(value);
}

const formatIpv4 = (v: bigint) =>
  [24n, 16n, 8n, 0n].map((shift) => ((v >> shift) & 0xffn).toString()).join(".");

/** RFC 5952 4: lower-case hex, no leading zeros, the longest run (>= 2) of zero groups as "::",
 * the first one on a tie; RFC 5952 5: IPv4-mapped addresses in mixed notation. */
export function formatIpv6(v: bigint): string {
  if (v >> 32n === MAPPED_PREFIX) return `::ffff:${formatIpv4(v & LOW32)}`;
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n)
    groups.push(((v >> shift) & 0xffffn).toString(16));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart === -1) return groups.join(":");
  const left = groups.slice(0, bestStart).join(":");
  const right = groups.slice(bestStart + bestLen).join(":");
  return `${left}::${right}`;
}

export function parseIpAddress(input: string): Parsed<IpAddress> {
  if (input.length === 0) return fail("is empty");
  if (input.includes("%")) return fail("has a zone id ('%'), which a certificate cannot carry");
  if (input.includes(":")) {
    const v6 = parseIpv6(input);
    return v6.ok ? ok({ version: 6, value: v6.value, text: formatIpv6(v6.value) }) : v6;
  }
  const v4 = parseIpv4(input);
  return v4.ok ? ok({ version: 4, value: v4.value, text: formatIpv4(v4.value) }) : v4;
}

/** The IPv4 address an IPv4 or IPv4-mapped IPv6 address stands for. */
function ipv4View(a: IpAddress): bigint | undefined {
  if (a.version === 4) return a.value;
  return a.value >> 32n === MAPPED_PREFIX ? a.value & LOW32 : undefined;
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
      return fail(`has an invalid prefix length "${p}" (0-${bits})`);
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

/** Allow check: IPv4-mapped addresses only through IPv4 ranges. */
export function ipAllows(r: IpRange, a: IpAddress): boolean {
  const v4 = ipv4View(a);
  return v4 === undefined ? contains(r, 6, a.value) : contains(r, 4, v4);
}

/** Deny check: as allow, and an IPv6 range holding the mapped address denies it too. */
export function ipDenies(r: IpRange, a: IpAddress): boolean {
  return ipAllows(r, a) || (a.version === 6 && contains(r, 6, a.value));
}

/** Whether every address in `allowed` is in `denied` (compile-time check). */
export function ipRangeSubsumes(denied: IpRange, allowed: IpRange): boolean {
  return denied.prefix <= allowed.prefix && contains(denied, allowed.version, allowed.base);
}
