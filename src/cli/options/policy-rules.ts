/** Every rule option of a policy, and applying them all to a policy message. */
import type { CertificatePolicy } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import type { Args } from "../args";
import type { OptionSection } from "../command";
import { PRESET } from "../enums";
import { applyLimits, applyUsageRules, LIMITS_SECTION, USAGE_RULES_SECTION } from "./policy-limits";
import {
  applySanRules,
  applySubjectRules,
  SAN_RULES_SECTION,
  SUBJECT_RULES_SECTION,
} from "./policy-names";

export const PRESET_SECTION: OptionSection = {
  title: "Preset",
  specs: {
    preset: {
      type: "string",
      value: "PRESET",
      description:
        "start from a preset's usage, algorithm, lifetime and CA rules; it allows no names until --allow-* does",
      choices: PRESET.choices,
    },
  },
};

export const POLICY_RULE_SECTIONS: readonly OptionSection[] = [
  SUBJECT_RULES_SECTION,
  SAN_RULES_SECTION,
  USAGE_RULES_SECTION,
  LIMITS_SECTION,
];

/** Applies every rule option; returns the update mask paths they touch (none when none was given). */
export function applyPolicyRules(args: Args, policy: CertificatePolicy): string[] {
  return [
    ...applySubjectRules(args, policy),
    ...applySanRules(args, policy),
    ...applyUsageRules(args, policy),
    ...applyLimits(args, policy),
  ];
}

/** The preset of --preset; 0 (none) when not given. */
export function readPreset(args: Args): number {
  const v = args.string("preset");
  return v === undefined ? 0 : PRESET.parse(v, "preset");
}
