/**
 * Strict readers over a parsed forge.asn1 tree. forge's parser accepts BER and knows no schema,
 * so every field we read is checked for its exact tag and form here. A mismatch throws
 * DerShapeError, which the CSR and certificate parsers turn into their own CertmintError; the
 * message names the field so a caller can see which part of the structure is wrong.
 */

import { type Asn1, Class, DerShapeError, Type } from "./der";
import forge from "./forge";

export { DerShapeError };

const fail = (what: string, expected: string): never => {
  throw new DerShapeError(`${what}: expected ${expected}`);
};

const UNIVERSAL_NAMES: Record<number, string> = {
  [Type.BOOLEAN]: "a BOOLEAN",
  [Type.INTEGER]: "an INTEGER",
  [Type.BITSTRING]: "a BIT STRING",
  [Type.OCTETSTRING]: "an OCTET STRING",
  [Type.OID]: "an OBJECT IDENTIFIER",
  [Type.SEQUENCE]: "a SEQUENCE",
  [Type.SET]: "a SET",
};
const tagName = (tagClass: number, type: number): string =>
  tagClass === Class.UNIVERSAL
    ? (UNIVERSAL_NAMES[type] ?? `universal tag ${type}`)
    : tagClass === Class.CONTEXT_SPECIFIC
      ? `a [${type}] element`
      : `tag class ${tagClass} number ${type}`;

/** Children of a constructed element with the given tag (default: universal SEQUENCE). */
export function children(
  node: Asn1 | undefined,
  what: string,
  tagClass: number = Class.UNIVERSAL,
  type: number = Type.SEQUENCE,
): Asn1[] {
  if (
    node === undefined ||
    node.tagClass !== tagClass ||
    node.type !== type ||
    !node.constructed ||
    !Array.isArray(node.value)
  ) {
    return fail(what, tagName(tagClass, type));
  }
  return node.value;
}

/** Content octets of a primitive element with the given tag. */
export function primitive(
  node: Asn1 | undefined,
  what: string,
  tagClass: number,
  type: number,
): string {
  if (
    node === undefined ||
    node.tagClass !== tagClass ||
    node.type !== type ||
    node.constructed ||
    typeof node.value !== "string"
  ) {
    return fail(what, tagName(tagClass, type));
  }
  return node.value;
}

export const isTag = (node: Asn1 | undefined, tagClass: number, type: number): boolean =>
  node !== undefined && node.tagClass === tagClass && node.type === type;

/**
 * OBJECT IDENTIFIER in DER (X.690 8.19.2): each sub-identifier in the fewest octets, so none
 * starts with 0x80, and the last octet ends a sub-identifier (bit 8 clear). forge reads
 * `2a 80 03` as 1.2.3, the same OID as `2a 03`, and drops a truncated `2a 86` to 1.2: two
 * encodings of one OID, or an OID that is not the one encoded. Go's encoding/asn1 refuses both
 * ("integer is not minimally encoded", "truncated base 128 integer"). Until stop 46 of
 * 2026-12-06 both were read (an outside probe: a CSR's extnID `2a 80 03`).
 */
export function readOid(node: Asn1 | undefined, what: string): string {
  const bytes = primitive(node, what, Class.UNIVERSAL, Type.OID);
  if (bytes.length === 0) fail(what, "a non-empty OBJECT IDENTIFIER");
  for (let i = 0, start = true; i < bytes.length; i++) {
    const octet = bytes.charCodeAt(i);
    if (start && octet === 0x80) {
      fail(
        what,
        `an OBJECT IDENTIFIER in DER: octet ${i + 1} (0x80) pads a sub-identifier (X.690 8.19.2)`,
      );
    }
    start = (octet & 0x80) === 0;
  }
  if (bytes.charCodeAt(bytes.length - 1) & 0x80) {
    fail(what, "an OBJECT IDENTIFIER in DER: its last sub-identifier is cut off (X.690 8.19.2)");
  }
  try {
    return forge.asn1.derToOid(bytes);
  } catch {
    return fail(what, "a valid OBJECT IDENTIFIER");
  }
}

/** DER BOOLEAN: exactly one octet, 0x00 or 0xFF (X.690 11.1). */
export function readBoolean(node: Asn1 | undefined, what: string): boolean {
  const v = primitive(node, what, Class.UNIVERSAL, Type.BOOLEAN);
  if (v === "\x00") return false;
  if (v === "\xff") return true;
  return fail(what, "a DER BOOLEAN");
}

