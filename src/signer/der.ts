/**
 * Small typed helpers over forge.asn1 (forge works on "binary" strings, one char per byte).
 *
 * Everything certmint encodes goes through forge.asn1 except the outermost wrapper of a signed
 * object (Certificate, CertificateList, CertificationRequest): that one is assembled from the
 * exact bytes that were signed, so the embedded TBS can never differ from what the signature
 * covers, and the TBS is not re-encoded a second time (a measurable cost per certificate).
 */
import type ForgeTypes from "node-forge";
import { invalidArgument } from "../errors";
import forge from "./forge";

const asn1 = forge.asn1;
export type Asn1 = ForgeTypes.asn1.Asn1;
export const Class = asn1.Class;
export const Type = asn1.Type;

/** forge's fromDer takes an options object that @types/node-forge does not declare. */
interface FromDerOptions {
  strict?: boolean;
  parseAllBytes?: boolean;
  decodeBitStrings?: boolean;
  maxDepth?: number;
}
type FromDer = (bytes: ForgeTypes.util.ByteStringBuffer | string, options: FromDerOptions) => Asn1;
const fromDerWithOptions = asn1.fromDer as unknown as FromDer;

export const toDer = (node: Asn1): Buffer => Buffer.from(asn1.toDer(node).getBytes(), "latin1");
const toBinary = (buf: Uint8Array): string => Buffer.from(buf).toString("latin1");

/**
 * Parses exactly one DER element; throws a plain Error on anything else (callers map it to
 * their own CertmintError). BIT STRINGs are never decoded as nested ASN.1 (GUIDE section 3:
 * read the SubjectPublicKeyInfo bit string undecoded). Returns the number of trailing bytes so
 * callers can give a precise "trailing data" message.
 */
export function parseDer(der: Uint8Array): { node: Asn1; trailing: number } {
  const buf = forge.util.createBuffer(toBinary(der));
  let node: Asn1;
  try {
    node = fromDerWithOptions(buf, {
      strict: true,
      parseAllBytes: false,
      decodeBitStrings: false,
      maxDepth: MAX_DER_DEPTH,
    });
  } catch (err) {
    // Valid DER, deeper than certmint reads: said so, not "corrupted" (until stop 51 of
    // 2026-12-07 a deep but well-formed value was "could not be decoded": an outside probe).
    if (err instanceof Error && /max depth exceeded/i.test(err.message)) {
      throw new DerShapeError(
        `ASN.1 elements nested more than ${MAX_DER_DEPTH} levels deep; certmint reads at most ${MAX_DER_DEPTH}`,
      );
    }
    throw err;
  }
  return { node, trailing: buf.length() };
}

/** A parsed structure that is not what its reader expects (der-read.ts), or is nested too deep. */
export class DerShapeError extends Error {}

/** How deep certmint reads nested ASN.1 elements (no certificate or CSR needs half as much). */
export const MAX_DER_DEPTH = 32;

/**
 * Whether `der`, which parseDer read as one element with no trailing bytes, is the DER that
 * toDer writes for the tree it parsed to: what `toDer(parseDer(der).node).equals(der)` says,
 * read from the bytes without encoding the tree again (a P-256 CSR's toDer and compare took
 * 2-3 us and the forge buffers they allocated, this 0.1 us, of a parse of ~25 us besides
 * OpenSSL's; test/signer/der-canonical.test.ts checks it against the round trip). forge's
 * reading and writing, element by element: one identifier octet (the low five bits are its "type", whatever the class, as
 * forge reads them: a high tag number is taken as its first octet); lengths written in the
 * shortest definite form (forge writes that; an indefinite length is never written back); a
 * constructed element's contents are its elements; a primitive's octets are written as read,
 * except that forge drops the first octet of a type-2 (INTEGER) value of two or more octets
 * that starts 00 followed by a clear high bit, or FF followed by a set one, and that a
 * type-30 (BMPString) value is read two octets at a time (an odd length never comes back).
 */
export function isForgeDer(der: Uint8Array): boolean {
  return canonicalElements(der, 0, der.length, 0) === der.length;
}

/**
 * Reads elements from `at` to exactly `end`; the offset reached, or -1 where the bytes are
 * not what toDer would write (or do not parse: parseDer accepted them, so not expected).
 */
function canonicalElements(der: Uint8Array, at: number, end: number, depth: number): number {
  if (depth > 64) return -1;
  let pos = at;
  while (pos < end) {
    if (end - pos < 2) return -1;
    const identifier = der[pos]!;
    const first = der[pos + 1]!;
    pos += 2;
    let length: number;
    if (first < 0x80) length = first;
    else {
      const octets = first & 0x7f;
      // 0x80 (indefinite), a leading zero octet, a long form for under 128, or more octets
      // than a length here can need: never what toDer writes.
      if (octets === 0 || octets > 4 || end - pos < octets || der[pos] === 0) return -1;
      length = 0;
      for (let i = 0; i < octets; i++) length = length * 256 + der[pos + i]!;
      pos += octets;
      if (length < 0x80) return -1;
    }
    if (length > end - pos) return -1;
    if (identifier & 0x20) {
      if (canonicalElements(der, pos, pos + length, depth + 1) !== pos + length) return -1;
    } else {
      const type = identifier & 0x1f;
      if (type === Type.INTEGER && length > 1) {
        const [v0, v1] = [der[pos]!, der[pos + 1]!];
        if ((v0 === 0 && (v1 & 0x80) === 0) || (v0 === 0xff && (v1 & 0x80) === 0x80)) return -1;
      }
      if (type === Type.BMPSTRING && length % 2 !== 0) return -1;
    }
    pos += length;
  }
  return pos === end ? end : -1;
}

