/**
 * Client CSRs for the benchmarks, built with Node's crypto alone (no certmint code, so every
 * server under test gets the same independent input): PKCS #10 (RFC 2986) with a P-256 key,
 * subject CN=<name>, and an extensionRequest (RFC 2985 5.4.2) carrying subjectAltName
 * dNSName=<name>, signed with ecdsa-with-SHA256 (RFC 5758 3.2).
 */
import { generateKeyPairSync, sign } from "node:crypto";

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One DER TLV (X.690 8.1). */
function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const SEQUENCE = 0x30;
const SET = 0x31;
const OID = (hex: string) => tlv(0x06, Buffer.from(hex, "hex"));
const ID_AT_COMMON_NAME = OID("550403"); // 2.5.4.3
const ID_CE_SUBJECT_ALT_NAME = OID("551d11"); // 2.5.29.17
const PKCS9_EXTENSION_REQUEST = OID("2a864886f70d01090e"); // 1.2.840.113549.1.9.14
const ECDSA_WITH_SHA256 = OID("2a8648ce3d040302"); // 1.2.840.10045.4.3.2

/** A PEM CSR for `name` (CN and one DNS SAN) under a fresh P-256 key. */
export function clientCsr(name: string): string {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const subject = tlv(
    SEQUENCE,
    tlv(SET, tlv(SEQUENCE, ID_AT_COMMON_NAME, tlv(0x0c, Buffer.from(name, "utf8")))),
  );
  const san = tlv(SEQUENCE, tlv(0x82, Buffer.from(name, "ascii"))); // [2] IMPLICIT IA5String
  const extensions = tlv(SEQUENCE, tlv(SEQUENCE, ID_CE_SUBJECT_ALT_NAME, tlv(0x04, san)));
  const attributes = tlv(0xa0, tlv(SEQUENCE, PKCS9_EXTENSION_REQUEST, tlv(SET, extensions)));
  const info = tlv(SEQUENCE, tlv(0x02, Buffer.from([0])), subject, spki, attributes);
  const signature = sign("sha256", info, privateKey); // DER Ecdsa-Sig-Value
  const der = tlv(
    SEQUENCE,
    info,
    tlv(SEQUENCE, ECDSA_WITH_SHA256),
    tlv(0x03, Buffer.from([0]), signature),
  );
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64.replace(/\n$/, "")}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** The benchmark's CSRs: `n` distinct keys and names svc-<i>.bench.example.com. */
export function clientCsrs(n: number): { name: string; pem: string }[] {
  return Array.from({ length: n }, (_, i) => {
    const name = `svc-${i}.bench.example.com`;
    return { name, pem: clientCsr(name) };
  });
}
