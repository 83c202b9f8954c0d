/**
 * Reads an X.509 v2 CRL (RFC 5280 5.1) that another CA signed: its issuer, dates, revoked
 * serials and the bytes its signature covers. certmint's own CRLs are written by crl.ts; this
 * reads those of outside CAs whose client certificates certmint accepts (src/auth/client-crls.ts).
 *
 * CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
 * TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL, signature AlgorithmIdentifier,
 *   issuer Name, thisUpdate Time, nextUpdate Time OPTIONAL,
 *   revokedCertificates SEQUENCE OF SEQUENCE { userCertificate INTEGER, revocationDate Time,
 *     crlEntryExtensions Extensions OPTIONAL } OPTIONAL,
 *   crlExtensions [0] EXPLICIT Extensions OPTIONAL }
 */
import { SIGNATURE_ALGORITHM_INFO, signatureAlgorithmFromOid } from "./algorithms";
import { type Asn1, Class, firstInnerElement, parseDer, Type, toDer } from "./der";
import {
  children,
  DerShapeError,
  isTag,
  readBitString,
  readBoolean,
  readIntegerBytes,
  readOid,
  readSmallInt,
  readTime,
} from "./der-read";

export interface ReadCrl {
  /** The issuer Name's DER, compared byte for byte with a CA certificate's subject. */
  issuerDer: Buffer;
  thisUpdate: Date;
  /** Absent in the CRL: then it is never current (RFC 5280 5.1.2.5 requires it). */
  nextUpdate?: Date;
  /** Revoked serials as canonical hex (serialKey). */
  revokedSerials: Set<string>;
  /** The TBSCertList's DER: what the signature covers. */
  signedBytes: Buffer;
  /** Digest for crypto.verify (null: Ed25519); undefined: an algorithm certmint does not know. */
  hash?: "sha256" | "sha384" | "sha512" | null;
  signature: Buffer;
  /** Critical extensions of the CRL or of an entry, which certmint does not process (OIDs). */
  criticalExtensions: string[];
}

export class CrlReadError extends Error {}

/**
 * A serial number as the lookups compare it: lower-case hex of the INTEGER's content octets
 * without leading zero octets, so "00a1" (a DER positive INTEGER whose top bit is set) and
 * Node's "A1" are the same key.
 */
export function serialKey(hex: string): string {
  const lower = hex.toLowerCase();
  const stripped = lower.replace(/^(00)+/, "");
  return stripped === "" ? "00" : stripped;
}

export function readCrl(der: Buffer): ReadCrl {
  try {
    return read(der);
  } catch (err) {
    if (err instanceof DerShapeError) throw new CrlReadError(err.message);
    if (err instanceof CrlReadError) throw err;
    throw new CrlReadError("not a DER CertificateList");
  }
}

function read(der: Buffer): ReadCrl {
  const { node, trailing } = parseDer(der);
  if (trailing !== 0) throw new CrlReadError(`${trailing} bytes after the CertificateList`);
  const [tbsNode, algNode, sigNode] = children(node, "CertificateList");
  const tbs = children(tbsNode, "tbsCertList");
  let i = 0;
  if (isTag(tbs[i], Class.UNIVERSAL, Type.INTEGER)) {
    if (readSmallInt(tbs[i], "tbsCertList.version") !== 1) {
      throw new CrlReadError("tbsCertList.version: expected v2 (1)");
    }
    i++;
  }
  i++; // tbsCertList.signature: must equal signatureAlgorithm, which is what is read below
  const issuerNode = tbs[i++];
  children(issuerNode, "tbsCertList.issuer");
  const thisUpdate = readTime(tbs[i++], "tbsCertList.thisUpdate");
  let nextUpdate: Date | undefined;
  if (
    isTag(tbs[i], Class.UNIVERSAL, Type.UTCTIME) ||
    isTag(tbs[i], Class.UNIVERSAL, Type.GENERALIZEDTIME)
  ) {
    nextUpdate = readTime(tbs[i++], "tbsCertList.nextUpdate");
  }
  const revokedSerials = new Set<string>();
  const criticalExtensions: string[] = [];
  if (isTag(tbs[i], Class.UNIVERSAL, Type.SEQUENCE)) {
    for (const entry of children(tbs[i++], "revokedCertificates")) {
      const [serialNode, dateNode, extNode] = children(entry, "revokedCertificates entry");
      revokedSerials.add(
        serialKey(readIntegerBytes(serialNode, "userCertificate").toString("hex")),
      );
      readTime(dateNode, "revocationDate");
      if (extNode) criticalExtensions.push(...criticalOf(extNode, "crlEntryExtensions"));
    }
  }
  if (isTag(tbs[i], Class.CONTEXT_SPECIFIC, 0)) {
    const [extensions] = children(tbs[i++], "crlExtensions", Class.CONTEXT_SPECIFIC, 0);
    criticalExtensions.push(...criticalOf(extensions, "crlExtensions"));
  }
  if (i !== tbs.length) throw new CrlReadError("tbsCertList: unexpected elements after its fields");
  const algorithm = signatureAlgorithmFromOid(
    readOid(children(algNode, "signatureAlgorithm")[0], "signatureAlgorithm.algorithm"),
  );
  const { unusedBits, bytes } = readBitString(sigNode, "signatureValue");
  if (unusedBits !== 0) throw new CrlReadError("signatureValue: expected whole octets");
  return {
    issuerDer: toDer(issuerNode as Asn1),
    thisUpdate,
    ...(nextUpdate ? { nextUpdate } : {}),
    revokedSerials,
    signedBytes: Buffer.from(firstInnerElement(der)),
    ...(algorithm === undefined ? {} : { hash: SIGNATURE_ALGORITHM_INFO[algorithm].hash }),
    signature: Buffer.from(bytes, "latin1"),
    criticalExtensions,
  };
}

/** OIDs of the critical extensions in an Extensions SEQUENCE. */
function criticalOf(node: Asn1, what: string): string[] {
  const critical: string[] = [];
  for (const ext of children(node, what)) {
    const fields = children(ext, `${what} extension`);
    const id = readOid(fields[0], `${what} extension id`);
    if (fields.length === 3 && readBoolean(fields[1], `${what} extension critical`)) {
      critical.push(id);
    }
  }
  return critical;
}
