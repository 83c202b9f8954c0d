import { type CallerLocks, changeTransaction } from "../access-tokens/caller";
import { updatedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { checkEtag } from "../common/etag";
import { checkNamedSlug, resolveRef } from "../common/refs";
import { concurrentUpdate, stillThere } from "../common/row-lock";
import type {
  AuditRepository,
  CaRepository,
  CertificatePolicy,
  PolicyRepository,
  ProfileRepository,
  StoreWith,
} from "../repositories";
import { forgetCompiledPolicy } from "./compiled-cache";
import { compileForRequest } from "./field-paths";
import { assertProfilesStillFit } from "./profile-impact";
import type { SpecDraft } from "./rules";
import type { UpdatePolicyInput } from "./types";
import { type PolicyUnderUpdate, policyChanges } from "./update-mask";

export interface UpdatePolicyDeps {
  store: StoreWith<
    CallerLocks & {
      policies: Pick<PolicyRepository, "find" | "lock" | "update">;
      profiles: Pick<ProfileRepository, "usingPolicy">;
      cas: Pick<CaRepository, "findMany">;
      audit: Pick<AuditRepository, "insert">;
    }
  >;
  now: () => Date;
}

/**
 * Replaces the masked fields of a policy. The result is compiled again (every problem at once,
 * on the request's field paths) and checked against the defaults of every profile that uses
 * the policy. The row is locked for the whole check, so a profile saved meanwhile waits for
 * this change and is then checked against it; the write is also conditional on the version
 * read, and a stale etag is ABORTED (AIP-154).
 */
export async function updatePolicy(
  deps: UpdatePolicyDeps,
  call: Call,
  input: UpdatePolicyInput,
): Promise<CertificatePolicy> {
  const changes = policyChanges(input.mask);
  return changeTransaction(deps, { call }, async (tx) => {
    const found = await resolveRef(input.ref, "certificate policy", "certificate_policy.id", (k) =>
      tx.policies.find(k),
    );
    const row = stillThere(await tx.policies.lock(found.id, "update"), {
      what: "certificate policy",
      ref: found.slug,
    });
    checkNamedSlug(input.namedSlug, row, "certificate_policy", "certificate policy");
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
    const spec = structuredClone(compiled.spec);
    const updated = await tx.policies.update(row.id, row.version, {
      spec,
      description: next.description,
      version: row.version + 1,
      updatedAt: now,
    });
    if (!updated) throw concurrentUpdate(what);
    // The audit record commits with the change (issue 6), and says what changed: the fields
    // of the stored spec and description that differ (a masked field sent unchanged is none).
    await tx.audit.insert(
      changeRecord(
        call,
        { type: "certificate_policy", id: row.id },
        now,
        undefined,
        updatedFields(
          { description: row.description, spec: row.spec },
          { description: next.description, spec },
        ),
      ),
    );
    forgetCompiledPolicy(row.id);
    return stillThere(await tx.policies.find({ id: row.id }), {
      what: "certificate policy",
      ref: row.slug,
    });
  });
}
