import { rsaBitsOf } from "../../model/keys";
import { KEY_ALGORITHMS, type KeyAlgorithm } from "../../model/pki";
import type { CompiledPolicy } from "../policy-engine";
import { FALLBACK_TTL_SECONDS, type ProfileDefaults } from "./types";

/**
 * What a request that names nothing gets, beyond the stored defaults. The issuance flow and the
 * check of a profile's defaults against its policy (defaults-check.ts) both use these, so that
 * what was checked when the profile was saved is what a request gets.
 */

/**
 * The lifetime a request without a TTL gets: the profile's default TTL, else the fallback of 30
 * days capped at the policy's max_ttl (a profile without a default TTL under a one-day policy
 * issues one-day certificates instead of refusing every request that names no TTL).
 */
export function defaultTtlSeconds(defaults: ProfileDefaults, policy: CompiledPolicy): number {
  return defaults.ttlSeconds ?? Math.min(FALLBACK_TTL_SECONDS, policy.maxTtlSeconds);
}

/** The recommended key (fast to sign with, GUIDE 3), as for CAs. */
const PREFERRED_KEY_ALGORITHM: KeyAlgorithm = "EC_P256";

/**
 * The key algorithm of a server-generated key when neither the request nor the profile names
 * one: EC_P256 when the policy allows it, else the first allowed algorithm that meets the
 * policy's minimum RSA size (compilePolicy guarantees there is one).
 */
export function defaultKeyAlgorithm(
  defaults: ProfileDefaults,
  policy: CompiledPolicy,
): KeyAlgorithm {
  if (defaults.keyAlgorithm) return defaults.keyAlgorithm;
  const allowed = policy.keyAlgorithms.allowed.length
    ? policy.keyAlgorithms.allowed
    : KEY_ALGORITHMS;
  if (allowed.includes(PREFERRED_KEY_ALGORITHM)) return PREFERRED_KEY_ALGORITHM;
  const fits = (a: KeyAlgorithm) => (rsaBitsOf(a) ?? Infinity) >= policy.keyAlgorithms.minRsaBits;
  return allowed.find(fits) ?? allowed[0]!;
}
