import { invalidArgument } from "../../errors";
import { readCertificatePage } from "../../store/certificate-page";
import {
  CertificateAuthorityEntity,
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
 * stable and each is an index range scan (store/certificate-page.ts).
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
  let profileId: string | undefined;
  let caId: string | undefined;
  if (input.profile) {
    const p = await findByRef(
      em,
      CertificateProfileEntity,
      input.profile,
      "certificate profile",
      "certificate_profile",
    );
    profileId = p.id;
  }
  if (input.ca) {
    const c = await findByRef(
      em,
      CertificateAuthorityEntity,
      input.ca,
      "certificate authority",
      "certificate_authority",
    );
    caId = c.id;
  }
  let namePattern: string | undefined;
  if (input.nameContains) {
    const needle = input.nameContains.trim().toLowerCase();
    if (needle.length > 253 || hasControlCharacters(needle)) {
      throw invalidArgument(
        "NAME_FILTER_TOO_LONG",
        "name_contains is at most 253 printable characters",
        {
          violations: [
            {
              field: "name_contains",
              description: "too long or not printable",
              reason: "NAME_FILTER_TOO_LONG",
            },
          ],
        },
      );
    }
    // LIKE metacharacters in the needle are matched literally.
    namePattern = `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  }
  const rows = await readCertificatePage(em, {
    profileId,
    caId,
    status: input.status,
    now: deps.now(),
    expiresBefore: input.expiresBefore,
    namePattern,
    after: cursor,
    limit: size + 1,
  });
  const page = rows.slice(0, size);
  const last = page.at(-1);
  return {
    items: page.map((r) => r.certificate),
    nextPageToken:
      rows.length > size && last
        ? encodePageToken(deps.keyring, scope, {
            createdAt: last.certificate.createdAt,
            id: last.certificate.id,
            createdAtText: last.createdAtText,
          })
        : "",
  };
}

/** ACTIVE, REVOKED or EXPIRED, computed at read time. */
export function certificateStatus(cert: CertificateRow, now: Date): CertificateStatusFilter {
  if (cert.revokedAt) return "REVOKED";
  return cert.notAfter <= now ? "EXPIRED" : "ACTIVE";
}
