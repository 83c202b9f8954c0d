import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { checkEtag } from "../common/etag";
import { resolveRef } from "../common/refs";
import { concurrentUpdate, stillThere } from "../common/row-lock";
import type { AuditRepository, ProfileRepository, StoreWith } from "../repositories";
import type { DeleteProfileInput } from "./inputs";

export interface DeleteProfileDeps {
  store: StoreWith<{
    profiles: Pick<ProfileRepository, "find" | "lockForUpdate" | "delete">;
    audit: Pick<AuditRepository, "insert">;
  }>;
  now: () => Date;
}

/**
 * Deletes a profile (ABORTED on a stale etag). Its certificate requests and certificates are
 * kept: they reference profile_id without a foreign key, so their history outlives the profile.
 */
export async function deleteProfile(
  deps: DeleteProfileDeps,
  call: Call,
  input: DeleteProfileInput,
): Promise<void> {
  await deps.store.transaction(async (tx) => {
    const found = await resolveRef(input.ref, "certificate profile", "certificate_profile", (k) =>
      tx.profiles.find(k),
    );
    const row = stillThere(await tx.profiles.lockForUpdate(found.id));
    const what = `certificate profile "${row.slug}"`;
    checkEtag(input.etag, row.version, what);
    if (!(await tx.profiles.delete(row.id, row.version))) throw concurrentUpdate(what);
    // The audit record commits with the deletion (issue 6).
    await tx.audit.insert(
      changeRecord(call, { type: "certificate_profile", id: row.id }, deps.now()),
    );
  });
}
