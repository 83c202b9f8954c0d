import { CertificateAuthorityEntity, type CertificateAuthorityRow } from "../../store/entities";
import { oldestFirstPage } from "../common/list-page";
import { findByRef } from "../common/refs";
import type { CaDeps, CaStatus } from "./types";

export async function getCa(deps: CaDeps, ref: string): Promise<CertificateAuthorityRow> {
  return findByRef(
    deps.orm.em.fork(),
    CertificateAuthorityEntity,
    ref,
    "certificate authority",
    "certificate_authority",
  );
}

/** CAs oldest first, a keyset page at a time. */
export async function listCas(
  deps: CaDeps,
  input: { pageSize: number; pageToken: string; status?: CaStatus },
): Promise<{ items: CertificateAuthorityRow[]; nextPageToken: string }> {
  return oldestFirstPage(
    deps.orm.em.fork(),
    deps.keyring,
    CertificateAuthorityEntity,
    input,
    { list: "ListCertificateAuthorities", filter: { status: input.status } },
    input.status ? { status: input.status } : {},
  );
}
