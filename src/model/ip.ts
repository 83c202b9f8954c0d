/**
 * The one definition of IP address text in certmint: strict parsing (RFC 4291 2.2 for IPv6,
 * four plain decimal octets for IPv4) and RFC 5952 formatting, on 32- and 128-bit integers.
 * The policy engine matches on these values and the signer encodes them as iPAddress octets
 * (RFC 5280 4.2.1.6), so what is checked and what is signed are read by the same code.
 *
 * Our own parser rather than net.isIP: that accepts zone ids ("fe80::1%eth0"), and the lenient
 * IPv4 forms other parsers accept ("010.0.0.1" is octal 8.0.0.1 to inet_aton, decimal 10.0.0.1
 * to others; "10.1", "0x7f.1", "2130706433") are exactly the ambiguity a deny rule must not
 * depend on, so they are refused.
 */

export interface IpValue {
  readonly version: 4 | 6;
  /** The address as an unsigned 32-bit (IPv4) or 128-bit (IPv6) integer. */
  readonly value: bigint;
}

export type IpParse = ({ ok: true } & IpValue) | { ok: false; error: string };

const bad = (error: string): IpParse => ({ ok: false, error });
const NOT_V4 = "is not four decimal octets (a.b.c.d)";
const NOT_V6 = "is not a valid IPv6 address (RFC 4291 2.2)";

/** ::ffff:0:0/96, IPv4-mapped addresses (RFC 4291 2.5.5.2). */
export const MAPPED_PREFIX = 0xffffn;

function parseIpv4(s: string): IpParse {
  const parts = s.split(".");
  if (parts.length !== 4) return bad(NOT_V4);
  let value = 0n;
  for (const part of parts) {
    if (part.length === 0 || part.length > 3) return bad(NOT_V4);
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return bad(NOT_V4);
    }
    if (part.length > 1 && part[0] === "0") {
      return bad("has an octet with a leading zero (ambiguous: octal to some parsers)");
    }
    const n = Number(part);
    if (n > 255) return bad("has an octet greater than 255");
    value = (value << 8n) | BigInt(n);
  }
  return { ok: true, version: 4, value };
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

/** Hex groups (and a final dotted IPv4, as two groups, when `v4Last`). */
function parseGroups(parts: string[], v4Last: boolean): bigint[] | string {
  const groups: bigint[] = [];
  for (let i = 0; i < parts.length; i++) {
    const g = parts[i]!;
    if (v4Last && i === parts.length - 1 && g.includes(".")) {
      const v4 = parseIpv4(g);
      if (!v4.ok) return `has an embedded IPv4 address that ${v4.error}`;
      groups.push(v4.value >> 16n, v4.value & 0xffffn);
    } else {
      const v = parseHexGroup(g);
      if (v === undefined) return NOT_V6;
      groups.push(v);
    }
  }
  return groups;
}

/** RFC 4291 2.2 text forms, including "::" and a trailing dotted IPv4; no zone ids. */
function parseIpv6(s: string): IpParse {
  if (s.length > 45) return bad(NOT_V6);
  const dbl = s.indexOf("::");
  if (dbl !== -1 && s.indexOf("::", dbl + 1) !== -1) return bad(NOT_V6);
  const split = (t: string) => (t === "" ? [] : t.split(":"));
  let groups: bigint[];
  if (dbl === -1) {
    const all = parseGroups(s.split(":"), true);
    if (typeof all === "string") return bad(all);
    if (all.length !== 8) return bad(NOT_V6);
    groups = all;
  } else {
    // "::" stands for one or more zero groups (RFC 4291 2.2 item 2).
    const head = parseGroups(split(s.slice(0, dbl)), false);
    if (typeof head === "string") return bad(head);
    const tail = parseGroups(split(s.slice(dbl + 2)), true);
    if (typeof tail === "string") return bad(tail);
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return bad(NOT_V6);
    groups = [...head, ...new Array<bigint>(missing).fill(0n), ...tail];
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | g;
  return { ok: true, version: 6, value };
}

/** An IPv4 or IPv6 address in text form. */
export function parseIp(input: string): IpParse {
  if (input.length === 0) return bad("is empty");
  if (input.includes("%")) return bad("has a zone id ('%'), which a certificate cannot carry");
  return input.includes(":") ? parseIpv6(input) : parseIpv4(input);
}

export const formatIpv4 = (v: bigint): string =>
  [24n, 16n, 8n, 0n].map((shift) => ((v >> shift) & 0xffn).toString()).join(".");

/**
 * RFC 5952 4: lower-case hex, no leading zeros, the longest run (>= 2) of zero groups as "::",
 * the first one on a tie; RFC 5952 5: IPv4-mapped addresses in mixed notation.
 */
export function formatIpv6(v: bigint): string {
  if (v >> 32n === MAPPED_PREFIX) return `::ffff:${formatIpv4(v & 0xffffffffn)}`;
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n)
    groups.push(((v >> shift) & 0xffffn).toString(16));
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed (RFC 5952 4.2.2)
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
  return `${groups.slice(0, bestStart).join(":")}::${groups.slice(bestStart + bestLen).join(":")}`;
}

