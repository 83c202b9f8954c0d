/**
 * DER written byte by byte (X.690), for building CSRs and keys in forms certmint's own encoders
 * never produce: explicit EC parameters, compressed points, NUL in names, thousands of
 * attributes. Independent of src/signer on purpose: a test input must not come from the code
 * it tests.
 */
import { createHash, type KeyObject, sign } from "node:crypto";

const length = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
};

export const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
export const seq = (...items: Buffer[]) => tlv(0x30, ...items);
export const set = (...items: Buffer[]) => tlv(0x31, ...items);
export const octets = (b: Buffer) => tlv(0x04, b);
export const nul = () => Buffer.from([0x05, 0x00]);
export const bitString = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);
export const utf8 = (s: string | Buffer) => tlv(0x0c, Buffer.isBuffer(s) ? s : Buffer.from(s));
/** BMPString: big-endian UTF-16 code units, lone surrogates included if given. */
export const bmp = (units: number[]) =>
  tlv(0x1e, Buffer.from(units.flatMap((u) => [u >> 8, u & 0xff])));
/** A non-negative INTEGER from big-endian magnitude bytes (minimal, with a 00 when needed). */
export const uint = (magnitude: Buffer): Buffer => {
  let m = magnitude;
  while (m.length > 1 && m[0] === 0) m = m.subarray(1);
  return tlv(0x02, (m[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
};
export const hex = (h: string) => Buffer.from(h.replace(/\s/g, ""), "hex");

/** OBJECT IDENTIFIERs, encoded (tag and length included). */
export const OID = {
  commonName: hex("06 03 55 04 03"),
  organization: hex("06 03 55 04 0a"),
  subjectAltName: hex("06 03 55 1d 11"),
  extensionRequest: hex("06 09 2a 86 48 86 f7 0d 01 09 0e"),
  ecPublicKey: hex("06 07 2a 86 48 ce 3d 02 01"),
  primeField: hex("06 07 2a 86 48 ce 3d 01 01"),
  prime256v1: hex("06 08 2a 86 48 ce 3d 03 01 07"),
  rsaEncryption: hex("06 09 2a 86 48 86 f7 0d 01 01 01"),
  ed25519: hex("06 03 2b 65 70"),
  ecdsaWithSha256: hex("06 08 2a 86 48 ce 3d 04 03 02"),
  sha256WithRsa: hex("06 09 2a 86 48 86 f7 0d 01 01 0b"),
};

/** Name: one single-valued RDN per [type OID, value TLV]. */
export const name = (...atvs: Array<[Buffer, Buffer]>) =>
  seq(...atvs.map(([type, value]) => set(seq(type, value))));

/** GeneralName of a SAN: dNSName [2], rfc822Name [1], uniformResourceIdentifier [6]. */
export const generalName = { dns: 0x82, email: 0x81, uri: 0x86 } as const;

/** The extensionRequest attribute asking for a subjectAltName of the given names. */
export function sanRequest(names: Array<[number, Buffer]>): Buffer {
  const san = seq(...names.map(([tag, value]) => tlv(tag, value)));
  return seq(OID.extensionRequest, set(seq(seq(OID.subjectAltName, octets(san)))));
}

/** NIST P-256 as explicit ECParameters (SEC 1 C.2; RFC 5480 2.1.1 specifiedCurve). */
export function explicitP256Parameters(): Buffer {
  return seq(
    uint(Buffer.from([1])), // ecpVer1
    seq(
      OID.primeField,
      uint(hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff")),
    ),
    seq(
      octets(hex("ffffffff00000001000000000000000000000000fffffffffffffffffffffffc")),
      octets(hex("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b")),
    ),
    octets(
      hex(
        "04 6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296 4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
      ),
    ),
    uint(hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")),
    uint(Buffer.from([1])),
  );
}

/** The uncompressed point (04 || x || y) of an EC public key. */
export function ecPoint(key: KeyObject): Buffer {
  const jwk = key.export({ format: "jwk" });
  return Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x ?? "", "base64url"),
    Buffer.from(jwk.y ?? "", "base64url"),
  ]);
}

/** SubjectPublicKeyInfo variants of a P-256 key. */
export const p256Spki = {
  named: (key: KeyObject) => seq(seq(OID.ecPublicKey, OID.prime256v1), bitString(ecPoint(key))),
  explicit: (key: KeyObject) =>
    seq(seq(OID.ecPublicKey, explicitP256Parameters()), bitString(ecPoint(key))),
  implicit: (key: KeyObject) => seq(seq(OID.ecPublicKey, nul()), bitString(ecPoint(key))),
  compressed: (key: KeyObject) => {
    const point = ecPoint(key);
    const y = point.subarray(33);
    const prefix = (y[y.length - 1] ?? 0) & 1 ? 3 : 2;
    return seq(
      seq(OID.ecPublicKey, OID.prime256v1),
      bitString(Buffer.concat([Buffer.from([prefix]), point.subarray(1, 33)])),
    );
  },
};

/**
 * A PKCS #10 CSR (RFC 2986) from its parts, signed by `privateKey` (EC P-256 with
 * ecdsa-with-SHA256, RSA with sha256WithRSAEncryption, Ed25519).
 */
export function rawCsr(input: {
  privateKey: KeyObject;
  subject: Buffer;
  spki: Buffer;
  attributes?: Buffer[];
}): string {
  const cri = seq(
    uint(Buffer.from([0])),
    input.subject,
    input.spki,
    tlv(0xa0, ...(input.attributes ?? [])),
  );
  const type = input.privateKey.asymmetricKeyType;
  const [algorithm, signature] =
    type === "ed25519"
      ? [seq(OID.ed25519), sign(null, cri, input.privateKey)]
      : type === "ec"
        ? [seq(OID.ecdsaWithSha256), sign("sha256", cri, input.privateKey)]
        : [seq(OID.sha256WithRsa, nul()), sign("sha256", cri, input.privateKey)];
  const der = seq(cri, algorithm, bitString(signature));
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** SHA-256 hex, for naming fixtures. */
export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
