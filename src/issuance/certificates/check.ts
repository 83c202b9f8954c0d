import {
  type CertmintError,
  type FieldViolation,
  failedPrecondition,
  invalidArgument,
  isCertmintError,
} from "../../errors";
import {
  assertConstraintsWithin,
  assertExtendedKeyUsagesPermitted,
  assertNamesPermitted,
  computeValidity,
} from "../../signer";
import { assertWithinExplicitPolicy } from "../ca/explicit-policy";
import { caIssuer, requireActive } from "../ca/load";
import type { IssuanceDeps } from "../deps";
import { checkPlan, type FieldMapper } from "./plan";
import type { IssuancePlan } from "./types";

/** Every violation of a plan as one INVALID_ARGUMENT (google.rpc.BadRequest lists them all). */
export function policyViolation(
  violations: FieldViolation[],
  profileSlug: string,
  what: string,
): CertmintError {
  return invalidArgument(
    "POLICY_VIOLATION",
    `${what} breaks ${violations.length} rule(s) of profile "${profileSlug}": ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`,
    { violations },
  );
}

/**
 * The policy step: the plan against its profile's policy (every violation at once), then
 * against the issuer's state. Returns the refusal, so the caller can record it (a FAILED
 * request) before it throws; undefined when the plan may be signed.
 */
export function checkPolicy(
  deps: Pick<IssuanceDeps, "keyring" | "now">,
  plan: IssuancePlan,
  mapField: FieldMapper,
  /** How the refusal names what was checked: "the request", "the renewal ...". */
  what: string,
): CertmintError | undefined {
  const refusal = policyRefusal(plan, mapField, what);
  if (refusal) return refusal;
  try {
    checkIssuerState(deps, plan);
    return undefined;
  } catch (err) {
    if (!isCertmintError(err)) throw err;
    return err;
  }
}

/**
 * The plan against its profile's policy as it is now, every violation at once; undefined when
 * it passes. Approval and a takeover check a stored request again with it (the issuer's state
 * is checked again just before signing).
 */
export function policyRefusal(
  plan: IssuancePlan,
  mapField: FieldMapper,
  what: string,
): CertmintError | undefined {
  const violations = checkPlan(plan, mapField);
  return violations.length > 0 ? policyViolation(violations, plan.profile.slug, what) : undefined;
}

/**
 * Preconditions that depend on the issuer's state rather than the request
 * (FAILED_PRECONDITION): the CA active, a self-signed profile given a key certmint makes, the
 * validity within the CA's, and what the CA's own certificate allows (RFC 5280 4.2.1.9 path
 * length, 4.2.1.10 name constraints). Checked with the policy, and again just before signing
 * (the validity as of then; after an approval, the CA may have changed meanwhile). Returns the
 * validity the certificate gets.
 */
export function checkIssuerState(
  deps: Pick<IssuanceDeps, "keyring" | "now">,
  plan: IssuancePlan,
): { notBefore: Date; notAfter: Date } {
  if (plan.ca) requireActive(plan.ca);
  if (!plan.ca && plan.key.kind !== "GENERATE") {
    // A self-signed certificate is signed with its own private key, which certmint holds only
    // for a key it generates now: not a CSR's, and not the key a REUSE renewal keeps.
    const instead =
      plan.key.kind === "CSR"
        ? "send attributes instead of a CSR (a renewal: key_source RENEWAL_KEY_SOURCE_NEW)"
        : "renew with a new key (key_source RENEWAL_KEY_SOURCE_NEW) instead of reusing it";
    throw failedPrecondition(
      "SELF_SIGNED_NEEDS_GENERATED_KEY",
      `profile "${plan.profile.slug}" issues self-signed certificates: certmint must generate the key, so ${instead}`,
      {
        preconditions: [
          {
            type: "PROFILE_SELF_SIGNED",
            subject: `certificate_profiles/${plan.profile.slug}`,
            description: "issues self-signed certificates: only with a key certmint generates",
          },
        ],
      },
    );
  }
  const issuer = plan.ca ? caIssuer(deps, plan.ca) : undefined;
  const validity = computeValidity({
    now: deps.now(),
    ttlSeconds: plan.ttlSeconds,
    // The earliest expiry on the CA's path, an outside chain's included (signer/issuer.ts).
    issuerNotAfter: issuer?.pathNotAfter ?? plan.ca?.notAfter ?? undefined,
    issuerNotBefore: issuer?.pathNotBefore ?? plan.ca?.notBefore ?? undefined,
    onExceed: plan.profile.validityOverflow === "TRUNCATE" ? "truncate" : "fail",
    maxPeriodSeconds: plan.policy.maxTtlSeconds,
  });
  if (issuer) {
    // The signer checks these again as it signs.
    issuer.assertMayIssue(validity.notAfter, plan.isCa ?? false, plan.pathLength);
    // A requireExplicitPolicy on the CA's path (an outside chain's) that would reach this
    // certificate, or what a CA certificate allows below it (RFC 5280 4.2.1.11, 6.1.5 (g)).
    assertWithinExplicitPolicy(
      plan.ca!,
      plan.isCa
        ? { kind: "ca", pathLength: plan.pathLength, certmintSigns: false }
        : { kind: "leaf" },
      "ca_certificate.max_path_length",
    );
    assertNamesPermitted(issuer, plan.subject, plan.sans, plan.isCa ?? false);
    // Its EKUs within every EKU on the CA's path, an outside chain's included (signer/issuer.ts).
    assertExtendedKeyUsagesPermitted(issuer, plan.extendedKeyUsages);
    // A sub-CA's constraints (from its policy) within its issuers': refused before signing,
    // naming the request's part (RFC 5280 6.1.4 (g); the signer checks again).
    if (plan.isCa) {
      assertConstraintsWithin(issuer, plan.nameConstraints, "ca_certificate.name_constraints");
    }
  }
  return validity;
}