/** Non-negative INTEGER small enough for a JS number (versions, path lengths). */
export function readSmallInt(node: Asn1 | undefined, what: string): number {
  const v = primitive(node, what, Class.UNIVERSAL, Type.INTEGER);
  if (v.length === 0 || v.length > 4 || v.charCodeAt(0) & 0x80) {
    return fail(what, "a small non-negative INTEGER");
  }
  let n = 0;
  for (let i = 0; i < v.length; i++) n = n * 256 + v.charCodeAt(i);
  return n;
}

/** INTEGER content octets as a Buffer (serial numbers), rejecting empty encodings. */
export function readIntegerBytes(node: Asn1 | undefined, what: string): Buffer {
  const v = primitive(node, what, Class.UNIVERSAL, Type.INTEGER);
  if (v.length === 0) fail(what, "a non-empty INTEGER");
  return Buffer.from(v, "latin1");
}

/** Time ::= UTCTime | GeneralizedTime (RFC 5280 4.1.2.5). */
export function readTime(node: Asn1 | undefined, what: string): Date {
  try {
    if (isTag(node, Class.UNIVERSAL, Type.UTCTIME)) {
      return forge.asn1.utcTimeToDate(primitive(node, what, Class.UNIVERSAL, Type.UTCTIME));
    }
    const v = primitive(node, what, Class.UNIVERSAL, Type.GENERALIZEDTIME);
    return forge.asn1.generalizedTimeToDate(v);
  } catch (e) {
    if (e instanceof DerShapeError) throw e;
    return fail(what, "a valid UTCTime or GeneralizedTime");
  }
}

/** BIT STRING content without the unused-bits octet; optionally requires zero unused bits. */
export function readBitString(
  node: Asn1 | undefined,
  what: string,
): { unusedBits: number; bytes: string } {
  const v = primitive(node, what, Class.UNIVERSAL, Type.BITSTRING);
  if (v.length === 0) return fail(what, "a BIT STRING with its unused-bits octet");
  const unusedBits = v.charCodeAt(0);
  if (unusedBits > 7 || (unusedBits > 0 && v.length === 1)) fail(what, "a valid BIT STRING");
  return { unusedBits, bytes: v.slice(1) };
}

const UNIVERSAL_STRING = 28;
const T61_STRING = 20;

const NUL_OR_LONE_SURROGATE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point
  /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * DirectoryString and the other string types found in names (RFC 5280 4.1.2.4). Invalid UTF-8
 * is refused rather than replaced, so what we show is what was signed; so are NUL (the old
 * "null prefix" trick, and PostgreSQL stores no NUL) and unpaired surrogates in a BMPString
 * (not Unicode text, and not storable either).
 */
export function readString(node: Asn1 | undefined, what: string): string {
  const text = decodeString(node, what);
  if (NUL_OR_LONE_SURROGATE.test(text)) fail(what, "text without NUL or unpaired surrogates");
  return text;
}

function decodeString(node: Asn1 | undefined, what: string): string {
  if (node === undefined || node.constructed || typeof node.value !== "string") {
    return fail(what, "a string");
  }
  if (node.tagClass !== Class.UNIVERSAL) return fail(what, "a universal string type");
  const v = node.value;
  switch (node.type as number) {
    case Type.UTF8:
      try {
        return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(v, "latin1"));
      } catch {
        return fail(what, "valid UTF-8");
      }
    case Type.PRINTABLESTRING:
    case Type.IA5STRING:
      // biome-ignore lint/suspicious/noControlCharactersInRegex: IA5 is 7-bit ASCII
      if (!/^[\x00-\x7f]*$/.test(v)) fail(what, "7-bit characters");
      return v;
    case T61_STRING:
      return v; // historically Latin-1 in practice
    case Type.BMPSTRING:
      return v; // forge already decoded UCS-2
    case UNIVERSAL_STRING: {
      if (v.length % 4 !== 0) fail(what, "a UniversalString of whole characters");
      let out = "";
      for (let i = 0; i < v.length; i += 4) {
        const cp =
          v.charCodeAt(i) * 0x1000000 +
          (v.charCodeAt(i + 1) << 16) +
          (v.charCodeAt(i + 2) << 8) +
          v.charCodeAt(i + 3);
        if (cp > 0x10ffff) fail(what, "Unicode code points");
        out += String.fromCodePoint(cp);
      }
      return out;
    }
    default:
      return fail(what, "a directory string type");
  }
}
