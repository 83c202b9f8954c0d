/**
 * Certificate issuance (RFC 5280 4.1): the TBSCertificate is built directly with forge.asn1
 * (forge's createCertificate/sign are RSA-only and much slower), signed with Node's crypto
 * through the CaSigner port, and wrapped around the exact bytes that were signed.
 */
import type { KeyObject } from "node:crypto";
import { invalidArgument } from "../errors";
import type {
  ExtendedKeyUsage,
  KeyUsage,
  NameConstraints,
  SignatureAlgorithm,
  SubjectAltNames,
  SubjectName,
} from "../model/pki";
import {
  algorithmIdentifier,
  algorithmIdentifierDer,
  assertSignatureFits,
  keyAlgorithmOf,
} from "./algorithms";
import type { CaSigner } from "./ca-signer";
import {
  type Asn1,
  contextConstructed,
  seq,
  smallInteger,
  time,
  toDer,
  toPem,
  unsignedInteger,
  wrapSigned,
} from "./der";
import { digestHex } from "./digest";
import {
  authorityInfoAccess,
  authorityKeyIdentifier,
  basicConstraints,
  crlDistributionPoints,
  extKeyUsage,
  keyUsage,
  ocspNoCheck,
  subjectAltName,
  subjectKeyIdentifier,
} from "./extensions";
import { sanCount } from "./general-names";
import { assertNamesPermitted, Issuer, type IssuerInit } from "./issuer";
import { subjectToAsn1 } from "./name";
import { hasNameConstraints, nameConstraintsExtension } from "./name-constraints";
import { assertValidSerial, serialToHex } from "./serial";
import { spkiOf } from "./spki";
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
  /** A delegated OCSP responder's certificate: adds id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1). */
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
  subjectKeyIdentifier: Buffer;
}

const wholeSeconds = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);

export async function issueCertificate(input: IssueCertificateInput): Promise<IssuedCertificate> {
  // 1. The request on its own: serial, validity, key, usages, names.
  assertValidSerial(input.serial);
  const notBefore = wholeSeconds(input.notBefore);
  const notAfter = wholeSeconds(input.notAfter);
  if (!(notAfter > notBefore)) {
    throw invalidArgument("VALIDITY_INVALID", "notAfter must be a valid date later than notBefore");
  }
  const usages = checkKeyUsages(input.keyUsages, input.isCa, keyAlgorithmOf(input.publicKey));
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
  const subjectName = subjectToAsn1(input.subject);
  const spki = spkiOf(input.publicKey);

  // 2. Who signs: the issuing CA (within what its own certificate allows), or the subject key.
  let signer: CaSigner;
  let issuerName: Asn1;
  let akiExtension: Asn1;
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
    issuerName = subjectName;
    akiExtension = authorityKeyIdentifier(spki.keyIdentifier); // 4.2.1.1: MAY; helps chain building
  } else {
    const issuer = Issuer.from(input.issuer);
    issuer.assertMayIssue(notAfter, input.isCa, input.pathLength);
    assertNamesPermitted(issuer, input.subject, input.sans);
    signer = issuer.signer;
    issuerName = issuer.name;
    akiExtension = issuer.authorityKeyIdentifierExtension;
  }
  assertSignatureFits(signer.keyAlgorithm, input.signatureAlgorithm);

  // 3. Extensions (RFC 5280 4.2). basicConstraints is critical on CAs (4.2.1.9 MUST); leaves
  // carry cA=FALSE, critical too, so no validator can take a leaf for a CA.
  const extensions = [basicConstraints(input.isCa, input.pathLength, true)];
  if (usages.length > 0) extensions.push(keyUsage(usages));
  if (input.extendedKeyUsages.length > 0) extensions.push(extKeyUsage(input.extendedKeyUsages));
  if (sanCount(input.sans) > 0) extensions.push(subjectAltName(input.sans, !hasSubject));
  if (hasNameConstraints(input.nameConstraints)) {
    extensions.push(nameConstraintsExtension(input.nameConstraints));
  }
  extensions.push(subjectKeyIdentifier(spki.keyIdentifier), akiExtension);
  if (input.crlDistributionUrl !== undefined) {
    extensions.push(crlDistributionPoints(input.crlDistributionUrl));
  }
  if (input.ocspNoCheck) extensions.push(ocspNoCheck());
  if (input.caIssuersUrl !== undefined || input.ocspUrl !== undefined) {
    extensions.push(
      authorityInfoAccess({ caIssuersUrl: input.caIssuersUrl, ocspUrl: input.ocspUrl }),
    );
  }

  // 4. Encode the TBSCertificate (4.1.2), sign exactly those bytes, wrap them (4.1).
  const tbs = toDer(
    seq([
      contextConstructed(0, [smallInteger(2)]), // version v3
      unsignedInteger(input.serial),
      algorithmIdentifier(input.signatureAlgorithm),
      issuerName,
      seq([time(notBefore), time(notAfter)]),
      subjectName,
      spki.node,
      contextConstructed(3, [seq(extensions)]),
    ]),
  );
  const signature = await signer.sign(tbs, input.signatureAlgorithm);
  const der = wrapSigned(tbs, algorithmIdentifierDer(input.signatureAlgorithm), signature);
  return {
    der,
    pem: toPem("CERTIFICATE", der),
    serialHex: serialToHex(input.serial),
    notBefore,
    notAfter,
    fingerprintSha256: digestHex("sha256", der),
    subjectKeyIdentifier: spki.keyIdentifier,
  };
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