/**
 * The bytes of the first element inside the constructed element `der` begins with, as a view
 * of `der`: the CertificationRequestInfo inside a CSR, the bytes its signature covers. Only for
 * an encoding already known to be DER (parsed, and re-encoded to the same bytes): definite
 * lengths, low tag numbers.
 */
export function firstInnerElement(der: Buffer): Buffer {
  const outer = headerLength(der, 0);
  const inner = headerLength(der, outer.header);
  const end = outer.header + inner.header + inner.length;
  if (end > der.length) throw new Error("the element is longer than its container");
  return der.subarray(outer.header, end);
}

/** Tag and length octets of the element at `at` (X.690 8.1.3: short or long definite form). */
function headerLength(der: Buffer, at: number): { header: number; length: number } {
  const first = der[at + 1] ?? 0;
  if (first < 0x80) return { header: 2, length: first };
  const octets = first & 0x7f;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + (der[at + 2 + i] ?? 0);
  return { header: 2 + octets, length };
}

// --- builders -------------------------------------------------------------------------------

const oidCache = new Map<string, string>();
/** OBJECT IDENTIFIER; the encoded value is cached because the same few OIDs recur per call. */
export function oid(dotted: string): Asn1 {
  let bytes = oidCache.get(dotted);
  if (bytes === undefined) {
    bytes = asn1.oidToDer(dotted).getBytes();
    oidCache.set(dotted, bytes);
  }
  return asn1.create(Class.UNIVERSAL, Type.OID, false, bytes);
}
export const seq = (items: Asn1[]): Asn1 =>
  asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, items);
export const set = (items: Asn1[]): Asn1 => asn1.create(Class.UNIVERSAL, Type.SET, true, items);
export const nullValue = (): Asn1 => asn1.create(Class.UNIVERSAL, Type.NULL, false, "");
export const boolTrue = (): Asn1 => asn1.create(Class.UNIVERSAL, Type.BOOLEAN, false, "\xff");
export const octetString = (bytes: Uint8Array | string): Asn1 =>
  asn1.create(
    Class.UNIVERSAL,
    Type.OCTETSTRING,
    false,
    typeof bytes === "string" ? bytes : toBinary(bytes),
  );
/** BIT STRING with zero unused bits (signatures, public keys). */
export const bitString = (bytes: Uint8Array): Asn1 =>
  asn1.create(Class.UNIVERSAL, Type.BITSTRING, false, `\x00${toBinary(bytes)}`);
export const contextPrimitive = (tag: number, bytes: string): Asn1 =>
  asn1.create(Class.CONTEXT_SPECIFIC, tag, false, bytes);
export const contextConstructed = (tag: number, items: Asn1[]): Asn1 =>
  asn1.create(Class.CONTEXT_SPECIFIC, tag, true, items);

