import { alreadyExists } from "../../errors";
import { type CallerLocks, changeTransaction } from "../access-tokens/caller";
import { createdFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { newRowId } from "../common/ids";
import { checkSlug } from "../common/refs";
import {
  type AuditRepository,
  type CertificatePolicy,
  type PolicyRepository,
  type StoreWith,
  UniqueConflict,
} from "../repositories";
import { compileForRequest } from "./field-paths";
import { specForNewPolicy } from "./rules";
import type { NewPolicyInput } from "./types";

export interface CreatePolicyDeps {
  store: StoreWith<
    CallerLocks & {
      policies: Pick<PolicyRepository, "slugTaken" | "insert">;
      audit: Pick<AuditRepository, "insert">;
    }
  >;
  now: () => Date;
}

/**
 * Creates a policy: the request's rules over the preset's, compiled (every problem reported at
 * once, on the request's proto field paths), stored as the canonical spec compilePolicy returns.
 */
export async function createPolicy(
  deps: CreatePolicyDeps,
  call: Call,
  input: NewPolicyInput,
): Promise<CertificatePolicy> {
  checkSlug(input.slug, "certificate_policy.slug");
  const compiled = compileForRequest(
    specForNewPolicy(input.rules, input.preset),
    "certificate_policy",
  );
  if (await deps.store.policies.slugTaken(input.slug)) throw slugTaken(input.slug);
  const now = deps.now();
  const policy: CertificatePolicy = {
    id: newRowId(),
    slug: input.slug,
    description: input.description,
    spec: structuredClone(compiled.spec),
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
  try {
    // The audit record commits with the row (issue 6).
    await changeTransaction(deps, { call }, async (tx) => {
      await tx.policies.insert(policy);
      await tx.audit.insert(
        changeRecord(
          call,
          { type: "certificate_policy", id: policy.id },
          now,
          undefined,
          createdFields(policy),
        ),
      );
    });
  } catch (err) {
    // Two creates racing for one slug: the unique index decides.
    if (err instanceof UniqueConflict) throw slugTaken(input.slug);
    throw err;
  }
  return policy;
}

const slugTaken = (slug: string) =>
  alreadyExists("CERTIFICATE_POLICY_SLUG_TAKEN", `a certificate policy "${slug}" already exists`);
