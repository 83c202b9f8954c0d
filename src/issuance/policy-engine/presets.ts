/**
 * Presets: the usage, algorithm, lifetime and CA rules of common certificate kinds. They allow
 * NO names and NO subject attributes: which names a team may have is the one thing a preset
 * cannot know, so a preset alone fails closed until `sans` / `subject` rules are filled in
 * (the proto's "preset fills every rule field the policy leaves unset").
 *
 * Lifetimes: internal leaf certificates are short-lived and renewed automatically (90 days,
 * well under the CA/B 398-day limit); code signing and S/MIME certificates are handled by
 * people and live a year; an intermediate CA five years.
 */

import { invalidArgument } from "../../errors";
import { CA_KEY_USAGES } from "../../model/keys";
import type { ExtendedKeyUsage, KeyUsage } from "../../model/pki";
import type { CompiledPolicy } from "./compile";
import type { NameRule, PolicySpec, UsageRule } from "./types";

export const PRESET_NAMES = [
  "TLS_SERVER",
  "TLS_CLIENT",
  "DUAL_PURPOSE_SERVER",
  "CODE_SIGNING",
  "EMAIL_PROTECTION",
  "INTERMEDIATE_CA",
] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

const DAY = 86_400;
/** An empty slot for a SAN type the preset is meant for: nothing allowed until filled in. */
const slot = (required = false): NameRule => ({ allowed: [], denied: [], required });
const usages = <T extends string>(allowed: T[], required: T[], denied: T[] = []): UsageRule<T> => ({
  allowed,
  required,
  denied,
});

/** End-entity basics shared by the leaf presets. */
const leaf = (
  keyUsages: UsageRule<KeyUsage>,
  extendedKeyUsages: UsageRule<ExtendedKeyUsage>,
  sans: PolicySpec["sans"],
  maxTtlSeconds: number,
  minRsaBits?: number,
): PolicySpec => ({
  subject: {},
  sans,
  keyUsages,
  extendedKeyUsages,
  keyAlgorithms: { allowed: [], ...(minRsaBits === undefined ? {} : { minRsaBits }) },
  signatureAlgorithms: { allowed: [] },
  maxTtlSeconds,
  basicConstraints: { ca: "DENIED" },
});

const PRESETS: Record<PresetName, () => PolicySpec> = {
  // digitalSignature always; keyEncipherment allowed for RSA key transport (TLS 1.2 RSA
  // kx; the key-type check refuses it for EC and Ed25519 keys). DNS and IP SAN slots.
  TLS_SERVER: () =>
    leaf(
      usages<KeyUsage>(["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"], ["DIGITAL_SIGNATURE"]),
      usages<ExtendedKeyUsage>(["SERVER_AUTH"], ["SERVER_AUTH"]),
      { dns: { ...slot(), allowWildcardNames: false }, ip: slot() },
      90 * DAY,
    ),
  // mTLS clients sign only; identities usually SPIFFE URIs, DNS names or email addresses.
  TLS_CLIENT: () =>
    leaf(
      usages<KeyUsage>(["DIGITAL_SIGNATURE"], ["DIGITAL_SIGNATURE"]),
      usages<ExtendedKeyUsage>(["CLIENT_AUTH"], ["CLIENT_AUTH"]),
      { dns: { ...slot(), allowWildcardNames: false }, email: slot(), uri: slot() },
      90 * DAY,
    ),
  DUAL_PURPOSE_SERVER: () =>
    leaf(
      usages<KeyUsage>(["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"], ["DIGITAL_SIGNATURE"]),
      usages<ExtendedKeyUsage>(["SERVER_AUTH", "CLIENT_AUTH"], ["SERVER_AUTH", "CLIENT_AUTH"]),
      { dns: { ...slot(), allowWildcardNames: false }, ip: slot(), uri: slot() },
      90 * DAY,
    ),
  // No SANs: a code-signing identity is its subject. RSA >= 3072 (CA/B Code Signing BR 6.1.5.2).
  CODE_SIGNING: () =>
    leaf(
      usages<KeyUsage>(["DIGITAL_SIGNATURE"], ["DIGITAL_SIGNATURE"]),
      usages<ExtendedKeyUsage>(["CODE_SIGNING"], ["CODE_SIGNING"]),
      {},
      365 * DAY,
      3072,
    ),
  // S/MIME (RFC 8550): signing, and key encipherment for RSA; an email SAN is required.
  EMAIL_PROTECTION: () =>
    leaf(
      usages<KeyUsage>(["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"], ["DIGITAL_SIGNATURE"]),
      usages<ExtendedKeyUsage>(["EMAIL_PROTECTION"], ["EMAIL_PROTECTION"]),
      { email: slot(true) },
      365 * DAY,
    ),
  // An intermediate that issues leaves only (pathLenConstraint 0). keyCertSign and cRLSign
  // (RFC 5280 4.2.1.3), and digitalSignature, which certmint's CA certificates carry so the CA
  // key may sign OCSP responses (CA/B BR 7.1.2.10.7 allows it). EKUs on a CA constrain what it
  // may issue; any is allowed except OCSP signing, which belongs on a responder.
  INTERMEDIATE_CA: () => ({
    subject: {},
    sans: {},
    keyUsages: usages<KeyUsage>(
      ["KEY_CERT_SIGN", "CRL_SIGN", "DIGITAL_SIGNATURE"],
      ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"],
    ),
    extendedKeyUsages: usages<ExtendedKeyUsage>([], [], ["OCSP_SIGNING"]),
    keyAlgorithms: { allowed: [] },
    signatureAlgorithms: { allowed: [] },
    maxTtlSeconds: 1826 * DAY,
    basicConstraints: { ca: "REQUIRED", maxPathLength: 0 },
  }),
};

/** A fresh copy of a preset's spec (callers may fill in names and compile it). */
export function presetSpec(name: PresetName): PolicySpec {
  const make = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  if (!make) {
    throw invalidArgument(
      "POLICY_PRESET_UNKNOWN",
      `Unknown policy preset ${JSON.stringify(name)}.`,
    );
  }
  return make();
}

/** What every CA certificate carries (src/model/keys.ts); issuance adds them to a CA request. */
export { CA_KEY_USAGES };

/** The usages a request gets when it names none: the policy's required ones. */
export function defaultUsagesFor(policy: CompiledPolicy): {
  keyUsages: KeyUsage[];
  extendedKeyUsages: ExtendedKeyUsage[];
} {
  return {
    keyUsages: [...policy.keyUsages.required],
    extendedKeyUsages: [...policy.extendedKeyUsages.required],
  };
}
