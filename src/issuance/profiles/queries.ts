import { listPage, type Page, type PageRequest } from "../common/list-page";
import type { PageTokenKeys } from "../common/pagination";
import { resolveRef } from "../common/refs";
import type { CertificateProfile, ProfileRepository } from "../repositories";

export interface ProfileQueryDeps {
  store: { profiles: Pick<ProfileRepository, "find" | "listOldestFirst"> };
  keyring: PageTokenKeys;
}

export function getProfile(deps: ProfileQueryDeps, ref: string): Promise<CertificateProfile> {
  return resolveRef(ref, "certificate profile", "certificate_profile", (k) =>
    deps.store.profiles.find(k),
  );
}

/** Profiles oldest first, a keyset page at a time. */
export function listProfiles(
  deps: ProfileQueryDeps,
  request: PageRequest & { caller: string },
): Promise<Page<CertificateProfile>> {
  return listPage(
    deps.keyring,
    request,
    { list: "ListCertificateProfiles", filter: { caller: request.caller } },
    (page) => deps.store.profiles.listOldestFirst(page),
  );
}
