import type { SubjectAltNames, SubjectName } from "../../model/pki";
import {
  type CompiledPolicy,
  normalizeDnsName,
  normalizedSubject,
  normalizeEmail,
  normalizeIp,
  normalizeUri,
  subjectNamesToCopy,
} from "../policy-engine";

/**
 * The subject and SANs a certificate carries for a request's subject and SANs: names
 * normalised wherever they appear (a CN or emailAddress that reads as a name too), and the
 * subject's names copied into the SANs when the policy says COPY (policy-engine/subject-names.ts).
 * The policy evaluation checks the request; this is what is then signed.
 */
export function certifiedNames(
  policy: CompiledPolicy,
  subject: SubjectName,
  sans: SubjectAltNames,
): { subject: SubjectName; sans: SubjectAltNames } {
  const normalSubject = normalizedSubject(subject);
  const normalSans = normalizedSans(sans);
  const copies = subjectNamesToCopy(normalSubject, normalSans, policy.subjectNamesInSans);
  return {
    subject: normalSubject,
    sans: {
      dns: [...normalSans.dns, ...copies.dns],
      ip: [...normalSans.ip, ...copies.ip],
      email: [...normalSans.email, ...copies.email],
      uri: [...normalSans.uri, ...copies.uri],
    },
  };
}

/**
 * The names that go into the certificate: the policy engine's normal forms (lower case, no
 * trailing dot, A-labels, RFC 5952 IPs), so what was checked is exactly what is signed. A
 * name that does not normalise is left as given: the policy evaluation reports it invalid
 * and nothing is signed.
 */
export function normalizedSans(sans: SubjectAltNames): SubjectAltNames {
  const keep =
    (fn: (s: string) => { ok: true; value: string } | { ok: false; error: string }) =>
    (s: string) => {
      const r = fn(s);
      return r.ok ? r.value : s;
    };
  return {
    dns: dedupe(sans.dns.map(keep(normalizeDns))),
    ip: dedupe(sans.ip.map(keep(normalizeIp))),
    email: dedupe(sans.email.map(keep(normalizeEmail))),
    uri: dedupe(sans.uri.map(keep(normalizeUri))),
  };
}

/** A wildcard name normalises as its base name under a literal "*." (RFC 6125 6.4.3). */
function normalizeDns(name: string) {
  if (name.startsWith("*.")) {
    const base = normalizeDnsName(name.slice(2));
    return base.ok ? { ok: true as const, value: `*.${base.value}` } : base;
  }
  return normalizeDnsName(name);
}

const dedupe = (values: string[]) => [...new Set(values)];

export const sanCount = (s: SubjectAltNames) =>
  s.dns.length + s.ip.length + s.email.length + s.uri.length;

/**
 * Lower-cased CN and SANs, one per line, for name_contains searches. A newline cannot occur in
 * a name or in a search (control characters are refused), so a match never spans two names.
 */
export function searchNames(commonName: string, sans: SubjectAltNames): string {
  return [commonName, ...sans.dns, ...sans.ip, ...sans.email, ...sans.uri]
    .filter(Boolean)
    .join("\n")
    .toLowerCase();
}
