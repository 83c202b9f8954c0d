import { permissionDenied } from "../../errors";
import { type Call, mayActOnProfile } from "../call";
import type { ProfileRepository } from "../repositories";

/**
 * requireProfileAccess for a row that holds only a profile id (a request, a certificate),
 * named by the caller by its own id or serial. The refusal does not name the row's profile:
 * the caller gave no profile, and an issuer or approver may not read the profiles it is not
 * granted (ListCertificateProfiles is for admins and auditors), so neither the slug nor the id
 * of one goes into its message or ErrorInfo. The allowed path costs no query.
 */
export async function requireProfileAccessById(
  _store: { profiles: Pick<ProfileRepository, "find"> },
  call: Call,
  profileId: string | null,
): Promise<void> {
  if (mayActOnProfile(call, profileId)) return;
  const { actor } = call;
  throw permissionDenied(
    "PROFILE_NOT_GRANTED",
    `access token "${actor.slug}" (${actor.role.toLowerCase()}) may not act on this object: it is on a certificate profile the token does not list; an admin can create a token that lists it`,
    { metadata: { access_token: actor.slug } },
  );
}
