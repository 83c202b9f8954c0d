import { createPublicKey } from "node:crypto";
import { parseCsr, spkiSha256Of } from "../../signer";
import { assertCaNameFree } from "../ca/new-ca";
import { defaultUsagesFor } from "../policy-engine";
import { loadProfileForIssuance, requireCa } from "../profiles/load";
import type {
  CaRepository,
  CertificateRepository,
  CertificateRequest,
  PolicyRepository,
  ProfileRepository,
} from "../repositories";
import { caPlan, union } from "./plan";
import type { IssuancePlan, KeySource, StoredParams } from "./types";

/**
 * Rebuilds the plan of a stored request (for approval, or to finish a request whose worker
 * died), with the profile, policy and CA as they are now.
 */
export async function planFromStored(
  store: {
    profiles: Pick<ProfileRepository, "find">;
    policies: Pick<PolicyRepository, "find">;
    cas: Pick<CaRepository, "find" | "siblingSubjects">;
    certificates: Pick<CertificateRepository, "caCertificatesIssuedBy">;
  },
  row: CertificateRequest,
): Promise<IssuancePlan> {
  const params: StoredParams = row.params;
  const { profile, policy } = await loadProfileForIssuance(store, row.profileId);
  const ca = profile.caId ? await requireCa(store.cas, profile.caId) : null;
  let key: KeySource;
  if (params.keySource === "CSR") {
    key = { kind: "CSR", csrPem: row.csrPem!, publicKey: parseCsr(row.csrPem!).publicKey };
  } else if (params.keySource === "REUSE") {
    key = {
      kind: "REUSE",
      publicKey: createPublicKey({
        key: Buffer.from(params.reusedSpki!, "base64"),
        format: "der",
        type: "spki",
      }),
    };
  } else {
    key = { kind: "GENERATE", keyAlgorithm: params.keyAlgorithm };
  }
  const required = defaultUsagesFor(policy);
  const plan: IssuancePlan = {
    profile,
    policy,
    ca,
    subject: row.subject,
    sans: row.sans,
    key,
    keyAlgorithm: params.keyAlgorithm,
    signatureAlgorithm: params.signatureAlgorithm,
    // The policy's required usages as it is now are added, as at a fresh request (plan.ts):
    // until stop 41 of 2026-12-06 a usage the policy came to require while the request waited
    // refused it at approval instead (an outside probe).
    keyUsages: union(params.keyUsages, required.keyUsages),
    extendedKeyUsages: union(params.extendedKeyUsages, required.extendedKeyUsages),
    ttlSeconds: params.ttlSeconds,
    ...caPlan(policy, params.isCa ?? false, params.pathLength),
  };
  // One name per CA under one issuer (RFC 5280 4.1.2.6), as at the request (plan.ts): the
  // issuer may have certified a CA of this name, with another key, while the request waited
  // (another approved request, a CreateIntermediate). Until a review of stop 44 of 2026-12-06
  // an approval did not look, and one issuer certified several CAs of one name.
  if (ca && plan.isCa) {
    const spki = key.kind === "GENERATE" ? undefined : spkiSha256Of(key.publicKey);
    await assertCaNameFree(store, ca.id, plan.subject, spki);
  }
  return plan;
}
