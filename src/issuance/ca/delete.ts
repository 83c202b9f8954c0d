import { ForeignKeyConstraintViolationException } from "@mikro-orm/core";
import { failedPrecondition, type PreconditionViolation } from "../../errors";
import {
  CertificateAuthorityEntity,
  CertificateEntity,
  CertificateProfileEntity,
} from "../../store/entities";
import { recordAudit } from "../audit/record";
import { checkEtag } from "../common/etag";
import { findByRef } from "../common/refs";
import { concurrentUpdate, lockRow } from "../common/row-lock";
import type { CaDeps } from "./types";

/**
 * Deletes a CA and its sealed key. Refused while anything depends on it: profiles that issue
 * with it, CAs below it, and certificates it issued (whose revocation status it must keep
 * publishing). The row is locked while the dependents are counted; the foreign keys
 * (on delete restrict) are the last line should anything slip past.
 */
export async function deleteCa(deps: CaDeps, input: { ca: string; etag: string }): Promise<void> {
  let slug = input.ca;
  try {
    await deps.orm.em.fork().transactional(async (tx) => {
      const found = await findByRef(
        tx,
        CertificateAuthorityEntity,
        input.ca,
        "certificate authority",
        "certificate_authority",
      );
      const ca = await lockRow(tx, CertificateAuthorityEntity, found.id, "update");
      slug = ca.slug;
      checkEtag(input.etag, ca.version, `certificate authority "${ca.slug}"`);
      // One after another: a transaction is one connection, and pg runs one query at a time
      // on it (overlapping queries are deprecated in pg 8 and refused in pg 9).
      const profiles = await tx.find(
        CertificateProfileEntity,
        { caId: ca.id },
        { fields: ["slug"], orderBy: { slug: "asc" } },
      );
      const children = await tx.find(
        CertificateAuthorityEntity,
        { parentId: ca.id },
        { fields: ["slug"], orderBy: { slug: "asc" } },
      );
      const issued = await tx.count(CertificateEntity, { caId: ca.id });
      const blockers: PreconditionViolation[] = [
        ...profiles.map((p) => ({
          type: "CA_IN_USE_BY_PROFILE",
          subject: `certificate_profiles/${p.slug}`,
          description: `profile "${p.slug}" issues with this CA`,
        })),
        ...children.map((c) => ({
          type: "CA_HAS_SUBORDINATE",
          subject: `certificate_authorities/${c.slug}`,
          description: `CA "${c.slug}" was signed by this CA`,
        })),
        ...(issued > 0
          ? [
              {
                type: "CA_HAS_CERTIFICATES",
                subject: `certificate_authorities/${ca.slug}`,
                description: `${issued} certificate(s) issued: disable the CA instead, its CRL must stay available`,
              },
            ]
          : []),
      ];
      if (blockers.length > 0) throw inUse(ca.slug, blockers);
      const deleted = await tx.nativeDelete(CertificateAuthorityEntity, {
        id: ca.id,
        version: ca.version,
      });
      if (deleted === 0) throw concurrentUpdate(`certificate authority "${ca.slug}"`);
      // The audit record commits with the deletion (issue 6).
      await recordAudit(tx, { type: "certificate_authority", id: ca.id }, deps.now());
    });
  } catch (err) {
    if (err instanceof ForeignKeyConstraintViolationException) throw inUse(slug, []);
    throw err;
  }
}

function inUse(slug: string, blockers: PreconditionViolation[]) {
  return failedPrecondition(
    "CA_IN_USE",
    `certificate authority "${slug}" cannot be deleted: ${blockers.length ? blockers.map((b) => b.description).join("; ") : "something still refers to it"}`,
    { preconditions: blockers },
  );
}
