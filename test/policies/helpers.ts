import {
  CertificatePolicy,
  type CertificatePolicyPreset,
  type DeepPartial,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import { call, type TestCertmint } from "../support/harness";

export const DAY = 86_400;

/** A google.protobuf.Duration of whole days. */
export const days = (n: number) => ({ seconds: String(n * DAY), nanos: 0 });

/** A CertificatePolicy message from the fields a test cares about. */
export const policyMessage = (partial: DeepPartial<CertificatePolicy>): CertificatePolicy =>
  CertificatePolicy.fromPartial(partial);

/** Creates a policy over gRPC; returns the stored proto policy. */
export async function createPolicyRpc(
  h: TestCertmint,
  partial: DeepPartial<CertificatePolicy>,
  preset = 0 as CertificatePolicyPreset,
) {
  const res = await call(h.policies, "createCertificatePolicy", {
    certificatePolicy: policyMessage(partial),
    preset,
  });
  return res.certificatePolicy!;
}

/** A TLS-server policy for *.example.com names with a CN rule, as profile tests need one. */
export function webPolicy(slug: string, extra: DeepPartial<CertificatePolicy> = {}) {
  return {
    slug,
    sanRules: { dns: { allowed: ["**.example.com"] } },
    subjectRules: { commonName: { allowed: ["*.example.com"] } },
    maxTtl: days(90),
    ...extra,
  } satisfies DeepPartial<CertificatePolicy>;
}

export async function countRows(h: TestCertmint, table: string, where = "true"): Promise<number> {
  const [row] = await h.db.query<{ n: string }>(
    `select count(*) as n from ${table} where ${where}`,
  );
  return Number(row!.n);
}

/** The stored row of a policy, as PostgreSQL has it. */
export async function policyRow(h: TestCertmint, slug: string) {
  const [row] = await h.db.query<{
    id: string;
    slug: string;
    description: string;
    spec: Record<string, unknown>;
    version: number;
  }>("select id, slug, description, spec, version from certificate_policy where slug = $1", [slug]);
  return row;
}
