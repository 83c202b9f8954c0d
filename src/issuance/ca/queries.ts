import { listPage, type Page } from "../common/list-page";
import type { PageTokenKeys } from "../common/pagination";
import { resolveRef } from "../common/refs";
import {
  type CaRepository,
  type CaStatus,
  type CertificateAuthorityView,
  caView,
} from "../repositories";

export interface CaQueryDeps {
  store: { cas: Pick<CaRepository, "find" | "listOldestFirst"> };
  keyring: PageTokenKeys;
}

export async function getCa(deps: CaQueryDeps, ref: string): Promise<CertificateAuthorityView> {
  return caView(
    await resolveRef(ref, "certificate authority", "certificate_authority", (k) =>
      deps.store.cas.find(k),
    ),
  );
}

/** CAs oldest first, a keyset page at a time. */
export async function listCas(
  deps: CaQueryDeps,
  input: { pageSize: number; pageToken: string; status?: CaStatus; caller: string },
): Promise<Page<CertificateAuthorityView>> {
  const scope = {
    list: "ListCertificateAuthorities",
    filter: { caller: input.caller, status: input.status },
  };
  const page = await listPage(deps.keyring, input, scope, (query) =>
    deps.store.cas.listOldestFirst({ ...query, status: input.status }),
  );
  return { ...page, items: page.items.map(caView) };
}
