import {
  type Certificate as PbCertificate,
  type CertificateRequest as PbCertificateRequest,
  CertificateStatus as PbCertificateStatus,
  CertificateView as PbCertificateView,
  type IssuedCertificate as PbIssued,
  RenewalKeySource as PbRenewalKeySource,
  CertificateRenewalState as PbRenewalState,
  CertificateRequestStatus as PbRequestStatus,
} from "../../../gen/ts/certmint/v1/certificate_service";
import type { Any } from "../../../gen/ts/google/protobuf/any";
import type { Status } from "../../../gen/ts/google/rpc/status";
import { CertmintError, type ErrorKind } from "../../errors";
import {
  plainRenewalStatus,
  type RenewalState,
  type RenewalStatus,
} from "../../issuance/auto-renewal/status";
import { errorFromStored } from "../../issuance/certificates/outcome";
import { type CertificateStatusFilter, shownStatus } from "../../issuance/certificates/queries";
import type {
  IssuedView,
  RenewKeySource,
  RequestStatus,
  StoredError,
} from "../../issuance/certificates/types";
import type {
  CertificateListView,
  CertificateRequestView,
  CertificateView,
  IssuerRevocations,
  ListedCertificate,
} from "../../issuance/repositories";
import { toRpcStatus } from "../errors";
import {
  enumCodec,
  extendedKeyUsageCodec,
  keyAlgorithmCodec,
  keyUsageCodec,
  revocationReasonCodec,
  signatureAlgorithmCodec,
} from "./enums";
import { sansToProto, subjectToProto } from "./subject";

export const requestStatusCodec = enumCodec(PbRequestStatus, "CERTIFICATE_REQUEST_STATUS_", [
  "PENDING_APPROVAL",
  "PENDING",
  "ISSUED",
  "FAILED",
  "REJECTED",
] as const satisfies readonly RequestStatus[]);
export const certificateStatusCodec = enumCodec(PbCertificateStatus, "CERTIFICATE_STATUS_", [
  "ACTIVE",
  "REVOKED",
  "EXPIRED",
  "ISSUER_REVOKED",
] as const satisfies readonly CertificateStatusFilter[]);
/** A list's view (AIP-157); UNSPECIFIED is FULL, as lists were before views. */
export const certificateViewCodec = enumCodec(PbCertificateView, "CERTIFICATE_VIEW_", [
  "BASIC",
  "FULL",
] as const satisfies readonly CertificateListView[]);
export const renewalKeySourceCodec = enumCodec(PbRenewalKeySource, "RENEWAL_KEY_SOURCE_", [
  "NEW",
  "REUSE",
  "CSR",
] as const satisfies readonly RenewKeySource[]);

export const renewalStateCodec = enumCodec(PbRenewalState, "CERTIFICATE_RENEWAL_STATE_", [
  "IDLE",
  "RENEWING",
  "RENEWED",
  "FAILED",
  "AWAITING_APPROVAL",
] as const satisfies readonly RenewalState[]);

export const issuedToProto = (v: IssuedView): PbIssued => ({
  certificateId: v.certificateId,
  certificatePem: v.certificatePem,
  certificateChainPem: v.chainPem,
  issuingCaCertificatePem: v.issuingCaPem,
  serialNumber: v.serialNumber,
  notBefore: v.notBefore,
  notAfter: v.notAfter,
});

/** A stored failure as the google.rpc.Status clients already know how to read. */
export function storedErrorToStatus(stored: StoredError | null): Status | undefined {
  if (!stored) return undefined;
  const err = errorFromStored(stored);
  const st = toRpcStatus(
    err instanceof CertmintError
      ? err
      : new CertmintError(stored.code as ErrorKind, "UNKNOWN", stored.message),
  );
  return { code: st.code, message: st.message, details: st.details as Any[] };
}

export function requestToProto(r: CertificateRequestView): PbCertificateRequest {
  return {
    id: r.id,
    status: requestStatusCodec.toProto(r.status),
    certificateProfileId: r.profileId,
    requestId: r.idempotencyKey ?? "",
    subject: subjectToProto(r.subject),
    subjectAlternativeNames: sansToProto(r.sans),
    certificateId: r.certificateId ?? "",
    renewalOfCertificateId: r.renewalOfCertificateId ?? "",
    error: storedErrorToStatus(r.error),
    createTime: r.createdAt,
    updateTime: r.updatedAt,
    requester: r.caller,
  };
}

/**
 * A stored certificate as the API shows it; its server-driven renewal as `renewal` says
 * (auto-renewal/status.ts), or as its row alone tells (renewed or idle); its status against
 * `revokedIssuers` (the CAs revoked or below a revoked CA; certificates/queries.ts shownStatus):
 * ISSUER_REVOKED under one, with that CA's revocation as OCSP answers it.
 */
export function certificateToProto(
  c: CertificateView | ListedCertificate,
  now: Date,
  renewal: RenewalStatus = plainRenewalStatus(c),
  revokedIssuers?: IssuerRevocations,
): PbCertificate {
  const shown = shownStatus(c, now, revokedIssuers);
  return {
    id: c.id,
    serialNumber: c.serialNumber,
    status: certificateStatusCodec.toProto(shown.status),
    certificateAuthorityId: c.caId ?? "",
    certificateProfileId: c.profileId ?? "",
    certificateRequestId: c.certificateRequestId,
    subject: subjectToProto(c.subject),
    subjectAlternativeNames: sansToProto(c.sans),
    keyAlgorithm: keyAlgorithmCodec.toProto(c.keyAlgorithm),
    signatureAlgorithm: signatureAlgorithmCodec.toProto(c.signatureAlgorithm),
    keyUsages: c.keyUsages.map((u) => keyUsageCodec.toProto(u)),
    extendedKeyUsages: c.extendedKeyUsages.map((u) => extendedKeyUsageCodec.toProto(u)),
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    fingerprintSha256: c.fingerprintSha256,
    // Left out of a list's BASIC view.
    certificatePem: c.certificatePem ?? "",
    certificateChainPem: c.chainPem ?? [],
    revokeTime: shown.revokedAt ?? undefined,
    revocationReason: revocationReasonCodec.toProto(shown.revocationReason),
    renewedFromCertificateId: c.renewedFromId ?? "",
    renewedByCertificateId: c.renewedById ?? "",
    createTime: c.createdAt,
    ownerAccessTokenId: c.owner,
    authenticationExpireTime: c.authenticatesUntil ?? undefined,
    // As OCSP and the CRL publish it: its own revocation's, or its revoked issuer's.
    invalidityTime: shown.invalidityDate ?? undefined,
    renewalState: renewalStateCodec.toProto(renewal.state),
    lastRenewalError: storedErrorToStatus(renewal.error ?? null),
    renewalFailures: renewal.failures,
    nextRenewalAttemptTime: renewal.retryAt,
  };
}
