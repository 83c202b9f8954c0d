import { type PolicySpec, type PresetName, presetSpec } from "../policy-engine";
import type { PolicyRulesDraft } from "./types";

/** Rule fields as compilePolicy reads them; values still unchecked. */
export type SpecDraft = { [K in keyof PolicySpec]?: unknown };

/**
 * What a rule field means when a request leaves it unset and no preset fills it: the proto
 * default of that message. No subject or SAN rules (nothing allowed: fails closed), any usage,
 * any algorithm, CA certificates DENIED (CaCertificateRule UNSPECIFIED). max_ttl has no default:
 * compilePolicy reports it missing, as the proto says it is required.
 */
export function unsetRules(): Omit<PolicySpec, "maxTtlSeconds"> {
  return {
    subject: {},
    sans: {},
    keyUsages: { allowed: [], required: [], denied: [] },
    extendedKeyUsages: { allowed: [], required: [], denied: [] },
    keyAlgorithms: { allowed: [] },
    signatureAlgorithms: { allowed: [] },
    basicConstraints: { ca: "DENIED" },
  };
}

/**
 * The spec of a new policy: every rule field the request set, and for the others the preset's
 * (or the unset default). Subject and SAN rules are filled per attribute / per SAN type, since
 * each of them is a message field of its own: a TLS_SERVER preset with only `san_rules.dns` set
 * keeps the preset's `san_rules.ip`. Within a field that is set, the request's value replaces
 * the preset's whole (a set `san_rules.email` with required=false drops the preset's required).
 */
export function specForNewPolicy(rules: PolicyRulesDraft, preset?: PresetName): SpecDraft {
  const base: Omit<PolicySpec, "maxTtlSeconds"> & { maxTtlSeconds?: number } = preset
    ? presetSpec(preset)
    : unsetRules();
  return {
    subject: { ...base.subject, ...rules.subject },
    sans: { ...base.sans, ...rules.sans },
    keyUsages: rules.keyUsages ?? base.keyUsages,
    extendedKeyUsages: rules.extendedKeyUsages ?? base.extendedKeyUsages,
    keyAlgorithms: rules.keyAlgorithms ?? base.keyAlgorithms,
    signatureAlgorithms: rules.signatureAlgorithms ?? base.signatureAlgorithms,
    maxTtlSeconds: rules.maxTtlSeconds ?? base.maxTtlSeconds,
    basicConstraints: rules.basicConstraints ?? base.basicConstraints,
    ...(rules.subjectNamesInSans === undefined
      ? {}
      : { subjectNamesInSans: rules.subjectNamesInSans }),
  };
}
