/**
 * A PKCS #10 CSR built byte by byte (RFC 2986), independent of certmint's encoder and of
 * openssl, so a test can put exactly the bytes it means into a subject or a SAN: a UTF8String
 * common name with an ideographic full stop, an rfc822Name with a routing '%', a fake A-label.
 * Signed with a fresh P-256 key (ecdsa-with-SHA256).
 */
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";

const len = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
};
export const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
export function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const chunk: number[] = [];
    let v = n;
    do {
      chunk.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i]! |= 0x80;
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

const UTF8 = 0x0c;
const IA5 = 0x16;
const ATTRIBUTE_OIDS = { CN: "2.5.4.3", O: "2.5.4.10", emailAddress: "1.2.840.113549.1.9.1" };

export interface CsrSpec {
  /** Attribute values: CN and O as UTF8String, emailAddress as IA5String (bytes as given). */
  subject?: Array<[keyof typeof ATTRIBUTE_OIDS, string]>;
  /** GeneralNames, each value's bytes exactly as given (latin1 for IA5 text, or a Buffer). */
  dns?: string[];
  ip?: Buffer[];
  email?: string[];
  uri?: string[];
  /** basicConstraints to request: cA and an optional pathLenConstraint. */
  ca?: { pathLength?: number };
  key?: { privateKey: KeyObject; publicKey: KeyObject };
}

/** The CSR as PEM, and the key pair that signed it. */
export function buildCsr(spec: CsrSpec): { csrPem: string; privateKey: KeyObject } {
  const key = spec.key ?? generateKeyPairSync("ec", { namedCurve: "P-256" });
  const subject = seq(
    ...(spec.subject ?? []).map(([type, value]) =>
      set(
        seq(
          oid(ATTRIBUTE_OIDS[type]),
          tlv(type === "emailAddress" ? IA5 : UTF8, Buffer.from(value, "utf8")),
        ),
      ),
    ),
  );
  const names = [
    ...(spec.email ?? []).map((v) => tlv(0x81, Buffer.from(v, "latin1"))),
    ...(spec.dns ?? []).map((v) => tlv(0x82, Buffer.from(v, "latin1"))),
    ...(spec.uri ?? []).map((v) => tlv(0x86, Buffer.from(v, "latin1"))),
    ...(spec.ip ?? []).map((v) => tlv(0x87, v)),
  ];
  const extensions: Buffer[] = [];
  if (names.length > 0) extensions.push(seq(oid("2.5.29.17"), tlv(0x04, seq(...names))));
  if (spec.ca) {
    const bc = seq(
      tlv(0x01, Buffer.from([0xff])),
      ...(spec.ca.pathLength === undefined ? [] : [tlv(0x02, Buffer.from([spec.ca.pathLength]))]),
    );
    extensions.push(seq(oid("2.5.29.19"), tlv(0x01, Buffer.from([0xff])), tlv(0x04, bc)));
  }
  const attributes =
    extensions.length === 0
      ? tlv(0xa0)
      : tlv(0xa0, seq(oid("1.2.840.113549.1.9.14"), set(seq(...extensions))));
  const spki = key.publicKey.export({ type: "spki", format: "der" });
  const info = seq(tlv(0x02, Buffer.from([0])), subject, spki, attributes);
  const signature = sign("sha256", info, key.privateKey);
  const der = seq(info, seq(oid("1.2.840.10045.4.3.2")), tlv(0x03, Buffer.from([0]), signature));
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  const csrPem = `-----BEGIN CERTIFICATE REQUEST-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE REQUEST-----\n`;
  return { csrPem, privateKey: key.privateKey };
}
