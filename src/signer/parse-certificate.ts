/**
 * Reads what issuance needs from an X.509 certificate (ours or a CA certificate signed
 * elsewhere): exact subject DER (the issuer name of everything this CA signs must match it
 * byte for byte, RFC 5280 4.1.2.4), key identifiers, validity, basic constraints and the key.
 * OpenSSL (crypto.X509Certificate) validates the overall structure and extracts the public
 * key; forge.asn1 gives the raw pieces.
 */
import { createHash, type KeyObject, X509Certificate } from "node:crypto";
import { CertmintError, invalidArgument } from "../errors";
import type {
  KeyAlgorithm,
  KeyUsage,
  NameConstraints,
  SubjectAltNames,
  SubjectName,
} from "../model/pki";
import { checkPublicKey } from "./algorithms";
import { type Asn1, Class, parseDer, Type, toDer, toPem } from "./der";
import { children, isTag, primitive, readIntegerBytes, readTime } from "./der-read";
import {
  readAuthorityKeyId,
  readBasicConstraints,
  readExtensions,
  readKeyUsage,
  readSubjectAltName,
} from "./extension-readers";
import { EXT } from "./extensions";
import { emptySans } from "./general-names";
import { nameToString, subjectFromAsn1 } from "./name";
import { readNameConstraints, unsupportedNameConstraints } from "./name-constraints";
import { decodePem, PemError } from "./pem";
import { serialToHex } from "./serial";
import { type SpkiProblem, spkiFormProblem, spkiOf } from "./spki";

export interface ParsedCertificate {
  der: Buffer;
  pem: string;
  x509: X509Certificate;
  serial: Buffer;
  serialHex: string;
  subjectDer: Buffer;
  /** undefined when the subject uses attributes outside SubjectName (e.g. DC, multi-valued RDNs). */
  subject?: SubjectName;
  /** RFC 4514 form of the subject. */
  subjectString: string;
  issuerDer: Buffer;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  /** Whether basicConstraints is present and marked critical (RFC 5280 4.2.1.9 requires it of a CA). */
  basicConstraintsCritical: boolean;
  pathLength?: number;
  /** undefined when the certificate has no keyUsage extension (then any usage is permitted). */
  keyUsages?: KeyUsage[];
  sans: SubjectAltNames;
  /** A CA's nameConstraints (DNS, IP, email and URI subtrees; other name forms skipped). */
  nameConstraints?: NameConstraints;
  /**
   * What of its nameConstraints certmint cannot represent (unsupportedNameConstraints: a
   * directoryName or otherName subtree, a minimum or maximum); empty or absent when none.
   */
  nameConstraintsUnsupported?: string[];
  /** From the extension if present, else computed by RFC 5280 4.2.1.2 method (1). */
  subjectKeyIdentifier: Buffer;
  /** Whether the certificate carries the extension (RFC 5280 4.2.1.2: a CA certificate MUST). */
  hasSubjectKeyIdentifier: boolean;
  authorityKeyIdentifier?: Buffer;
  publicKey: KeyObject;
  /** undefined when certmint cannot sign with this key type. */
  keyAlgorithm?: KeyAlgorithm;
  /**
   * Set when the SubjectPublicKeyInfo is not in its RFC form (explicit EC parameters, a
   * compressed point, RSA without NULL parameters, ...; spkiFormProblem): such a certificate
   * may be read, but certmint does not adopt it as a CA certificate.
   */
  keyEncodingProblem?: SpkiProblem;
  fingerprintSha256: string;
}

const bad = (why: string) =>
  invalidArgument("CERTIFICATE_MALFORMED", `the certificate is malformed: ${why}`);

