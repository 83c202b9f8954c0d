/**
 * Readers for X.509 v3 extensions (RFC 5280 4.2): what CSRs request (via extensionRequest)
 * and what CA certificates carry. Builders live in extensions.ts.
 */
import {
  EKU_OIDS,
  type ExtendedKeyUsage,
  KEY_USAGES,
  type KeyUsage,
  type SubjectAltNames,
} from "../model/pki";
import { type Asn1, Class, parseDer, Type } from "./der";
import {
  children,
  DerShapeError,
  isTag,
  primitive,
  readBitString,
  readBoolean,
  readOid,
  readSmallInt,
} from "./der-read";
import { sansFromAsn1 } from "./general-names";

/** The DER held in an extnValue OCTET STRING; it must be exactly one element. */
function parseExtnValue(der: string): Asn1 {
  const { node, trailing } = parseDer(Buffer.from(der, "latin1"));
  if (trailing > 0) throw new DerShapeError("extension value has trailing data");
  return node;
}

export interface RawExtension {
  critical: boolean;
  /** The extnValue, parsed as DER. */
  value: Asn1;
}

/** Extensions ::= SEQUENCE OF Extension; 4.2: an extension MUST NOT appear twice. */
export function readExtensions(node: Asn1): Map<string, RawExtension> {
  const out = new Map<string, RawExtension>();
  for (const ext of children(node, "Extensions")) {
    const parts = children(ext, "Extension");
    const id = readOid(parts[0], "extnID");
    const hasCritical = isTag(parts[1], Class.UNIVERSAL, Type.BOOLEAN);
    const critical = hasCritical ? readBoolean(parts[1], "critical") : false;
    const octets = primitive(
      parts[hasCritical ? 2 : 1],
      "extnValue",
      Class.UNIVERSAL,
      Type.OCTETSTRING,
    );
    if (parts.length !== (hasCritical ? 3 : 2))
      throw new DerShapeError("Extension: unexpected fields");
    if (out.has(id)) throw new DerShapeError(`extension ${id} appears more than once`);
    out.set(id, { critical, value: parseExtnValue(octets) });
  }
  return out;
}

export function readKeyUsage(value: Asn1): KeyUsage[] {
  const { bytes } = readBitString(value, "keyUsage");
  return KEY_USAGES.filter((_, i) => ((bytes.charCodeAt(i >> 3) || 0) & (0x80 >> (i & 7))) !== 0);
}

const EKU_BY_OID = new Map(Object.entries(EKU_OIDS).map(([k, v]) => [v, k as ExtendedKeyUsage]));

/** Known purposes, plus the OIDs of purposes outside the ExtendedKeyUsage vocabulary. */
export function readExtKeyUsage(value: Asn1): { known: ExtendedKeyUsage[]; unknownOids: string[] } {
  const known: ExtendedKeyUsage[] = [];
  const unknownOids: string[] = [];
  for (const n of children(value, "extKeyUsage")) {
    const o = readOid(n, "KeyPurposeId");
    const eku = EKU_BY_OID.get(o);
    if (eku) known.push(eku);
    else unknownOids.push(o);
  }
  return { known, unknownOids };
}

export function readBasicConstraints(value: Asn1): { isCa: boolean; pathLength?: number } {
  const items = children(value, "basicConstraints");
  let i = 0;
  const isCa = isTag(items[0], Class.UNIVERSAL, Type.BOOLEAN)
    ? readBoolean(items[i++], "cA")
    : false;
  const pathLength = items[i] ? readSmallInt(items[i++], "pathLenConstraint") : undefined;
  if (i !== items.length) throw new DerShapeError("basicConstraints: unexpected fields");
  return pathLength === undefined ? { isCa } : { isCa, pathLength };
}

export const readSubjectAltName = (value: Asn1, lenient = false): SubjectAltNames =>
  sansFromAsn1(value, lenient);

/** keyIdentifier of an AuthorityKeyIdentifier, if present. */
export function readAuthorityKeyId(value: Asn1): Buffer | undefined {
  const first = children(value, "authorityKeyIdentifier")[0];
  return isTag(first, Class.CONTEXT_SPECIFIC, 0)
    ? Buffer.from(primitive(first, "keyIdentifier", Class.CONTEXT_SPECIFIC, 0), "latin1")
    : undefined;
}
