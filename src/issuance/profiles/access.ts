import type { EntityManager } from "@mikro-orm/postgresql";
import { CertificateProfileEntity } from "../../store/entities";
import { mayActOnProfile, requireProfileAccess } from "../call-scope";

/**
 * requireProfileAccess for a row that holds only a profile id (a request, a certificate):
 * the profile's slug is read only to word a refusal, so the allowed path costs no query.
 */
export async function requireProfileAccessById(
  em: EntityManager,
  profileId: string | null,
): Promise<void> {
  if (mayActOnProfile(profileId)) return;
  const profile = profileId
    ? await em.findOne(CertificateProfileEntity, { id: profileId }, { fields: ["slug"] })
    : null;
  requireProfileAccess({ id: profileId, slug: profile?.slug ?? profileId ?? "(deleted)" });
}
