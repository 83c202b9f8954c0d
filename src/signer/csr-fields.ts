/**
 * Field readers for CSRs: the signature AlgorithmIdentifier and the attributes, of which only
 * extensionRequest (PKCS #9, RFC 2985 5.4.2) matters to certmint; challengePassword and other
 * attributes are ignored.
 */
import type { CertmintError } from "../errors";
import { invalidField } from "../errors";
import type {
  ExtendedKeyUsage,
  KeyAlgorithm,
  KeyUsage,
  SignatureAlgorithm,
  SubjectAltNames,
} from "../model/pki";
import { keyFamilyOf, SIGNATURE_ALGORITHM_INFO, signatureAlgorithmFromOid } from "./algorithms";
import { type Asn1, Class, isForgeDer, Type } from "./der";
import { children, isTag, readOid } from "./der-read";
import {
  readBasicConstraints,
  readExtensions,
  readExtKeyUsage,
  readKeyUsage,
  readSubjectAltName,
} from "./extension-readers";
import { EXT } from "./extensions";
import { emptySans, UnsupportedGeneralNameError } from "./general-names";

const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

export interface RequestedExtensions {
  keyUsages?: KeyUsage[];
  extendedKeyUsages?: ExtendedKeyUsage[];
  /** extKeyUsage purposes outside the ExtendedKeyUsage vocabulary, as dotted OIDs. */
  unknownExtendedKeyUsageOids?: string[];
  basicConstraints?: { isCa: boolean; pathLength?: number };
  /** OIDs of any other requested extensions; certmint never copies them into certificates. */
  otherExtensionOids: string[];
}

export const csrError = (reason: string, message: string): CertmintError =>
  invalidField(reason, message, "csr", message);
export const csrMalformed = (why: string) =>
  csrError("CSR_MALFORMED", `the CSR is malformed: ${why}`);

const KNOWN_UNSUPPORTED: Record<string, string> = {
  "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
  "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
  "1.2.840.10045.4.1": "ecdsa-with-SHA1",
  "1.2.840.113549.1.1.10": "RSASSA-PSS",
  "1.3.101.113": "Ed448",
};

/** The CSR's signature algorithm, which must fit its own key and carry RFC-conform parameters. */
export function readSignatureAlgorithm(
  node: Asn1 | undefined,
  keyAlg: KeyAlgorithm,
): SignatureAlgorithm {
  const parts = children(node, "signatureAlgorithm");
  const o = readOid(parts[0], "signatureAlgorithm.algorithm");
  const alg = signatureAlgorithmFromOid(o);
  if (alg === undefined) {
    throw csrError(
      "CSR_SIGNATURE_ALGORITHM_UNSUPPORTED",
      `the CSR is signed with ${KNOWN_UNSUPPORTED[o] ?? `an unknown algorithm (OID ${o})`}, which certmint does not accept; sign it with RSA or ECDSA using SHA-256/384/512, or with Ed25519`,
    );
  }
  const info = SIGNATURE_ALGORITHM_INFO[alg];
  // RFC 4055 5: NULL for RSA (absent tolerated, as most verifiers do); RFC 5758 / 8410: absent.
  const nullOk =
    info.nullParams && parts.length === 2 && isTag(parts[1], Class.UNIVERSAL, Type.NULL);
  if (parts.length > 1 && !nullOk) throw csrMalformed("unexpected signature algorithm parameters");
  if (info.family !== keyFamilyOf(keyAlg)) {
    throw csrError(
      "CSR_SIGNATURE_INVALID",
      `the CSR claims a ${alg} signature but contains a ${keyAlg} key`,
    );
  }
  return alg;
}

/** An extension value that is a SEQUENCE SIZE (1..MAX): an empty one is malformed. */
function requireNonEmpty(value: Asn1, name: string, type: string, section: string): void {
  if (children(value, name).length === 0) {
    throw csrMalformed(
      `the requested ${name} extension is empty; RFC 5280 ${section} makes ${type} a SEQUENCE SIZE (1..MAX): name at least one, or leave the extension out`,
    );
  }
}

