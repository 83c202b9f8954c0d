import type { SubjectAttribute } from "../../model/pki";
import type { NameRule, PresetName, SanType, UsageRule, ValueRule } from "../policy-engine";

/**
 * The rule fields of a policy as a request gives them, before any check: a key is present iff
 * the request set that message field (proto3 message presence), so a preset or an update mask
 * can tell "left unset" from "set to empty". Enum values are their domain names, or the raw
 * value when the request's number is unknown or UNSPECIFIED, so that compilePolicy reports
 * every bad entry at its index together with every other problem.
 */
export interface PolicyRulesDraft {
  subject?: Partial<Record<SubjectAttribute, ValueRule>>;
  sans?: Partial<Record<SanType, NameRule>>;
  keyUsages?: UsageRule<string>;
  extendedKeyUsages?: UsageRule<string>;
  keyAlgorithms?: { allowed: string[]; minRsaBits?: number };
  signatureAlgorithms?: { allowed: string[] };
  /** May be fractional or out of range: compilePolicy reports it. */
  maxTtlSeconds?: number;
  basicConstraints?: { ca: string; maxPathLength?: number };
  /** Absent when the request left it UNSPECIFIED (COPY). */
  subjectNamesInSans?: string;
}

export interface NewPolicyInput {
  slug: string;
  description: string;
  rules: PolicyRulesDraft;
  /** Fills every rule field `rules` leaves unset. */
  preset?: PresetName;
}

export interface UpdatePolicyInput {
  /** The policy, by id or slug. */
  ref: string;
  /** The slug the request gave beside an id: must be that policy's (refs.ts updateTarget). */
  namedSlug?: string;
  /** "" for no check; else must be current (ABORTED otherwise). */
  etag: string;
  /** Proto field paths ("san_rules.dns", "max_ttl", "description", "*"). */
  mask: string[];
  description: string;
  rules: PolicyRulesDraft;
}

export interface DeletePolicyInput {
  ref: string;
  etag: string;
}
