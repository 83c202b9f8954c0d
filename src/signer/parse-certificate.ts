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
import {
  children,
  isTag,
  primitive,
  readIntegerBytes,
  readOid,
  readString,
  readTime,
} from "./der-read";
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
import { rsaWeakModulusProblem, type SpkiProblem, spkiFormProblem, spkiOf } from "./spki";

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
  /** The OID of the outer signatureAlgorithm (RFC 5280 4.1.1.2). */
  signatureAlgorithmOid: string;
  /**
   * Set when that signature uses a digest verifiers refuse (MD2, MD5, SHA-1, also RSASSA-PSS
   * over SHA-1, its default parameters): the algorithm's name.
   */
  weakSignatureAlgorithm?: string;
  /** OIDs of the extensions marked critical (RFC 5280 4.2: a validator must know each). */
  criticalExtensions: string[];
  /**
   * The extendedKeyUsage KeyPurposeIds (RFC 5280 4.2.1.12), undefined without the extension.
   * In a CA certificate it limits the purposes of everything below it for OpenSSL, Go and
   * Windows (the CA/Browser Forum practice).
   */
  extendedKeyUsageOids?: string[];
  /** policyConstraints (RFC 5280 4.2.1.11), undefined without the extension. */
  policyConstraints?: { requireExplicitPolicy?: number; inhibitPolicyMapping?: number };
  /**
   * Every attribute value of the subject as text, whatever its type (DC, multi-valued RDNs
   * included); undefined when one is not text (a NUL, invalid UTF-8, not a string type).
   */
  subjectValues?: string[];
}

/** Signature algorithms over digests that verifiers refuse (collisions are practical). */
const WEAK_SIGNATURE_ALGORITHMS: Record<string, string> = {
  "1.2.840.113549.1.1.2": "md2WithRSAEncryption",
  "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
  "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
  "1.3.14.3.2.29": "sha1WithRSASignature",
  "1.2.840.10045.4.1": "ecdsa-with-SHA1",
  "1.2.840.10040.4.3": "dsa-with-sha1",
};
const RSASSA_PSS = "1.2.840.113549.1.1.10";
const SHA1 = "1.3.14.3.2.26";
const EXT_POLICY_CONSTRAINTS = "2.5.29.36";

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
  const [, outerAlgorithm] = children(node, "Certificate");
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
  const eku = exts.get(EXT.extKeyUsage);
  const pc = exts.get(EXT_POLICY_CONSTRAINTS);
  const signatureAlgorithmOid = readOid(
    children(outerAlgorithm, "signatureAlgorithm")[0],
    "signatureAlgorithm.algorithm",
  );
  const weakSignatureAlgorithm = weakSignatureOf(outerAlgorithm as Asn1, signatureAlgorithmOid);
  const subjectValues = readSubjectValues(subjectNode as Asn1);
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
    signatureAlgorithmOid,
    ...(weakSignatureAlgorithm ? { weakSignatureAlgorithm } : {}),
    criticalExtensions: [...exts].filter(([, e]) => e.critical).map(([id]) => id),
    ...(eku
      ? {
          extendedKeyUsageOids: children(eku.value, "extKeyUsage").map((n) =>
            readOid(n, "KeyPurposeId"),
          ),
        }
      : {}),
    ...(pc ? { policyConstraints: readPolicyConstraints(pc.value) } : {}),
    ...(subjectValues ? { subjectValues } : {}),
  };
}

/**
 * Why a certificate's key is too weak to be trusted in a chain certmint hands out, or
 * undefined: checkPublicKey's TOO_WEAK (RSA under 2048 bits, a small or even exponent) and
 * rsaWeakModulusProblem (a modulus anyone can factor), as for a CSR's key. A key certmint
 * merely cannot sign with (P-521, RSA-8192) is not weak. Computed on demand (the modulus test
 * costs BigInt arithmetic that other readers of certificates do not need).
 */
export function keyWeaknessOf(cert: ParsedCertificate): string | undefined {
  const check = checkPublicKey(cert.publicKey);
  if (!check.ok && check.problem === "TOO_WEAK") return check.message;
  const [tbs] = children(parseDer(cert.der).node, "Certificate");
  const items = children(tbs, "TBSCertificate");
  const f = isTag(items[0], Class.CONTEXT_SPECIFIC, 0) ? items.slice(1) : items;
  return rsaWeakModulusProblem(f[5] as Asn1);
}

/** The weak algorithm's name, or undefined (RSASSA-PSS: its hashAlgorithm, SHA-1 by default). */
function weakSignatureOf(algorithm: Asn1, oid: string): string | undefined {
  const weak = WEAK_SIGNATURE_ALGORITHMS[oid];
  if (weak) return weak;
  if (oid !== RSASSA_PSS) return undefined;
  // RSASSA-PSS-params (RFC 4055 3.1): hashAlgorithm [0] EXPLICIT AlgorithmIdentifier DEFAULT sha1.
  const params = children(algorithm, "signatureAlgorithm")[1];
  const tagged = isTag(params, Class.UNIVERSAL, Type.SEQUENCE)
    ? children(params, "RSASSA-PSS-params").find((n) => isTag(n, Class.CONTEXT_SPECIFIC, 0))
    : undefined;
  const hashOid = tagged
    ? readOid(
        children(
          children(tagged, "hashAlgorithm", Class.CONTEXT_SPECIFIC, 0)[0],
          "hashAlgorithm",
        )[0],
        "hashAlgorithm.algorithm",
      )
    : SHA1;
  return hashOid === SHA1 ? "RSASSA-PSS over SHA-1" : undefined;
}

/**
 * PolicyConstraints ::= SEQUENCE { requireExplicitPolicy [0] SkipCerts OPTIONAL,
 * inhibitPolicyMapping [1] SkipCerts OPTIONAL }, SkipCerts ::= INTEGER (0..MAX), implicitly tagged.
 */
function readPolicyConstraints(value: Asn1): ParsedCertificate["policyConstraints"] & {} {
  const out: ParsedCertificate["policyConstraints"] & {} = {};
  const skipCerts = (item: Asn1, tag: number) => {
    const v = primitive(item, "SkipCerts", Class.CONTEXT_SPECIFIC, tag);
    if (v.length === 0 || v.charCodeAt(0) & 0x80)
      throw new Error("SkipCerts: not a non-negative INTEGER");
    // A huge SkipCerts constrains nothing in practice; cap it rather than overflow.
    let n = 0;
    for (let i = 0; i < v.length; i++) n = Math.min(n * 256 + v.charCodeAt(i), 2 ** 31);
    return n;
  };
  for (const item of children(value, "policyConstraints")) {
    if (isTag(item, Class.CONTEXT_SPECIFIC, 0)) out.requireExplicitPolicy = skipCerts(item, 0);
    else if (isTag(item, Class.CONTEXT_SPECIFIC, 1)) out.inhibitPolicyMapping = skipCerts(item, 1);
  }
  return out;
}

/** Every attribute value of a Name as text; undefined when one is not (readString refuses it). */
function readSubjectValues(name: Asn1): string[] | undefined {
  try {
    return children(name, "Name").flatMap((rdn) =>
      children(rdn, "RelativeDistinguishedName", Class.UNIVERSAL, Type.SET).map((atv) =>
        readString(children(atv, "AttributeTypeAndValue")[1], "attribute value"),
      ),
    );
  } catch {
    return undefined;
  }
}
