/**
 * The nameConstraints extension (RFC 5280 4.2.1.10): built from NameConstraints, read from CA
 * certificates (ours or imported), and checked against the names of a certificate a CA is
 * about to sign, so certmint never signs what a validator would then refuse.
 *
 * NameConstraints ::= SEQUENCE {
 *   permittedSubtrees [0] GeneralSubtrees OPTIONAL, excludedSubtrees [1] GeneralSubtrees OPTIONAL }
 * GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] DEFAULT 0, maximum [1] OPTIONAL }
 * (minimum and maximum are never used with these name forms, 4.2.1.10.)
 */
import { invalidField } from "../errors";
import {
  embeddedIpv4Candidates,
  embeddedIpv4Ranges,
  formatIp,
  formatIpv4,
  ipFromOctets,
  ipToOctets,
  parseIp,
} from "../model/ip";
import {
  emptySubtrees,
  type GeneralSubtrees,
  type NameConstraints,
  type SubjectAltNames,
  type SubjectName,
} from "../model/pki";
import { type Asn1, Class, contextConstructed, contextPrimitive, seq } from "./der";
import { children, DerShapeError } from "./der-read";
import { EXT, extension } from "./extensions";
import { GENERAL_NAME_KINDS } from "./general-names";

const TAG = { email: 1, dns: 2, uri: 6, ip: 7 } as const;
type Kind = keyof typeof TAG;
const KINDS: readonly Kind[] = ["dns", "ip", "email", "uri"];
const FIELDS: Record<Kind, string> = {
  dns: "dns_names",
  ip: "ip_ranges",
  email: "email_addresses",
  uri: "uri_hosts",
};

const HOST = /^\.?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function invalid(field: string, value: string, why: string) {
  const description = `${JSON.stringify(value.slice(0, 100))} ${why}`;
  return invalidField(
    "NAME_CONSTRAINTS_INVALID",
    `name constraint ${field}: ${description}`,
    field,
    description,
  );
}

/** CIDR text -> address || mask octets (8 or 32), host bits zero. */
function ipSubtree(cidr: string, field: string): Buffer {
  const slash = cidr.indexOf("/");
  const ip = parseIp(slash === -1 ? cidr : cidr.slice(0, slash));
  if (!ip.ok) throw invalid(field, cidr, `is not a CIDR range: the address ${ip.error}`);
  const bits = ip.version === 4 ? 32 : 128;
  const p = slash === -1 ? String(bits) : cidr.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > bits) {
    throw invalid(field, cidr, `has an invalid prefix length (0-${bits})`);
  }
  const prefix = Number(p);
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  if ((ip.value & ~mask) !== 0n) throw invalid(field, cidr, "has host bits set");
  return Buffer.concat([ipToOctets(ip), ipToOctets({ version: ip.version, value: mask })]);
}

/** Checks one subtree base and returns its GeneralName content octets. */
function baseOctets(kind: Kind, value: string, field: string): string {
  if (kind === "ip") return ipSubtree(value, field).toString("latin1");
  if (value === "") return "";
  const lower = value.toLowerCase();
  if (kind === "email" && value.includes("@")) {
    const [local = "", host = "", ...rest] = value.split("@");
    if (
      rest.length > 0 ||
      !/^[\x21-\x7e]+$/.test(local) ||
      !HOST.test(host) ||
      host.startsWith(".")
    ) {
      throw invalid(field, value, "is not a mailbox local@host with an ASCII host name");
    }
    return `${local}@${host.toLowerCase()}`;
  }
  // dNSName has no leading-dot form in RFC 5280 (some validators read it as "below only",
  // others refuse it); rfc822Name and URI hosts do (4.2.1.10).
  if (!HOST.test(lower) || (kind === "dns" && lower.startsWith("."))) {
    const form =
      kind === "dns"
        ? 'a DNS name in A-label form ("example.com": it and every name below it)'
        : 'a host name in A-label form ("example.com", or ".example.com" for the hosts below it)';
    throw invalid(field, value, `is not ${form}`);
  }
  return lower;
}

