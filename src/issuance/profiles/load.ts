import type { EntityManager } from "@mikro-orm/postgresql";
import { CertificateProfileEntity, type CertificateProfileRow } from "../../store/entities";
import { findByRef } from "../common/refs";
import { loadCompiledPolicy } from "../policies/compiled-cache";
import type { CompiledPolicy } from "../policy";
import type { ProfileDefaults, RenewalSettings } from "./types";

/** A profile with what issuing under it needs: its compiled policy and its JSON settings. */
export interface ProfileForIssuance {
  profile: CertificateProfileRow;
  /** Compiled once per policy version and cached (policies/compiled-cache.ts). */
  policy: CompiledPolicy;
  defaults: ProfileDefaults;
  renewal: RenewalSettings;
}

/**
 * Loads a profile by id or slug for IssueCertificate / RenewCertificate / approval. NOT_FOUND
 * (CERTIFICATE_PROFILE_NOT_FOUND) when it does not exist; INVALID_ARGUMENT on field
 * `certificate_profile` when the reference is empty. The issuer is `profile.caId` (null when
 * `profile.selfSigned`); the CA may not be ACTIVE (check it with ca/load.ts requireActive).
 */
export async function loadProfileForIssuance(
  em: EntityManager,
  ref: string,
): Promise<ProfileForIssuance> {
  const profile = await findByRef(
    em,
    CertificateProfileEntity,
    ref,
    "certificate profile",
    "certificate_profile",
  );
  return {
    profile,
    policy: await loadCompiledPolicy(em, profile.policyId),
    defaults: storedDefaults(profile),
    renewal: storedRenewal(profile),
  };
}

/** The defaults jsonb, as validate.ts writes it (the types.ts shape); a fresh copy. */
export function storedDefaults(profile: Pick<CertificateProfileRow, "defaults">): ProfileDefaults {
  return structuredClone(profile.defaults) as ProfileDefaults;
}

export function storedRenewal(profile: Pick<CertificateProfileRow, "renewal">): RenewalSettings {
  const r = profile.renewal as Partial<RenewalSettings>;
  return { autoRenew: r.autoRenew === true, renewBeforeDays: r.renewBeforeDays ?? 0 };
}
