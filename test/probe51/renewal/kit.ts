/**
 * What the probe51 RENEWAL tests share: issuing and renewing over the API of the compiled server
 * (test/probe49/api/live.ts starts it), policies and CAs made the way an operator makes them, and
 * openssl as the independent judge of what was signed. Black-box: nothing of src/ is imported.
 */
import { X509Certificate } from "node:crypto";
import {
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  type CertificatePolicy,
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
  UpdateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  type CertificateProfile,
  CreateCertificateProfileRequest,
  type DeepPartial,
  PrivateKeyRetention,
  UpdateCertificateProfileRequest,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  IssueCertificateRequest,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { type ExtendedKeyUsage, KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { ErrorInfo } from "../../../gen/ts/google/rpc/error_details";
import type { Status } from "../../../gen/ts/google/rpc/status";
import type { LiveCertmint } from "../../probe49/api/live";
import { type CertmintClients, call } from "../../support/harness";
import { openssl, TempDir } from "../../support/openssl";

export const seconds = (n: number) => ({ seconds: String(n), nanos: 0 });
const DAY = 86_400;

export async function createRoot(live: LiveCertmint, slug: string, ttlSeconds = 3650 * DAY) {
  const res = await call(
    live.admin.authorities,
    "createRootCertificateAuthority",
    CreateRootCertificateAuthorityRequest.fromPartial({
      slug,
      subject: { commonName: `${slug} root` },
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      ttl: seconds(ttlSeconds),
    }),
  );
  return res.certificateAuthority!;
}

export async function createIntermediate(
  live: LiveCertmint,
  slug: string,
  parent: string,
  ttlSeconds?: number,
) {
  const res = await call(
    live.admin.authorities,
    "createIntermediateCertificateAuthority",
    CreateIntermediateCertificateAuthorityRequest.fromPartial({
      slug,
      parentCertificateAuthority: parent,
      subject: { commonName: `${slug} intermediate` },
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      ...(ttlSeconds ? { ttl: seconds(ttlSeconds) } : {}),
    }),
  );
  return res.certificateAuthority!;
}

/**
 * A TLS-server policy: names under example.com, any CN, EC and RSA keys, serverAuth and clientAuth
 * allowed (none required), a max TTL of 30 days; `more` overrides.
 */
export async function createPolicy(
  live: LiveCertmint,
  slug: string,
  more: Partial<CertificatePolicy> = {},
) {
  await call(
    live.admin.policies,
    "createCertificatePolicy",
    CreateCertificatePolicyRequest.fromPartial({
      preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
      certificatePolicy: {
        slug,
        sanRules: { dns: { allowed: ["**.example.com"] } },
        subjectRules: { commonName: { allowed: ["*"] } },
        extendedKeyUsages: { allowed: [1, 2] as ExtendedKeyUsage[], required: [] },
        keyAlgorithms: {
          allowed: [
            KeyAlgorithm.KEY_ALGORITHM_EC_P256,
            KeyAlgorithm.KEY_ALGORITHM_EC_P384,
            KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
          ],
        },
        maxTtl: seconds(30 * DAY),
        ...more,
      },
    }),
  );
}

export const updatePolicy = (
  live: LiveCertmint,
  slug: string,
  fields: Partial<CertificatePolicy>,
  mask: string[],
) =>
  call(
    live.admin.policies,
    "updateCertificatePolicy",
    UpdateCertificatePolicyRequest.fromPartial({
      certificatePolicy: { slug, ...fields },
      updateMask: mask,
    }),
  );

export async function createProfile(
  live: LiveCertmint,
  slug: string,
  policy: string,
  ca: string,
  more: DeepPartial<CertificateProfile> = {},
) {
  const res = await call(
    live.admin.profiles,
    "createCertificateProfile",
    CreateCertificateProfileRequest.fromPartial({
      certificateProfile: {
        slug,
        certificatePolicy: policy,
        issuer: { $case: "certificateAuthority", value: ca },
        privateKeyRetention: PrivateKeyRetention.PRIVATE_KEY_RETENTION_RETURN_ONCE,
        ...more,
      },
    }),
  );
  return res.certificateProfile!;
}

export const updateProfile = (
  live: LiveCertmint,
  slug: string,
  fields: DeepPartial<CertificateProfile>,
  mask: string[],
) =>
  call(
    live.admin.profiles,
    "updateCertificateProfile",
    UpdateCertificateProfileRequest.fromPartial({
      certificateProfile: { slug, ...fields },
      updateMask: mask,
    }),
  );

export const issue = (
  c: CertmintClients,
  profile: string,
  name: string,
  more: Partial<IssueCertificateRequest> = {},
  keyAlgorithm = KeyAlgorithm.KEY_ALGORITHM_EC_P256,
) =>
  call(
    c.certificates,
    "issueCertificate",
    IssueCertificateRequest.fromPartial({
      certificateProfile: profile,
      source: {
        $case: "attributes",
        value: {
          subject: { commonName: name },
          subjectAlternativeNames: { dnsNames: [name] },
          keyAlgorithm,
        },
      },
      ttl: seconds(3600),
      ...more,
    }),
  );

export const renew = (
  c: CertmintClients,
  id: string,
  more: Partial<RenewCertificateRequest> = {},
) =>
  call(
    c.certificates,
    "renewCertificate",
    RenewCertificateRequest.fromPartial({ certificateId: id, ...more }),
  );

/** Rows a refused call must not add. */
export async function rows(live: LiveCertmint) {
  return {
    certificates: await live.count("certificate"),
    events: await live.count("certificate_event"),
  };
}

/**
 * openssl's verdict on `leaf` with `chain` (what certmint sent: intermediates, maybe the root)
 * against `rootPem` alone as the trust anchor, at the time given (default: now).
 */
export function opensslVerify(
  leaf: string,
  chain: string[],
  rootPem: string,
  at?: Date,
): { ok: boolean; output: string } {
  const tmp = new TempDir();
  try {
    const args = ["verify", "-CAfile", tmp.file("root.pem", rootPem)];
    const untrusted = chain.filter((p) => p.trim() !== rootPem.trim());
    if (untrusted.length > 0) args.push("-untrusted", tmp.file("chain.pem", untrusted.join("\n")));
    if (at) args.push("-attime", String(Math.floor(at.getTime() / 1000)));
    args.push(tmp.file("leaf.pem", leaf));
    const r = openssl(args);
    return { ok: r.code === 0, output: r.stdout + r.stderr };
  } finally {
    tmp.remove();
  }
}

/** notBefore and notAfter of a PEM certificate, as openssl's (node's) parser reads them. */
export function validity(pem: string) {
  const x = new X509Certificate(pem);
  return { notBefore: new Date(x.validFrom), notAfter: new Date(x.validTo), x };
}

/** The ErrorInfo reason of a google.rpc.Status (a certificate's last_renewal_error, say). */
export function reasonOf(s: Status | undefined): string | undefined {
  for (const d of s?.details ?? []) {
    if (d.typeUrl.endsWith("google.rpc.ErrorInfo")) return ErrorInfo.decode(d.value).reason;
  }
  return undefined;
}
