/**
 * URIs (RFC 3986) and URI patterns. A strict parser of our own: the WHATWG URL parser rewrites
 * special schemes ("http:\\\\x" becomes "http://x/"), resolves ".." silently and accepts
 * userinfo, each a way for the checked string and the certified string to differ.
 */

import { quoted } from "../../errors";
import {
  type DnsPattern,
  dnsPatternMatchesLabels,
  dnsPatternSubsumes,
  parseDnsPattern,
  parseHostLabels,
} from "./dns-match";
import { toULabels } from "./idna";
import { fail, ok, type Parsed } from "./types";

export interface Uri {
  readonly scheme: string;
  readonly host: readonly string[];
  readonly port?: number;
  /** Path segments, percent-encoding normalised; [] for the empty path. */
  readonly segments: readonly string[];
  readonly text: string;
}

export interface UriPattern {
  readonly scheme: string;
  readonly host: DnsPattern;
  readonly port?: number;
  readonly segments: readonly string[];
  /** "/*" at the end: one or more further whole segments. */
  readonly prefix: boolean;
  readonly text: string;
}

const MAX_URI = 2048;
const ALPHA = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const DIGIT = (c: number) => c >= 0x30 && c <= 0x39;
// RFC 3986 2.3 unreserved, 2.2 sub-delims (minus '*', refused: it reads as a wildcard), ':', '@'.
const isUnreserved = (c: number) => ALPHA(c) || DIGIT(c) || "-._~".includes(String.fromCharCode(c));
const PCHAR_EXTRA = "!$&'()+,;=:@";
const HEX = "0123456789ABCDEF";

function parseScheme(s: string): Parsed<string> {
  if (s.length === 0 || !ALPHA(s.charCodeAt(0))) return fail("has no valid scheme");
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!ALPHA(c) && !DIGIT(c) && c !== 0x2b && c !== 0x2d && c !== 0x2e) {
      return fail("has no valid scheme (RFC 3986 3.1)");
    }
  }
  return ok(s.toLowerCase()); // RFC 3986 6.2.2.1
}

/** One path segment, percent-encoding normalised (RFC 3986 6.2.2.1, 6.2.2.2). */
function normalizeSegment(seg: string, spiffe: boolean): Parsed<string> {
  let out = "";
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c === 0x25) {
      if (spiffe) return fail("has percent-encoding, which SPIFFE IDs forbid");
      const hi = HEX.indexOf(seg.charAt(i + 1).toUpperCase());
      const lo = HEX.indexOf(seg.charAt(i + 2).toUpperCase());
      if (i + 2 >= seg.length || hi < 0 || lo < 0) return fail("has a malformed percent-escape");
      const byte = hi * 16 + lo;
      // An escaped '/' or '\' would hide a segment boundary from us but not from a server.
      if (byte === 0x2f || byte === 0x5c) return fail("has an escaped '/' or '\\' in the path");
      if (byte < 0x20 || byte === 0x7f) return fail("has an escaped control character in the path");
      if (byte === 0x2a) return fail("has an escaped '*' in the path");
      out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[hi]}${HEX[lo]}`;
      i += 2;
      continue;
    }
    const ok1 = spiffe
      ? ALPHA(c) || DIGIT(c) || c === 0x2e || c === 0x2d || c === 0x5f
      : isUnreserved(c) || PCHAR_EXTRA.includes(seg[i]!);
    if (!ok1) {
      const shown = c < 0x20 || c > 0x7e ? `U+${c.toString(16).padStart(4, "0")}` : seg[i];
      return fail(`has the character "${shown}" in the path`);
    }
    out += seg[i];
  }
  if (out.length === 0) return fail("has an empty path segment ('//' or a trailing '/')");
  if (out === "." || out === "..") return fail("has a '.' or '..' path segment (RFC 3986 5.2.4)");
  return ok(out);
}

function parsePath(path: string, spiffe: boolean): Parsed<string[]> {
  if (path === "" || path === "/") return ok([]); // RFC 3986 6.2.3: "/" and "" alike
  const segments: string[] = [];
  for (const raw of path.slice(1).split("/")) {
    const seg = normalizeSegment(raw, spiffe);
    if (!seg.ok) return seg;
    segments.push(seg.value);
  }
  return ok(segments);
}

interface Parts {
  scheme: string;
  hostText: string;
  port?: number;
  path: string;
  spiffe: boolean;
}

/** Splits `scheme://authority/path`; shared by requests and patterns. */
function splitUri(input: string, allowStar: boolean): Parsed<Parts> {
  if (input.length === 0) return fail("is empty");
  if (input.length > MAX_URI) return fail("is too long");
  if (input.includes("?") || input.includes("#")) return fail("has a query or fragment");
  if (!allowStar && input.includes("*")) return fail("contains '*'");
  const colon = input.indexOf(":");
  if (colon === -1) return fail("has no scheme");
  const scheme = parseScheme(input.slice(0, colon));
  if (!scheme.ok) return scheme;
  if (!input.startsWith("//", colon + 1)) {
    return fail("has no authority (scheme://host...); URNs and other forms are not accepted");
  }
  const rest = input.slice(colon + 3);
  const slash = rest.indexOf("/");
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? "" : rest.slice(slash);
  if (authority.includes("@")) return fail("has userinfo ('@'), which is not allowed");
  if (authority.startsWith("[")) return fail("has an IP literal host; only DNS hosts are accepted");
  if (authority.includes("%")) return fail("has percent-encoding in the host");
  const spiffe = scheme.value === "spiffe";
  const portColon = authority.lastIndexOf(":");
  let hostText = authority;
  let port: number | undefined;
  if (portColon !== -1) {
    const p = authority.slice(portColon + 1);
    if (spiffe) return fail("has a port, which SPIFFE IDs forbid");
    if (!/^[1-9][0-9]{0,4}$/.test(p) || Number(p) > 65535) {
      return fail(`has an invalid port ${quoted(p)} (1-65535, no leading zeros)`);
    }
    port = Number(p);
    hostText = authority.slice(0, portColon);
  }
  if (hostText.length === 0) return fail("has no host");
  if (spiffe && !/^[\x21-\x7e]+$/.test(hostText))
    return fail("has a non-ASCII SPIFFE trust domain");
  return ok({ scheme: scheme.value, hostText, port, path, spiffe });
}

