/**
 * Distinguished names: SubjectName <-> ASN.1 Name (RFC 5280 4.1.2.4), and the RFC 4514 string
 * form used for storage and listing.
 *
 * Encoding choices (RFC 5280 4.1.2.4 and Appendix A): countryName and serialNumber are
 * PrintableString, emailAddress is IA5String (PKCS #9), every other attribute UTF8String.
 * Upper bounds are the ub-* values of RFC 5280 Appendix A.
 */

import { invalidArgument, invalidField } from "../errors";
import {
  SUBJECT_ATTRIBUTE_OIDS,
  SUBJECT_ATTRIBUTE_UPPER_BOUNDS,
  type SubjectAttribute,
  type SubjectName,
} from "../model/pki";
import { type Asn1, Class, oid, parseDer, seq, set, Type, toDer } from "./der";
import { children, DerShapeError, readOid, readString } from "./der-read";
import forge from "./forge";

const asn1 = forge.asn1;

const UPPER_BOUNDS = SUBJECT_ATTRIBUTE_UPPER_BOUNDS;

const ATTRIBUTE_BY_OID = new Map<string, SubjectAttribute>(
  Object.entries(SUBJECT_ATTRIBUTE_OIDS).map(([k, v]) => [v, k as SubjectAttribute]),
);

/** Short names per RFC 4514 section 3 (and the registered descriptors of RFC 4519 / PKCS #9). */
const SHORT_NAMES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.6": "C",
  "2.5.4.8": "ST",
  "2.5.4.7": "L",
  "2.5.4.9": "STREET",
  "2.5.4.17": "postalCode",
  "2.5.4.5": "serialNumber",
  "1.2.840.113549.1.9.1": "emailAddress",
  "0.9.2342.19200300.100.1.25": "DC",
  "0.9.2342.19200300.100.1.1": "UID",
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: IA5String is 7-bit ASCII
const IA5 = /^[\x00-\x7f]*$/;

