import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import {
  CertificateAuthorityServiceClient,
  CreateRootCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { compilePolicy, type PolicySpec, presetSpec } from "../../src/issuance/policy-engine";
import type { ProfileDefaults } from "../../src/issuance/profiles/types";
import { bearer, type CertmintClients, call, type TestCertmint } from "./harness";
import type { TestDatabase } from "./postgres";

/** A root CA, by slug, created over gRPC. */
export async function createRoot(
  h: TestCertmint,
  slug = "root",
  keyAlgorithm = KeyAlgorithm.KEY_ALGORITHM_EC_P256,
) {
  const res = await call(
    h.authorities,
    "createRootCertificateAuthority",
    CreateRootCertificateAuthorityRequest.fromPartial({
      slug,
      subject: { commonName: `${slug} CA` },
      keyAlgorithm,
    }),
  );
  return res.certificateAuthority!;
}

/**
 * Over the gRPC API, as an admin of a server started as a process would: a TLS-server policy
 * `slug` allowing DNS names under example.com and any common name, certificates of at most
 * `maxTtlSeconds`.
 */
export async function createTlsServerPolicy(
  c: Pick<CertmintClients, "policies">,
  slug: string,
  maxTtlSeconds: number,
): Promise<void> {
  await call(
    c.policies,
    "createCertificatePolicy",
    CreateCertificatePolicyRequest.fromPartial({
      preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
      certificatePolicy: {
        slug,
        sanRules: { dns: { allowed: ["**.example.com"] } },
        subjectRules: { commonName: { allowed: ["*"] } },
        maxTtl: { seconds: String(maxTtlSeconds), nanos: 0 },
      },
    }),
  );
}

/** TLS-server policy allowing names under example.com (and denying *.evil.example.com). */
export function tlsServerSpec(): PolicySpec {
  const spec = presetSpec("TLS_SERVER");
  spec.sans.dns = { allowed: ["**.example.com"], denied: ["*.evil.example.com"], required: false };
  spec.sans.ip = { allowed: ["10.0.0.0/8"], denied: [], required: false };
  spec.subject.COMMON_NAME = { allowed: ["*"], denied: [], required: false };
  return spec;
}

export interface ProfileOptions {
  slug?: string;
  caId?: string | null;
  spec?: PolicySpec;
  defaults?: ProfileDefaults;
  requireApproval?: boolean;
  /** The requester may approve its own request (default false). */
  allowSelfApproval?: boolean;
  validityOverflow?: "FAIL" | "TRUNCATE";
  privateKeyRetention?: "RETURN_ONCE" | "STORE_ENCRYPTED";
}

/**
 * A policy and a profile written straight into the database (the policy compiled first, as
 * CreateCertificatePolicy does), for tests of the certificate lifecycle.
 */
export async function createProfileRows(
  h: TestCertmint,
  opts: ProfileOptions = {},
): Promise<{ profileId: string; policyId: string; slug: string }> {
  const slug = opts.slug ?? "web";
  const compiled = compilePolicy(opts.spec ?? tlsServerSpec());
  const policyId = randomUUID();
  const profileId = randomUUID();
  const now = new Date();
  await h.db.query(
    `insert into certificate_policy (id, slug, spec, created_at, updated_at) values ($1, $2, $3, $4, $4)`,
    [policyId, `${slug}-policy`, JSON.stringify(compiled.spec), now],
  );
  await h.db.query(
    `insert into certificate_profile (id, slug, policy_id, ca_id, self_signed, enrollment_method, defaults, renewal,
       require_approval, validity_overflow, private_key_retention, created_at, updated_at, allow_self_approval)
     values ($1, $2, $3, $4, $5, 'API', $6, '{"autoRenew":false,"renewBeforeDays":0}', $7, $8, $9, $10, $10, $11)`,
    [
      profileId,
      slug,
      policyId,
      opts.caId ?? null,
      !opts.caId,
      JSON.stringify(opts.defaults ?? {}),
      opts.requireApproval ?? false,
      opts.validityOverflow ?? "FAIL",
      opts.privateKeyRetention ?? "RETURN_ONCE",
      now,
      opts.allowSelfApproval ?? false,
    ],
  );
  return { profileId, policyId, slug };
}

/**
 * On a server started as a process (no TestCertmint): a root CA created over its gRPC API with
 * `token`, and a profile on it written into its database `db` (createRoot, createProfileRows).
 */
export async function createRootAndProfile(
  server: { address: string },
  db: TestDatabase,
  token: string,
  slugs: { root: string; profile: string },
) {
  const authorities = new CertificateAuthorityServiceClient(
    server.address,
    credentials.createInsecure(),
    { interceptors: [bearer(token)] },
  );
  try {
    // The fixtures use only these members of a TestCertmint.
    const h = { db, authorities } as unknown as TestCertmint;
    const root = await createRoot(h, slugs.root);
    const { slug: profile } = await createProfileRows(h, { slug: slugs.profile, caId: root.id });
    return { root, profile };
  } finally {
    authorities.close();
  }
}

/** A CSR made by openssl (an independent implementation), with its private key. */
export function opensslCsr(
  subject: string,
  sans: string[],
  key: "ec" | "rsa" | "ed25519" = "ec",
): { csrPem: string; keyPem: string } {
  const dir = mkdtempSync(join(tmpdir(), "certmint-csr-"));
  const keyArgs =
    key === "ec"
      ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
      : key === "rsa"
        ? ["-newkey", "rsa:2048"]
        : ["-newkey", "ed25519"];
  execFileSync(
    "openssl",
    [
      "req",
      "-new",
      ...keyArgs,
      "-nodes",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "csr.pem"),
      "-subj",
      subject,
      ...(sans.length ? ["-addext", `subjectAltName=${sans.join(",")}`] : []),
    ],
    { stdio: "ignore" },
  );
  return {
    csrPem: readFileSync(join(dir, "csr.pem"), "utf8"),
    keyPem: readFileSync(join(dir, "key.pem"), "utf8"),
  };
}
