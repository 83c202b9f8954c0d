import { CertificatePolicyEntity, type CertificatePolicyRow } from "../../store/entities";
import { oldestFirstPage, type Page, type PageRequest } from "../common/list-page";
import { findByRef } from "../common/refs";
import type { PolicyDeps } from "./types";

export async function getPolicy(deps: PolicyDeps, ref: string): Promise<CertificatePolicyRow> {
  return findByRef(
    deps.orm.em.fork(),
    CertificatePolicyEntity,
    ref,
    "certificate policy",
    "certificate_policy",
  );
}

/** Policies oldest first, a keyset page at a time. */
export async function listPolicies(
  deps: PolicyDeps,
  request: PageRequest,
): Promise<Page<CertificatePolicyRow>> {
  return oldestFirstPage(deps.orm.em.fork(), deps.keyring, CertificatePolicyEntity, request, {
    list: "ListCertificatePolicies",
  });
}
