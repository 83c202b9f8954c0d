/**
 * A second encoding of an ECDSA-signed certificate that still verifies: the signature's s
 * replaced by n - s (ECDSA signatures are malleable; X.509 signs the tbsCertificate only, not
 * the signatureValue around it). The certificate is the same one (same issuer, serial, names
 * and key) with other bytes, so another SHA-256 fingerprint. Independent of src/ on purpose.
 */
import { X509Certificate } from "node:crypto";
import { bitString, seq, uint } from "../../support/raw-der";

/** P-256's group order n (SEC 2, 2.4.2). */
const P256_ORDER = BigInt("0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

interface Tlv {
  tag: number;
  /** The whole element, header included. */
  element: Buffer;
  content: Buffer;
}

/** The DER elements of `der`, one after another (definite lengths only, as DER has). */
function elements(der: Buffer): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < der.length) {
    const tag = der[at]!;
    let len = der[at + 1]!;
    let header = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[at + 2 + i]!;
      header += n;
    }
    out.push({
      tag,
      element: der.subarray(at, at + header + len),
      content: der.subarray(at + header, at + header + len),
    });
    at += header + len;
  }
  return out;
}

const toBytes = (v: bigint): Buffer => {
  const hex = v.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
};

/** `pem` (a certificate signed with ECDSA over P-256) with its signature's s made n - s, as PEM. */
export function withMirroredSignature(pem: string): string {
  const der = Buffer.from(new X509Certificate(pem).raw);
  const [certificate] = elements(der);
  const [tbs, algorithm, signature] = elements(certificate!.content);
  // BIT STRING: one byte of unused bits (0), then the Ecdsa-Sig-Value SEQUENCE { r, s }.
  const [sigValue] = elements(signature!.content.subarray(1));
  const [r, s] = elements(sigValue!.content);
  const mirrored = P256_ORDER - BigInt(`0x${s!.content.toString("hex")}`);
  const out = seq(
    tbs!.element,
    algorithm!.element,
    bitString(seq(r!.element, uint(toBytes(mirrored)))),
  );
  const b64 = out.toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
