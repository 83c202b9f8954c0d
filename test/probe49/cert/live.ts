/**
 * A live certmint for the probe: the compiled server (dist/src/main.js) started as a process on
 * its own PostgreSQL test database, with its publication port (CRLs, CA certificates, OCSP) on
 * an unused port, and typed gRPC clients holding the first admin token. Black-box: nothing of
 * src/ is imported; rows are read straight from PostgreSQL.
 */
import { randomBytes } from "node:crypto";
import type { Client } from "@grpc/grpc-js";
import { CreateRootCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  type CertificatePolicy,
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CreateCertificateProfileRequest,
  type ProfileDefaults,
  ValidityOverflow,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { IssueCertificateRequest } from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, type SubjectAlternativeNames } from "../../../gen/ts/certmint/v1/common";
import type { DeepPartial } from "../../../gen/ts/google/protobuf/duration";
import { type CertmintClients, call, makeClients } from "../../support/harness";
import { unusedPort } from "../../support/ports";
import { createTestDatabase, type TestDatabase } from "../../support/postgres";
import { type ServerProcess, startServerProcess } from "../../support/server-process";

export interface LiveCertmint extends CertmintClients {
  server: ServerProcess;
  db: TestDatabase;
  /** http://127.0.0.1:<port> of the publication port. */
  base: string;
  ocspUrl: string;
  stop(): Promise<void>;
}

export async function startLive(env: Record<string, string> = {}): Promise<LiveCertmint> {
  const db = await createTestDatabase({ prefix: "certmint_p49cert", migrated: true });
  const port = await unusedPort();
  const base = `http://127.0.0.1:${port}`;
  const ocspUrl = `${base}/ocsp`;
  const server = await startServerProcess({
    DATABASE_URL: db.url,
    CERTMINT_KEK: randomBytes(32).toString("base64"),
    CERTMINT_LOG_FORMAT: "json",
    CERTMINT_PUBLIC_BASE_URL: base,
    CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
    CERTMINT_OCSP_URL: ocspUrl,
    ...env,
  });
  const clients = makeClients(server.address, server.adminToken());
  return {
    ...clients,
    server,
    db,
    base,
    ocspUrl,
    async stop() {
      for (const c of Object.values(clients)) (c as Client).close();
      await server.stop();
      await db.drop();
    },
  };
}

export async function createRootCa(
  live: LiveCertmint,
  slug: string,
  keyAlgorithm: KeyAlgorithm,
  extra: DeepPartial<CreateRootCertificateAuthorityRequest> = {},
) {
  const res = await call(
    live.authorities,
    "createRootCertificateAuthority",
    CreateRootCertificateAuthorityRequest.fromPartial({
      slug,
      subject: { commonName: `${slug} CA`, organization: ["Probe 49"] },
      keyAlgorithm,
      ...extra,
    }),
  );
  return res.certificateAuthority!;
}

/** A policy from a preset; `rules` fills (and overrides) its fields. */
export async function createPolicy(
  live: LiveCertmint,
  slug: string,
  rules: DeepPartial<CertificatePolicy>,
  preset = CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
) {
  const res = await call(
    live.policies,
    "createCertificatePolicy",
    CreateCertificatePolicyRequest.fromPartial({
      preset,
      certificatePolicy: { slug, maxTtl: { seconds: String(30 * 86400), nanos: 0 }, ...rules },
    }),
  );
  return res.certificatePolicy!;
}

export async function createProfile(
  live: LiveCertmint,
  slug: string,
  policy: string,
  issuer: { ca: string } | { selfSigned: true },
  o: { defaults?: DeepPartial<ProfileDefaults>; truncate?: boolean } = {},
) {
  const res = await call(
    live.profiles,
    "createCertificateProfile",
    CreateCertificateProfileRequest.fromPartial({
      certificateProfile: {
        slug,
        certificatePolicy: policy,
        issuer:
          "ca" in issuer
            ? { $case: "certificateAuthority", value: issuer.ca }
            : { $case: "selfSigned", value: true },
        defaults: o.defaults ?? { ttl: { seconds: "86400", nanos: 0 } },
        validityOverflow: o.truncate
          ? ValidityOverflow.VALIDITY_OVERFLOW_TRUNCATE
          : ValidityOverflow.VALIDITY_OVERFLOW_FAIL,
      },
    }),
  );
  return res.certificateProfile!;
}

/** IssueCertificate for a key certmint generates. */
export function attributesRequest(
  profile: string,
  o: {
    cn?: string;
    sans?: DeepPartial<SubjectAlternativeNames>;
    keyAlgorithm?: KeyAlgorithm;
    extra?: DeepPartial<IssueCertificateRequest>;
  },
): IssueCertificateRequest {
  return IssueCertificateRequest.fromPartial({
    certificateProfile: profile,
    source: {
      $case: "attributes",
      value: {
        subject: o.cn === undefined ? {} : { commonName: o.cn },
        subjectAlternativeNames: o.sans ?? {},
        keyAlgorithm: o.keyAlgorithm ?? KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      },
    },
    ...o.extra,
  });
}

export function csrRequest(
  profile: string,
  csrPem: string,
  extra: DeepPartial<IssueCertificateRequest> = {},
): IssueCertificateRequest {
  return IssueCertificateRequest.fromPartial({
    certificateProfile: profile,
    source: { $case: "csrPem", value: csrPem },
    ...extra,
  });
}

/** Rows of the tables an issuance writes, to show a refusal stored no certificate. */
export async function certificateCount(db: TestDatabase): Promise<number> {
  const [row] = await db.query<{ n: string }>("select count(*)::text as n from certificate");
  return Number(row!.n);
}