/** INTEGER from an unsigned big-endian magnitude (adds the 0x00 sign octet when needed). */
export function unsignedInteger(magnitude: Uint8Array): Asn1 {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = Buffer.from(magnitude.subarray(start));
  const body = trimmed.length === 0 ? "\x00" : toBinary(trimmed);
  const value = body.charCodeAt(0) & 0x80 ? `\x00${body}` : body;
  return asn1.create(Class.UNIVERSAL, Type.INTEGER, false, value);
}
/** The DER of unsignedInteger(magnitude), written directly. */
export function unsignedIntegerDer(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = Buffer.from(magnitude.subarray(start));
  if (trimmed.length === 0) return Buffer.from([TAG.INTEGER, 1, 0]);
  return (trimmed[0] as number) & 0x80
    ? tlv(TAG.INTEGER, [Buffer.from([0]), trimmed])
    : tlv(TAG.INTEGER, [trimmed]);
}
export function bigintInteger(n: bigint): Asn1 {
  if (n < 0n) throw new RangeError("negative INTEGER");
  const hex = n.toString(16);
  return unsignedInteger(Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex"));
}
export const smallInteger = (n: number): Asn1 =>
  asn1.create(Class.UNIVERSAL, Type.INTEGER, false, asn1.integerToDer(n).getBytes());

/**
 * RFC 5280 4.1.2.5: UTCTime for years 1950-2049, GeneralizedTime from 2050; both in Zulu with
 * whole seconds (sub-second precision must not be encoded).
 */
export function time(date: Date): Asn1 {
  const year = date.getUTCFullYear();
  if (!(year >= 1950 && year <= 9999)) {
    throw invalidArgument(
      "TIME_OUT_OF_RANGE",
      `${Number.isNaN(year) ? "an invalid date" : date.toISOString()} cannot be encoded in X.509 (years 1950-9999)`,
    );
  }
  return year < 2050
    ? asn1.create(Class.UNIVERSAL, Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(Class.UNIVERSAL, Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

// --- raw TLV (outer wrapper of signed objects; long lists such as CRL entries) ------------

function lengthOctets(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Identifier octets of the elements written with tlv (X.690 8.1.2). */
export const TAG = { INTEGER: 0x02, SEQUENCE: 0x30, UTC_TIME: 0x17, GENERALIZED_TIME: 0x18 };

/** One DER element from its identifier octet and already encoded content. */
export function tlv(tag: number, content: Buffer[]): Buffer {
  let length = 0;
  for (const c of content) length += c.length;
  return Buffer.concat([Buffer.from([tag]), lengthOctets(length), ...content]);
}

/**
 * `time(date)` as its tag and content without building forge objects (CRL entries: 10^5 per
 * CRL): UTCTime YYMMDDHHMMSSZ before 2050, GeneralizedTime YYYYMMDDHHMMSSZ from 2050 (RFC 5280
 * 4.1.2.5, 5.1.2.4), whole seconds.
 */
export function timeText(date: Date): { tag: number; text: string } {
  const year = date.getUTCFullYear();
  if (!(year >= 1950 && year <= 9999)) time(date); // throws the same TIME_OUT_OF_RANGE
  const two = (n: number) => (n < 10 ? `0${n}` : String(n));
  const rest =
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes()) +
    two(date.getUTCSeconds());
  return year < 2050
    ? { tag: TAG.UTC_TIME, text: `${two(year % 100)}${rest}Z` }
    : { tag: TAG.GENERALIZED_TIME, text: `${year}${rest}Z` };
}

/**
 * `d` to the second below: what timeText writes. RFC 5280 4.1.2.5 and 5.1.2.4: certificate and
 * CRL times are encoded to the second, with no fractions.
 */
export const wholeSeconds = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);

/** The DER of `time(date)`, written directly. */
export function timeDer(date: Date): Buffer {
  const { tag, text } = timeText(date);
  return tlv(tag, [Buffer.from(text, "latin1")]);
}

/**
 * SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature } built from the exact signed bytes
 * (RFC 5280 4.1 Certificate, 5.1 CertificateList; RFC 2986 CertificationRequest).
 */
export function wrapSigned(tbs: Buffer, algorithmIdentifierDer: Buffer, signature: Buffer): Buffer {
  const bitStringHeader = Buffer.concat([
    Buffer.from([0x03]),
    lengthOctets(signature.length + 1),
    Buffer.from([0x00]),
  ]);
  const contentLength =
    tbs.length + algorithmIdentifierDer.length + bitStringHeader.length + signature.length;
  return Buffer.concat([
    Buffer.from([0x30]),
    lengthOctets(contentLength),
    tbs,
    algorithmIdentifierDer,
    bitStringHeader,
    signature,
  ]);
}

/** DER octets per PEM line: 48 make 64 base64 characters (RFC 7468 2). */
const PEM_LINE_OCTETS = 48;

/** The length of toPem(label, der) in octets, for `derLength` octets of DER. */
export function pemBytesLength(label: string, derLength: number): number {
  const b64 = Math.ceil(derLength / 3) * 4;
  return `-----BEGIN ${label}-----\n-----END ${label}-----\n`.length + b64 + Math.ceil(b64 / 64);
}

/**
 * toPem's text as ASCII bytes, for large objects, written into `out` at `at`: one base64
 * encoding per slice of `linesPerTurn` lines and a copy per line (not 10^5 strings), the event
 * loop given back between slices (a long CRL's PEM is 6.7 MB: 15-30 ms in one piece). Each slice of
 * whole lines' octets encodes to exactly those lines, so the slices make the same PEM.
 * Resolves to the offset after it.
 */
export async function writePemBytes(
  label: string,
  der: Buffer,
  out: Buffer,
  at: number,
  linesPerTurn = 2_048,
): Promise<number> {
  let to = at + out.write(`-----BEGIN ${label}-----\n`, at, "latin1");
  const step = PEM_LINE_OCTETS * linesPerTurn;
  for (let i = 0; i < der.length; i += step) {
    if (i > 0) await new Promise((r) => setImmediate(r));
    const b64 = Buffer.from(der.toString("base64", i, Math.min(i + step, der.length)), "latin1");
    for (let j = 0; j < b64.length; j += 64) {
      to += b64.copy(out, to, j, Math.min(j + 64, b64.length));
      out[to++] = 0x0a;
    }
  }
  return to + out.write(`-----END ${label}-----\n`, to, "latin1");
}

/** PEM per RFC 7468 (64-character lines, LF line endings). */
export function toPem(label: string, der: Buffer): string {
  const b64 = der.toString("base64");
  let body = "";
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}
