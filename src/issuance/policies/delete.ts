import { failedPrecondition } from "../../errors";
import { type CallerLocks, changeTransaction } from "../access-tokens/caller";
import { removedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { checkEtag } from "../common/etag";
import { resolveRef } from "../common/refs";
import { concurrentUpdate, stillThere } from "../common/row-lock";
import {
  type AuditRepository,
  type PolicyRepository,
  type ProfileRepository,
  StillReferenced,
  type StoreWith,
} from "../repositories";
import { forgetCompiledPolicy } from "./compiled-cache";
import type { DeletePolicyInput } from "./types";

export interface DeletePolicyDeps {
  store: StoreWith<
    CallerLocks & {
      policies: Pick<PolicyRepository, "find" | "lock" | "delete">;
      profiles: Pick<ProfileRepository, "usingPolicy">;
      audit: Pick<AuditRepository, "insert">;
    }
  >;
  now: () => Date;
}

/**
 * Deletes a policy. FAILED_PRECONDITION (POLICY_IN_USE, a PreconditionFailure per profile) while
 * profiles use it; ABORTED on a stale etag. The row is locked while the profiles are counted, so
 * a profile created meanwhile waits and then fails on its missing policy; the foreign key
 * (on delete restrict) is the last line should anything slip past.
 */
export async function deletePolicy(
  deps: DeletePolicyDeps,
  call: Call,
  input: DeletePolicyInput,
): Promise<void> {
  let slug = input.ref;
  try {
    await changeTransaction(deps, { call }, async (tx) => {
      const found = await resolveRef(input.ref, "certificate policy", "certificate_policy", (k) =>
        tx.policies.find(k),
      );
      const row = stillThere(await tx.policies.lock(found.id, "update"), {
        what: "certificate policy",
        ref: found.slug,
      });
      slug = row.slug;
      checkEtag(input.etag, row.version, `certificate policy "${row.slug}"`);
      const users = await tx.profiles.usingPolicy(row.id);
      if (users.length > 0) {
        throw policyInUse(
          row.slug,
          users.map((p) => p.slug),
        );
      }
      if (!(await tx.policies.delete(row.id, row.version))) {
        throw concurrentUpdate(`certificate policy "${row.slug}"`);
      }
      // The audit record commits with the deletion (issue 6).
      await tx.audit.insert(
        changeRecord(
          call,
          { type: "certificate_policy", id: row.id },
          deps.now(),
          undefined,
          removedFields(row, ["slug", "description"]),
        ),
      );
      forgetCompiledPolicy(row.id);
    });
  } catch (err) {
    if (err instanceof StillReferenced) throw policyInUse(slug, []);
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
