import { invalidField } from "../../errors";
import {
  CertificateAuthorityEntity,
  CertificateEntity,
  CertificateProfileEntity,
  type CertificateRow,
} from "../../store/entities";
import { decodePageToken, encodePageToken, type PageScope, pageSize } from "../common/pagination";
import { findByRef } from "../common/refs";
import { hasControlCharacters } from "../common/text";
import type { IssuanceDeps } from "../deps";
import { findCertificate } from "./revoke";

export type CertificateStatusFilter = "ACTIVE" | "REVOKED" | "EXPIRED";

export interface ListCertificatesInput {
  pageSize: number;
  pageToken: string;
  profile?: string;
  ca?: string;
  status?: CertificateStatusFilter;
  expiresBefore?: Date;
  nameContains?: string;
}

export async function getCertificate(deps: IssuanceDeps, ref: string): Promise<CertificateRow> {
  return findCertificate(deps.orm.em.fork(), ref, "certificate");
}

/**
 * Certificates newest first, filtered; keyset pagination on (created_at, id) so pages are
 * stable and each is an index range scan (certificate_*_created_at_index).
 */
export async function listCertificates(
  deps: IssuanceDeps,
  input: ListCertificatesInput,
): Promise<{ items: CertificateRow[]; nextPageToken: string }> {
  const em = deps.orm.em.fork();
  const size = pageSize(input.pageSize);
  const scope: PageScope = {
    list: "ListCertificates",
    filter: {
      certificate_profile: input.profile,
      certificate_authority: input.ca,
      status: input.status,
      expires_before: input.expiresBefore,
      name_contains: input.nameContains,
    },
  };
  const cursor = decodePageToken(deps.keyring, scope, input.pageToken);
  const now = deps.now();
  const where: Record<string, unknown>[] = [];
  if (input.profile) {
    const p = await findByRef(
      em,
      CertificateProfileEntity,
      input.profile,
      "certificate profile",
      "certificate_profile",
    );
    where.push({ profileId: p.id });
  }
  if (input.ca) {
    const c = await findByRef(
      em,
      CertificateAuthorityEntity,
      input.ca,
      "certificate authority",
      "certificate_authority",
    );
    where.push({ caId: c.id });
  }
  if (input.status === "REVOKED") where.push({ revokedAt: { $ne: null } });
  if (input.status === "ACTIVE") where.push({ revokedAt: null, notAfter: { $gt: now } });
  if (input.status === "EXPIRED") where.push({ revokedAt: null, notAfter: { $lte: now } });
  if (input.expiresBefore) where.push({ notAfter: { $lt: input.expiresBefore } });
  if (input.nameContains) {
    const needle = input.nameContains.trim().toLowerCase();
    if (needle.length > 253 || hasControlCharacters(needle)) {
      throw invalidField(
        "NAME_FILTER_TOO_LONG",
        "name_contains is at most 253 printable characters",
        "name_contains",
        "too long or not printable",
      );
    }
    // LIKE metacharacters in the needle are matched literally.
    where.push({ searchNames: { $like: `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%` } });
  }
  if (cursor) {
    where.push({
      $or: [
        { createdAt: { $lt: cursor.createdAt } },
        { createdAt: cursor.createdAt, id: { $lt: cursor.id } },
      ],
    });
  }
  const rows = await em.find(CertificateEntity, where.length ? { $and: where } : {}, {
    orderBy: { createdAt: "desc", id: "desc" },
    limit: size + 1,
  });
  const items = rows.slice(0, size);
  const last = items.at(-1);
  return {
    items,
    nextPageToken: rows.length > size && last ? encodePageToken(deps.keyring, scope, last) : "",
  };
}

/** ACTIVE, REVOKED or EXPIRED, computed at read time. */
export function certificateStatus(cert: CertificateRow, now: Date): CertificateStatusFilter {
  if (cert.revokedAt) return "REVOKED";
  return cert.notAfter <= now ? "EXPIRED" : "ACTIVE";
}
