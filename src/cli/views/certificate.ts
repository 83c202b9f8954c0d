import { Certificate, CertificateStatus } from "../../../gen/ts/certmint/v1/certificate_service";
import {
  CERTIFICATE_STATUS,
  EXTENDED_KEY_USAGE,
  KEY_ALGORITHM,
  KEY_USAGE,
  REVOCATION_REASON,
  SIGNATURE_ALGORITHM,
} from "../enums";
import type { Column } from "../output";
import { formatTime } from "../values";
import { certificateNames, formatSans, formatSubject } from "./names";
import { joinPem, type OneView } from "./print";

export const CERTIFICATE_COLUMNS: ReadonlyArray<Column<Certificate>> = [
  { header: "ID", value: (c) => c.id },
  { header: "SERIAL", value: (c) => c.serialNumber },
  { header: "STATUS", value: (c) => CERTIFICATE_STATUS.name(c.status) },
  { header: "NOT AFTER", value: (c) => formatTime(c.notAfter) },
  { header: "NAMES", value: (c) => certificateNames(c.subject, c.subjectAlternativeNames) },
];

export function certificateView(withChain = false): OneView<Certificate> {
  return {
    codec: Certificate,
    fields: (c) => [
      ["id", c.id],
      ["serial", c.serialNumber],
      ["status", CERTIFICATE_STATUS.name(c.status)],
      ["subject", formatSubject(c.subject)],
      ["names", formatSans(c.subjectAlternativeNames)],
      ["not before", formatTime(c.notBefore)],
      ["not after", formatTime(c.notAfter)],
      ["key algorithm", KEY_ALGORITHM.name(c.keyAlgorithm)],
      ["signature algorithm", SIGNATURE_ALGORITHM.name(c.signatureAlgorithm)],
      ["key usages", c.keyUsages.map((u) => KEY_USAGE.name(u)).join(" ")],
      ["ext. key usages", c.extendedKeyUsages.map((u) => EXTENDED_KEY_USAGE.name(u)).join(" ")],
      ["sha-256", c.fingerprintSha256],
      ["ca", c.certificateAuthorityId || "self-signed"],
      ["profile", c.certificateProfileId],
      ["request", c.certificateRequestId],
      ["owner token", c.ownerAccessTokenId],
      [
        "authenticates until",
        c.authenticationExpireTime ? formatTime(c.authenticationExpireTime) : "",
      ],
      ["renewed from", c.renewedFromCertificateId],
      ["renewed by", c.renewedByCertificateId],
      [
        "revoked",
        c.revokeTime
          ? `${formatTime(c.revokeTime)} (${REVOCATION_REASON.name(c.revocationReason)}${
              // Not this certificate's own revocation: its issuing CA's, or one above it.
              c.status === CertificateStatus.CERTIFICATE_STATUS_ISSUER_REVOKED
                ? ", of a CA on its path"
                : ""
            })`
          : "",
      ],
      ["invalid since", c.invalidityTime ? formatTime(c.invalidityTime) : ""],
      ["issued", formatTime(c.createTime)],
    ],
    pem: (c) => joinPem([c.certificatePem, ...(withChain ? c.certificateChainPem : [])]),
  };
}
