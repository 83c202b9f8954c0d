import type { EntityManager } from "@mikro-orm/postgresql";
import type { CertmintError } from "../../errors";
import {
  CertificateAuthorityEntity,
  type CertificateAuthorityRow,
  CertificateProfileEntity,
  type CertificateProfileRow,
} from "../../store/entities";
import type { IssuanceRows, ProfileKey } from "../../store/raw-read";
import { findByRef, isUuid, referenceMissing, referenceNotFound } from "../common/refs";
import { compiledPolicyOf, loadCompiledPolicy } from "../policies/compiled-cache";
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

/** The renewal jsonb with every setting present (absent booleans are false). */
export function storedRenewal(
  profile: Pick<CertificateProfileRow, "renewal">,
): Required<RenewalSettings> {
  const r = profile.renewal as Partial<RenewalSettings>;
  return {
    autoRenew: r.autoRenew === true,
    renewBeforeDays: r.renewBeforeDays ?? 0,
    allowSharedRenewal: r.allowSharedRenewal === true,
    renewBeforeSeconds: r.renewBeforeSeconds ?? 0,
  };
}

/**
 * A profile reference read as findByRef (common/refs.ts) reads it: trimmed, a UUID is an id
 * (lower-cased), anything else a slug; null when empty (see profileReferenceMissing).
 */
export function profileKeyOf(ref: string): ProfileKey | null {
  const trimmed = ref.trim();
  if (trimmed === "") return null;
  return isUuid(trimmed) ? { id: trimmed.toLowerCase() } : { slug: trimmed };
}

/** findByRef's INVALID_ARGUMENT for an empty profile reference (field `certificate_profile`). */
export function profileReferenceMissing(): CertmintError {
  return referenceMissing("certificate profile", "certificate_profile");
}

/**
 * The profile of rows read by store/raw-read.ts readIssuanceRows; NOT_FOUND
 * (CERTIFICATE_PROFILE_NOT_FOUND) as findByRef when there is none.
 */
export function foundProfile(ref: string, rows: IssuanceRows): CertificateProfileRow {
  if (!rows.profile) throw referenceNotFound("certificate profile", ref.trim());
  return rows.profile;
}

/**
 * What issuing under a found profile needs, from the same rows: its compiled policy (cached
 * per id and version), defaults, renewal settings and CA (null when self-signed). A policy or
 * CA row missing (the foreign keys forbid it) is looked up again through the ORM, which fails
 * as loadProfileForIssuance and a findOneOrFail of the CA do.
 */
export async function issuanceSettings(
  em: EntityManager,
  profile: CertificateProfileRow,
  rows: IssuanceRows,
): Promise<ProfileForIssuance & { ca: CertificateAuthorityRow | null }> {
  const policy = rows.policy
    ? compiledPolicyOf(rows.policy)
    : await loadCompiledPolicy(em, profile.policyId);
  const ca = profile.caId
    ? (rows.ca ?? (await em.findOneOrFail(CertificateAuthorityEntity, { id: profile.caId })))
    : null;
  return {
    profile,
    policy,
    defaults: storedDefaults(profile),
    renewal: storedRenewal(profile),
    ca,
  };
}