function subtrees(s: GeneralSubtrees, prefix: string): Asn1[] {
  const out: Asn1[] = [];
  for (const kind of KINDS) {
    s[kind].forEach((v, i) => {
      const octets = baseOctets(kind, v, `${prefix}.${FIELDS[kind]}[${i}]`);
      out.push(seq([contextPrimitive(TAG[kind], octets)]));
    });
  }
  return out;
}

const count = (s: GeneralSubtrees) => s.dns.length + s.ip.length + s.email.length + s.uri.length;

/** Every subtree checked and canonical (lower case); throws NAME_CONSTRAINTS_INVALID. */
export function canonicalNameConstraints(nc: NameConstraints, field = "name_constraints") {
  const canon = (s: GeneralSubtrees, prefix: string): GeneralSubtrees => ({
    dns: s.dns.map((v, i) => {
      // Permitted, an empty name permits every DNS name: a no-op that reads as a limit (a
      // probe, 2026-12-05). Excluded, it forbids the type (as policy-derived sub-CAs use it).
      if (v === "" && prefix.endsWith(".permitted")) {
        throw invalid(
          `${prefix}.dns_names[${i}]`,
          v,
          "permits every DNS name; leave DNS names out of permitted instead (an empty name in excluded forbids them)",
        );
      }
      return baseOctets("dns", v, `${prefix}.dns_names[${i}]`);
    }),
    ip: s.ip.map((v, i) => {
      const octets = ipSubtree(v, `${prefix}.ip_ranges[${i}]`);
      return subtreeIpText(octets);
    }),
    email: s.email.map((v, i) => baseOctets("email", v, `${prefix}.email_addresses[${i}]`)),
    uri: s.uri.map((v, i) => baseOctets("uri", v, `${prefix}.uri_hosts[${i}]`)),
  });
  return {
    permitted: canon(nc.permitted, `${field}.permitted`),
    excluded: canon(nc.excluded, `${field}.excluded`),
  };
}

/** Whether the constraints constrain anything. */
export const hasNameConstraints = (nc: NameConstraints | undefined): nc is NameConstraints =>
  nc !== undefined && count(nc.permitted) + count(nc.excluded) > 0;

/** The extension, critical (RFC 5280 4.2.1.10: conforming CAs MUST mark it critical). */
export function nameConstraintsExtension(nc: NameConstraints, field = "name_constraints"): Asn1 {
  const items: Asn1[] = [];
  if (count(nc.permitted) > 0)
    items.push(contextConstructed(0, subtrees(nc.permitted, `${field}.permitted`)));
  if (count(nc.excluded) > 0)
    items.push(contextConstructed(1, subtrees(nc.excluded, `${field}.excluded`)));
  return extension(EXT.nameConstraints, true, seq(items));
}

/** "address/prefix" of address || mask octets; the mask must be a prefix. */
function subtreeIpText(octets: Buffer): string {
  const half = octets.length / 2;
  const ip = ipFromOctets(octets.subarray(0, half));
  const mask = ipFromOctets(octets.subarray(half));
  if (!ip || !mask) throw new DerShapeError("iPAddress constraint: expected 8 or 32 octets");
  const bits = half * 8;
  let prefix = 0;
  while (prefix < bits && ((mask.value >> BigInt(bits - 1 - prefix)) & 1n) === 1n) prefix++;
  const expected = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  if (mask.value !== expected)
    throw new DerShapeError("iPAddress constraint: the mask is not a prefix");
  return `${formatIp({ version: ip.version, value: ip.value & expected })}/${prefix}`;
}