/** Parses a PEM ("CERTIFICATE") or DER certificate; throws invalid_argument CERTIFICATE_MALFORMED. */
export function parseCertificate(pemOrDer: string | Uint8Array): ParsedCertificate {
  let der: Buffer;
  try {
    der =
      typeof pemOrDer === "string"
        ? decodePem(pemOrDer, ["CERTIFICATE"]).der
        : Buffer.from(pemOrDer);
  } catch (e) {
    throw bad(e instanceof PemError ? e.message : "invalid input");
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch {
    throw bad("OpenSSL cannot decode it");
  }
  try {
    return readFields(der, x509);
  } catch (e) {
    if (e instanceof CertmintError) throw e;
    throw bad(e instanceof Error ? e.message : "unexpected structure");
  }
}

function readFields(der: Buffer, x509: X509Certificate): ParsedCertificate {
  const { node, trailing } = parseDer(der);
  if (trailing > 0) throw bad("trailing data");
  const [tbs] = children(node, "Certificate");
  const items = children(tbs, "TBSCertificate");
  // version [0] is optional (v1); skip it so the remaining fields line up.
  const f = isTag(items[0], Class.CONTEXT_SPECIFIC, 0) ? items.slice(1) : items;
  const [serialNode, , issuerNode, validityNode, subjectNode, spkiNode] = f;
  const [nb, na] = children(validityNode, "Validity");
  const extsWrapper = f.slice(6).find((n) => isTag(n, Class.CONTEXT_SPECIFIC, 3));
  const exts = extsWrapper
    ? readExtensions(children(extsWrapper, "extensions", Class.CONTEXT_SPECIFIC, 3)[0] as Asn1)
    : new Map();

  let subject: SubjectName | undefined;
  try {
    subject = subjectFromAsn1(subjectNode as Asn1);
  } catch {
    subject = undefined;
  }
  const bc = exts.get(EXT.basicConstraints);
  const { isCa, pathLength } = bc
    ? readBasicConstraints(bc.value)
    : { isCa: false, pathLength: undefined };
  const ku = exts.get(EXT.keyUsage);
  const san = exts.get(EXT.subjectAltName);
  const ski = exts.get(EXT.subjectKeyIdentifier);
  const aki = exts.get(EXT.authorityKeyIdentifier);
  const nc = exts.get(EXT.nameConstraints);
  const publicKey = x509.publicKey;
  const check = checkPublicKey(publicKey);
  const keyEncodingProblem = spkiFormProblem(spkiNode);
  const serial = readIntegerBytes(serialNode, "serialNumber");

  return {
    der,
    pem: toPem("CERTIFICATE", der),
    x509,
    serial,
    serialHex: serialToHex(serial),
    subjectDer: toDer(subjectNode as Asn1),
    subject,
    subjectString: nameToString(subjectNode as Asn1),
    issuerDer: toDer(issuerNode as Asn1),
    notBefore: readTime(nb, "notBefore"),
    notAfter: readTime(na, "notAfter"),
    isCa,
    basicConstraintsCritical: bc?.critical === true,
    ...(pathLength === undefined ? {} : { pathLength }),
    ...(ku ? { keyUsages: readKeyUsage(ku.value) } : {}),
    sans: san ? readSubjectAltName(san.value, true) : emptySans(),
    ...(nc
      ? {
          nameConstraints: readNameConstraints(nc.value),
          nameConstraintsUnsupported: unsupportedNameConstraints(nc.value),
        }
      : {}),
    subjectKeyIdentifier: ski
      ? Buffer.from(
          primitive(ski.value, "subjectKeyIdentifier", Class.UNIVERSAL, Type.OCTETSTRING),
          "latin1",
        )
      : spkiOf(publicKey).keyIdentifier,
    hasSubjectKeyIdentifier: ski !== undefined,
    ...(aki ? { authorityKeyIdentifier: readAuthorityKeyId(aki.value) } : {}),
    publicKey,
    ...(check.ok ? { keyAlgorithm: check.algorithm } : {}),
    ...(keyEncodingProblem ? { keyEncodingProblem } : {}),
    fingerprintSha256: createHash("sha256").update(der).digest("hex"),
  };
}
