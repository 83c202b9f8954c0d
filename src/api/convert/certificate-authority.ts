import {
  type CertificateAuthority as PbCa,
  CertificateAuthorityStatus as PbCaStatus,
  CertificateAuthorityType as PbCaType,
  CrlEncoding as PbCrlEncoding,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import type { GeneralSubtrees as PbSubtrees } from "../../../gen/ts/certmint/v1/common";
import { invalidField, quoted } from "../../errors";
import { nameConstraintsOf } from "../../issuance/ca/name-constraints";
import type { CaStatus, CaType } from "../../issuance/ca/types";
import { etagOf } from "../../issuance/common/etag";
import type { CertificateAuthorityView } from "../../issuance/repositories";
import type { GeneralSubtrees, NameConstraints } from "../../model/pki";
import type { CrlForms } from "../crl-response";
import {
  enumCodec,
  keyAlgorithmCodec,
  revocationReasonCodec,
  signatureAlgorithmCodec,
} from "./enums";
import { subjectToProto } from "./subject";
import { optionalDate } from "./time";

export const caStatusCodec = enumCodec(PbCaStatus, "CERTIFICATE_AUTHORITY_STATUS_", [
  "ACTIVE",
  "DISABLED",
  "PENDING_CERTIFICATE",
] as const satisfies readonly CaStatus[]);
export const caTypeCodec = enumCodec(PbCaType, "CERTIFICATE_AUTHORITY_TYPE_", [
  "ROOT",
  "INTERMEDIATE",
  "EXTERNAL_INTERMEDIATE",
] as const satisfies readonly CaType[]);

/** GetCertificateRevocationList's encoding; UNSPECIFIED is both forms (crl-response.ts). */
export const crlEncodingCodec = enumCodec(PbCrlEncoding, "CRL_ENCODING_", [
  "DER",
  "PEM",
] as const satisfies readonly CrlForms[]);

/**
 * GetCertificateRevocationListRequest.known_crl_number: undefined when empty (send the CRL), else
 * the number as a bigint (a cRLNumber has up to 20 octets, RFC 5280 5.2.3), so "007" and "7" are
 * the same CRL. Anything but decimal digits is INVALID_ARGUMENT: a caller that sent garbage would
 * otherwise download the CRL on every poll without ever learning why.
 */
export function knownCrlNumberFromProto(value: string): bigint | undefined {
  if (value === "") return undefined;
  if (!/^[0-9]+$/.test(value)) {
    throw invalidField(
      "CRL_NUMBER_INVALID",
      // quoted: the one helper that escapes caller input (until stop 46 of 2026-12-06 this was
      // the one message that echoed ESC, CR and LF raw; an outside probe).
      `known_crl_number must be the decimal crl_number of a CRL this call returned before, not ${quoted(value, 49)}`,
      "known_crl_number",
      "decimal digits only",
    );
  }
  return BigInt(value);
}

/** A CA row as the API shows it: never the sealed key. */
export function caToProto(ca: CertificateAuthorityView): PbCa {
  return {
    id: ca.id,
    slug: ca.slug,
    description: ca.description,
    type: caTypeCodec.toProto(ca.type),
    status: caStatusCodec.toProto(ca.status),
    subject: subjectToProto(ca.subject),
    keyAlgorithm: keyAlgorithmCodec.toProto(ca.keyAlgorithm),
    signatureAlgorithm: signatureAlgorithmCodec.toProto(ca.signatureAlgorithm),
    parentCertificateAuthorityId: ca.parentId ?? "",
    certificatePem: ca.certificatePem ?? "",
    certificateChainPem: ca.chainPem,
    serialNumber: ca.serialNumber ?? "",
    notBefore: optionalDate(ca.notBefore),
    notAfter: optionalDate(ca.notAfter),
    maxPathLength: ca.maxPathLength ?? undefined,
    csrPem: ca.csrPem ?? "",
    createTime: ca.createdAt,
    updateTime: ca.updatedAt,
    etag: etagOf(ca.version),
    nameConstraints: nameConstraintsToProto(nameConstraintsOf(ca)),
    revokeTime: ca.revokedAt ?? undefined,
    revocationReason: revocationReasonCodec.toProto(ca.revocationReason),
    invalidityTime: ca.invalidityDate ?? undefined,
  };
}

const subtreesFromProto = (s: PbSubtrees | undefined): GeneralSubtrees => ({
  dns: [...(s?.dnsNames ?? [])],
  ip: [...(s?.ipRanges ?? [])],
  email: [...(s?.emailAddresses ?? [])],
  uri: [...(s?.uriHosts ?? [])],
});
const subtreesToProto = (s: GeneralSubtrees): PbSubtrees => ({
  dnsNames: s.dns,
  ipRanges: s.ip,
  emailAddresses: s.email,
  uriHosts: s.uri,
});

/** Proto NameConstraints (unchecked: the use case checks every subtree). */
export const nameConstraintsFromProto = (
  nc: { permitted?: PbSubtrees; excluded?: PbSubtrees } | undefined,
): NameConstraints | undefined =>
  nc && { permitted: subtreesFromProto(nc.permitted), excluded: subtreesFromProto(nc.excluded) };

export const nameConstraintsToProto = (nc: NameConstraints | undefined) =>
  nc && { permitted: subtreesToProto(nc.permitted), excluded: subtreesToProto(nc.excluded) };