/**
 * A dNSName, URI or rfc822Name subtree as read from a certificate: host names in lower case (DNS
 * is case-insensitive), the local part of a mailbox as written: validators compare it exactly
 * (RFC 5280 4.2.1.10; OpenSSL, Go), as emailWithin does. Until stop 52 of 2026-12-07 the whole
 * mailbox was lower-cased here, so under a CA permitting "Alice@example.com" certmint signed
 * "alice@example.com", which `openssl verify` rejects, and refused the permitted spelling (an
 * outside probe, POLICY F1).
 */
function subtreeText(kind: Kind, text: string): string {
  const at = kind === "email" ? text.lastIndexOf("@") : -1;
  if (at < 0) return text.toLowerCase();
  return `${text.slice(0, at)}@${text.slice(at + 1).toLowerCase()}`;
}

/** Reads the extension value of a CA certificate. Name types other than the four are skipped. */
export function readNameConstraints(value: Asn1): NameConstraints {
  const nc: NameConstraints = { permitted: emptySubtrees(), excluded: emptySubtrees() };
  for (const part of children(value, "NameConstraints")) {
    if (part.tagClass !== Class.CONTEXT_SPECIFIC || (part.type !== 0 && part.type !== 1)) {
      throw new DerShapeError("NameConstraints: unexpected field");
    }
    const target = part.type === 0 ? nc.permitted : nc.excluded;
    for (const subtree of children(part, "GeneralSubtrees", Class.CONTEXT_SPECIFIC, part.type)) {
      const base = children(subtree, "GeneralSubtree")[0];
      if (!base || base.tagClass !== Class.CONTEXT_SPECIFIC || typeof base.value !== "string")
        continue;
      const kind = KINDS.find((k) => TAG[k] === base.type);
      if (!kind) continue; // directoryName, otherName...: not names certmint issues
      const octets = Buffer.from(base.value, "latin1");
      target[kind].push(
        kind === "ip" ? subtreeIpText(octets) : subtreeText(kind, octets.toString("latin1")),
      );
    }
  }
  return nc;
}

/**
 * What of a nameConstraints extension value readNameConstraints cannot represent, one
 * description per subtree, naming where it is ("name_constraints.permitted[1]: a directoryName
 * subtree"): a name form other than dNSName, iPAddress, rfc822Name and URI (readNameConstraints
 * skips them, so certmint could not keep what it signs within them), or a minimum other than 0
 * or a maximum (RFC 5280 4.2.1.10: never used; certmint reads a subtree as if they were absent).
 * Empty when it can represent all of it.
 */
export function unsupportedNameConstraints(value: Asn1): string[] {
  const out: string[] = [];
  for (const part of children(value, "NameConstraints")) {
    if (part.tagClass !== Class.CONTEXT_SPECIFIC || (part.type !== 0 && part.type !== 1)) continue;
    const which = part.type === 0 ? "permitted" : "excluded";
    children(part, "GeneralSubtrees", Class.CONTEXT_SPECIFIC, part.type).forEach((subtree, i) => {
      const [base, ...bounds] = children(subtree, "GeneralSubtree");
      const at = `name_constraints.${which}[${i}]`;
      if (!base || base.tagClass !== Class.CONTEXT_SPECIFIC) {
        out.push(`${at}: a subtree whose base is not a GeneralName`);
        return;
      }
      const form = GENERAL_NAME_KINDS[base.type] ?? `GeneralName [${base.type}]`;
      const supported = KINDS.some((k) => TAG[k] === base.type) && typeof base.value === "string";
      if (!supported) {
        out.push(`${at}: a ${form} subtree, which certmint cannot check names against`);
        return;
      }
      for (const b of bounds) {
        const zero =
          b.tagClass === Class.CONTEXT_SPECIFIC &&
          b.type === 0 &&
          typeof b.value === "string" &&
          [...b.value].every((c) => c === "\0");
        if (!zero) {
          const name = b.type === 0 ? "a minimum other than 0" : "a maximum";
          out.push(`${at}: a ${form} subtree with ${name} (RFC 5280 4.2.1.10: never used)`);
        }
      }
    });
  }
  return out;
}