function attributeValue(type: SubjectAttribute, value: string): Asn1 {
  const bad = (why: string) =>
    invalidField("SUBJECT_INVALID", `subject ${type}: ${why}`, "subject", `${type} ${why}`);
  if (value.length === 0) throw bad("must not be empty");
  // Control characters (NUL above all) have been used to make one name display as another.
  if (CONTROL.test(value)) throw bad("must not contain control characters");
  if (LONE_SURROGATE.test(value)) throw bad("is not valid Unicode");
  if ([...value].length > UPPER_BOUNDS[type]) {
    throw bad(`is longer than ${UPPER_BOUNDS[type]} characters (RFC 5280 Appendix A)`);
  }
  switch (type) {
    case "COUNTRY":
      if (!/^[A-Z]{2}$/.test(value)) throw bad("must be a two-letter ISO 3166 code, e.g. US");
      return asn1.create(Class.UNIVERSAL, Type.PRINTABLESTRING, false, value);
    case "SERIAL_NUMBER":
      if (!PRINTABLE.test(value)) throw bad("may only contain PrintableString characters");
      return asn1.create(Class.UNIVERSAL, Type.PRINTABLESTRING, false, value);
    case "EMAIL_ADDRESS":
      if (!IA5.test(value)) throw bad("must be ASCII");
      return asn1.create(Class.UNIVERSAL, Type.IA5STRING, false, value);
    default:
      return asn1.create(
        Class.UNIVERSAL,
        Type.UTF8,
        false,
        Buffer.from(value, "utf8").toString("latin1"),
      );
  }
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName, one attribute per RDN, in the given order. */
export function subjectToAsn1(name: SubjectName): Asn1 {
  return seq(
    name.attributes.map((a) => {
      const o = SUBJECT_ATTRIBUTE_OIDS[a.type];
      if (o === undefined) {
        throw invalidArgument("SUBJECT_INVALID", `unknown subject attribute ${String(a.type)}`);
      }
      return set([seq([oid(o), attributeValue(a.type, a.value)])]);
    }),
  );
}

export const subjectToDer = (name: SubjectName): Buffer => toDer(subjectToAsn1(name));

/**
 * Whether two names match as RFC 5280 7.1 compares them (the same attribute types in the same
 * order, values equal ignoring case and insignificant white space, after compatibility
 * normalisation, as LDAP StringPrep does), so a name a validator takes for another is caught
 * even when its bytes differ.
 */
export function sameDistinguishedName(a: SubjectName, b: SubjectName): boolean {
  if (a.attributes.length !== b.attributes.length) return false;
  return a.attributes.every((x, i) => {
    const y = b.attributes[i]!;
    return x.type === y.type && foldNameValue(x.value) === foldNameValue(y.value);
  });
}

/**
 * RFC 4518 2.2 (Map), the step of LDAP StringPrep before normalisation: soft hyphens, the
 * combining grapheme joiner, variation selectors, the object replacement character, zero-width
 * space and every other control or format code point map to nothing; the control characters
 * of line and page layout and every separator (Zs, Zl, Zp) map to SPACE. Until stop 45 of
 * 2026-12-06 these were compared as they are, and a CA named with a zero-width space or a soft
 * hyphen inside an existing CA's name was taken for another (an outside probe).
 */
const MAPPED_TO_NOTHING = codePointClass([
  [0x00ad],
  [0x034f],
  [0x1806],
  [0x180b, 0x180d],
  [0xfe00, 0xfe0f],
  [0xfffc],
  [0x200b],
  [0x0000, 0x0008],
  [0x000e, 0x001f],
  [0x007f, 0x0084],
  [0x0086, 0x009f],
  [0x06dd],
  [0x070f],
  [0x180e],
  [0x200c, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x2063],
  [0x206a, 0x206f],
  [0xfeff],
  [0xfff9, 0xfffb],
  [0x1d173, 0x1d17a],
  [0xe0001],
  [0xe0020, 0xe007f],
]);
const MAPPED_TO_SPACE = new RegExp(
  `${codePointClass([[0x0009, 0x000d], [0x0085]]).source}|[\\p{Zs}\\p{Zl}\\p{Zp}]`,
  "gu",
);

/** A global Unicode character class of code points and ranges (built, not a literal). */
function codePointClass(ranges: Array<[number] | [number, number]>): RegExp {
  const cp = (n: number) => `\\u{${n.toString(16)}}`;
  const items = ranges.map(([a, b]) => (b === undefined ? cp(a) : `${cp(a)}-${cp(b)}`));
  return new RegExp(`[${items.join("")}]`, "gu");
}

/** An attribute value as RFC 5280 7.1 compares it (RFC 4518: map, NFKC, case fold, spaces). */
function foldNameValue(v: string): string {
  return v
    .replace(MAPPED_TO_NOTHING, "")
    .replace(MAPPED_TO_SPACE, " ")
    .normalize("NFKC")
    .toLowerCase()
    .trim()
    .replace(/\s+/g, " ");
}

/**
 * Name -> SubjectName. Throws DerShapeError for malformed names, and UnrepresentableNameError
 * for well-formed names that SubjectName cannot carry (multi-valued RDNs, attribute types
 * outside SUBJECT_ATTRIBUTES): callers decide whether that is an error.
 */
export class UnrepresentableNameError extends Error {}

export function subjectFromAsn1(node: Asn1): SubjectName {
  const attributes: SubjectName["attributes"] = [];
  for (const rdn of children(node, "Name")) {
    const atvs = children(rdn, "RelativeDistinguishedName", Class.UNIVERSAL, Type.SET);
    if (atvs.length !== 1) {
      if (atvs.length === 0) throw new DerShapeError("RelativeDistinguishedName: empty SET");
      throw new UnrepresentableNameError("multi-valued RDNs (a+b=c) are not supported");
    }
    const [typeNode, valueNode] = children(atvs[0], "AttributeTypeAndValue");
    const o = readOid(typeNode, "AttributeType");
    const type = ATTRIBUTE_BY_OID.get(o);
    const value = readString(valueNode, `attribute ${SHORT_NAMES[o] ?? o}`);
    if (type === undefined) {
      throw new UnrepresentableNameError(
        `attribute ${SHORT_NAMES[o] ?? o} is not supported (supported: CN, O, OU, C, ST, L, STREET, postalCode, serialNumber, emailAddress)`,
      );
    }
    attributes.push({ type, value });
  }
  return { attributes };
}

// --- RFC 4514 string form ------------------------------------------------------------------

/** RFC 4514 section 2.4 escaping of an attribute value. */
function escapeValue(v: string): string {
  let out = "";
  for (let i = 0; i < v.length; i++) {
    const c = v.charAt(i);
    if (c === "\0") out += "\\00";
    else if ('\\"+,;<>'.includes(c)) out += `\\${c}`;
    else if ((c === "#" || c === " ") && i === 0) out += `\\${c}`;
    else if (c === " " && i === v.length - 1) out += "\\ ";
    else out += c;
  }
  return out;
}

/**
 * RFC 4514 string of a DER Name, e.g. "CN=api.internal,O=Acme,C=US". RDNs are listed last
 * first (RFC 4514 2.1); unknown attribute types use the dotted OID, and values that are not
 * strings use the '#'-hex form of their DER encoding (RFC 4514 2.4).
 */
export function nameToString(name: Asn1 | Uint8Array): string {
  const node = name instanceof Uint8Array ? parseDer(name).node : name;
  const rdns = children(node, "Name").map((rdn) =>
    children(rdn, "RelativeDistinguishedName", Class.UNIVERSAL, Type.SET)
      .map((atv) => {
        const [typeNode, valueNode] = children(atv, "AttributeTypeAndValue");
        const o = readOid(typeNode, "AttributeType");
        let value: string;
        try {
          value = escapeValue(readString(valueNode, "value"));
        } catch {
          value = `#${valueNode ? toDer(valueNode).toString("hex") : ""}`;
        }
        return `${SHORT_NAMES[o] ?? o}=${value}`;
      })
      .join("+"),
  );
  return rdns.reverse().join(",");
}

export const subjectToString = (name: SubjectName): string => nameToString(subjectToAsn1(name));
