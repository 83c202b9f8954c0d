import { CertificateProfileEntity, type CertificateProfileRow } from "../../store/entities";
import { findByRef } from "../common/refs";
import { oldestFirstPage, type Page, type PageRequest } from "../policies/list-page";
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
  return oldestFirstPage(deps.orm.em.fork(), CertificateProfileEntity, request);
}
