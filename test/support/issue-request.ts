import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";

/**
 * An IssueCertificate in which certmint generates the key (EC P-256 unless told), for one DNS
 * name that is also the common name.
 */
export function generatedKeyRequest(
  profile: string,
  name: string,
  o: { requestId?: string; keyAlgorithm?: KeyAlgorithm } = {},
): IssueCertificateRequest {
  return IssueCertificateRequest.fromPartial({
    certificateProfile: profile,
    requestId: o.requestId ?? "",
    source: {
      $case: "attributes",
      value: {
        subject: { commonName: name },
        subjectAlternativeNames: { dnsNames: [name] },
        keyAlgorithm: o.keyAlgorithm ?? KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      },
    },
  });
}
