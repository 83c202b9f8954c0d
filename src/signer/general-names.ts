/**
 * subjectAltName GeneralNames (RFC 5280 4.2.1.6) <-> SubjectAltNames.
 *
 * Supported: dNSName [2], iPAddress [7], rfc822Name [1], uniformResourceIdentifier [6]; all
 * string forms are IA5String, so internationalised names must arrive in A-label (punycode)
 * form. Encoding validates only what the encoding itself requires; name policy (allowed
 * patterns, wildcards, normalisation) belongs to the issuance layer.
 */
import { invalidField } from "../errors";
import type { SubjectAltNames } from "../model/pki";
import { type Asn1, Class, contextPrimitive } from "./der";
import { children, DerShapeError } from "./der-read";
import { ipFromBytes, ipToBytes } from "./ip";

const TAG = { email: 1, dns: 2, uri: 6, ip: 7 } as const;
/** GeneralName's CHOICE alternatives by context tag (RFC 5280 4.2.1.6). */
export const GENERAL_NAME_KINDS = [
  "otherName",
  "rfc822Name",
  "dNSName",
  "x400Address",
  "directoryName",
  "ediPartyName",
  "uniformResourceIdentifier",
  "iPAddress",
  "registeredID",
];

export const emptySans = (): SubjectAltNames => ({ dns: [], ip: [], email: [], uri: [] });
export const sanCount = (s: SubjectAltNames): number =>
  s.dns.length + s.ip.length + s.email.length + s.uri.length;

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

function invalidSan(field: string, value: string, why: string) {
  const description = `${JSON.stringify(value)} ${why}`;
  return invalidField("SAN_INVALID", `subject alternative name ${description}`, field, description);
}

/** GeneralNames for the given SANs, in the order dns, ip, email, uri. */
export function sansToAsn1(sans: SubjectAltNames): Asn1[] {
  const out: Asn1[] = [];
  sans.dns.forEach((d, i) => {
    if (!PRINTABLE_ASCII.test(d))
      throw invalidSan(`dns_names[${i}]`, d, "must be ASCII (use the punycode form)");
    out.push(contextPrimitive(TAG.dns, d));
  });
  sans.ip.forEach((ip, i) => {
    const bytes = ipToBytes(ip);
    if (bytes === undefined)
      throw invalidSan(`ip_addresses[${i}]`, ip, "is not an IPv4 or IPv6 address");
    out.push(contextPrimitive(TAG.ip, bytes.toString("latin1")));
  });
  sans.email.forEach((e, i) => {
    if (!PRINTABLE_ASCII.test(e) || !/^[^@]+@[^@]+$/.test(e)) {
      throw invalidSan(`email_addresses[${i}]`, e, "must be an ASCII mailbox local@domain");
    }
    out.push(contextPrimitive(TAG.email, e));
  });
  sans.uri.forEach((u, i) => {
    // RFC 5280 4.2.1.6: the URI MUST include both a scheme and a scheme-specific-part.
    if (!PRINTABLE_ASCII.test(u) || !/^[A-Za-z][A-Za-z0-9+.-]*:.+/.test(u)) {
      throw invalidSan(
        `uris[${i}]`,
        u,
        "must be an absolute ASCII URI such as spiffe://domain/path",
      );
    }
    out.push(contextPrimitive(TAG.uri, u));
  });
  return out;
}

export class UnsupportedGeneralNameError extends Error {
  constructor(readonly kind: string) {
    super(`subjectAltName of type ${kind} is not supported`);
  }
}

/**
 * GeneralNames -> SubjectAltNames. IP addresses come back in canonical text. Names of other
 * kinds (otherName, directoryName, ...) throw UnsupportedGeneralNameError unless `lenient`,
 * which skips them (for reading certificates made elsewhere).
 */
export function sansFromAsn1(node: Asn1, lenient = false): SubjectAltNames {
  const sans = emptySans();
  for (const gn of children(node, "GeneralNames")) {
    if (gn.tagClass !== Class.CONTEXT_SPECIFIC) {
      throw new DerShapeError("GeneralName: expected a context-specific tag");
    }
    if (!(Object.values(TAG) as number[]).includes(gn.type)) {
      if (lenient) continue;
      throw new UnsupportedGeneralNameError(GENERAL_NAME_KINDS[gn.type] ?? `[${gn.type}]`);
    }
    if (gn.constructed || typeof gn.value !== "string") {
      throw new DerShapeError("GeneralName: expected a primitive value");
    }
    const value = gn.value;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: IA5String is 7-bit ASCII
    if (gn.type !== TAG.ip && !/^[\x00-\x7f]*$/.test(value)) {
      throw new DerShapeError("GeneralName: IA5String with 8-bit characters");
    }
    // NUL cuts a name short for C readers ("null prefix" attacks) and PostgreSQL stores none.
    if (gn.type !== TAG.ip && value.includes("\0")) {
      throw new DerShapeError("GeneralName: NUL in an IA5String");
    }
    switch (gn.type as number) {
      case TAG.dns:
        sans.dns.push(value);
        break;
      case TAG.email:
        sans.email.push(value);
        break;
      case TAG.uri:
        sans.uri.push(value);
        break;
      default: {
        const ip = ipFromBytes(Buffer.from(value, "latin1"));
        if (ip === undefined) throw new DerShapeError("iPAddress: expected 4 or 16 octets");
        sans.ip.push(ip);
      }
    }
  }
  return sans;
}