function format(scheme: string, host: string, port: number | undefined, segs: readonly string[]) {
  return `${scheme}://${host}${port === undefined ? "" : `:${port}`}${segs.map((s) => `/${s}`).join("")}`;
}

export function parseUri(input: string): Parsed<Uri> {
  const parts = splitUri(input, false);
  if (!parts.ok) return parts;
  const { scheme, hostText, port, path, spiffe } = parts.value;
  const host = parseHostLabels(hostText);
  if (!host.ok) return fail(`has a host that ${host.error}`);
  const segments = parsePath(path, spiffe);
  if (!segments.ok) return segments;
  const text = format(scheme, host.value.join("."), port, segments.value);
  return ok({ scheme, host: host.value, port, segments: segments.value, text });
}

/** The URI with its host in U-labels: how a reader shows it, for the subject's own rules. */
export function uriInULabels(u: Uri): string {
  return format(u.scheme, toULabels(u.host.join(".")), u.port, u.segments);
}

export function parseUriPattern(input: string): Parsed<UriPattern> {
  const parts = splitUri(input, true);
  if (!parts.ok) return parts;
  const { scheme, hostText, port, spiffe } = parts.value;
  let { path } = parts.value;
  const host = parseDnsPattern(hostText);
  if (!host.ok) return fail(`has a host pattern that ${host.error}`);
  const prefix = path === "/*" || path.endsWith("/*");
  if (prefix) path = path.slice(0, -2);
  if (path.includes("*")) return fail("may contain '*' only as a final '/*' path segment");
  const segments = parsePath(path, spiffe);
  if (!segments.ok) return segments;
  const text = format(scheme, host.value.text, port, segments.value) + (prefix ? "/*" : "");
  return ok({ scheme, host: host.value, port, segments: segments.value, prefix, text });
}

function pathMatches(p: UriPattern, u: Uri): boolean {
  if (p.prefix ? u.segments.length <= p.segments.length : u.segments.length !== p.segments.length) {
    return false;
  }
  return p.segments.every((s, i) => u.segments[i] === s);
}

/** Allow check: a pattern without a port allows only URIs without a port. */
export function uriAllows(p: UriPattern, u: Uri): boolean {
  return (
    p.scheme === u.scheme &&
    p.port === u.port &&
    dnsPatternMatchesLabels(p.host, u.host) &&
    pathMatches(p, u)
  );
}

/** Deny check: a pattern without a port denies every port. */
export function uriDenies(p: UriPattern, u: Uri): boolean {
  return (
    p.scheme === u.scheme &&
    (p.port === undefined || p.port === u.port) &&
    dnsPatternMatchesLabels(p.host, u.host) &&
    pathMatches(p, u)
  );
}

/** Conservative compile-time check: true only when `denied` clearly covers `allowed`. */
export function uriPatternSubsumes(denied: UriPattern, allowed: UriPattern): boolean {
  if (denied.scheme !== allowed.scheme) return false;
  if (denied.port !== undefined && denied.port !== allowed.port) return false;
  if (!dnsPatternSubsumes(denied.host, allowed.host)) return false;
  const n = denied.segments.length;
  if (!denied.segments.every((s, i) => allowed.segments[i] === s)) return false;
  if (denied.prefix) {
    return allowed.segments.length > n || (allowed.prefix && allowed.segments.length === n);
  }
  return !allowed.prefix && allowed.segments.length === n;
}
