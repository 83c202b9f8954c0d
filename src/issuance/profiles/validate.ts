import { CertmintError, type FieldViolation, fieldViolation, invalidArgument } from "../../errors";
import { refuseRevokedCa } from "../ca/revoke";
import { referenceNotFound, resolveRef } from "../common/refs";
import { stillThere } from "../common/row-lock";
import { compiledPolicyOf } from "../policies/compiled-cache";
import type { CaRepository, PolicyRepository, ProfileSettings } from "../repositories";
import { profileViolations } from "./defaults-check";
import type { ProfileDraft } from "./inputs";
import type { ProfileDefaults } from "./types";

/** A checked profile: the columns of its row, except identity, version and timestamps. */
export type CheckedProfile = ProfileSettings;

/**
 * Checks a profile, in this order: what needs no database (INVALID_ARGUMENT, every problem at
 * once); the policy and CA it names (NOT_FOUND); its defaults and renewal against the policy and
 * the CA's key (INVALID_ARGUMENT PROFILE_BREAKS_POLICY, every problem at once, on
 * `certificate_profile.*` paths; PROFILE_RENEWAL_INVALID when only the renewal window is wrong). The policy row stays locked (FOR SHARE) until `tx` commits, so
 * the policy cannot change between this check and the write of the profile.
 *
 * A CA of any status is accepted but a revoked one (or one below it: it signs nothing for
 * good): a DISABLED one may be enabled again, and one waiting for its certificate
 * (PENDING_CERTIFICATE) already has its key; issuance refuses until it is ACTIVE.
 */
export async function checkProfile(
  tx: { policies: Pick<PolicyRepository, "find" | "lock">; cas: Pick<CaRepository, "find"> },
  draft: ProfileDraft,
  /** The CA the profile has now (an update): kept, it is not refused for being revoked. */
  currentCaId?: string | null,
): Promise<CheckedProfile> {
  assertShape(draft);
  const found = await resolveRef(
    draft.policy,
    "certificate policy",
    "certificate_profile.certificate_policy",
    (k) => tx.policies.find(k),
  );
  const policyRow = stillThere(await tx.policies.lock(found.id, "share"), {
    what: "certificate policy",
    ref: found.slug,
  });
  const issuer = draft.issuer;
  const ca =
    issuer.kind === "CA"
      ? await resolveRef(
          issuer.ref,
          "certificate authority",
          "certificate_profile.certificate_authority",
          (k) => tx.cas.find(k),
        )
      : null;
  // Only a CA the profile is given: one revoked under it may still be left while it moves on.
  if (ca && ca.id !== currentCaId) await refuseRevokedCa(tx.cas, ca, "a profile");
  const violations = profileViolations(compiledPolicyOf(policyRow), {
    defaults: draft.defaults,
    renewal: draft.renewal,
    ca: ca && { keyAlgorithm: ca.keyAlgorithm, signatureAlgorithm: ca.signatureAlgorithm },
  });
  if (violations.length > 0) {
    const n = violations.length;
    const problems = `(${n} problem${n === 1 ? "" : "s"})`;
    // Renewal settings are checked here because the renewal window is measured against the
    // default TTL, but they break no policy: said so when they are all that is wrong.
    const renewalOnly = violations.every((v) => v.field.startsWith("renewal."));
    throw invalidArgument(
      renewalOnly ? "PROFILE_RENEWAL_INVALID" : "PROFILE_BREAKS_POLICY",
      renewalOnly
        ? `the profile's renewal settings are invalid ${problems}`
        : `the profile's defaults break certificate policy "${policyRow.slug}" ${problems}`,
      {
        violations: violations.map((v) => ({ ...v, field: `certificate_profile.${v.field}` })),
      },
    );
  }
  return {
    description: draft.description,
    policyId: policyRow.id,
    caId: ca?.id ?? null,
    selfSigned: ca === null,
    enrollmentMethod: draft.enrollmentMethod ?? "API",
    defaults: normalizedDefaults(draft.defaults),
    renewal: {
      autoRenew: draft.renewal.autoRenew,
      renewBeforeDays: draft.renewal.renewBeforeDays,
      allowSharedRenewal: draft.renewal.allowSharedRenewal === true,
      renewBeforeSeconds: draft.renewal.renewBeforeSeconds ?? 0,
    },
    requireApproval: draft.requireApproval,
    allowSelfApproval: draft.allowSelfApproval === true,
    validityOverflow: draft.validityOverflow ?? "FAIL",
    privateKeyRetention: draft.privateKeyRetention ?? "RETURN_ONCE",
    acmeRequireEab: draft.acmeRequireEab === true,
  };
}