/**
 * Each requested extension's extnValue must itself be DER (RFC 5280 4.1: "the DER encoding of
 * an ASN.1 value"). The CSR as a whole is checked for DER (csr.ts), but an extnValue is an
 * OCTET STRING whose octets that check does not read, so a SAN in BER (indefinite length,
 * `30 80 ... 00 00`) was decoded and issued until stop 46 of 2026-12-06 (an outside probe).
 * Extensions that do not have the Extension shape are left to readExtensions' messages.
 */
function requireDerExtensionValues(extensions: Asn1): void {
  for (const ext of children(extensions, "Extensions")) {
    const parts = Array.isArray(ext.value) ? ext.value : [];
    const octets = parts.at(-1);
    if (parts.length < 2 || !isTag(octets, Class.UNIVERSAL, Type.OCTETSTRING)) continue;
    if (typeof octets?.value !== "string" || octets.constructed) continue;
    if (!isForgeDer(Buffer.from(octets.value, "latin1"))) {
      const id = readOid(parts[0], "extnID");
      throw csrMalformed(
        `the value of requested extension ${id} is not DER (X.690 10: definite lengths in their shortest form, minimal INTEGERs); encode it in DER`,
      );
    }
  }
}

export function readCsrAttributes(node: Asn1 | undefined): {
  sans: SubjectAltNames;
  requestedExtensions: RequestedExtensions;
} {
  const requestedExtensions: RequestedExtensions = { otherExtensionOids: [] };
  let sans = emptySans();
  // RFC 2986 4.1: attributes [0] is not OPTIONAL (no attributes is the empty set, A0 00, which
  // openssl, Go, cfssl and certbot write). Until stop 46 of 2026-12-06 a CSR without it was
  // issued (an outside probe); Go's x509.ParseCertificateRequest, and so Boulder, step-ca and
  // Vault, refuse it.
  if (node === undefined) {
    throw csrMalformed(
      "the CertificationRequestInfo has no attributes field; RFC 2986 4.1 requires it, empty (A0 00) when there are none",
    );
  }
  let seen = false;
  for (const attr of children(node, "attributes", Class.CONTEXT_SPECIFIC, 0)) {
    const [typeNode, valuesNode] = children(attr, "Attribute");
    const values = children(valuesNode, "Attribute.values", Class.UNIVERSAL, Type.SET);
    if (readOid(typeNode, "Attribute.type") !== EXTENSION_REQUEST) continue;
    if (seen) throw csrMalformed("more than one extensionRequest attribute");
    if (values.length !== 1) throw csrMalformed("extensionRequest must hold exactly one value");
    seen = true;
    requireDerExtensionValues(values[0] as Asn1);
    for (const [id, ext] of readExtensions(values[0] as Asn1)) {
      switch (id) {
        case EXT.subjectAltName:
          // RFC 5280 4.2.1.6: GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName.
          requireNonEmpty(ext.value, "subjectAltName", "GeneralNames", "4.2.1.6");
          try {
            sans = readSubjectAltName(ext.value);
          } catch (e) {
            if (e instanceof UnsupportedGeneralNameError) {
              throw csrError(
                "CSR_SAN_UNSUPPORTED",
                `the CSR requests a subjectAltName of type ${e.kind}, which certmint cannot issue; use DNS, IP, email or URI names`,
              );
            }
            throw e;
          }
          break;
        case EXT.keyUsage:
          requestedExtensions.keyUsages = readKeyUsage(ext.value);
          // RFC 5280 4.2.1.3: "at least one of the bits MUST be set to 1".
          if (requestedExtensions.keyUsages.length === 0) {
            throw csrMalformed(
              "the requested keyUsage extension sets no bit; RFC 5280 4.2.1.3 requires at least one (or leave the extension out)",
            );
          }
          break;
        case EXT.extKeyUsage: {
          // RFC 5280 4.2.1.12: ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId.
          requireNonEmpty(ext.value, "extKeyUsage", "ExtKeyUsageSyntax", "4.2.1.12");
          const { known, unknownOids } = readExtKeyUsage(ext.value);
          requestedExtensions.extendedKeyUsages = known;
          if (unknownOids.length > 0) requestedExtensions.unknownExtendedKeyUsageOids = unknownOids;
          break;
        }
        case EXT.basicConstraints:
          requestedExtensions.basicConstraints = readBasicConstraints(ext.value);
          break;
        default:
          requestedExtensions.otherExtensionOids.push(id);
      }
    }
  }
  return { sans, requestedExtensions };
}
