import { type CallerLocks, changeTransaction } from "../access-tokens/caller";
import { updatedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { checkEtag } from "../common/etag";
import { checkNamedSlug, resolveRef } from "../common/refs";
import { concurrentUpdate, stillThere } from "../common/row-lock";
import {
  type AuditRepository,
  type CaRepository,
  type CertificateProfile,
  type PolicyRepository,
  type ProfileRepository,
  type ProfileSettings,
  type RenewalRepository,
  StillReferenced,
  type StoreWith,
} from "../repositories";
import type { ProfileDraft, UpdateProfileInput } from "./inputs";
import { storedDefaults, storedRenewal } from "./load";
import { profileChanges } from "./update-mask";
import { caDeletedMeanwhile, checkProfile } from "./validate";

export interface UpdateProfileDeps {
  store: StoreWith<
    CallerLocks & {
      profiles: Pick<ProfileRepository, "find" | "lockForEdit" | "update">;
      policies: Pick<PolicyRepository, "find" | "lock">;
      cas: Pick<CaRepository, "find">;
      audit: Pick<AuditRepository, "insert">;
      renewals: Pick<RenewalRepository, "retryRefusals">;
    }
  >;
  now: () => Date;
}

/**
 * Replaces the masked fields of a profile and checks the result as a new profile would be
 * (validate.ts): a changed policy, issuer or default must still fit. ABORTED on a stale etag;
 * the write is conditional on the version read and the row locked meanwhile.
 */
export async function updateProfile(
  deps: UpdateProfileDeps,
  call: Call,
  input: UpdateProfileInput,
): Promise<CertificateProfile> {
  const changes = profileChanges(input.mask);
  return changeTransaction(deps, { call }, async (tx) => {
    const found = await resolveRef(
      input.ref,
      "certificate profile",
      "certificate_profile.id",
      (k) => tx.profiles.find(k),
    );
    const row = stillThere(await tx.profiles.lockForEdit(found.id), {
      what: "certificate profile",
      ref: found.slug,
    });
    checkNamedSlug(input.namedSlug, row, "certificate_profile", "certificate profile");
    const what = `certificate profile "${row.slug}"`;
    checkEtag(input.etag, row.version, what);

    const next = draftOf(row);
    for (const change of changes) change(next, input.draft);
    const checked = await checkProfile(tx, next, row.caId);
    const now = deps.now();
    const updated = await tx.profiles
      .update(row.id, row.version, { ...checked, version: row.version + 1, updatedAt: now })
      .catch((err: unknown) => {
        throw err instanceof StillReferenced ? caDeletedMeanwhile(next.issuer) : err;
      });
    if (!updated) throw concurrentUpdate(what);
    // Back to API enrollment: the server-driven renewals refused while it enrolled by ACME
    // (auto-renewal waits CERTMINT_RENEWAL_RETRY_MAX_SECONDS after such a refusal) are due now,
    // or a short-lived certificate would expire waiting (an outside probe of stop 44's fixes).
    // Another issuer: those refused because the CA (or one above it) was revoked are due now,
    // renewed from the new one (until stop 47 of 2026-12-06 they waited the doubling backoff).
    const undone = [
      ...(row.enrollmentMethod !== "API" && checked.enrollmentMethod === "API"
        ? ["ENROLLMENT_METHOD_MISMATCH"]
        : []),
      ...(row.caId !== checked.caId ? ["CA_REVOKED"] : []),
    ];
    if (undone.length > 0) await tx.renewals.retryRefusals(row.id, undone, now);
    // The audit record commits with the change (issue 6), and says what changed: the stored
    // settings that differ, before and after.
    await tx.audit.insert(
      changeRecord(
        call,
        { type: "certificate_profile", id: row.id },
        now,
        undefined,
        updatedFields(settingsOf(row), checked),
      ),
    );
    return stillThere(await tx.profiles.find({ id: row.id }), {
      what: "certificate profile",
      ref: row.slug,
    });
  });
}

/** The settings of a stored profile, as checkProfile returns them (identity and bookkeeping aside). */
function settingsOf(row: CertificateProfile): ProfileSettings {
  const { id: _id, slug: _slug, version: _v, createdAt: _c, updatedAt: _u, ...settings } = row;
  return settings;
}

/** A stored profile as the draft an update starts from (references by id). */
function draftOf(row: CertificateProfile): ProfileDraft {
  return {
    description: row.description,
    policy: row.policyId,
    issuer: row.caId ? { kind: "CA", ref: row.caId } : { kind: "SELF_SIGNED" },
    enrollmentMethod: row.enrollmentMethod,
    defaults: storedDefaults(row),
    renewal: storedRenewal(row),
    requireApproval: row.requireApproval,
    allowSelfApproval: row.allowSelfApproval,
    validityOverflow: row.validityOverflow,
    privateKeyRetention: row.privateKeyRetention,
    acmeRequireEab: row.acmeRequireEab,
  };
}
