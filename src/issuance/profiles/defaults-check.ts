import type { FieldViolation } from "../../errors";
import { fieldViolation } from "../../errors";
import type { KeyAlgorithm, SignatureAlgorithm } from "../../model/pki";
import { assertSignatureFits, defaultSignatureAlgorithm } from "../../signer";
import {
  CA_KEY_USAGES,
  type CompiledPolicy,
  defaultUsagesFor,
  evaluate,
  type ViolationReason,
} from "../policy-engine";
import { defaultKeyAlgorithm, defaultTtlSeconds } from "./effective-defaults";
import type { ProfileDefaults, RenewalSettings } from "./types";

/** What of a profile must agree with its policy. */
export interface ProfileSettingsToCheck {
  defaults: ProfileDefaults;
  renewal: RenewalSettings;
  /** The issuing CA's key; null for a self-signed profile. */
  ca: { keyAlgorithm: KeyAlgorithm; signatureAlgorithm: SignatureAlgorithm } | null;
}

/**
 * Violations that only say the defaults carry no names: a request supplies its own subject and
 * SANs, so a policy that requires a CN or a DNS name is no reason to refuse a profile whose
 * defaults have none. Every other violation means that a request naming nothing but its names
 * would be refused (or that a default value itself breaks the policy), so the profile is.
 */
const NAME_ONLY_REASONS: ReadonlySet<ViolationReason> = new Set([
  "SUBJECT_REQUIRED",
  "SUBJECT_EMPTY",
  "SAN_REQUIRED",
  // A CN or emailAddress default that must be among the SANs: the request brings the SANs.
  "SUBJECT_NAME_NOT_IN_SANS",
]);

const DAY = 86_400;

/**
 * Every way a profile breaks its policy, evaluated as the issuance flow fills a request that
 * names nothing but its names: the default subject; the key algorithm a generated key gets
 * (effective-defaults.ts); the default signature algorithm, else the CA's (self-signed: the
 * key's default); the default usages plus the policy's required ones; the default TTL (else the
 * capped fallback); a CA certificate when the policy requires one (with the policy's largest
 * path length and keyCertSign and cRLSign, as issuance adds them), else an end-entity one. Also: the signature algorithm must fit
 * the signing key, and renewal must start before the certificate expires.
 *
 * Fields are relative to the CertificateProfile message ("defaults.ttl",
 * "defaults.key_usages[1]", "renewal.renew_before_days", "certificate_policy").
 */
export function profileViolations(
  policy: CompiledPolicy,
  settings: ProfileSettingsToCheck,
): FieldViolation[] {
  const { defaults, renewal, ca } = settings;
  const keyAlgorithm = defaultKeyAlgorithm(defaults, policy);
  const signatureAlgorithm =
    defaults.signatureAlgorithm ??
    (ca ? ca.signatureAlgorithm : defaultSignatureAlgorithm(keyAlgorithm));
  const required = defaultUsagesFor(policy);
  const isCa = policy.basicConstraints.ca === "REQUIRED";
  const keyUsages = union(
    union(defaults.keyUsages ?? [], required.keyUsages),
    isCa ? CA_KEY_USAGES : [],
  );
  const extendedKeyUsages = union(defaults.extendedKeyUsages ?? [], required.extendedKeyUsages);
  const ttlSeconds = defaultTtlSeconds(defaults, policy);
  const fieldOf = (field: string): string => {
    const usage = /^(key_usages|extended_key_usages)\[(\d+)\]$/.exec(field);
    if (usage) {
      // Indices into the list as the profile gives it; a usage the policy adds has none.
      const [, list = "", i = ""] = usage;
      const given = (list === "key_usages" ? defaults.keyUsages : defaults.extendedKeyUsages) ?? [];
      const requested: string[] = list === "key_usages" ? keyUsages : extendedKeyUsages;
      const at = given.indexOf(requested[Number(i)] as never);
      return at >= 0 ? `defaults.${list}[${at}]` : `defaults.${list}`;
    }
    return field === "is_ca" || field === "path_length"
      ? "certificate_policy"
      : `defaults.${field}`;
  };
  const violations = evaluate(policy, {
    subject: defaults.subject ?? { attributes: [] },
    sans: { dns: [], ip: [], email: [], uri: [] },
    keyAlgorithm,
    signatureAlgorithm,
    keyUsages,
    extendedKeyUsages,
    ttlSeconds,
    isCa,
    ...(isCa && policy.basicConstraints.maxPathLength !== undefined
      ? { pathLength: policy.basicConstraints.maxPathLength }
      : {}),
  })
    .filter((v) => !NAME_ONLY_REASONS.has(v.reason as ViolationReason))
    .map((v) => ({ ...v, field: fieldOf(v.field) }));

  const signingKey = ca ? ca.keyAlgorithm : keyAlgorithm;
  try {
    assertSignatureFits(signingKey, signatureAlgorithm);
  } catch (err) {
    violations.push(
      fieldViolation(
        "defaults.signature_algorithm",
        "SIGNATURE_ALGORITHM_MISMATCH",
        err instanceof Error ? err.message : `does not fit a ${signingKey} key`,
      ),
    );
  }

  violations.push(...renewalViolations(renewal, ttlSeconds));
  return violations;
}

/**
 * Renewal must start before the certificate expires: renew_before (or renew_before_days) <
 * the default TTL; one of the two, since they say the same thing.
 */
function renewalViolations(renewal: RenewalSettings, ttlSeconds: number): FieldViolation[] {
  const before = renewal.renewBeforeDays;
  if (!Number.isInteger(before) || before < 0) {
    return [
      fieldViolation(
        "renewal.renew_before_days",
        "RENEW_BEFORE_INVALID",
        `must be a whole number of days >= 0 (got ${before})`,
      ),
    ];
  }
  const seconds = renewal.renewBeforeSeconds ?? 0;
  if (seconds > 0 && before > 0) {
    return [
      {
        field: "renewal.renew_before",
        reason: "RENEW_BEFORE_CONFLICT",
        description: "set renew_before or renew_before_days, not both",
      },
    ];
  }
  if (seconds >= ttlSeconds) {
    return [
      {
        field: "renewal.renew_before",
        reason: "RENEW_BEFORE_TOO_LONG",
        description: `renewing ${seconds} s before expiry needs a default TTL longer than that (it is ${ttlSeconds} s)`,
      },
    ];
  }
  if (before * DAY >= ttlSeconds) {
    const ttlDays = +(ttlSeconds / DAY).toFixed(2);
    return [
      fieldViolation(
        "renewal.renew_before_days",
        "RENEW_BEFORE_TOO_LONG",
        `renewing ${before} days before expiry needs a default TTL longer than that (it is ${ttlSeconds} s, ${ttlDays} days)`,
      ),
    ];
  }
  return [];
}

const union = <T>(a: readonly T[], b: readonly T[]): T[] => [...new Set([...a, ...b])];