export const formatIp = (a: IpValue): string =>
  a.version === 4 ? formatIpv4(a.value) : formatIpv6(a.value);

/** The 4 or 16 network-order octets of an address (RFC 5280 4.2.1.6 iPAddress). */
export function ipToOctets(a: IpValue): Buffer {
  const n = a.version === 4 ? 4 : 16;
  const out = Buffer.alloc(n);
  let v = a.value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** 4 or 16 octets as an address; undefined for any other length. */
export function ipFromOctets(bytes: Uint8Array): IpValue | undefined {
  if (bytes.length !== 4 && bytes.length !== 16) return undefined;
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return { version: bytes.length === 4 ? 4 : 6, value };
}

const LOW32 = 0xffffffffn;

/**
 * How an IPv6 address carries an IPv4 address. Each form reaches (or, for 6to4 and Teredo,
 * is routed through) the IPv4 host it embeds:
 * - mapped ::ffff:0:0/96 (RFC 4291 2.5.5.2): the IPv4 host itself, on a dual-stack socket;
 * - compatible ::/96 (RFC 4291 2.5.5.1, deprecated), except :: and ::1;
 * - NAT64 64:ff9b::/96 (RFC 6052 2.1) and the local-use 64:ff9b:1::/48 (RFC 8215, with the
 *   RFC 6052 2.2 layout for a /48 prefix): translated to the IPv4 host by the NAT64 gateway
 *   (the operator may carve the local-use /48 into longer prefixes: embeddedIpv4Candidates);
 * - IPv4-translated ::ffff:0:0:0/96 (SIIT, RFC 2765 2.1): the IPv4 host, through a translator;
 * - 6to4 2002::/16 (RFC 3056 2): the IPv4 address of the site's 6to4 router, bits 16-47;
 * - Teredo 2001::/32 (RFC 4380 4): the client's public IPv4 address, inverted, in bits 96-127.
 * Operator-chosen NAT64 prefixes (RFC 6052 network-specific prefixes) cannot be recognised.
 */
export type EmbeddingForm = "mapped" | "compatible" | "nat64" | "translated" | "6to4" | "teredo";

export function embeddedIpv4(a: IpValue): { form: EmbeddingForm; v4: bigint } | undefined {
  if (a.version !== 6) return undefined;
  const v = a.value;
  if (v >> 32n === MAPPED_PREFIX) return { form: "mapped", v4: v & LOW32 };
  if (v >> 32n === 0n && v > 1n) return { form: "compatible", v4: v & LOW32 };
  if (v >> 32n === 0x64ff9b0000000000000000n) return { form: "nat64", v4: v & LOW32 };
  if (v >> 80n === 0x64ff9b0001n && ((v >> 56n) & 0xffn) === 0n) {
    return { form: "nat64", v4: (((v >> 64n) & 0xffffn) << 16n) | ((v >> 40n) & 0xffffn) };
  }
  if (v >> 32n === TRANSLATED_PREFIX) return { form: "translated", v4: v & LOW32 };
  if (v >> 112n === 0x2002n) return { form: "6to4", v4: (v >> 80n) & LOW32 };
  if (v >> 96n === 0x20010000n) return { form: "teredo", v4: ~v & LOW32 };
  return undefined;
}

/** ::ffff:0:0:0/96, the SIIT IPv4-translated prefix (RFC 2765 2.1), shifted right 32 bits. */
const TRANSLATED_PREFIX = 0xffff0000n;

/**
 * Every IPv4 address an IPv6 address may carry. For the local-use NAT64 prefix 64:ff9b:1::/48
 * (RFC 8215) the operator chooses the prefix length inside it (a /96 such as 64:ff9b:1:abcd::/96
 * is the usual deployment), and the layout of RFC 6052 2.2 differs per length, so the address
 * carries one of four: the /48, /56, /64 and /96 layouts (u octet, bits 64-71, skipped). A deny
 * rule denies it if it denies any of them, and an allow rule must allow all of them. Before
 * 2026-12-05 only the /48 layout was read, and 64:ff9b:1:abcd::127.0.0.1 passed a denied
 * 127.0.0.0/8.
 */
export function embeddedIpv4Candidates(a: IpValue): bigint[] {
  const one = embeddedIpv4(a);
  if (a.version !== 6 || a.value >> 80n !== 0x64ff9b0001n) return one ? [one.v4] : [];
  const v = a.value;
  const bits = (from: number, count: number) =>
    (v >> BigInt(128 - from - count)) & ((1n << BigInt(count)) - 1n);
  const layouts = [
    (bits(48, 16) << 16n) | bits(72, 16), // /48: bits 48-63, then 72-87
    (bits(56, 8) << 24n) | bits(72, 24), // /56: bits 56-63, then 72-95
    bits(72, 32), // /64: bits 72-103
    bits(96, 32), // /96: bits 96-127
  ];
  return [...new Set(layouts)];
}

/** An IPv6 prefix that carries an IPv4 address (as embeddedIpv4Candidates reads an address), and where. */
interface Embedding {
  form: string;
  /** The prefix, its bits in place, and its length. */
  prefix: bigint;
  length: number;
  /** The IPv4 address's bits, most significant first: [first bit (0 = the most significant), count]. */
  fields: Array<[number, number]>;
  inverted?: boolean;
}

const LOCAL_NAT64 = 0x64ff9b0001n << 80n;
const EMBEDDINGS: readonly Embedding[] = [
  { form: "mapped", prefix: 0xffffn << 32n, length: 96, fields: [[96, 32]] },
  { form: "compatible", prefix: 0n, length: 96, fields: [[96, 32]] },
  { form: "NAT64", prefix: 0x64ff9bn << 96n, length: 96, fields: [[96, 32]] },
  // 64:ff9b:1::/48 (RFC 8215): the /48, /56, /64 and /96 layouts of RFC 6052 2.2.
  {
    form: "NAT64",
    prefix: LOCAL_NAT64,
    length: 48,
    fields: [
      [48, 16],
      [72, 16],
    ],
  },
  {
    form: "NAT64",
    prefix: LOCAL_NAT64,
    length: 48,
    fields: [
      [56, 8],
      [72, 24],
    ],
  },
  { form: "NAT64", prefix: LOCAL_NAT64, length: 48, fields: [[72, 32]] },
  { form: "NAT64", prefix: LOCAL_NAT64, length: 48, fields: [[96, 32]] },
  { form: "IPv4-translated", prefix: 0xffff0000n << 32n, length: 96, fields: [[96, 32]] },
  { form: "6to4", prefix: 0x2002n << 112n, length: 16, fields: [[16, 32]] },
  { form: "Teredo", prefix: 0x20010000n << 96n, length: 32, fields: [[96, 32]], inverted: true },
];

/**
 * The IPv4 ranges an IPv6 subtree carries, as embeddedIpv4Candidates reads each of its addresses (for the sub-CA check of
 * signer/name-constraints.ts subtreesOutside):
 * one range per reading, when every address of the subtree carries one in the same place (the
 * subtree lies in one embedding prefix: ::ffff:10.0.0.0/104 carries 10.0.0.0/8). A subtree wider
 * than an embedding prefix (::/0), or holding :: or ::1 (not IPv4-compatible), carries none.
 */
export function embeddedIpv4Ranges(cidr: string): Array<{ form: string; range: string }> {
  const [text = "", p = "0"] = cidr.split("/");
  const a = parseIp(text);
  if (!a.ok || a.version !== 6) return [];
  const prefix = Number(p);
  const out: Array<{ form: string; range: string }> = [];
  for (const e of EMBEDDINGS) {
    if (
      prefix < e.length ||
      a.value >> BigInt(128 - e.length) !== e.prefix >> BigInt(128 - e.length)
    )
      continue;
    if (e.form === "compatible" && a.value <= 1n) continue;
    let v4 = 0n;
    let fixed = 0;
    for (const [from, count] of e.fields) {
      v4 =
        (v4 << BigInt(count)) |
        ((a.value >> BigInt(128 - from - count)) & ((1n << BigInt(count)) - 1n));
      fixed += Math.min(Math.max(prefix - from, 0), count);
    }
    if (e.inverted) v4 = ~v4 & 0xffffffffn;
    const mask = fixed === 0 ? 0n : ((1n << BigInt(fixed)) - 1n) << BigInt(32 - fixed);
    const range = `${formatIpv4(v4 & mask)}/${fixed}`;
    if (!out.some((o) => o.range === range)) out.push({ form: e.form, range });
  }
  return out;
}
