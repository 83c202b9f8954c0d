/**
 * Certificate issuance (RFC 5280 4.1): the TBSCertificate is built directly with forge.asn1
 * (forge's createCertificate/sign are RSA-only and much slower), signed with Node's crypto
 * through the CaSigner port, and wrapped around the exact bytes that were signed.
 */
import type { KeyObject } from "node:crypto";
import { invalidArgument, invalidField } from "../errors";
import {
  EKU_OIDS,
  type ExtendedKeyUsage,
  type KeyUsage,
  type NameConstraints,
  type SignatureAlgorithm,
  type SubjectAltNames,
  type SubjectName,
} from "../model/pki";
import { algorithmIdentifierDer, assertSignatureFits, keyAlgorithmOf } from "./algorithms";
import type { CaSigner } from "./ca-signer";
import {
  type Asn1,
  oid,
  seq,
  TAG,
  timeDer,
  tlv,
  toDer,
  toPem,
  unsignedIntegerDer,
  wholeSeconds,
  wrapSigned,
} from "./der";
import { digestHex } from "./digest";
import {
  authorityInfoAccess,
  authorityKeyIdentifier,
  basicConstraints,
  crlDistributionPoints,
  EXT,
  extension,
  extKeyUsage,
  keyUsage,
  ocspNoCheck,
  subjectAltName,
  subjectKeyIdentifier,
} from "./extensions";
import { sanCount } from "./general-names";
import {
  assertConstraintsWithin,
  assertExtendedKeyUsagesPermitted,
  assertNamesPermitted,
  Issuer,
  type IssuerInit,
} from "./issuer";
import { subjectToDer } from "./name";
import { hasNameConstraints, nameConstraintsExtension } from "./name-constraints";
import { assertValidSerial, serialToHex } from "./serial";
import { spkiDer, spkiOf, spkiSha256 } from "./spki";
import { checkKeyUsages } from "./usage";

export interface IssueCertificateInput {
  subject: SubjectName;
  sans: SubjectAltNames;
  publicKey: KeyObject;
  /** DER INTEGER content octets, normally from newSerialNumber(). */
  serial: Buffer;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  /** pathLenConstraint; only for CAs (RFC 5280 4.2.1.9). */
  pathLength?: number;
  /** nameConstraints (critical); only for CAs (RFC 5280 4.2.1.10). */
  nameConstraints?: NameConstraints;
  keyUsages: KeyUsage[];
  extendedKeyUsages: ExtendedKeyUsage[];
  signatureAlgorithm: SignatureAlgorithm;
  /**
   * The issuing CA (an Issuer, built once per CA, or what builds one), or
   * { selfSigned: signer } for a certificate signed by the key it certifies.
   */
  issuer: Issuer | IssuerInit | { selfSigned: CaSigner };
  crlDistributionUrl?: string;
  caIssuersUrl?: string;
  /** The OCSP responder's URL (AIA id-ad-ocsp, RFC 5280 4.2.2.1). */
  ocspUrl?: string;
  /**
   * A delegated OCSP responder's certificate: adds id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1).
   * Implied by id-kp-OCSPSigning on a certificate that is not a CA's (ocspNoCheckOf).
   */
  ocspNoCheck?: boolean;
}

export interface IssuedCertificate {
  der: Buffer;
  pem: string;
  serialHex: string;
  /** As encoded: whole seconds. */
  notBefore: Date;
  notAfter: Date;
  fingerprintSha256: string;
  /** SHA-256 (hex) of the certified key's SubjectPublicKeyInfo (spki.ts spkiSha256). */
  spkiSha256: string;
  subjectKeyIdentifier: Buffer;
}