// ---- Matching (RFC 5280 4.2.1.10) -----------------------------------------------------------

/**
 * A host against a subtree that names hosts: ".d" is every host below d; "d" is that host and
 * every host below it for a dNSName (RFC 5280 4.2.1.10: "adding zero or more labels"), but
 * only the host d itself for a URI's host and an email address's domain ("When the constraint
 * does not begin with a period, it specifies a host"). Go's crypto/x509 reads a URI or email
 * "d" as d and every host below it too.
 *
 * So a name is within a permitted URI or email host subtree by RFC 5280's narrower reading,
 * and within an excluded one by the wider: certmint signs only what both readings accept (until
 * stop 41 of 2026-12-06 a permitted URI host "d" let it sign URIs on every host below d, which
 * OpenSSL refuses: an outside probe).
 */
const hostOrBelow = (host: string, base: string): boolean =>
  base === "" ||
  (base.startsWith(".") ? host.endsWith(base) : host === base || host.endsWith(`.${base}`));
const hostOnly = (host: string, base: string): boolean =>
  base === "" || (base.startsWith(".") ? host.endsWith(base) : host === base);
const hostWithin = (host: string, base: string, excluded: boolean): boolean =>
  excluded ? hostOrBelow(host, base.toLowerCase()) : hostOnly(host, base.toLowerCase());

/**
 * A DNS name against a dNSName subtree. A wildcard "*.P" stands for every name one label below
 * P: it is within a subtree when all of those are (P is the base or below it), and, for an
 * exclusion, also when one of them is the excluded name (the base is one label below P).
 */
function dnsWithin(name: string, base: string, excluded: boolean): boolean {
  if (base === "") return true;
  const n = name.toLowerCase();
  const bare = base.replace(/^\./, "");
  if (!n.startsWith("*.")) return hostOrBelow(n, base);
  const parent = n.slice(2);
  if (parent === bare || parent.endsWith(`.${bare}`)) return true;
  const oneBelow = bare.endsWith(`.${parent}`) && !bare.slice(0, -parent.length - 1).includes(".");
  return excluded && !base.startsWith(".") && oneBelow;
}

function ipWithin(address: string, cidr: string): boolean {
  const [addrText = "", p = "0"] = cidr.split("/");
  const a = parseIp(address);
  const r = parseIp(addrText);
  if (!a.ok || !r.ok || a.version !== r.version) return false;
  const shift = BigInt((a.version === 4 ? 32 : 128) - Number(p));
  return a.value >> shift === r.value >> shift;
}

/**
 * The forms an IP name is read in: itself, and the IPv4 addresses an IPv6 address carries
 * (model/ip.ts embeddedIpv4Candidates: mapped, compatible, NAT64, SIIT, 6to4, Teredo, as the
 * policy engine reads them). Validators compare an iPAddress only with subtrees of its own
 * length (RFC 5280 4.2.1.10), but hostname matching in Go (net.IP.Equal) and Java
 * (InetAddress) takes ::ffff:10.0.0.1 for 10.0.0.1. So each form is checked: the name is
 * excluded when any form is, and permitted only when every form is. Until stop 43 of
 * 2026-12-06 only the address itself was, and a CA excluding 10.0.0.0/8 signed ::ffff:10.0.0.1,
 * which a Go client accepted for https://10.0.0.1 (an outside probe;
 * test/ca/name-constraints-embedded-ipv4.test.ts). The other way round, an IPv4 address is
 * also its mapped form ::ffff:a.b.c.d for an excluded subtree written in that form (a client
 * dialling [::ffff:10.0.0.1] accepts a certificate for 10.0.0.1), but not for a permitted one:
 * an IPv4 address permitted by an IPv4 subtree is permitted (until a review of stop 43).
 */
