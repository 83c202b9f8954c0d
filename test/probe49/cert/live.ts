/**
 * A live certmint for the probe: the compiled server (dist/src/main.js) started as a process on
 * its own PostgreSQL test database, with its publication port (CRLs, CA certificates, OCSP) on
 * an unused port, and typed gRPC clients holding the first admin token. Black-box: nothing of
 * src/ is imported; rows are read straight from PostgreSQL.
 */
import {
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
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
import {
  KeyAlgorithm,
  type Subject,
  type SubjectAlternativeNames,
} from "../../../gen/ts/certmint/v1/common";
import type { DeepPartial } from "../../../gen/ts/google/protobuf/duration";
import { type CertmintClients, call, makeClients } from "../../support/harness";
import { openssl } from "../../support/openssl";
import { unusedPort } from "../../support/ports";
import type { TestDatabase } from "../../support/postgres";
import type { ServerProcess } from "../../support/server-process";
import { startOnFreshDatabase, stopOnDatabase } from "../live";

export interface LiveCertmint extends CertmintClients {
  server: ServerProcess;
  db: TestDatabase;
  /** http://127.0.0.1:<port> of the publication port. */
  base: string;
  ocspUrl: string;
  stop(): Promise<void>;
}

export async function startLive(env: Record<string, string> = {}): Promise<LiveCertmint> {
  const port = await unusedPort();
  const base = `http://127.0.0.1:${port}`;
  const ocspUrl = `${base}/ocsp`;
  const { server, db } = await startOnFreshDatabase(
    {
      CERTMINT_PUBLIC_BASE_URL: base,
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      CERTMINT_OCSP_URL: ocspUrl,
      ...env,
    },
    "certmint_p49cert",
  );
  const clients = makeClients(server.address, server.adminToken());
  return {
    ...clients,
    server,
    db,
    base,
    ocspUrl,
    stop: () => stopOnDatabase([clients], { server, db }),
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

/** CreateIntermediateCertificateAuthority as the admin, the request as written. */
export function createIntermediateCa(
  live: LiveCertmint,
  request: DeepPartial<CreateIntermediateCertificateAuthorityRequest>,
) {
  return call(
    live.authorities,
    "createIntermediateCertificateAuthority",
    CreateIntermediateCertificateAuthorityRequest.fromPartial(request),
  );
}

/** The rules of a "web" policy: DNS names under example.com, any CN. */
export const WEB_RULES = {
  sanRules: { dns: { allowed: ["**.example.com"] } },
  subjectRules: { commonName: { allowed: ["*"] } },
} satisfies DeepPartial<CertificatePolicy>;

/** The TLS-server policy "web" (WEB_RULES) and the profile "web" on it that `ca` signs for. */
export async function createWebProfile(live: LiveCertmint, ca: string) {
  await createPolicy(live, "web", WEB_RULES);
  return createProfile(live, "web", "web", { ca });
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

/** IssueCertificate as the admin. */
export function issueCertificate(live: LiveCertmint, request: IssueCertificateRequest) {
  return call(live.certificates, "issueCertificate", request);
}

/** IssueCertificate for a key certmint generates. */
export function attributesRequest(
  profile: string,
  o: {
    cn?: string;
    /** The whole subject, in place of `cn`. */
    subject?: DeepPartial<Subject>;
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
        subject: o.subject ?? (o.cn === undefined ? {} : { commonName: o.cn }),
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

/**
 * `openssl ocsp` against the live responder: the certificates `ask` names (its "-cert <file>"
 * or "-serial <n>" options, after `-issuer`) of `issuer`, the response checked against `caFile`.
 * `digest` comes first because openssl applies it to the CertIDs of the options after it.
 */
export function ocspQuery(
  live: LiveCertmint,
  o: { issuer: string; ask: string[]; caFile: string; digest?: string; extra?: string[] },
) {
  return openssl([
    "ocsp",
    ...(o.digest ? [o.digest] : []),
    "-issuer",
    o.issuer,
    ...o.ask,
    "-url",
    live.ocspUrl,
    "-CAfile",
    o.caFile,
    ...(o.extra ?? []),
  ]);
}

/** `openssl req` options for a new unencrypted P-256 key, written to `keyFile`. */
export function newP256KeyArgs(keyFile: string): string[] {
  return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile];
}

/** The number of CA rows, as the one row of a count query (to show a refusal stored no CA). */
export function caCountRows(live: LiveCertmint) {
  return live.db.query("select count(*)::int as n from certificate_authority");
}

/** Rows of the tables an issuance writes, to show a refusal stored no certificate. */
export async function certificateCount(db: TestDatabase): Promise<number> {
  const [row] = await db.query<{ n: string }>("select count(*)::text as n from certificate");
  return Number(row!.n);
}