export async function issueCertificate(input: IssueCertificateInput): Promise<IssuedCertificate> {
  // 1. The request on its own: serial, validity, key, usages, names.
  assertValidSerial(input.serial);
  const notBefore = wholeSeconds(input.notBefore);
  const notAfter = wholeSeconds(input.notAfter);
  if (!(notAfter > notBefore)) {
    throw invalidArgument("VALIDITY_INVALID", "notAfter must be a valid date later than notBefore");
  }
  const usages = checkKeyUsages(input.keyUsages, input.isCa, keyAlgorithmOf(input.publicKey));
  checkTimeStamping(input.extendedKeyUsages, input.isCa);
  checkPathLength(input.isCa, input.pathLength);
  if (hasNameConstraints(input.nameConstraints) && !input.isCa) {
    throw invalidArgument(
      "NAME_CONSTRAINTS_INVALID",
      "name constraints belong on CA certificates only (RFC 5280 4.2.1.10)",
    );
  }
  const hasSubject = input.subject.attributes.length > 0;
  if (!hasSubject && (input.isCa || sanCount(input.sans) === 0)) {
    // RFC 5280 4.1.2.6: a CA's subject MUST be non-empty; an empty subject needs SANs.
    throw invalidArgument(
      "SUBJECT_INVALID",
      input.isCa
        ? "a CA certificate needs a non-empty subject"
        : "a certificate with an empty subject needs at least one subject alternative name",
    );
  }
  const subjectNameDer = subjectToDer(input.subject);
  const spki = spkiOf(input.publicKey);

  // 2. Who signs: the issuing CA (within what its own certificate allows), or the subject key.
  let signer: CaSigner;
  let issuerNameDer: Buffer;
  let akiDer: Buffer;
  if ("selfSigned" in input.issuer) {
    signer = input.issuer.selfSigned;
    if (!hasSubject) {
      throw invalidArgument(
        "SUBJECT_INVALID",
        "a self-signed certificate needs a non-empty subject: it is also the issuer (RFC 5280 4.1.2.4)",
      );
    }
    if (!signer.publicKey.equals(input.publicKey)) {
      throw invalidArgument(
        "SELF_SIGNED_KEY_MISMATCH",
        "a self-signed certificate must certify the signer's own public key",
      );
    }
    issuerNameDer = subjectNameDer;
    akiDer = toDer(authorityKeyIdentifier(spki.keyIdentifier)); // 4.2.1.1: MAY; helps chain building
  } else {
    const issuer = Issuer.from(input.issuer);
    issuer.assertMayIssue(notAfter, input.isCa, input.pathLength);
    assertNamesPermitted(issuer, input.subject, input.sans, input.isCa);
    // Checked before signing on every path (issuance/certificates/check.ts); again here, as the
    // names are, for what signs without that check (delegated OCSP responders, ocsp.ts).
    assertExtendedKeyUsagesPermitted(issuer, input.extendedKeyUsages);
    if (input.isCa) assertConstraintsWithin(issuer, input.nameConstraints);
    signer = issuer.signer;
    issuerNameDer = issuer.nameDer;
    akiDer = issuer.authorityKeyIdentifierDer;
  }
  assertSignatureFits(signer.keyAlgorithm, input.signatureAlgorithm);

  // 3. Extensions (RFC 5280 4.2). basicConstraints is critical on CAs (4.2.1.9 MUST); leaves
  // carry cA=FALSE, critical too, so no validator can take a leaf for a CA.
  const extensions = [
    constantDer(`bc:${input.isCa}:${input.pathLength}`, () =>
      basicConstraints(input.isCa, input.pathLength, true),
    ),
  ];
  if (usages.length > 0)
    extensions.push(constantDer(`ku:${JSON.stringify(usages)}`, () => keyUsage(usages)));
  if (input.extendedKeyUsages.length > 0) {
    const ekus = input.extendedKeyUsages;
    extensions.push(constantDer(`eku:${JSON.stringify(ekus)}`, () => extendedKeyUsage(ekus)));
  }
  if (sanCount(input.sans) > 0) extensions.push(toDer(subjectAltName(input.sans, !hasSubject)));
  if (hasNameConstraints(input.nameConstraints)) {
    extensions.push(toDer(nameConstraintsExtension(input.nameConstraints)));
  }
  extensions.push(toDer(subjectKeyIdentifier(spki.keyIdentifier)), akiDer);
  const crlUrl = input.crlDistributionUrl;
  if (crlUrl !== undefined) {
    extensions.push(constantDer(`cdp:${crlUrl}`, () => crlDistributionPoints(crlUrl)));
  }
  if (ocspNoCheckOf(input)) extensions.push(constantDer("ocsp-nocheck", ocspNoCheck));
  if (input.caIssuersUrl !== undefined || input.ocspUrl !== undefined) {
    const urls = { caIssuersUrl: input.caIssuersUrl, ocspUrl: input.ocspUrl };
    extensions.push(
      constantDer(`aia:${JSON.stringify([urls.caIssuersUrl, urls.ocspUrl])}`, () =>
        authorityInfoAccess(urls),
      ),
    );
  }

  // 4. Encode the TBSCertificate (4.1.2), sign exactly those bytes, wrap them (4.1). It is
  // assembled from the DER of its parts: the parts every certificate of a CA or profile
  // repeats (issuer Name, AKI, signature algorithm, the usages' extensions, publication URLs)
  // are encoded once and kept as bytes, the others encoded here, byte for byte the same
  // certificates. issueCertificate's own CPU besides the signature, per P-256 leaf (a signer
  // returning a fixed signature, best of 7 rounds of 2,000, 2026-12-04): 23.6-24.4 us with the
  // whole TBS built as one forge tree and encoded, 20.5-21.8 us so; the rest is the subject,
  // the SANs, the SKI, the fingerprint and the PEM.
  const tbs = tlv(TAG.SEQUENCE, [
    VERSION_3,
    unsignedIntegerDer(input.serial),
    algorithmIdentifierDer(input.signatureAlgorithm),
    issuerNameDer,
    tlv(TAG.SEQUENCE, [timeDer(notBefore), timeDer(notAfter)]),
    subjectNameDer,
    spkiDer(spki),
    tlv(EXTENSIONS_TAG, [tlv(TAG.SEQUENCE, extensions)]),
  ]);
  const signature = await signer.sign(tbs, input.signatureAlgorithm);
  const der = wrapSigned(tbs, algorithmIdentifierDer(input.signatureAlgorithm), signature);
  return {
    der,
    pem: toPem("CERTIFICATE", der),
    serialHex: serialToHex(input.serial),
    notBefore,
    notAfter,
    fingerprintSha256: digestHex("sha256", der),
    spkiSha256: spkiSha256(spki),
    subjectKeyIdentifier: spki.keyIdentifier,
  };
}

