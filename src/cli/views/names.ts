/** Subjects, SANs and name constraints as one-line text. */
import type {
  GeneralSubtrees,
  NameConstraints,
  Subject,
  SubjectAlternativeNames,
} from "../../../gen/ts/certmint/v1/common";

/** "CN=api.example.com, O=Example": most specific first, as openssl prints it with -nameopt RFC2253. */
export function formatSubject(s: Subject | undefined): string {
  if (!s) return "";
  const parts: string[] = [];
  const add = (label: string, value: string) => value && parts.push(`${label}=${value}`);
  add("CN", s.commonName);
  add("emailAddress", s.emailAddress);
  add("serialNumber", s.serialNumber);
  for (const ou of s.organizationalUnit) add("OU", ou);
  for (const o of s.organization) add("O", o);
  add("street", s.streetAddress);
  add("postalCode", s.postalCode);
  add("L", s.locality);
  add("ST", s.state);
  add("C", s.country);
  return parts.join(", ");
}

function sanList(s: SubjectAlternativeNames | undefined): string[] {
  if (!s) return [];
  return [
    ...s.dnsNames.map((n) => `DNS:${n}`),
    ...s.ipAddresses.map((n) => `IP:${n}`),
    ...s.emailAddresses.map((n) => `email:${n}`),
    ...s.uris.map((n) => `URI:${n}`),
  ];
}

/** "DNS:a.example.com, IP:10.0.0.1", as openssl prints subjectAltName. */
export function formatSans(s: SubjectAlternativeNames | undefined): string {
  return sanList(s).join(", ");
}

/** The names a table cell shows; the others are counted ("+97 more"). */
const NAMES_IN_A_CELL = 3;

/**
 * formatSans for a table cell: the first few names and how many more. A table pads every row
 * to its widest cell, so until stop 40 of 2026-12-05 (an outside probe) one request with 100
 * SANs made every row of `request list` thousands of characters wide.
 */
export function formatSansCell(s: SubjectAlternativeNames | undefined): string {
  const names = sanList(s);
  if (names.length <= NAMES_IN_A_CELL) return names.join(", ");
  const more = `+${names.length - NAMES_IN_A_CELL} more`;
  return [...names.slice(0, NAMES_IN_A_CELL), more].join(", ");
}

/** The names a certificate is for: its CN and SANs, without repeats. */
export function certificateNames(subject?: Subject, sans?: SubjectAlternativeNames): string {
  const names = [
    subject?.commonName ?? "",
    ...(sans ? [...sans.dnsNames, ...sans.ipAddresses, ...sans.emailAddresses, ...sans.uris] : []),
  ].filter(Boolean);
  return [...new Set(names)].join(",");
}

function formatSubtrees(t: GeneralSubtrees | undefined): string {
  if (!t) return "";
  const show = (n: string) => (n === "" ? '""' : n);
  return [
    ...t.dnsNames.map((n) => `DNS:${show(n)}`),
    ...t.ipRanges.map((n) => `IP:${n}`),
    ...t.emailAddresses.map((n) => `email:${show(n)}`),
    ...t.uriHosts.map((n) => `URI:${show(n)}`),
  ].join(", ");
}

export function formatNameConstraints(c: NameConstraints | undefined): string[] {
  if (!c) return [];
  const permitted = formatSubtrees(c.permitted);
  const excluded = formatSubtrees(c.excluded);
  return [
    ...(permitted ? [`permitted ${permitted}`] : []),
    ...(excluded ? [`excluded ${excluded}`] : []),
  ];
}
