import { CertificateProfileEntity } from "../../store/entities";
import { recordAudit } from "../audit/record";
import { checkEtag } from "../common/etag";
import { findByRef } from "../common/refs";
import { concurrentUpdate, lockRow } from "../common/row-lock";
import type { DeleteProfileInput, ProfileDeps } from "./inputs";

/**
 * Deletes a profile (ABORTED on a stale etag). Its certificate requests and certificates are
 * kept: they reference profile_id without a foreign key, so their history outlives the profile.
 */
export async function deleteProfile(deps: ProfileDeps, input: DeleteProfileInput): Promise<void> {
  await deps.orm.em.fork().transactional(async (tx) => {
    const found = await findByRef(
      tx,
      CertificateProfileEntity,
      input.ref,
      "certificate profile",
      "certificate_profile",
    );
    const row = await lockRow(tx, CertificateProfileEntity, found.id, "update");
    const what = `certificate profile "${row.slug}"`;
    checkEtag(input.etag, row.version, what);
    const deleted = await tx.nativeDelete(CertificateProfileEntity, {
      id: row.id,
      version: row.version,
    });
    if (deleted === 0) throw concurrentUpdate(what);
    // The audit record commits with the deletion (issue 6).
    await recordAudit(tx, { type: "certificate_profile", id: row.id }, deps.now());
  });
}
