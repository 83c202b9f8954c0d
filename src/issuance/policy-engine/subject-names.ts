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
import { parseUri } from "./uri-match";

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

function reading(kind: SanType, parsed: Parsed<{ text: string }>): SubjectNameReading {
  if (!parsed.ok) return { kind: "invalid", as: kind, error: parsed.error };
  const text = parsed.value.text;
  let forms = [text];
  if (kind === "dns") forms = [text, toULabels(text)];
  if (kind === "email") {
    const at = text.lastIndexOf("@");
    forms = [text, `${text.slice(0, at)}@${toULabels(text.slice(at + 1))}`];
  }
  return { kind, text, forms: [...new Set(forms)] };
}

/** How a subject value reads: free text, or a name of a SAN kind (see above). */
export function readSubjectName(type: SubjectAttribute, value: string): SubjectNameReading {
  if (type === "EMAIL_ADDRESS") return reading("email", parseEmail(value));
  if (type !== "COMMON_NAME" || WHITE_SPACE.test(value)) return { kind: "text" };
  if (value.includes("://")) return reading("uri", parseUri(value));
  const ip = parseIpAddress(value);
  if (ip.ok) return reading("ip", ip);
  if (value.includes("@")) return reading("email", parseEmail(value));
  if (NOT_HOST_ASCII.test(value)) return { kind: "text" };
  if (value.includes("_")) {
    return { kind: "invalid", as: "dns", error: "has '_', which no host name may contain" };
  }
  return reading("dns", parseDnsName(value));
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
