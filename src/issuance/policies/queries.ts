import type { Page, PageRequest } from "../common/list-page";
import { listPage } from "../common/list-page";
import type { PageTokenKeys } from "../common/pagination";
import { resolveRef } from "../common/refs";
import type { CertificatePolicy, PolicyRepository } from "../repositories";

export interface PolicyQueryDeps {
  store: { policies: Pick<PolicyRepository, "find" | "listOldestFirst"> };
  keyring: PageTokenKeys;
}

export function getPolicy(deps: PolicyQueryDeps, ref: string): Promise<CertificatePolicy> {
  return resolveRef(ref, "certificate policy", "certificate_policy", (k) =>
    deps.store.policies.find(k),
  );
}

/** Policies oldest first, a keyset page at a time. */
export function listPolicies(
  deps: PolicyQueryDeps,
  request: PageRequest & { caller: string },
): Promise<Page<CertificatePolicy>> {
  return listPage(
    deps.keyring,
    request,
    { list: "ListCertificatePolicies", filter: { caller: request.caller } },
    (page) => deps.store.policies.listOldestFirst(page),
  );
}
