/**
 * What the probe51 IDENTITY files share: certmint's own PKI for client certificates (an EC P-256
 * root `svc-root`, optionally an intermediate under it, a TLS-client policy allowing every name
 * under svc.example and the profile `svc-clients` on it), tokens bound to DNS names, certificates
 * requested for names with a CSR of the test's own key, and a second compiled certmint process
 * on the same database that requires client certificates. Black-box: only the gRPC API.
 */
import { status } from "@grpc/grpc-js";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  type Role,
} from "../../../gen/ts/certmint/v1/access_token_service";
import {
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { CreateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { IssueCertificateRequest } from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import type { LiveCertmint } from "../../probe49/api/live";
import { opensslCsr } from "../../support/fixtures";
import { type CertmintClients, call, decodeError } from "../../support/harness";
import { type ClientCert, type MtlsClients, mtlsClients } from "../../support/mtls-server";
import { TempDir } from "../../support/openssl";
import { type ServerProcess, startServerProcess } from "../../support/server-process";
import { makeCa, makeLeaf } from "../../tls/pki";

export const PROFILE = "svc-clients";
export const ROOT = "svc-root";

/**
 * The root, an intermediate `svc-issuing` under it when `intermediate`, the policy and the
 * profile `svc-clients` (signed by the intermediate if there is one); the root's PEM.
 */
export async function createSvcPki(
  live: LiveCertmint,
  options: { intermediate?: boolean } = {},
): Promise<string> {
  const a = live.admin;
  const root = await call(
    a.authorities,
    "createRootCertificateAuthority",
    CreateRootCertificateAuthorityRequest.fromPartial({
      slug: ROOT,
      subject: { commonName: "svc root" },
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
    }),
  );
  if (options.intermediate) {
    await call(
      a.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "svc-issuing",
        parentCertificateAuthority: ROOT,
        subject: { commonName: "svc issuing" },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
  }
  await call(
    a.policies,
    "createCertificatePolicy",
    CreateCertificatePolicyRequest.fromPartial({
      preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_CLIENT,
      certificatePolicy: {
        slug: PROFILE,
        sanRules: { dns: { allowed: ["**.svc.example"] } },
        subjectRules: { commonName: { allowed: ["*"] } },
        maxTtl: { seconds: String(7 * 86_400), nanos: 0 },
      },
    }),
  );
  await createSvcProfile(live, PROFILE, { issuer: options.intermediate ? "svc-issuing" : ROOT });
  return root.certificateAuthority!.certificatePem;
}

/** Another profile on the svc-clients policy. */
export async function createSvcProfile(
  live: LiveCertmint,
  slug: string,
  options: { issuer?: string; requireApproval?: boolean } = {},
): Promise<void> {
  await call(
    live.admin.profiles,
    "createCertificateProfile",
    CreateCertificateProfileRequest.fromPartial({
      certificateProfile: {
        slug,
        certificatePolicy: PROFILE,
        issuer: { $case: "certificateAuthority", value: options.issuer ?? ROOT },
        defaults: { ttl: { seconds: String(86_400), nanos: 0 } },
        requireApproval: options.requireApproval ?? false,
      },
    }),
  );
}

/** A token of `role` bound to the DNS name `value` under the root (it has no bearer secret). */
export async function bindDnsName(
  live: LiveCertmint,
  slug: string,
  role: Role,
  value: string,
  profiles: string[] = [],
): Promise<string> {
  const res = await call(
    live.admin.accessTokens,
    "createAccessToken",
    CreateAccessTokenRequest.fromPartial({
      accessToken: {
        slug,
        role,
        certificateProfiles: profiles,
        clientCertificateBinding: {
          identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_DNS_SAN,
          value,
          certificateAuthority: ROOT,
        },
      },
    }),
  );
  return res.accessToken!.id;
}

/**
 * A certificate for the DNS names `names` (CN the first), requested through `as` on `profile`
 * with a CSR of a new key; the PEM carries the issuing CA after the leaf (a TLS client's chain).
 */
export async function issueForNames(
  as: CertmintClients,
  names: string[],
  profile = PROFILE,
): Promise<ClientCert & { id: string }> {
  const csr = opensslCsr(
    `/CN=${names[0]}`,
    names.map((n) => `DNS:${n}`),
  );
  const res = await call(
    as.certificates,
    "issueCertificate",
    IssueCertificateRequest.fromPartial({
      certificateProfile: profile,
      source: { $case: "csrPem", value: csr.csrPem },
    }),
  );
  const c = res.certificate!;
  return {
    certPem: c.certificatePem + c.issuingCaCertificatePem,
    keyPem: csr.keyPem,
    id: c.certificateId,
  };
}

/** A call's outcome as the client sees it: OK, or the status code and ErrorInfo reason. */
export async function outcomeOf(call: Promise<unknown>): Promise<{ code: status; reason: string }> {
  try {
    await call;
    return { code: status.OK, reason: "" };
  } catch (err) {
    const e = decodeError(err);
    return { code: e.code, reason: e.reason ?? "" };
  }
}

export interface MtlsProcess {
  server: ServerProcess;
  /** Clients of it presenting `cert` (and sending `token`, if any). */
  over(cert: ClientCert, token?: string): CertmintClients;
  stop(): Promise<void>;
}

/**
 * The compiled server on `databaseUrl` with TLS (a server certificate from an openssl CA made in
 * a directory of its own, removed by stop), requiring client certificates verified against
 * `clientCaPem`.
 */
export async function startMtlsProcess(env: {
  databaseUrl: string;
  kek: string;
  dataDir: string;
  clientCaPem: string;
}): Promise<MtlsProcess> {
  const dir = new TempDir();
  const serverCa = makeCa(dir, "probe51 identity server CA");
  const leaf = makeLeaf(dir, serverCa, "certmint", "server");
  const server = await startServerProcess({
    DATABASE_URL: env.databaseUrl,
    CERTMINT_DATA_DIR: env.dataDir,
    CERTMINT_KEK: env.kek,
    CERTMINT_TLS_CERT_FILE: leaf.certFile,
    CERTMINT_TLS_KEY_FILE: leaf.keyFile,
    CERTMINT_TLS_CLIENT_CA_FILE: dir.file("client-cas.pem", env.clientCaPem),
    CERTMINT_TLS_REQUIRE_CLIENT_CERT: "true",
    CERTMINT_LOG_FORMAT: "json",
  });
  const clients: MtlsClients = mtlsClients(serverCa);
  return {
    server,
    over: (cert, token) => clients.at(server.address, cert, token),
    async stop() {
      clients.closeAll();
      await server.stop();
      dir.remove();
    },
  };
}
