import { ForeignKeyConstraintViolationException } from "@mikro-orm/core";
import { failedPrecondition } from "../../errors";
import { CertificatePolicyEntity, CertificateProfileEntity } from "../../store/entities";
import { recordAudit } from "../audit/record";
import { checkEtag } from "../common/etag";
import { findByRef } from "../common/refs";
import { concurrentUpdate, lockRow } from "../common/row-lock";
import { forgetCompiledPolicy } from "./compiled-cache";
import type { DeletePolicyInput, PolicyDeps } from "./types";

/**
 * Deletes a policy. FAILED_PRECONDITION (POLICY_IN_USE, a PreconditionFailure per profile) while
 * profiles use it; ABORTED on a stale etag. The row is locked while the profiles are counted, so
 * a profile created meanwhile waits and then fails on its missing policy; the foreign key
 * (on delete restrict) is the last line should anything slip past.
 */
export async function deletePolicy(deps: PolicyDeps, input: DeletePolicyInput): Promise<void> {
  let slug = input.ref;
  try {
    await deps.orm.em.fork().transactional(async (tx) => {
      const found = await findByRef(
        tx,
        CertificatePolicyEntity,
        input.ref,
        "certificate policy",
        "certificate_policy",
      );
      const row = await lockRow(tx, CertificatePolicyEntity, found.id, "update");
      slug = row.slug;
      checkEtag(input.etag, row.version, `certificate policy "${row.slug}"`);
      const users = await tx.find(
        CertificateProfileEntity,
        { policyId: row.id },
        { fields: ["slug"], orderBy: { createdAt: "asc", id: "asc" } },
      );
      if (users.length > 0)
        throw policyInUse(
          row.slug,
          users.map((p) => p.slug),
        );
      const deleted = await tx.nativeDelete(CertificatePolicyEntity, {
        id: row.id,
        version: row.version,
      });
      if (deleted === 0) throw concurrentUpdate(`certificate policy "${row.slug}"`);
      // The audit record commits with the deletion (issue 6).
      await recordAudit(tx, { type: "certificate_policy", id: row.id }, deps.now());
      forgetCompiledPolicy(row.id);
    });
  } catch (err) {
    if (err instanceof ForeignKeyConstraintViolationException) throw policyInUse(slug, []);
    throw err;
  }
}

function policyInUse(slug: string, profiles: string[]) {
  const named = profiles.length ? `: ${profiles.map((p) => `"${p}"`).join(", ")}` : "";
  return failedPrecondition(
    "POLICY_IN_USE",
    `certificate policy "${slug}" is used by ${profiles.length || "some"} profile(s)${named}; delete them or move them to another policy first`,
    {
      preconditions: profiles.map((p) => ({
        type: "POLICY_IN_USE",
        subject: `certificate_profiles/${p}`,
        description: `profile "${p}" uses certificate policy "${slug}"`,
      })),
      metadata: { profiles: profiles.join(",") },
    },
  );
}
