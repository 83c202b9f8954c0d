/**
 * The nameConstraints of a CA certificate issued under a policy (RFC 5280 4.2.1.10), derived
 * from the policy's SAN rules, so a delegated intermediate can only issue inside what the
 * policy allows. RFC 5280 subtrees cannot say everything a policy pattern says, so the mapping
 * errs on the side of the policy: a permitted subtree is the smallest RFC 5280 subtree that
 * holds an allowed pattern, and an excluded subtree the smallest that holds a denied one.
 *
 * DNS (dNSName: a name and every name below it):
 * - allowed "api.example.com" -> permitted "api.example.com" (names below it too);
 * - allowed "*.example.com" and "**.example.com" -> permitted "example.com". RFC 5280 has no
 *   "below only" form: the apex example.com is then permitted too. (".example.com" means
 *   "below only" to OpenSSL and Go, but Java reads it as matching nothing and other
 *   validators refuse it, so it is not used.)
 * - denied "x.example.com", "*.x.example.com", "**.x.example.com" -> excluded "x.example.com"
 *   (that name and everything below it: a denied name excludes its whole subtree).
 * IP: allowed and denied CIDR ranges as they are (IPv4-mapped ranges as IPv4). The IPv6 forms
 *   that carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo; policy/ip-match.ts)
 *   are excluded wholesale, since a validator matches them as IPv6 only; 0.0.0.0/32 and
 *   255.255.255.255/32 too.
 * Email (rfc822Name): "alice@example.com" -> that mailbox; "@example.com" -> "example.com";
 *   "@*.example.com" and "@**.example.com" -> ".example.com" (any host below). A denied
 *   mailbox's '+' sub-addresses cannot be expressed: validators compare mailboxes exactly.
 * URI (the host only, RFC 5280 4.2.1.10): a host "prod.example" -> "prod.example", and the
 *   exclusion ".prod.example" unless a wildcard allows hosts below it (hostsBelowExact; the same
 *   for an email host "@example.com"); "*.d" and "**.d" -> ".d". Schemes, ports and paths cannot be constrained: an allowed
 *   "spiffe://prod.example/ns/a/*" permits every URI on host prod.example, and a denied URI
 *   pattern excludes its whole host.
 * A type with no allowed pattern is forbidden to the sub-CA: DNS and IP by the excluded
 * subtrees that hold every name (a zero-length dNSName; 0.0.0.0/0 and ::/0), as CA/B BR
 * 7.1.2.10.8 does; email and URI by a permitted subtree of the host "nowhere.invalid" (RFC 6761: it
 * never exists), since OpenSSL reads a zero-length rfc822Name or URI subtree as matching
 * nothing rather than everything;
 * a catch-all allowed pattern ("**", "@**", a "**" URI host, 0.0.0.0/0 with ::/0) leaves the
 * type unconstrained but for its exclusions.
 */

import { formatIp } from "../../model/ip";
import { emptySubtrees, type GeneralSubtrees, type NameConstraints } from "../../model/pki";
import type { CompiledPolicy } from "./compile";
import { type DnsPattern, parseDnsPattern } from "./dns-match";
import { parseEmailPattern } from "./email-match";
import { parseIpRange } from "./ip-match";
import { parseUriPattern } from "./uri-match";

/** IPv6 prefixes whose addresses carry an IPv4 address, and the never-certified addresses. */
const EMBEDDING_V6 = [
  "::ffff:0:0/96",
  "::/96",
  "64:ff9b::/96",
  "64:ff9b:1::/48",
  "2002::/16",
  "2001::/32",
];
const NEVER_V4 = ["0.0.0.0/32", "255.255.255.255/32"];
/**
 * A host that never exists (RFC 6761 6.4): a permitted subtree of it permits nothing. Two labels,
 * since a URI constraint's host MUST be a fully qualified domain name (RFC 5280 4.2.1.10); the
 * single label "invalid" was flagged by zlint and pkilint until 2026-12-05 (an outside probe).
 */
const NOWHERE = "nowhere.invalid";

/**
 * Makes constraints forbid every name of one kind to the CA that carries them (see the top of
 * this file): DNS and IP by excluded subtrees that hold every name, email and URI by a
 * permitted subtree of a host that never exists. Shared by the policy-derived constraints here
 * and CreateIntermediate's (ca/create-intermediate.ts, the kinds its caller left out).
 */
export function forbidKind(
  kind: keyof GeneralSubtrees,
  permitted: GeneralSubtrees,
  excluded: GeneralSubtrees,
): void {
  if (kind === "dns") excluded.dns.push("");
  else if (kind === "ip") excluded.ip.push("0.0.0.0/0", "::/0");
  else permitted[kind].push(NOWHERE);
}

const dnsSubtree = (p: DnsPattern): string => (p.kind === "any" ? "" : p.base.join("."));
const hostSubtree = (p: DnsPattern): string =>
  p.kind === "any" ? "" : p.kind === "exact" ? p.base.join(".") : `.${p.base.join(".")}`;

