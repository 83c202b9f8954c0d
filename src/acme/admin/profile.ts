import { failedPrecondition } from "../../errors";
import { resolveRef } from "../../issuance/common/refs";
import type { CertificateProfile, ProfileRepository } from "../../issuance/repositories";

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
  const profile = await resolveRef(ref, "certificate profile", "certificate_profile", (k) =>
    store.profiles.find(k),
  );
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
