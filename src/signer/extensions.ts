/**
 * Builders for the X.509 v3 extensions certmint issues (RFC 5280 4.2); readers are in
 * extension-readers.ts.
 * Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
 */
import { invalidArgument, invalidField } from "../errors";
import {
  EKU_OIDS,
  type ExtendedKeyUsage,
  KEY_USAGES,
  type KeyUsage,
  type SubjectAltNames,
} from "../model/pki";
import {
  type Asn1,
  boolTrue,
  Class,
  contextConstructed,
  contextPrimitive,
  nullValue,
  octetString,
  oid,
  seq,
  smallInteger,
  Type,
} from "./der";
import { digestBytes } from "./digest";
import forge from "./forge";
import { sansToAsn1 } from "./general-names";

export const EXT = {
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  crlNumber: "2.5.29.20",
  crlReason: "2.5.29.21",
  invalidityDate: "2.5.29.24",
  nameConstraints: "2.5.29.30",
  crlDistributionPoints: "2.5.29.31",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  authorityInfoAccess: "1.3.6.1.5.5.7.1.1",
  ocspNoCheck: "1.3.6.1.5.5.7.48.1.5",
} as const;
const CA_ISSUERS = "1.3.6.1.5.5.7.48.2";
const OCSP = "1.3.6.1.5.5.7.48.1";

/** Wraps an extension value; the DER of `value` goes into extnValue. */
export function extension(extnId: string, critical: boolean, value: Asn1): Asn1 {
  const der = forge.asn1.toDer(value).getBytes();
  return seq(
    critical ? [oid(extnId), boolTrue(), octetString(der)] : [oid(extnId), octetString(der)],
  );
}

/** 4.2.1.9: cA and pathLenConstraint. The cA=FALSE default is encoded as an empty SEQUENCE. */
export function basicConstraints(
  isCa: boolean,
  pathLength: number | undefined,
  critical: boolean,
): Asn1 {
  const items = isCa ? [boolTrue()] : [];
  if (isCa && pathLength !== undefined) items.push(smallInteger(pathLength));
  return extension(EXT.basicConstraints, critical, seq(items));
}

/**
 * 4.2.1.3: KeyUsage is a named BIT STRING; DER (X.690 11.2.2) drops trailing zero bits and
 * records how many bits of the last octet are unused.
 */
export function keyUsage(usages: readonly KeyUsage[]): Asn1 {
  const bits = new Set(usages.map((u) => KEY_USAGES.indexOf(u)));
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[b >> 3] = (bytes[b >> 3] ?? 0) | (0x80 >> (b & 7));
  const unused = 7 - (highest & 7);
  const value = String.fromCharCode(unused, ...bytes);
  return extension(
    EXT.keyUsage,
    true,
    forge.asn1.create(Class.UNIVERSAL, Type.BITSTRING, false, value),
  );
}

/** 4.2.1.12, non-critical so relying parties that do not know a purpose still accept the key. */
export function extKeyUsage(ekus: readonly ExtendedKeyUsage[]): Asn1 {
  const oids = [...new Set(ekus)].map((e) => {
    const o = EKU_OIDS[e];
    if (o === undefined)
      throw invalidArgument(
        "EXTENDED_KEY_USAGE_INVALID",
        `unknown extended key usage ${String(e)}`,
      );
    return oid(o);
  });
  return extension(EXT.extKeyUsage, false, seq(oids));
}

/** 4.2.1.6: MUST be critical when the subject is empty. */
export const subjectAltName = (sans: SubjectAltNames, critical: boolean): Asn1 =>
  extension(EXT.subjectAltName, critical, seq(sansToAsn1(sans)));

/** 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value (no tag, length, unused-bits). */
export const keyIdentifierOf = (subjectPublicKey: Buffer): Buffer =>
  digestBytes("sha1", subjectPublicKey);

export const subjectKeyIdentifier = (ski: Buffer): Asn1 =>
  extension(EXT.subjectKeyIdentifier, false, octetString(ski));

/** 4.2.1.1 (and 5.2.1 for CRLs): keyIdentifier only; MUST be non-critical. */
export const authorityKeyIdentifier = (keyId: Buffer): Asn1 =>
  extension(
    EXT.authorityKeyIdentifier,
    false,
    seq([contextPrimitive(0, keyId.toString("latin1"))]),
  );

/** URLs embedded in CDP / AIA: absolute http(s) or ldap, ASCII (IA5String). */
function checkUrl(url: string, field: string): string {
  let ok = false;
  try {
    ok = /^[\x21-\x7e]+$/.test(url) && ["http:", "https:", "ldap:"].includes(new URL(url).protocol);
  } catch {
    ok = false;
  }
  if (!ok) {
    const description = "must be an absolute ASCII http(s) or ldap URL";
    throw invalidField("URL_INVALID", `${field} ${description}`, field, description);
  }
  return url;
}

/** 4.2.1.13: one DistributionPoint with a fullName URI. */
export const crlDistributionPoints = (url: string): Asn1 =>
  extension(
    EXT.crlDistributionPoints,
    false,
    seq([
      seq([
        contextConstructed(0, [
          contextConstructed(0, [contextPrimitive(6, checkUrl(url, "crl_distribution_url"))]),
        ]),
      ]),
    ]),
  );

/**
 * 4.2.2.1: id-ad-ocsp (the OCSP responder, RFC 6960) and id-ad-caIssuers, each with a URI;
 * MUST be non-critical.
 */
export const authorityInfoAccess = (urls: { caIssuersUrl?: string; ocspUrl?: string }): Asn1 =>
  extension(
    EXT.authorityInfoAccess,
    false,
    seq([
      ...(urls.ocspUrl === undefined
        ? []
        : [seq([oid(OCSP), contextPrimitive(6, checkUrl(urls.ocspUrl, "ocsp_url"))])]),
      ...(urls.caIssuersUrl === undefined
        ? []
        : [
            seq([
              oid(CA_ISSUERS),
              contextPrimitive(6, checkUrl(urls.caIssuersUrl, "ca_issuers_url")),
            ]),
          ]),
    ]),
  );

/**
 * RFC 6960 4.2.2.2.1: id-pkix-ocsp-nocheck (a NULL, non-critical) on a delegated responder's
 * certificate: clients need not check its own revocation status.
 */
export const ocspNoCheck = (): Asn1 => extension(EXT.ocspNoCheck, false, nullValue());
