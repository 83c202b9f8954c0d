import { type FieldViolation, fieldViolation, invalidArgument } from "../../errors";
import type { CompiledPolicy } from "../policy-engine";
import { profileViolations } from "../profiles/defaults-check";
import { storedDefaults, storedRenewal } from "../profiles/load";
import type { CaRepository, ProfileRepository } from "../repositories";

/**
 * Which policy field a profile violation points at: a profile that breaks the new rules is
 * refused because of the rule that changed, so that is the field the update names.
 */
const POLICY_FIELD_OF_PROFILE_FIELD: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [/^defaults\.subject\.([a-z_]+)/, (m) => `subject_rules.${m[1]}`],
  [/^defaults\.key_algorithm/, () => "key_algorithms"],
  [/^defaults\.signature_algorithm/, () => "signature_algorithms"],
  [/^defaults\.key_usages/, () => "key_usages"],
  [/^defaults\.extended_key_usages/, () => "extended_key_usages"],
  [/^(defaults\.ttl|renewal\.)/, () => "max_ttl"],
  [/^certificate_policy$/, () => "basic_constraints"],
];

function policyFieldOf(profileField: string): string {
  for (const [pattern, field] of POLICY_FIELD_OF_PROFILE_FIELD) {
    const m = pattern.exec(profileField);
    if (m) return `certificate_policy.${field(m)}`;
  }
  return "certificate_policy";
}

/**
 * Refuses a policy change that would make the defaults of a profile using the policy break it
 * (INVALID_ARGUMENT POLICY_BREAKS_PROFILES): one violation per broken rule per profile, on the
 * policy field, its description naming the profile and the default. Run inside the transaction
 * that holds the policy row locked, so no profile can be added or changed meanwhile.
 */
export async function assertProfilesStillFit(
  tx: {
    profiles: Pick<ProfileRepository, "usingPolicy">;
    cas: Pick<CaRepository, "findMany">;
  },
  policyId: string,
  policySlug: string,
  policy: CompiledPolicy,
): Promise<void> {
  const profiles = await tx.profiles.usingPolicy(policyId);
  const cas = await tx.cas.findMany(profiles.flatMap((p) => (p.caId ? [p.caId] : [])));
  const caById = new Map(cas.map((ca) => [ca.id, ca]));
  const violations: FieldViolation[] = [];
  const broken: string[] = [];
  for (const profile of profiles) {
    const ca = profile.caId ? caById.get(profile.caId) : undefined;
    const found = profileViolations(policy, {
      defaults: storedDefaults(profile),
      renewal: storedRenewal(profile),
      ca: ca ? { keyAlgorithm: ca.keyAlgorithm, signatureAlgorithm: ca.signatureAlgorithm } : null,
    });
    if (found.length) broken.push(profile.slug);
    for (const v of found) {
      violations.push(
        fieldViolation(
          policyFieldOf(v.field),
          v.reason ?? "",
          `profile "${profile.slug}" ${v.field}: ${v.description}`,
        ),
      );
    }
  }
  if (violations.length) {
    throw invalidArgument(
      "POLICY_BREAKS_PROFILES",
      `the change to certificate policy "${policySlug}" would break the defaults of profile(s) ${broken.map((s) => `"${s}"`).join(", ")}: change those profiles first`,
      { violations, metadata: { profiles: broken.join(",") } },
    );
  }
}