/**
 * id-pkix-ocsp-nocheck on every certificate that is not a CA's and carries id-kp-OCSPSigning,
 * however it was asked for: a delegated responder's own revocation status can only be had from
 * itself (RFC 6960 4.2.2.2.1 leaves the CA three options, and a responder that must be checked
 * by OCSP is a loop), so a responder certificate issued through a profile is marked as the ones
 * certmint makes for itself (ocsp-delegate.ts) always were, and as public CAs must (CA/B BR
 * 7.1.2.8). Until stop 42 of 2026-12-06 one issued through a profile carried none. The price
 * RFC 6960 names: such a certificate cannot be revoked in practice, so its lifetime is what its
 * profile's policy allows (keep it short).
 */
function ocspNoCheckOf(input: IssueCertificateInput): boolean {
  return (
    input.ocspNoCheck === true || (!input.isCa && input.extendedKeyUsages.includes("OCSP_SIGNING"))
  );
}

/** [0] EXPLICIT Version v3 (RFC 5280 4.1.2.1): the same five octets in every certificate. */
const VERSION_3 = Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02]);
/** [3] EXPLICIT Extensions (RFC 5280 4.1.2.9): context-specific, constructed. */
const EXTENSIONS_TAG = 0xa3;

/**
 * Extensions whose DER depends only on the key (a string naming every input): usages,
 * basicConstraints, publication URLs. Kept as bytes (never written to: Buffer.concat copies
 * them); the few distinct ones of a deployment, at most CONSTANT_DER_MAX (then it starts over).
 */
const constantDers = new Map<string, Buffer>();
const CONSTANT_DER_MAX = 1024;

function constantDer(key: string, build: () => Asn1): Buffer {
  let der = constantDers.get(key);
  if (der === undefined) {
    der = toDer(build());
    if (constantDers.size >= CONSTANT_DER_MAX) constantDers.clear();
    constantDers.set(key, der);
  }
  return der;
}

/**
 * RFC 3161 2.3: a time-stamping authority's certificate "MUST contain only one instance of the
 * extended key usage field extension ... with KeyPurposeID having value id-kp-timeStamping.
 * This extension MUST be critical." (OpenSSL's timestampsign purpose requires both.) The
 * policy engine refuses the mix with a field violation; this is the signer's last line of
 * defence. A CA certificate's extKeyUsage constrains what it certifies and may hold more.
 */
function checkTimeStamping(ekus: readonly ExtendedKeyUsage[], isCa: boolean): void {
  if (isCa || !ekus.includes("TIME_STAMPING")) return;
  const others = [...new Set(ekus)].filter((e) => e !== "TIME_STAMPING");
  if (others.length > 0) {
    const message = `TIME_STAMPING must be the only extended key usage of a time-stamping certificate, not with ${others.join(", ")} (RFC 3161 2.3)`;
    throw invalidField(
      "EXTENDED_KEY_USAGE_TIME_STAMPING_NOT_ALONE",
      message,
      "extended_key_usages",
      message,
    );
  }
}

/** extKeyUsage (RFC 5280 4.2.1.12): non-critical, but critical when it is exactly id-kp-timeStamping (RFC 3161 2.3). */
function extendedKeyUsage(ekus: readonly ExtendedKeyUsage[]): Asn1 {
  if (!ekus.every((e) => e === "TIME_STAMPING")) return extKeyUsage(ekus);
  return extension(EXT.extKeyUsage, true, seq([oid(EKU_OIDS.TIME_STAMPING)]));
}

function checkPathLength(isCa: boolean, pathLength: number | undefined): void {
  if (pathLength === undefined) return;
  if (!isCa || !Number.isInteger(pathLength) || pathLength < 0 || pathLength > 0x7fffffff) {
    throw invalidArgument(
      "PATH_LENGTH_INVALID",
      "pathLength must be a non-negative integer, and only set on CA certificates (RFC 5280 4.2.1.9)",
    );
  }
}
