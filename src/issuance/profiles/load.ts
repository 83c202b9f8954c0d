import type { CertmintError } from "../../errors";
import { noteRevokedAbove } from "../ca/load";
import { referenceMissing, referenceNotFound, resolveRef } from "../common/refs";
import { compiledPolicyOf, loadCompiledPolicy } from "../policies/compiled-cache";
import type { CompiledPolicy } from "../policy-engine";
import type {
  CaRepository,
  CertificateAuthority,
  CertificateProfile,
  IssuanceRows,
  PolicyRepository,
  ProfileRepository,
} from "../repositories";
import type { ProfileDefaults, RenewalSettings } from "./types";

/** A profile with what issuing under it needs: its compiled policy and its JSON settings. */
export interface ProfileForIssuance {
  profile: CertificateProfile;
  /** Compiled once per policy version and cached (policies/compiled-cache.ts). */
  policy: CompiledPolicy;
  defaults: ProfileDefaults;
  renewal: Required<RenewalSettings>;
}

/**
 * Loads a profile by id or slug for IssueCertificate / RenewCertificate / approval. NOT_FOUND
 * (CERTIFICATE_PROFILE_NOT_FOUND) when it does not exist; INVALID_ARGUMENT on field
 * `certificate_profile` when the reference is empty. The issuer is `profile.caId` (null when
 * `profile.selfSigned`); the CA may not be ACTIVE (check it with ca/load.ts requireActive).
 */
export async function loadProfileForIssuance(
  store: { profiles: Pick<ProfileRepository, "find">; policies: Pick<PolicyRepository, "find"> },
  ref: string,
): Promise<ProfileForIssuance> {
  const profile = await resolveRef(ref, "certificate profile", "certificate_profile", (k) =>
    store.profiles.find(k),
  );
  return {
    profile,
    policy: await loadCompiledPolicy(store.policies, profile.policyId),
    defaults: storedDefaults(profile),
    renewal: storedRenewal(profile),
  };
}

/** The defaults jsonb, as validate.ts writes it (the types.ts shape); a fresh copy. */
export function storedDefaults(profile: Pick<CertificateProfile, "defaults">): ProfileDefaults {
  return structuredClone(profile.defaults);
}

/**
 * The defaults of an issuance's profile, which planning only reads: the row's own when it is
 * frozen (the issuance read hands out deep-frozen records, a new one whenever the row changed,
 * src/store/repositories/issuance.ts), else a copy. structuredClone of them was ~15 us of a lone
 * CSR issuance's main-thread CPU (bench/profile, 1 client).
 */
function readOnlyDefaults(profile: Pick<CertificateProfile, "defaults">): ProfileDefaults {
  return Object.isFrozen(profile.defaults) ? profile.defaults : storedDefaults(profile);
}

/** The renewal jsonb with every setting present (absent booleans are false). */
export function storedRenewal(
  profile: Pick<CertificateProfile, "renewal">,
): Required<RenewalSettings> {
  const r: Partial<RenewalSettings> = profile.renewal;
  return {
    autoRenew: r.autoRenew === true,
    renewBeforeDays: r.renewBeforeDays ?? 0,
    allowSharedRenewal: r.allowSharedRenewal === true,
    renewBeforeSeconds: r.renewBeforeSeconds ?? 0,
  };
}

/** resolveRef's INVALID_ARGUMENT for an empty profile reference (field `certificate_profile`). */
export function profileReferenceMissing(): CertmintError {
  return referenceMissing("certificate profile", "certificate_profile");
}

/**
 * The profile of rows read by the issuance repository (findProfileAndPrior); NOT_FOUND
 * (CERTIFICATE_PROFILE_NOT_FOUND) as resolveRef when there is none.
 */
export function foundProfile(ref: string, rows: IssuanceRows): CertificateProfile {
  if (!rows.profile) throw referenceNotFound("certificate profile", ref.trim());
  return rows.profile;
}

/**
 * What issuing under a found profile needs, from the same rows: its compiled policy (cached
 * per id and version), defaults, renewal settings and CA (null when self-signed). A policy or
 * CA row missing (the foreign keys forbid it) is looked up again, which fails as
 * loadProfileForIssuance does.
 */
export async function issuanceSettings(
  store: { policies: Pick<PolicyRepository, "find">; cas: Pick<CaRepository, "find"> },
  profile: CertificateProfile,
  rows: IssuanceRows,
): Promise<ProfileForIssuance & { ca: CertificateAuthority | null }> {
  const policy = rows.policy
    ? compiledPolicyOf(rows.policy)
    : await loadCompiledPolicy(store.policies, profile.policyId);
  const ca = profile.caId ? (rows.ca ?? (await requireCa(store.cas, profile.caId))) : null;
  // requireCa notes it itself; a CA below a revoked one is refused naming it (ca/load.ts).
  if (rows.ca) await noteRevokedAbove(store.cas, rows.ca);
  return {
    profile,
    policy,
    defaults: readOnlyDefaults(profile),
    renewal: storedRenewal(profile),
    ca,
  };
}

/** The CA a profile names (the foreign key guarantees it); INTERNAL when it is gone. */
export async function requireCa(
  cas: Pick<CaRepository, "find">,
  id: string,
): Promise<CertificateAuthority> {
  const ca = await cas.find({ id });
  if (!ca) throw new Error(`certificate authority ${id} vanished`);
  // A CA below a revoked one is refused naming it (ca/load.ts requireActive).
  await noteRevokedAbove(cas, ca);
  return ca;
}