/**
 * For URI and email host subtrees: ".h" for each exactly allowed host h below which the policy
 * allows nothing else. A permitted "h" is the host h only (RFC 5280 4.2.1.10; OpenSSL), but
 * Go's crypto/x509 (go-spiffe, most mTLS code in Go) reads it as h and every host below it, so
 * a sub-CA allowed spiffe://h/... could mint spiffe://x.h/... that Go accepts. The exclusion
 * ".h" (every host below h) means the same to both. Not when another allowed pattern (a
 * wildcard reaching below h, a host or a mailbox below it) names something below h: an
 * exclusion overrides every permitted subtree, and would forbid what the policy allows (Go then
 * reads "h" as before). Until stop 41 of 2026-12-06 it was never added (an outside probe).
 */
function hostsBelowExact(hosts: readonly { pattern: DnsPattern; exactHost: boolean }[]): string[] {
  const below = (name: string, h: string) => name.endsWith(`.${h}`);
  return hosts
    .filter((x) => x.exactHost && x.pattern.kind === "exact")
    .map((x) => x.pattern.base.join("."))
    .filter((h) =>
      hosts.every((other) => {
        if (other.pattern.kind === "any") return false;
        const b = other.pattern.base.join(".");
        // A wildcard reaching h or below it, or any other allowed host below h.
        if (other.pattern.kind !== "exact") return !(b === h || below(b, h) || below(h, b));
        return !below(b, h);
      }),
    )
    .map((h) => `.${h}`);
}

function parsed<T>(
  texts: readonly string[],
  parse: (s: string) => { ok: true; value: T } | { ok: false },
) {
  return texts.flatMap((t) => {
    const r = parse(t);
    return r.ok ? [r.value] : [];
  });
}

const unique = (xs: string[]) => [...new Set(xs)];

export function nameConstraintsFor(policy: CompiledPolicy): NameConstraints {
  const permitted: GeneralSubtrees = emptySubtrees();
  const excluded: GeneralSubtrees = emptySubtrees();
  const rules = policy.spec.sans;

  // DNS.
  const dnsAllowed = parsed(rules.dns?.allowed ?? [], parseDnsPattern);
  const dnsDenied = parsed(rules.dns?.denied ?? [], parseDnsPattern);
  if (dnsAllowed.length === 0) forbidKind("dns", permitted, excluded);
  else if (!dnsAllowed.some((p) => p.kind === "any"))
    permitted.dns.push(...dnsAllowed.map(dnsSubtree));
  excluded.dns.push(...dnsDenied.map(dnsSubtree));

  // IP.
  const ipText = (r: { version: 4 | 6; base: bigint; prefix: number }) =>
    `${formatIp({ version: r.version, value: r.base })}/${r.prefix}`;
  const ipAllowed = parsed(rules.ip?.allowed ?? [], parseIpRange);
  const ipDenied = parsed(rules.ip?.denied ?? [], parseIpRange);
  const anyV4 = ipAllowed.some((r) => r.version === 4 && r.prefix === 0);
  const anyV6 = ipAllowed.some((r) => r.version === 6 && r.prefix === 0);
  if (ipAllowed.length === 0) forbidKind("ip", permitted, excluded);
  else if (!(anyV4 && anyV6)) permitted.ip.push(...ipAllowed.map(ipText));
  excluded.ip.push(...ipDenied.map(ipText));
  if (ipAllowed.some((r) => r.version === 4)) excluded.ip.push(...NEVER_V4);
  if (ipAllowed.some((r) => r.version === 6)) excluded.ip.push(...EMBEDDING_V6);

  // Email.
  const mailbox = (p: { local?: string; domain: DnsPattern }) =>
    p.local !== undefined ? `${p.local}@${p.domain.base.join(".")}` : hostSubtree(p.domain);
  const emailAllowed = parsed(rules.email?.allowed ?? [], parseEmailPattern);
  const emailDenied = parsed(rules.email?.denied ?? [], parseEmailPattern);
  if (emailAllowed.length === 0) forbidKind("email", permitted, excluded);
  else if (!emailAllowed.some((p) => p.local === undefined && p.domain.kind === "any")) {
    permitted.email.push(...emailAllowed.map(mailbox));
    excluded.email.push(
      ...hostsBelowExact(
        emailAllowed.map((p) => ({ pattern: p.domain, exactHost: p.local === undefined })),
      ),
    );
  }
  excluded.email.push(...emailDenied.map(mailbox));

  // URI hosts.
  const uriAllowed = parsed(rules.uri?.allowed ?? [], parseUriPattern);
  const uriDenied = parsed(rules.uri?.denied ?? [], parseUriPattern);
  if (uriAllowed.length === 0) forbidKind("uri", permitted, excluded);
  else if (!uriAllowed.some((p) => p.host.kind === "any")) {
    permitted.uri.push(...uriAllowed.map((p) => hostSubtree(p.host)));
    excluded.uri.push(
      ...hostsBelowExact(uriAllowed.map((p) => ({ pattern: p.host, exactHost: true }))),
    );
  }
  excluded.uri.push(...uriDenied.map((p) => hostSubtree(p.host)));

  const tidy = (s: GeneralSubtrees): GeneralSubtrees => ({
    dns: unique(s.dns),
    ip: unique(s.ip),
    email: unique(s.email),
    uri: unique(s.uri),
  });
  return { permitted: tidy(permitted), excluded: tidy(excluded) };
}
