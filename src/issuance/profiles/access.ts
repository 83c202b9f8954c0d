import { type Call, mayActOnProfile, requireProfileAccess } from "../call";
import type { ProfileRepository } from "../repositories";

/**
 * requireProfileAccess for a row that holds only a profile id (a request, a certificate):
 * the profile's slug is read only to word a refusal, so the allowed path costs no query.
 */
export async function requireProfileAccessById(
  store: { profiles: Pick<ProfileRepository, "find"> },
  call: Call,
  profileId: string | null,
): Promise<void> {
  if (mayActOnProfile(call, profileId)) return;
  const profile = profileId ? await store.profiles.find({ id: profileId }) : null;
  requireProfileAccess(call, { id: profileId, slug: profile?.slug ?? profileId ?? "(deleted)" });
}
