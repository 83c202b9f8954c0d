import {
  CertificateProfile,
  type DeepPartial,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { call, type TestCertmint } from "../support/harness";

/** A root CA over gRPC (it works already); returns the proto CA. */
export async function createRootCa(
  h: TestCertmint,
  slug: string,
  keyAlgorithm = KeyAlgorithm.KEY_ALGORITHM_EC_P256,
) {
  const res = await call(h.authorities, "createRootCertificateAuthority", {
    slug,
    description: "",
    subject: {
      country: "",
      state: "",
      locality: "",
      organization: ["Example Corp"],
      organizationalUnit: [],
      commonName: `${slug} root`,
      streetAddress: "",
      postalCode: "",
      serialNumber: "",
      emailAddress: "",
    },
    keyAlgorithm,
    signatureAlgorithm: 0,
    ttl: undefined,
    maxPathLength: undefined,
  });
  return res.certificateAuthority!;
}

export const profileMessage = (partial: DeepPartial<CertificateProfile>): CertificateProfile =>
  CertificateProfile.fromPartial(partial);

/** Creates a profile over gRPC; returns the stored proto profile. */
export async function createProfileRpc(h: TestCertmint, partial: DeepPartial<CertificateProfile>) {
  const res = await call(h.profiles, "createCertificateProfile", {
    certificateProfile: profileMessage(partial),
  });
  return res.certificateProfile!;
}

/** The issuer oneof naming a CA. */
export const byCa = (ref: string) => ({ $case: "certificateAuthority" as const, value: ref });
export const selfSigned = { $case: "selfSigned" as const, value: true };
