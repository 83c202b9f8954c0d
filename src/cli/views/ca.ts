import { CertificateAuthority } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CA_STATUS,
  CA_TYPE,
  KEY_ALGORITHM,
  REVOCATION_REASON,
  SIGNATURE_ALGORITHM,
} from "../enums";
import type { Column } from "../output";
import { formatTime } from "../values";
import { formatNameConstraints, formatSubject } from "./names";
import { joinPem, type OneView } from "./print";

export const CA_COLUMNS: ReadonlyArray<Column<CertificateAuthority>> = [
  { header: "SLUG", value: (ca) => ca.slug },
  { header: "TYPE", value: (ca) => CA_TYPE.name(ca.type) },
  {
    header: "STATUS",
    value: (ca) => CA_STATUS.name(ca.status) + (ca.revokeTime ? " (revoked)" : ""),
  },
  { header: "KEY", value: (ca) => KEY_ALGORITHM.name(ca.keyAlgorithm) },
  { header: "NOT AFTER", value: (ca) => formatTime(ca.notAfter) },
  { header: "SUBJECT", value: (ca) => formatSubject(ca.subject) },
  { header: "ID", value: (ca) => ca.id },
];

/** A CA; its PEM is the certificate (with the chain when asked), or the CSR while pending. */
export function caView(withChain = false): OneView<CertificateAuthority> {
  return {
    codec: CertificateAuthority,
    fields: (ca) => [
      ["id", ca.id],
      ["slug", ca.slug],
      ["description", ca.description],
      ["type", CA_TYPE.name(ca.type)],
      ["status", CA_STATUS.name(ca.status)],
      ["subject", formatSubject(ca.subject)],
      ["key algorithm", KEY_ALGORITHM.name(ca.keyAlgorithm)],
      ["signature algorithm", SIGNATURE_ALGORITHM.name(ca.signatureAlgorithm)],
      ["parent", ca.parentCertificateAuthorityId],
      ["serial", ca.serialNumber],
      ["not before", formatTime(ca.notBefore)],
      ["not after", formatTime(ca.notAfter)],
      ["max path length", ca.maxPathLength === undefined ? "unlimited" : String(ca.maxPathLength)],
      ["name constraints", formatNameConstraints(ca.nameConstraints)],
      [
        "revoked",
        ca.revokeTime
          ? `${formatTime(ca.revokeTime)} (${REVOCATION_REASON.name(ca.revocationReason)})`
          : "",
      ],
      ["invalid since", ca.invalidityTime ? formatTime(ca.invalidityTime) : ""],
      ["created", formatTime(ca.createTime)],
      ["updated", formatTime(ca.updateTime)],
      ["etag", ca.etag],
    ],
    pem: (ca) =>
      ca.certificatePem
        ? joinPem([ca.certificatePem, ...(withChain ? ca.certificateChainPem : [])])
        : ca.csrPem,
  };
}