function ipReadings(address: string, excluded: boolean): string[] {
  const parsed = parseIp(address);
  if (!parsed.ok) return [address];
  if (parsed.version === 4) return excluded ? [address, `::ffff:${address}`] : [address];
  return [address, ...embeddedIpv4Candidates(parsed).map(formatIpv4)];
}

/**
 * An email address against an rfc822Name subtree: a mailbox, or a host (hostWithin). An
 * excluded mailbox also excludes it in any case and each of its '+' sub-addresses, as a denied
 * mailbox in a policy does (validators compare mailboxes exactly, RFC 5280 4.2.1.10, so this
 * refuses more than they would; until stop 41 of 2026-12-06 "CEO@" and "ceo+x@" passed an
 * excluded "ceo@": an outside probe).
 */
function emailWithin(address: string, base: string, excluded: boolean): boolean {
  if (base === "") return true;
  const at = address.lastIndexOf("@");
  const local = address.slice(0, at);
  const host = address.slice(at + 1).toLowerCase();
  if (!base.includes("@")) return hostWithin(host, base, excluded);
  const b = base.lastIndexOf("@");
  const baseLocal = base.slice(0, b);
  if (host !== base.slice(b + 1).toLowerCase()) return false;
  if (!excluded) return local === baseLocal;
  const l = local.toLowerCase();
  const bl = baseLocal.toLowerCase();
  return l === bl || l.startsWith(`${bl}+`);
}

function uriWithin(uri: string, base: string, excluded: boolean): boolean {
  if (base === "") return true;
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#:@]+)/i.exec(uri);
  return m ? hostWithin(m[1]!.toLowerCase(), base, excluded) : false;
}

const WITHIN: Record<Kind, (name: string, base: string, excluded: boolean) => boolean> = {
  dns: dnsWithin,
  ip: (n, b) => ipWithin(n, b),
  email: emailWithin,
  uri: uriWithin,
};

const DOTTED_HOST = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i;
const SINGLE_LABEL = /^[a-z0-9-]+$/i;

/**
 * The names a leaf's CN reads as, as the policy engine reads it (policy-engine/subject-names.ts,
 * which has already normalised it): a URI, an IP address, an email address, or a host name of
 * one label ("db", "localhost": a resolver finds them). A CN with white space is free text.
 * A policy may let such a CN stand without a SAN (subject_names_in_sans NOT_REQUIRED), and a
 * relying party that takes its identity from the CN reads it as that name, so the CA's
 * constraints on that kind hold for it; until stop 41 of 2026-12-06 only a dotted host name
 * was checked (an outside probe). A CA's CN names the CA, not a host, and is left to the dotted
 * rule above.
 */
function commonNameReadings(cn: string): Array<[Kind, string]> {
  if (/\s/u.test(cn)) return [];
  if (cn.includes("://")) return [["uri", cn]];
  if (parseIp(cn).ok) return [["ip", cn]];
  if (cn.includes("@")) return [["email", cn]];
  if (SINGLE_LABEL.test(cn)) return [["dns", cn]];
  return [];
}

/**
 * The names of a certificate that the constraints refuse, as "type name" strings. Besides the
 * SANs, a subject emailAddress is an email name (4.2.1.10), and a CN that is a host name with a
 * dot counts as a DNS name (OpenSSL checks it only when there is no DNS SAN; certmint always).
 * In a certificate that is not a CA's, a CN that reads as another name (commonNameReadings)
 * counts as that name too.
 */
