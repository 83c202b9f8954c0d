import { CertificateProfileEntity, type CertificateProfileRow } from "../../store/entities";
import { oldestFirstPage, type Page, type PageRequest } from "../common/list-page";
import { findByRef } from "../common/refs";
import type { ProfileDeps } from "./inputs";

export async function getProfile(deps: ProfileDeps, ref: string): Promise<CertificateProfileRow> {
  return findByRef(
    deps.orm.em.fork(),
    CertificateProfileEntity,
    ref,
    "certificate profile",
    "certificate_profile",
  );
}

/** Profiles oldest first, a keyset page at a time. */
export async function listProfiles(
  deps: ProfileDeps,
  request: PageRequest,
): Promise<Page<CertificateProfileRow>> {
  return oldestFirstPage(deps.orm.em.fork(), deps.keyring, CertificateProfileEntity, request, {
    list: "ListCertificateProfiles",
  });
}
