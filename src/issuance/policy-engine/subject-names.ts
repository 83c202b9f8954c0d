/**
 * Names in the subject. A common name is what OpenSSL's and Java's hostname checks fall back to
 * when a certificate has no DNS SAN, and mTLS peers read identities from it; an emailAddress
 * attribute is what S/MIME agents read when there is no rfc822Name (RFC 5280 4.1.2.6 says it
 * MUST also be in the SAN). So a subject value that reads as a name is one: it is normalised
 * as a SAN of its kind is, it must satisfy that kind's SAN rules, and the policy says whether
 * it is copied into the SANs (the default), must already be there, or (the CN only) need not
 * be (CA/B Baseline Requirements 7.1.4.3: a CN MUST be one of the SAN values).
 *
 * How a common name reads (the first that applies):
 * - with white space anywhere: free text (no host name, address or URI has white space);
 * - with "://": a URI (the SPIFFE ID of a workload, say);
 * - an IP address: an IP address;
 * - with '@': an email address;
 * - a host name or IP address with a port or a path after it: refused (hostWithPortOrPath);
 * - only letters, digits, '-', '_' and '.' (any script; full stops of any width): a DNS name,
 *   single labels like "db" included, since a resolver will find them;
 * - anything else: free text.
 * A value that reads as a name but is not a valid one ("010.0.0.1", "a..b", "svc_x", a
 * label that breaks the Bidi rule) is refused, never taken as free text.
 */

import type { SubjectAltNames, SubjectAttribute, SubjectName } from "../../model/pki";
import { parseDnsName } from "./dns-match";
import { parseEmail } from "./email-match";
import { toULabels } from "./idna";
import { parseIpAddress } from "./ip-match";
import type { Parsed, SanType, SubjectNamesInSans } from "./types";
import { parseUri, uriInULabels } from "./uri-match";
import { mixedScriptWord } from "./value-match";

export type SubjectNameReading =
  | { readonly kind: "text" }
  | {
      readonly kind: SanType;
      /** Normalised as a SAN of that kind is: what matching uses and what is signed. */
      readonly text: string;
      /** Every form the subject rule patterns are matched against (A- and U-labels). */
      readonly forms: readonly string[];
    }
  | { readonly kind: "invalid"; readonly as: SanType; readonly error: string };

/** Attributes that can carry a name. */
export const NAME_ATTRIBUTES: readonly SubjectAttribute[] = ["COMMON_NAME", "EMAIL_ADDRESS"];

const WHITE_SPACE = /\s/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: every ASCII character but [A-Za-z0-9._-]
const NOT_HOST_ASCII = /[\x00-\x2c\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]/;
const SAN_NOUNS: Record<SanType, string> = {
  dns: "a DNS name",
  ip: "an IP address",
  email: "an email address",
  uri: "a URI",
};
export const sanNoun = (kind: SanType) => SAN_NOUNS[kind];

function reading<T extends { text: string }>(
  kind: SanType,
  parsed: Parsed<T>,
  inULabels: (name: T) => string = (name) => name.text,
): SubjectNameReading {
  if (!parsed.ok) return { kind: "invalid", as: kind, error: parsed.error };
  const text = parsed.value.text;
  const unicode = inULabels(parsed.value);
  // An A-label is its U-label spelled otherwise (the same name is signed either way), so a word
  // that mixes look-alike scripts is refused in it as in the U-label (value-match.ts): until
  // stop 59 of 2026-12-07 "xn--vil-qdd.example.com" (Cyrillic "е") passed a common name denied
  // "*evil*" that "еvil.example.com" did not (an outside probe).
  const mixed = unicode === text ? undefined : mixedScriptWord(unicode);
  if (mixed !== undefined) {
    return {
      kind: "invalid",
      as: kind,
      error: `has a word (${JSON.stringify(mixed.slice(0, 64))}) with Latin, Cyrillic or Greek letters mixed once its A-labels are read (${JSON.stringify(unicode.slice(0, 64))}), which reads as another word: write each word in one script`,
    };
  }
  return { kind, text, forms: [...new Set([text, unicode])] };
}

const emailInULabels = ({ text }: { text: string }) => {
  const at = text.lastIndexOf("@");
  return `${text.slice(0, at)}@${toULabels(text.slice(at + 1))}`;
};

