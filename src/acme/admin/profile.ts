import { failedPrecondition } from "../../errors";
import { listPage, type Page, type PageRequest } from "../../issuance/common/list-page";
import type { PageTokenKeys } from "../../issuance/common/pagination";
import { resolveRef } from "../../issuance/common/refs";
import type { CertificateProfile, PageQuery, ProfileRepository } from "../../issuance/repositories";

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

/** What listing a profile's ACME keys or accounts needs besides the rows' own read. */
export interface ProfileListDeps {
  store: { profiles: Pick<ProfileRepository, "find"> };
  keyring: PageTokenKeys;
}

/**
 * A page of what a profile holds (its External Account Binding keys, its ACME accounts), oldest
 * first (created_at, id), a keyset page at a time with signed page tokens scoped to the list,
 * the caller and the profile's id (so its slug and id page alike), as ListAccessTokens pages.
 * No list gate (common/list-gate.ts): each page is a range of an index
 * (Migration20261206180000AcmeAdministration), not a scan.
 */
export async function profilePage<T extends { id: string; createdAt: Date }>(
  deps: ProfileListDeps,
  request: PageRequest & { caller: string; profile: string },
  list: string,
  read: (profileId: string, query: PageQuery) => Promise<T[]>,
): Promise<Page<T>> {
  const profile = await profileNamed(deps.store, request.profile);
  return listPage(
    deps.keyring,
    request,
    { list, filter: { caller: request.caller, profile: profile.id } },
    (query) => read(profile.id, query),
  );
}
