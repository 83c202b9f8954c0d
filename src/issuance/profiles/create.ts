import { alreadyExists } from "../../errors";
import { type CallerLocks, changeTransaction } from "../access-tokens/caller";
import { createdFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { newRowId } from "../common/ids";
import { checkSlug } from "../common/refs";
import {
  type AuditRepository,
  type CaRepository,
  type CertificateProfile,
  type PolicyRepository,
  type ProfileRepository,
  StillReferenced,
  type StoreWith,
  UniqueConflict,
} from "../repositories";
import type { NewProfileInput } from "./inputs";
import { caDeletedMeanwhile, checkProfile } from "./validate";

export interface CreateProfileDeps {
  store: StoreWith<
    CallerLocks & {
      profiles: Pick<ProfileRepository, "slugTaken" | "insert">;
      policies: Pick<PolicyRepository, "find" | "lock">;
      cas: Pick<CaRepository, "find">;
      audit: Pick<AuditRepository, "insert">;
    }
  >;
  now: () => Date;
}

/**
 * Creates a profile. INVALID_ARGUMENT when it is malformed or its defaults break its own policy;
 * NOT_FOUND for a missing policy or CA (also one deleted meanwhile); ALREADY_EXISTS for a taken slug. Check and insert run in
 * one transaction that holds the policy row locked (validate.ts).
 */
export async function createProfile(
  deps: CreateProfileDeps,
  call: Call,
  input: NewProfileInput,
): Promise<CertificateProfile> {
  checkSlug(input.slug, "certificate_profile.slug");
  try {
    return await changeTransaction(deps, { call }, async (tx) => {
      if (await tx.profiles.slugTaken(input.slug)) throw slugTaken(input.slug);
      const checked = await checkProfile(tx, input);
      const now = deps.now();
      const profile: CertificateProfile = {
        id: newRowId(),
        slug: input.slug,
        ...checked,
        version: 1,
        createdAt: now,
        updatedAt: now,
      };
      await tx.profiles.insert(profile);
      // The audit record commits with the row (issue 6).
      await tx.audit.insert(
        changeRecord(
          call,
          { type: "certificate_profile", id: profile.id },
          now,
          undefined,
          createdFields(profile),
        ),
      );
      return profile;
    });
  } catch (err) {
    // Two creates racing for one slug: the unique index decides.
    if (err instanceof UniqueConflict) throw slugTaken(input.slug);
    if (err instanceof StillReferenced) throw caDeletedMeanwhile(input.issuer);
    throw err;
  }
}

const slugTaken = (slug: string) =>
  alreadyExists("CERTIFICATE_PROFILE_SLUG_TAKEN", `a certificate profile "${slug}" already exists`);