export function namesOutside(
  nc: NameConstraints,
  subject: SubjectName,
  sans: SubjectAltNames,
  isCa = false,
): string[] {
  const names: Record<Kind, string[]> = {
    dns: [...sans.dns],
    ip: [...sans.ip],
    email: [...sans.email],
    uri: [...sans.uri],
  };
  for (const { type, value } of subject.attributes) {
    if (type === "EMAIL_ADDRESS") names.email.push(value);
    if (type !== "COMMON_NAME") continue;
    // Checked whether or not there are DNS SANs: OpenSSL skips the CN when there are, but a
    // relying party that takes its identity from the CN (a CN binding, database certificate
    // authentication) would then trust a name the CA may not issue.
    if (DOTTED_HOST.test(value)) names.dns.push(value);
    if (!isCa) for (const [kind, name] of commonNameReadings(value)) names[kind].push(name);
  }
  const out: string[] = [];
  for (const kind of KINDS) {
    for (const name of names[kind]) {
      const readings = (excluded: boolean) => (kind === "ip" ? ipReadings(name, excluded) : [name]);
      const within = (form: string, base: string, excluded: boolean) =>
        WITHIN[kind](form, base, excluded);
      const excluded = readings(true).some((f) =>
        nc.excluded[kind].some((b) => within(f, b, true)),
      );
      const permitted =
        nc.permitted[kind].length === 0 ||
        readings(false).every((f) => nc.permitted[kind].some((b) => within(f, b, false)));
      if (excluded || !permitted) out.push(`${kind} ${name}`);
    }
  }
  // Each name once: a subject emailAddress is usually also the email SAN copied from it (the
  // SAN's domain normalised), and the refusal listed it twice until stop 44 of 2026-12-06 (an
  // outside probe, E F5). The SANs come first, so the normalised form is the one kept.
  const seen = new Set<string>();
  return out.filter((n) => {
    const key = n.startsWith("email ") ? emailKey(n) : n;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** An "email local@domain" entry with its domain compared as a DNS name (case, trailing dot). */
function emailKey(entry: string): string {
  const at = entry.lastIndexOf("@");
  return at < 0
    ? entry
    : `${entry.slice(0, at)}@${entry
        .slice(at + 1)
        .toLowerCase()
        .replace(/\.$/, "")}`;
}

// ---- A subordinate CA's constraints within its issuers' (RFC 5280 6.1.4 (g)) -----------------

/** A subtree of a subordinate CA that its issuer's constraints do not contain. */
export interface SubtreeOutside {
  /** Where it is in NameConstraints, in proto field-path form: "permitted.dns_names[0]". */
  field: string;
  value: string;
  /** Why, after the quoted value: "is not within the permitted dns_names (example.com)". */
  why: string;
}

/** The host a subtree base stands for: ".d" is every host below d, written as "*.d". */
const subtreeHost = (base: string): string => (base.startsWith(".") ? `*${base}` : base);

/**
 * Whether every name of subtree `base` lies in subtree `outer` of the same kind: read as a
 * permitted subtree (RFC 5280's narrower reading of a URI or email host) or as an excluded one
 * (the wider: WITHIN's readings). A subtree below another is a name of it; a host subtree
 * ".d" is written as the wildcard host "*.d", which a within-check accepts only when all of the
 * hosts below d are inside.
 */
function subtreeWithin(kind: Kind, base: string, outer: string, excluded: boolean): boolean {
  switch (kind) {
    case "ip": {
      const [address = "", prefix = "0"] = base.split("/");
      const outerPrefix = Number(outer.split("/")[1] ?? "0");
      return Number(prefix) >= outerPrefix && ipWithin(address, outer);
    }
    case "dns":
      return dnsWithin(base, outer, excluded);
    case "email":
      return emailWithin(base.includes("@") ? base : `*@${subtreeHost(base)}`, outer, excluded);
    case "uri":
      return outer === "" || hostWithin(subtreeHost(base), outer, excluded);
  }
}

/**
 * The forms a subtree of a subordinate CA is read in for an excluded subtree above it, as the
 * leaf check reads a name (ipReadings): itself; an IPv4 subtree also in the mapped form
 * (::ffff:10.0.0.0/104 for 10.0.0.0/8); an IPv6 subtree also as each IPv4 range it carries.
 */
function excludedSubtreeReadings(kind: Kind, base: string): Array<{ as?: string; range: string }> {
  if (kind !== "ip") return [{ range: base }];
  const [text = "", p = "0"] = base.split("/");
  const a = parseIp(text);
  if (a.ok && a.version === 4) {
    const mapped = `::ffff:${text}/${96 + Number(p)}`;
    return [{ range: base }, { as: `its mapped form ${mapped}`, range: mapped }];
  }
  return [
    { range: base },
    ...embeddedIpv4Ranges(base).map((r) => ({
      as: `the IPv4 addresses it carries (${r.form}), ${r.range}`,
      range: r.range,
    })),
  ];
}

/**
 * The permitted subtrees of `child` (the nameConstraints of a CA certificate about to be
 * signed) that the constraints `parent` of a CA above it do not contain: not within any of its
 * permitted subtrees of that kind, or wholly inside one of its excluded ones. RFC 5280 6.1.4
 * (g) intersects the permitted subtrees of a path, so a wider subtree below permits nothing
 * more, and a CA certmint signs with one would be promised names no validator accepts. A child
 * without permitted subtrees of a kind inherits its issuers'; its excluded subtrees only
 * narrow, so they are not checked. iPAddress subtrees are read as the leaf check reads an
 * address (ipReadings): an IPv6 subtree that carries IPv4 addresses (::ffff:192.168.0.0/112)
 * is within only if those are permitted too, and lies in an excluded subtree when they do
 * (10.0.0.0/8 excludes ::ffff:10.1.0.0/112); an IPv4 subtree lies in an excluded one written in
 * the mapped form (::ffff:10.0.0.0/104 excludes 10.1.0.0/16). Until stop 44 of 2026-12-06 only
 * subtrees of the same length were compared, so such a child was created, promising addresses
 * the leaf check then refused under it.
 */
export function subtreesOutside(parent: NameConstraints, child: NameConstraints): SubtreeOutside[] {
  const out: SubtreeOutside[] = [];
  for (const kind of KINDS) {
    const permitted = parent.permitted[kind];
    child.permitted[kind].forEach((base, i) => {
      const field = `permitted.${FIELDS[kind]}[${i}]`;
      if (permitted.length > 0 && !permitted.some((p) => subtreeWithin(kind, base, p, false))) {
        const list = permitted.slice(0, 5).join(", ") + (permitted.length > 5 ? ", ..." : "");
        out.push({
          field,
          value: base,
          why: `is not within the permitted ${FIELDS[kind]} (${list})`,
        });
        return;
      }
      // An IPv6 subtree carrying IPv4 addresses: the leaf check permits its addresses only where
      // the IPv4 addresses are permitted too (ipReadings), so they must be.
      if (kind === "ip" && permitted.length > 0) {
        const stray = embeddedIpv4Ranges(base).find(
          (r) => !permitted.some((p) => subtreeWithin(kind, r.range, p, false)),
        );
        if (stray) {
          const list = permitted.slice(0, 5).join(", ") + (permitted.length > 5 ? ", ..." : "");
          out.push({
            field,
            value: base,
            why: `carries the IPv4 addresses ${stray.range} (${stray.form}), which are not within the permitted ${FIELDS[kind]} (${list})`,
          });
          return;
        }
      }
      for (const reading of excludedSubtreeReadings(kind, base)) {
        const inside = parent.excluded[kind].find((p) =>
          subtreeWithin(kind, reading.range, p, true),
        );
        if (inside === undefined) continue;
        const as = reading.as ? ` (read as ${reading.as})` : "";
        const why =
          inside === ""
            ? `is of a kind the excluded ${FIELDS[kind]} forbid (an empty name: every ${kind} name)`
            : `lies inside the excluded ${FIELDS[kind]} ${inside}${as}`;
        out.push({ field, value: base, why });
        break;
      }
    });
  }
  return out;
}
