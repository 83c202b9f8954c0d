import { internalError, isCertmintError, notFound } from "../../errors";
import { type CompiledPolicy, compilePolicy } from "../policy-engine";
import type { CertificatePolicy, PolicyRepository } from "../repositories";

/**
 * Compiled policies, keyed by id (GUIDE 4.2, Boulder's NewProfile): a policy is compiled once
 * per stored spec, not on every request. An entry is used only for the spec it was compiled
 * from: the same object (the issuance read hands out the same frozen record while the row is
 * unchanged, src/store/repositories/issuance.ts), or the same version and JSON. The version
 * alone is not enough: a spec changed with plain SQL keeps its version, and was checked under
 * the spec cached before (found by test/certificates/held-rows.test.ts). Bounded so that a
 * server with many short-lived policies does not grow without limit (oldest use evicted first).
 */
const MAX_CACHED_POLICIES = 1000;
const cache = new Map<
  string,
  { version: number; spec: StoredPolicy["spec"]; json: string; policy: CompiledPolicy }
>();

type StoredPolicy = Pick<CertificatePolicy, "id" | "slug" | "version" | "spec">;

/**
 * The policy row (id and version) each compiled policy was compiled for: an issuance is stored
 * only while its policy still has that version (sign-then-store.ts rulesOf). One compiled
 * object per (id, version): the cache hands out a new one when the version moves on.
 */
const compiledFrom = new WeakMap<CompiledPolicy, { id: string; version: number }>();

/** The id and version of the policy row `policy` was compiled for; undefined if not known. */
export function policyRowOf(policy: CompiledPolicy): { id: string; version: number } | undefined {
  return compiledFrom.get(policy);
}

/** The compiled form of a stored policy row, from the cache when its spec is the one cached. */
export function compiledPolicyOf(row: StoredPolicy): CompiledPolicy {
  const hit = cache.get(row.id);
  // The issuance read's frozen record of the row the entry was made or last checked with: the
  // same spec, and no new entry nor JSON to make (every lone issuance comes here).
  if (hit !== undefined && hit.spec === row.spec && hit.version === row.version) {
    cache.delete(row.id); // re-inserted: Map order is the eviction order
    cache.set(row.id, hit);
    return hit.policy;
  }
  cache.delete(row.id); // re-inserted below: Map order is the eviction order
  const same =
    hit !== undefined &&
    hit.version === row.version &&
    (hit.spec === row.spec || hit.json === JSON.stringify(row.spec));
  const policy = same ? hit.policy : compileStored(row);
  cache.set(
    row.id,
    same
      ? { ...hit, spec: row.spec }
      : { version: row.version, spec: row.spec, json: JSON.stringify(row.spec), policy },
  );
  if (cache.size > MAX_CACHED_POLICIES) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  compiledFrom.set(policy, { id: row.id, version: row.version });
  return policy;
}

/** Loads a policy by id and returns it compiled (NOT_FOUND when it does not exist). */
export async function loadCompiledPolicy(
  policies: Pick<PolicyRepository, "find">,
  policyId: string,
): Promise<CompiledPolicy> {
  const row = await policies.find({ id: policyId });
  if (!row) {
    throw notFound("CERTIFICATE_POLICY_NOT_FOUND", `no certificate policy "${policyId}"`);
  }
  return compiledPolicyOf(row);
}

/**
 * Only specs that compiled are ever stored (the canonical form, which recompiles to the same
 * policy), so a failure here means the row was edited outside certmint: that is the server's
 * problem, not the caller's, and must not surface as the caller's INVALID_ARGUMENT.
 */
function compileStored(row: StoredPolicy): CompiledPolicy {
  try {
    return compilePolicy(row.spec);
  } catch (err) {
    if (!isCertmintError(err)) throw err;
    throw internalError(
      "STORED_POLICY_INVALID",
      `certificate policy "${row.slug}" is stored in a form that no longer compiles`,
      { cause: err },
    );
  }
}

/** Drops a policy's entry (deleted or replaced): only to free memory, never for correctness. */
export function forgetCompiledPolicy(policyId: string): void {
  cache.delete(policyId);
}