/**
 * A profile's write that hit the foreign key of its CA (StillReferenced): the CA it names was
 * deleted after checkProfile found it (a CA is not locked while a profile is written; the
 * policy is, FOR SHARE, so its key cannot be the one). NOT_FOUND, as the call is answered had it
 * come after the deletion, as for a policy deleted meanwhile (row-lock.ts stillThere). Until
 * stop 45 of 2026-12-06 it was INTERNAL (an outside probe: CreateCertificateProfile and
 * UpdateCertificateProfile racing DeleteCertificateAuthority).
 */
export function caDeletedMeanwhile(issuer: ProfileDraft["issuer"]): CertmintError {
  const e = referenceNotFound(
    "certificate authority",
    issuer.kind === "CA" ? issuer.ref.trim() : "",
  );
  return new CertmintError(e.kind, e.reason, `${e.message} (deleted meanwhile)`);
}

function assertShape(draft: ProfileDraft): void {
  const violations: FieldViolation[] = [];
  if (draft.policy.trim() === "") {
    violations.push(
      fieldViolation(
        "certificate_profile.certificate_policy",
        "REFERENCE_MISSING",
        "name the certificate policy by id or slug",
      ),
    );
  }
  if (draft.issuer.kind === "NONE") {
    violations.push(
      fieldViolation(
        "certificate_profile.certificate_authority",
        "ISSUER_MISSING",
        "set exactly one issuer: certificate_authority (an id or slug) or self_signed=true",
      ),
    );
  }
  // EST is reserved for a later release (proto EnrollmentMethod): a profile that says EST
  // would be stored but could never issue, so it is refused until it exists. ACME profiles
  // are served by src/acme.
  if (draft.enrollmentMethod === "EST") {
    violations.push(
      fieldViolation(
        "certificate_profile.enrollment_method",
        "ENROLLMENT_METHOD_UNAVAILABLE",
        "EST is not available yet; API and ACME are",
      ),
    );
  }
  if (draft.acmeRequireEab && draft.enrollmentMethod !== "ACME") {
    violations.push(
      fieldViolation(
        "certificate_profile.acme.require_external_account_binding",
        "ACME_SETTING_WITHOUT_ACME",
        "only a profile whose enrollment method is ACME has ACME settings",
      ),
    );
  }
  if (violations.length > 0) {
    throw invalidArgument("PROFILE_INVALID", "the certificate profile is invalid", { violations });
  }
}

/** The defaults as stored: set fields only, repeated usages dropped. */
function normalizedDefaults(d: ProfileDefaults): ProfileDefaults {
  const out: ProfileDefaults = {};
  if (d.ttlSeconds !== undefined) out.ttlSeconds = d.ttlSeconds;
  if (d.subject && d.subject.attributes.length > 0) out.subject = structuredClone(d.subject);
  if (d.keyAlgorithm) out.keyAlgorithm = d.keyAlgorithm;
  if (d.signatureAlgorithm) out.signatureAlgorithm = d.signatureAlgorithm;
  if (d.keyUsages?.length) out.keyUsages = [...new Set(d.keyUsages)];
  if (d.extendedKeyUsages?.length) out.extendedKeyUsages = [...new Set(d.extendedKeyUsages)];
  return out;
}
