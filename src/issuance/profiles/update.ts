import { CertificateProfileEntity, type CertificateProfileRow } from "../../store/entities";
import { recordAudit } from "../audit/record";
import { checkEtag } from "../common/etag";
import { findByRef } from "../common/refs";
import { concurrentUpdate, lockRow } from "../common/row-lock";
import type { ProfileDeps, ProfileDraft, UpdateProfileInput } from "./inputs";
import { storedDefaults, storedRenewal } from "./load";
import type { EnrollmentMethod, PrivateKeyRetention, ValidityOverflow } from "./types";
import { profileChanges } from "./update-mask";
import { checkProfile } from "./validate";

/**
 * Replaces the masked fields of a profile and checks the result as a new profile would be
 * (validate.ts): a changed policy, issuer or default must still fit. ABORTED on a stale etag;
 * the write is conditional on the version read and the row locked meanwhile.
 */
export async function updateProfile(
  deps: ProfileDeps,
  input: UpdateProfileInput,
): Promise<CertificateProfileRow> {
  const changes = profileChanges(input.mask);
  return deps.orm.em.fork().transactional(async (tx) => {
    const found = await findByRef(
      tx,
      CertificateProfileEntity,
      input.ref,
      "certificate profile",
      "certificate_profile.id",
    );
    const row = await lockRow(tx, CertificateProfileEntity, found.id, "update");
    const what = `certificate profile "${row.slug}"`;
    checkEtag(input.etag, row.version, what);

    const next = draftOf(row);
    for (const change of changes) change(next, input.draft);
    const checked = await checkProfile(tx, next);
    const now = deps.now();
    const updated = await tx.nativeUpdate(
      CertificateProfileEntity,
      { id: row.id, version: row.version },
      {
        ...checked,
        defaults: checked.defaults as Record<string, unknown>,
        renewal: checked.renewal as unknown as Record<string, unknown>,
        version: row.version + 1,
        updatedAt: now,
      },
    );
    if (updated === 0) throw concurrentUpdate(what);
    // The audit record commits with the change (issue 6).
    await recordAudit(tx, { type: "certificate_profile", id: row.id }, now);
    return tx.refresh(row).then((r) => r ?? row);
  });
}

/** A stored profile as the draft an update starts from (references by id). */
function draftOf(row: CertificateProfileRow): ProfileDraft {
  return {
    description: row.description,
    policy: row.policyId,
    issuer: row.caId ? { kind: "CA", ref: row.caId } : { kind: "SELF_SIGNED" },
    enrollmentMethod: row.enrollmentMethod as EnrollmentMethod,
    defaults: storedDefaults(row),
    renewal: storedRenewal(row),
    requireApproval: row.requireApproval,
    allowSelfApproval: row.allowSelfApproval,
    validityOverflow: row.validityOverflow as ValidityOverflow,
    privateKeyRetention: row.privateKeyRetention as PrivateKeyRetention,
    acmeRequireEab: row.acmeRequireEab,
  };
}
