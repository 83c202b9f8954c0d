/**
 * RFC 5280 (with RFC 5480/4055/8410 for the algorithms) checks of one certificate against its
 * issuer, each failed check a readable line, so that a test can list every defect at once.
 */
import type { KeyObject } from "node:crypto";
import {
  authorityKeyId,
  basicConstraints,
  extKeyUsage,
  keyUsage,
  OID,
  type ParsedCert,
  parseCert,
  subjectKeyId,
} from "./x509";

export type Kind = "root" | "ca" | "leaf" | "self-signed-leaf";

/** The key type of a certificate's public key: ec-P-256, ec-P-384, rsa, ed25519. */
export function keyType(key: KeyObject): string {
  const t = key.asymmetricKeyType;
  if (t === "ec")
    return `ec-${key.asymmetricKeyDetails?.namedCurve === "secp384r1" ? "P-384" : key.asymmetricKeyDetails?.namedCurve === "prime256v1" ? "P-256" : key.asymmetricKeyDetails?.namedCurve}`;
  return String(t);
}

/** Signature algorithms that fit a signing key (RFC 5480 4: P-384 pairs with SHA-384). */
const FITTING: Record<string, string[]> = {
  "ec-P-256": [OID.ecdsaSha256],
  "ec-P-384": [OID.ecdsaSha384],
  rsa: [OID.sha256Rsa, OID.sha384Rsa, OID.sha512Rsa],
  ed25519: [OID.ed25519],
};

export function rfc5280Problems(pem: string, issuerPem: string, kind: Kind): string[] {
  const p: string[] = [];
  const c = parseCert(pem);
  const issuer = parseCert(issuerPem);
  checkSerial(c, p);
  if (!c.tbsSignatureDer.equals(c.outerSignatureDer))
    p.push("4.1.1.2: signatureAlgorithm differs from tbsCertificate.signature");
  const signer = keyType(issuer.node.publicKey);
  if (!FITTING[signer]?.includes(c.outerSignatureOid))
    p.push(`signature ${c.outerSignatureOid} does not fit the issuer's ${signer} key`);
  checkAlgorithmParameters(c, p);
  if (!c.issuerDer.equals(issuer.subjectDer)) p.push("4.1.2.4: issuer is not the issuer's subject");
  if (!c.node.verify(issuer.node.publicKey))
    p.push("signature does not verify with the issuer key");
  const seen = new Set<string>();
  for (const e of c.extensions) {
    if (seen.has(e.oid)) p.push(`4.2: extension ${e.oid} twice`);
    seen.add(e.oid);
  }
  checkValidity(c, issuer, kind, p);
  checkBasicConstraints(c, kind, p);
  checkKeyUsage(c, kind, p);
  checkKeyIdentifiers(c, issuer, kind, p);
  checkNames(c, p);
  const eku = c.ext(OID.extKeyUsage);
  if (eku && extKeyUsage(eku.value).length === 0) p.push("4.2.1.12: empty extKeyUsage");
  return p;
}

function checkSerial(c: ParsedCert, p: string[]) {
  const s = c.serial;
  if (s.length > 20) p.push(`4.1.2.2: serial of ${s.length} octets`);
  if ((s[0]! & 0x80) !== 0) p.push("4.1.2.2: negative serial");
  if (s.every((b) => b === 0)) p.push("4.1.2.2: zero serial");
  if (s.length > 1 && s[0] === 0 && (s[1]! & 0x80) === 0)
    p.push("DER: serial has a superfluous 00");
  // 64 random bits need at least 8 octets (CA/B Forum BR 7.1).
  if (s.length < 9) p.push(`serial of ${s.length} octets cannot hold 64 random bits and a sign`);
}

function checkAlgorithmParameters(c: ParsedCert, p: string[]) {
  const alg = c.outerSignatureDer;
  // SEQUENCE { OID } is 2 + 2 + oid length; any more is parameters.
  const oidLen = alg[3]!;
  const hasParams = alg.length > 4 + oidLen;
  if (c.outerSignatureOid.startsWith("1.2.840.10045.4.3") && hasParams)
    p.push("RFC 5758 3.2: ECDSA signature AlgorithmIdentifier has parameters");
  if (c.outerSignatureOid === OID.ed25519 && hasParams)
    p.push("RFC 8410 3: Ed25519 AlgorithmIdentifier has parameters");
  if (c.outerSignatureOid.startsWith("1.2.840.113549.1.1.") && !hasParams)
    p.push("RFC 4055 5: RSA PKCS#1 v1.5 AlgorithmIdentifier lacks NULL parameters");
}

