import { CertificateAuthorityEntity, type CertificateAuthorityRow } from "../../store/entities";
import { decodePageToken, encodePageToken, pageSize } from "../common/pagination";
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
  const size = pageSize(input.pageSize);
  const cursor = decodePageToken(input.pageToken);
  const where: Record<string, unknown> = {};
  if (input.status) where.status = input.status;
  if (cursor) {
    where.$or = [
      { createdAt: { $gt: cursor.createdAt } },
      { createdAt: cursor.createdAt, id: { $gt: cursor.id } },
    ];
  }
  const rows = await deps.orm.em.fork().find(CertificateAuthorityEntity, where, {
    orderBy: { createdAt: "asc", id: "asc" },
    limit: size + 1,
  });
  const items = rows.slice(0, size);
  const last = items.at(-1);
  return { items, nextPageToken: rows.length > size && last ? encodePageToken(last) : "" };
}
