import { failedPrecondition } from "../../errors";
import { resolveRef } from "../../issuance/common/refs";
import type { CertificateProfile, ProfileRepository } from "../../issuance/repositories";

/**
 * The profile a list names (an id or a slug), ACME or not: NOT_FOUND
 * (CERTIFICATE_PROFILE_NOT_FOUND) for an unknown one. A profile whose enrollment method was
 * changed from ACME keeps its keys and accounts (they come back with the method), and an admin
 * must still see them, and revoke them, then.
 */
export function profileNamed(
  store: { profiles: Pick<ProfileRepository, "find"> },
  ref: string,
): Promise<CertificateProfile> {
  return resolveRef(ref, "certificate profile", "certificate_profile", (k) =>
    store.profiles.find(k),
  );
}

/**
 * The ACME profile an admin's call names (an id or a slug): NOT_FOUND
 * (CERTIFICATE_PROFILE_NOT_FOUND) for an unknown one, FAILED_PRECONDITION (PROFILE_NOT_ACME)
 * for a profile that does not enroll by ACME: it has no External Account Binding keys or
 * ACME accounts to make or list.
 */
export async function acmeProfileNamed(
  store: { profiles: Pick<ProfileRepository, "find"> },
  ref: string,
  what: string,
): Promise<CertificateProfile> {
  const profile = await profileNamed(store, ref);
  if (profile.enrollmentMethod !== "ACME") {
    throw failedPrecondition(
      "PROFILE_NOT_ACME",
      `certificate profile "${profile.slug}" enrolls by ${profile.enrollmentMethod}, not ACME: ${what} belong to ACME profiles`,
      {
        preconditions: [
          {
            type: "ENROLLMENT_METHOD",
            subject: `certificate_profiles/${profile.slug}`,
            description: "the enrollment method must be ACME",
          },
        ],
      },
    );
  }
  return profile;
}
