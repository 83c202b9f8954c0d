import { CertificatePolicyEntity, type CertificatePolicyRow } from "../../store/entities";
import { recordAudit } from "../audit/record";
import { checkEtag } from "../common/etag";
import { findByRef } from "../common/refs";
import { concurrentUpdate, lockRow } from "../common/row-lock";
import { forgetCompiledPolicy } from "./compiled-cache";
import { compileForRequest } from "./field-paths";
import { assertProfilesStillFit } from "./profile-impact";
import type { SpecDraft } from "./rules";
import type { PolicyDeps, UpdatePolicyInput } from "./types";
import { type PolicyUnderUpdate, policyChanges } from "./update-mask";

/**
 * Replaces the masked fields of a policy. The result is compiled again (every problem at once,
 * on the request's field paths) and checked against the defaults of every profile that uses
 * the policy. The row is locked for the whole check, so a profile saved meanwhile waits for
 * this change and is then checked against it; the write is also conditional on the version
 * read, and a stale etag is ABORTED (AIP-154).
 */
export async function updatePolicy(
  deps: PolicyDeps,
  input: UpdatePolicyInput,
): Promise<CertificatePolicyRow> {
  const changes = policyChanges(input.mask);
  return deps.orm.em.fork().transactional(async (tx) => {
    const found = await findByRef(
      tx,
      CertificatePolicyEntity,
      input.ref,
      "certificate policy",
      "certificate_policy.id",
    );
    const row = await lockRow(tx, CertificatePolicyEntity, found.id, "update");
    const what = `certificate policy "${row.slug}"`;
    checkEtag(input.etag, row.version, what);

    const next: PolicyUnderUpdate = {
      spec: structuredClone(row.spec) as SpecDraft,
      description: row.description,
    };
    for (const change of changes) change(next, input);
    const compiled = compileForRequest(next.spec, "certificate_policy");
    // Checked whatever the mask: cheap, and a policy is never left breaking a profile.
    await assertProfilesStillFit(tx, row.id, row.slug, compiled);

    const now = deps.now();
    const updated = await tx.nativeUpdate(
      CertificatePolicyEntity,
      { id: row.id, version: row.version },
      {
        spec: structuredClone(compiled.spec),
        description: next.description,
        version: row.version + 1,
        updatedAt: now,
      },
    );
    if (updated === 0) throw concurrentUpdate(what);
    // The audit record commits with the change (issue 6).
    await recordAudit(tx, { type: "certificate_policy", id: row.id }, now);
    forgetCompiledPolicy(row.id);
    return tx.refresh(row).then((r) => r ?? row);
  });
}
