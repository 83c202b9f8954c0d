/**
 * An independent reading of certificate DER (node-forge's ASN.1 only, no certmint code): the
 * fields RFC 5280 rules on, with the raw bytes kept where DER itself has rules (a BOOLEAN's
 * DEFAULT left out, a BIT STRING without trailing zero bits).
 */
import { X509Certificate } from "node:crypto";
import forge from "node-forge";

const { asn1 } = forge;
type Node = forge.asn1.Asn1;

export interface Extension {
  oid: string;
  critical: boolean;
  /** DER of the extnValue's content. */
  value: Buffer;
}

export interface ParsedCert {
  der: Buffer;
  serial: Buffer;
  tbsSignatureOid: string;
  outerSignatureOid: string;
  /** DER of the tbsCertificate's signature AlgorithmIdentifier, and the outer one. */
  tbsSignatureDer: Buffer;
  outerSignatureDer: Buffer;
  subjectDer: Buffer;
  issuerDer: Buffer;
  subjectEmpty: boolean;
  extensions: Extension[];
  ext(oid: string): Extension | undefined;
  node: X509Certificate;
}

export const OID = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  nameConstraints: "2.5.29.30",
  crlDistributionPoints: "2.5.29.31",
  authorityInfoAccess: "1.3.6.1.5.5.7.1.1",
  ecdsaSha256: "1.2.840.10045.4.3.2",
  ecdsaSha384: "1.2.840.10045.4.3.3",
  ecdsaSha512: "1.2.840.10045.4.3.4",
  sha256Rsa: "1.2.840.113549.1.1.11",
  sha384Rsa: "1.2.840.113549.1.1.12",
  sha512Rsa: "1.2.840.113549.1.1.13",
  ed25519: "1.3.101.112",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  anyEku: "2.5.29.37.0",
} as const;

const bytes = (n: Node): Buffer => Buffer.from(n.value as string, "latin1");
const der = (n: Node): Buffer => Buffer.from(asn1.toDer(n).getBytes(), "latin1");
const children = (n: Node): Node[] => n.value as Node[];

export function parseCert(pem: string): ParsedCert {
  const node = new X509Certificate(pem);
  const raw = node.raw;
  // forge's typings know only the older boolean `strict` argument; its options object is what
  // keeps BIT STRINGs undecoded and refuses trailing bytes.
  const options = { parseAllBytes: true, decodeBitStrings: false } as unknown as boolean;
  const top = asn1.fromDer(raw.toString("latin1"), options);
  const [tbs, outerAlg] = children(top) as [Node, Node];
  const fields = children(tbs);
  // version [0] is present for v3.
  const offset = fields[0]!.tagClass === asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  const serial = bytes(fields[offset]!);
  const tbsAlg = fields[offset + 1]!;
  const issuer = fields[offset + 2]!;
  const subject = fields[offset + 4]!;
  const extensions: Extension[] = [];
  const extWrapper = fields.find((f) => f.tagClass === asn1.Class.CONTEXT_SPECIFIC && f.type === 3);
  if (extWrapper) {
    for (const e of children(children(extWrapper)[0]!)) {
      const parts = children(e);
      const oid = asn1.derToOid(parts[0]!.value as string);
      const critical = parts.length === 3 && (parts[1]!.value as string) === "\xff";
      extensions.push({ oid, critical, value: bytes(parts[parts.length - 1]!) });
    }
  }
  return {
    der: raw,
    serial,
    tbsSignatureOid: asn1.derToOid(children(tbsAlg)[0]!.value as string),
    outerSignatureOid: asn1.derToOid(children(outerAlg)[0]!.value as string),
    tbsSignatureDer: der(tbsAlg),
    outerSignatureDer: der(outerAlg),
    subjectDer: der(subject),
    issuerDer: der(issuer),
    subjectEmpty: children(subject).length === 0,
    extensions,
    ext: (oid) => extensions.find((e) => e.oid === oid),
    node,
  };
}

/** basicConstraints: cA and pathLenConstraint, and whether cA FALSE was (wrongly) encoded. */
export function basicConstraints(value: Buffer): {
  ca: boolean;
  pathLen?: number;
  explicitFalse: boolean;
} {
  const seq = children(asn1.fromDer(value.toString("latin1")));
  let ca = false;
  let explicitFalse = false;
  let pathLen: number | undefined;
  for (const item of seq) {
    if (item.type === asn1.Type.BOOLEAN) {
      ca = (item.value as string) === "\xff";
      explicitFalse = !ca;
    } else if (item.type === asn1.Type.INTEGER) {
      pathLen = Number.parseInt(bytes(item).toString("hex") || "0", 16);
    }
  }
  return { ca, pathLen, explicitFalse };
}

const KU_NAMES = [
  "digitalSignature",
  "contentCommitment",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
] as const;

/** keyUsage bits by name, and whether the BIT STRING is DER (no trailing zero bits). */
export function keyUsage(value: Buffer): { bits: string[]; minimal: boolean } {
  // BIT STRING: tag 03, length, unused-bits count, bytes.
  if (value[0] !== 0x03) throw new Error("keyUsage is not a BIT STRING");
  const unused = value[2]!;
  const content = value.subarray(3);
  const bits: string[] = [];
  content.forEach((byte, i) => {
    for (let b = 0; b < 8; b++) {
      if (byte & (0x80 >> b)) bits.push(KU_NAMES[i * 8 + b] ?? `bit${i * 8 + b}`);
    }
  });
  const last = content[content.length - 1] ?? 0;
  // DER (X.690 11.2.2): trailing zero bits are removed, so the last used bit is set.
  const minimal = content.length > 0 && ((last >> unused) & 1) === 1;
  return { bits, minimal };
}

export function extKeyUsage(value: Buffer): string[] {
  return children(asn1.fromDer(value.toString("latin1"))).map((n) =>
    asn1.derToOid(n.value as string),
  );
}

/** The keyIdentifier of SKI (an OCTET STRING) or AKI ([0] of a SEQUENCE), hex. */
export function subjectKeyId(value: Buffer): string {
  return bytes(asn1.fromDer(value.toString("latin1"))).toString("hex");
}

export function authorityKeyId(value: Buffer): { keyId?: string; otherFields: number } {
  const seq = children(asn1.fromDer(value.toString("latin1")));
  const id = seq.find((n) => n.tagClass === asn1.Class.CONTEXT_SPECIFIC && n.type === 0);
  return {
    keyId: id ? bytes(id).toString("hex") : undefined,
    otherFields: seq.length - (id ? 1 : 0),
  };
}
