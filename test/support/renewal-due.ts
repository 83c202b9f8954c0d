/**
 * A certificate that falls due for renewal the moment its profile starts renewing
 * automatically: a test of renewal switches that on once its watchers are in place, and then
 * waits for states, never for a renewal time to come.
 */
import { CreateRootCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CreateCertificateProfileRequest,
  UpdateCertificateProfileRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { createTlsServerPolicy } from "./fixtures";
import { type CertmintClients, call } from "./harness";

/** The profile of the certificate issueCertificateDueForRenewal issues. */
export const DUE_PROFILE = "short";

const seconds = (n: number) => ({ seconds: String(n), nanos: 0 });

/**
 * Over the gRPC API as an admin: a root CA `root` (common name `rootName`), a TLS-server policy
 * `web-tls` (names under example.com, at most an hour) and the profile DUE_PROFILE on them
 * (certificates of an hour, renewed 10 minutes before notAfter, automatic renewal off); on it,
 * a certificate of 5 minutes for `name`, inside the renewal window from the start. Its
 * successor gets the profile's hour: not due again while the test runs.
 */
export async function issueCertificateDueForRenewal(
  c: CertmintClients,
  o: { rootName: string; name: string },
) {
  const root = (
    await call(
      c.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "root",
        subject: { commonName: o.rootName },
      }),
    )
  ).certificateAuthority!;
  await createTlsServerPolicy(c, "web-tls", 3600);
  await call(
    c.profiles,
    "createCertificateProfile",
    CreateCertificateProfileRequest.fromPartial({
      certificateProfile: {
        slug: DUE_PROFILE,
        certificatePolicy: "web-tls",
        issuer: { $case: "certificateAuthority", value: "root" },
        defaults: { ttl: seconds(3600), keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 },
        // Off until the test's watchers are in place (renewAutomatically): no timing involved.
        renewal: { autoRenew: false, renewBefore: seconds(600) },
      },
    }),
  );
  const issued = await call(
    c.certificates,
    "issueCertificate",
    IssueCertificateRequest.fromPartial({
      certificateProfile: DUE_PROFILE,
      source: {
        $case: "attributes",
        value: {
          subject: { commonName: o.name },
          subjectAlternativeNames: { dnsNames: [o.name] },
        },
      },
      ttl: seconds(300),
    }),
  );
  return { root, issued };
}

/** Switches on DUE_PROFILE's automatic renewal: its certificate is due at once. */
export async function renewAutomatically(c: CertmintClients): Promise<void> {
  await call(
    c.profiles,
    "updateCertificateProfile",
    UpdateCertificateProfileRequest.fromPartial({
      certificateProfile: { slug: DUE_PROFILE, renewal: { autoRenew: true } },
      updateMask: ["renewal.auto_renew"],
    }),
  );
}