function checkValidity(c: ParsedCert, issuer: ParsedCert, kind: Kind, p: string[]) {
  const nb = Date.parse(c.node.validFrom);
  const na = Date.parse(c.node.validTo);
  if (!(nb < na)) p.push("4.1.2.5: notBefore is not before notAfter");
  if (kind !== "root" && kind !== "self-signed-leaf") {
    if (na > Date.parse(issuer.node.validTo)) p.push("notAfter is after the issuer's notAfter");
    if (nb < Date.parse(issuer.node.validFrom))
      p.push("notBefore is before the issuer's notBefore");
  }
}

function checkBasicConstraints(c: ParsedCert, kind: Kind, p: string[]) {
  const bc = c.ext(OID.basicConstraints);
  const isCa = kind === "root" || kind === "ca";
  if (!bc) {
    if (isCa) p.push("4.2.1.9: CA certificate without basicConstraints");
    return;
  }
  const v = basicConstraints(bc.value);
  if (isCa && !bc.critical) p.push("4.2.1.9: basicConstraints of a CA not critical");
  if (v.ca !== isCa) p.push(`4.2.1.9: cA is ${v.ca} on a ${kind}`);
  if (v.explicitFalse) p.push("DER (X.690 11.5): basicConstraints encodes the DEFAULT cA FALSE");
  if (!isCa && v.pathLen !== undefined) p.push("4.2.1.9: pathLenConstraint without cA");
}

function checkKeyUsage(c: ParsedCert, kind: Kind, p: string[]) {
  const ku = c.ext(OID.keyUsage);
  const isCa = kind === "root" || kind === "ca";
  if (!ku) {
    if (isCa) p.push("4.2.1.3: CA certificate without keyUsage");
    return;
  }
  if (!ku.critical) p.push("4.2.1.3: keyUsage not critical");
  const { bits, minimal } = keyUsage(ku.value);
  if (!minimal) p.push("DER (X.690 11.2.2): keyUsage BIT STRING has trailing zero bits");
  if (bits.length === 0) p.push("4.2.1.3: keyUsage with no bit set");
  if (isCa && !(bits.includes("keyCertSign") && bits.includes("cRLSign")))
    p.push(`CA keyUsage ${bits} lacks keyCertSign or cRLSign`);
  if (!isCa && (bits.includes("keyCertSign") || bits.includes("cRLSign")))
    p.push(`end-entity keyUsage ${bits} has keyCertSign or cRLSign`);
  const own = keyType(c.node.publicKey);
  if (own !== "rsa" && (bits.includes("keyEncipherment") || bits.includes("dataEncipherment")))
    p.push(`RFC 5480 3 / RFC 8410 5: ${own} key with ${bits}`);
  if (own === "ed25519" && bits.includes("keyAgreement"))
    p.push("RFC 8410 5: Ed25519 key with keyAgreement");
  if (
    (bits.includes("encipherOnly") || bits.includes("decipherOnly")) &&
    !bits.includes("keyAgreement")
  )
    p.push("4.2.1.3: encipherOnly/decipherOnly without keyAgreement");
}

function checkKeyIdentifiers(c: ParsedCert, issuer: ParsedCert, kind: Kind, p: string[]) {
  const ski = c.ext(OID.subjectKeyIdentifier);
  if (!ski) p.push("4.2.1.2: no subjectKeyIdentifier");
  else if (ski.critical) p.push("4.2.1.2: subjectKeyIdentifier critical");
  const aki = c.ext(OID.authorityKeyIdentifier);
  if (kind === "root" || kind === "self-signed-leaf") {
    if (aki && ski && authorityKeyId(aki.value).keyId !== subjectKeyId(ski.value))
      p.push("4.2.1.1: self-signed AKI differs from its own SKI");
    return;
  }
  if (!aki) {
    p.push("4.2.1.1: no authorityKeyIdentifier");
    return;
  }
  if (aki.critical) p.push("4.2.1.1: authorityKeyIdentifier critical");
  const issuerSki = issuer.ext(OID.subjectKeyIdentifier);
  const id = authorityKeyId(aki.value).keyId;
  if (!id) p.push("4.2.1.1: AKI without keyIdentifier");
  else if (issuerSki && id !== subjectKeyId(issuerSki.value))
    p.push("4.2.1.1: AKI keyIdentifier is not the issuer's SKI");
}

function checkNames(c: ParsedCert, p: string[]) {
  const san = c.ext(OID.subjectAltName);
  if (c.subjectEmpty) {
    if (!san) p.push("4.1.2.6: empty subject without subjectAltName");
    else if (!san.critical) p.push("4.2.1.6: SAN not critical with an empty subject");
  }
}