/** How a subject value reads: free text, or a name of a SAN kind (see above). */
export function readSubjectName(type: SubjectAttribute, value: string): SubjectNameReading {
  if (type === "EMAIL_ADDRESS") return reading("email", parseEmail(value), emailInULabels);
  if (type !== "COMMON_NAME" || WHITE_SPACE.test(value)) return { kind: "text" };
  // A URI's host is matched in both forms too, as a DNS name's (until stop 59 of 2026-12-07 in
  // its A-labels only: "https://xn--bcher-kva.example/x" passed a common name denied "*bücher*").
  if (value.includes("://")) return reading("uri", parseUri(value), uriInULabels);
  const ip = parseIpAddress(value);
  if (ip.ok) return reading("ip", ip);
  if (value.includes("@")) return reading("email", parseEmail(value), emailInULabels);
  const hostLike = hostWithPortOrPath(value);
  if (hostLike !== undefined) return hostLike;
  if (NOT_HOST_ASCII.test(value)) return { kind: "text" };
  if (value.includes("_")) {
    return { kind: "invalid", as: "dns", error: "has '_', which no host name may contain" };
  }
  return reading("dns", parseDnsName(value), ({ text }) => toULabels(text));
}

/**
 * A host name or address with a port or a path after it ("secret.example.com:443",
 * "evil.org/", "10.0.0.1:8443") names that host to every inventory, log and person reading it,
 * yet as free text it escaped the DNS rules and the CA's name constraints (until stop 59 of
 * 2026-12-07: an outside probe had "secret.example.com:443" signed under a policy denying
 * "secret.example.com"). Refused: the host alone is the name. A value whose part before the
 * first ':' or '/' has no dot, or is no host name, stays free text ("user:alice", "team/ci").
 */
function hostWithPortOrPath(value: string): SubjectNameReading | undefined {
  const host = /^([^:/]+)[:/]/.exec(value)?.[1];
  if (host === undefined || !host.includes(".")) return undefined;
  const as: SanType | undefined = parseIpAddress(host).ok
    ? "ip"
    : parseDnsName(host).ok
      ? "dns"
      : undefined;
  if (as === undefined) return undefined;
  return {
    kind: "invalid",
    as,
    error: `is ${JSON.stringify(host.slice(0, 64))} with a port or a path after it, which readers take for that host: write the host alone (a URI needs its scheme, "https://")`,
  };
}

/** The subject with every value that reads as a name in its normalised form (what is signed). */
export function normalizedSubject(subject: SubjectName): SubjectName {
  return {
    attributes: subject.attributes.map((a) => {
      const r = readSubjectName(a.type, a.value);
      return r.kind === "text" || r.kind === "invalid" ? a : { type: a.type, value: r.text };
    }),
  };
}

/** Whether a subject attribute's name must appear among the SANs under the policy's setting. */
export function mustBeInSans(type: SubjectAttribute, setting: SubjectNamesInSans): boolean {
  // RFC 5280 4.1.2.6: an email address in the subject MUST also be in the SAN.
  return type === "EMAIL_ADDRESS" || setting !== "NOT_REQUIRED";
}

const SAN_KEYS: Record<SanType, keyof SubjectAltNames> = {
  dns: "dns",
  ip: "ip",
  email: "email",
  uri: "uri",
};

/**
 * The names the SANs gain under COPY: each valid subject name that must be among the SANs and
 * is not yet (the SANs given normalised). The policy evaluation has checked them against the
 * SAN rules on the subject field.
 */
export function subjectNamesToCopy(
  subject: SubjectName,
  sans: SubjectAltNames,
  setting: SubjectNamesInSans,
): SubjectAltNames {
  const out: SubjectAltNames = { dns: [], ip: [], email: [], uri: [] };
  if (setting !== "COPY") return out;
  for (const { type, value } of subject.attributes) {
    if (!NAME_ATTRIBUTES.includes(type) || !mustBeInSans(type, setting)) continue;
    const r = readSubjectName(type, value);
    if (r.kind === "text" || r.kind === "invalid") continue;
    const key = SAN_KEYS[r.kind];
    if (!sans[key].includes(r.text) && !out[key].includes(r.text)) out[key].push(r.text);
  }
  return out;
}
