import { resolveUpdateMask } from "../common/field-mask";
import type { ProfileDraft } from "./inputs";
import type { ProfileDefaults, RenewalSettings } from "./types";

/** Replaces one field of the profile being updated with the request's value. */
export type ProfileChange = (target: ProfileDraft, given: ProfileDraft) => void;

const defaultsField =
  <K extends keyof ProfileDefaults>(key: K): ProfileChange =>
  (t, g) => {
    t.defaults = { ...t.defaults, [key]: g.defaults[key] };
  };
const renewalField =
  <K extends keyof RenewalSettings>(key: K): ProfileChange =>
  (t, g) => {
    t.renewal = { ...t.renewal, [key]: g.renewal[key] };
  };
/** The issuer is a oneof: naming either member replaces it with what the request holds. */
const issuer: ProfileChange = (t, g) => (t.issuer = g.issuer);

const TOP_LEVEL: Array<[string, ProfileChange]> = [
  ["description", (t, g) => (t.description = g.description)],
  ["certificate_policy", (t, g) => (t.policy = g.policy)],
  ["enrollment_method", (t, g) => (t.enrollmentMethod = g.enrollmentMethod)],
  ["defaults", (t, g) => (t.defaults = g.defaults)],
  ["renewal", (t, g) => (t.renewal = g.renewal)],
  ["require_approval", (t, g) => (t.requireApproval = g.requireApproval)],
  ["allow_self_approval", (t, g) => (t.allowSelfApproval = g.allowSelfApproval)],
  ["validity_overflow", (t, g) => (t.validityOverflow = g.validityOverflow)],
  ["private_key_retention", (t, g) => (t.privateKeyRetention = g.privateKeyRetention)],
  ["acme", (t, g) => (t.acmeRequireEab = g.acmeRequireEab)],
];

const PATHS = new Map<string, ProfileChange>([
  ...TOP_LEVEL,
  ["certificate_authority", issuer],
  ["self_signed", issuer],
  ["defaults.ttl", defaultsField("ttlSeconds")],
  ["defaults.subject", defaultsField("subject")],
  ["defaults.key_algorithm", defaultsField("keyAlgorithm")],
  ["defaults.signature_algorithm", defaultsField("signatureAlgorithm")],
  ["defaults.key_usages", defaultsField("keyUsages")],
  ["defaults.extended_key_usages", defaultsField("extendedKeyUsages")],
  ["renewal.auto_renew", renewalField("autoRenew")],
  ["renewal.renew_before_days", renewalField("renewBeforeDays")],
  ["renewal.allow_shared_renewal", renewalField("allowSharedRenewal")],
  ["acme.require_external_account_binding", (t, g) => (t.acmeRequireEab = g.acmeRequireEab)],
  ["renewal.renew_before", renewalField("renewBeforeSeconds")],
]);

/**
 * The changes an update mask asks for: a top-level field ("require_approval", "defaults"), one
 * default or renewal setting ("defaults.ttl", "renewal.renew_before_days"), the issuer
 * ("certificate_authority" or "self_signed"), or "*" for every field.
 */
export function profileChanges(mask: readonly string[]): ProfileChange[] {
  return resolveUpdateMask(
    mask,
    PATHS,
    [...TOP_LEVEL.map(([, change]) => change), issuer],
    "CertificateProfile",
    '"defaults.ttl", "require_approval" or "certificate_authority"',
  );
}
