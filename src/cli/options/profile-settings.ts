/**
 * A profile's settings from options: on create they fill a new profile, on update they change the
 * profile as stored; either way the update mask paths they touch are returned.
 */
import type {
  CertificateProfile,
  ProfileDefaults,
  RenewalSettings,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import type { Args } from "../args";
import { type OptionSection, UsageError } from "../command";
import {
  ENROLLMENT_METHOD,
  EXTENDED_KEY_USAGE,
  KEY_RETENTION,
  KEY_USAGE,
  VALIDITY_OVERFLOW,
} from "../enums";
import { parseDuration, parseInteger } from "../values";
import {
  keyAlgorithmOption,
  readKeyAlgorithm,
  readSignatureAlgorithm,
  signatureAlgorithmOption,
} from "./algorithms";
import { readSubject, subjectOptions } from "./subject";

export const ISSUER_SECTION: OptionSection = {
  title: "Policy and issuer",
  specs: {
    description: { type: "string", value: "TEXT", description: "free text for operators" },
    policy: {
      type: "string",
      value: "POLICY",
      description: "the policy requests must satisfy, by id or slug",
    },
    ca: { type: "string", value: "CA", description: "the CA that signs, by id or slug" },
    "self-signed": {
      type: "boolean",
      description: "certificates are self-signed with their own key, instead of --ca",
    },
    "enrollment-method": {
      type: "string",
      value: "METHOD",
      description: "how clients enroll (default: api)",
      choices: ENROLLMENT_METHOD.choices,
    },
    "acme-require-eab": {
      type: "boolean",
      negatable: true,
      description:
        "ACME profiles: new accounts need an External Account Binding key (profile acme-key)",
    },
  },
};

export const DEFAULTS_SECTION: OptionSection = {
  title: "Defaults, for what a request leaves empty",
  specs: {
    ttl: { type: "string", value: "DURATION", description: "certificate lifetime, e.g. 7d" },
    "key-algorithm": keyAlgorithmOption("the algorithm of keys certmint generates"),
    "signature-algorithm": signatureAlgorithmOption("what the CA signs with"),
    "key-usage": {
      type: "string",
      value: "USAGE",
      multiple: true,
      description: "keyUsage",
      choices: KEY_USAGE.choices,
    },
    eku: {
      type: "string",
      value: "USAGE",
      multiple: true,
      description: "extKeyUsage",
      choices: EXTENDED_KEY_USAGE.choices,
    },
    ...subjectOptions("default-", "subject "),
  },
};

export const BEHAVIOUR_SECTION: OptionSection = {
  title: "Renewal, approval and keys",
  specs: {
    "auto-renew": { type: "boolean", negatable: true, description: "clients renew automatically" },
    "renew-before-days": {
      type: "string",
      value: "DAYS",
      description: "renew this many days before expiry (less than the default TTL)",
    },
    "renew-before": {
      type: "string",
      value: "DURATION",
      description:
        "renew this long before expiry, for short lifetimes (100s, 30m, 12h; less than the default TTL; instead of --renew-before-days)",
    },
    "allow-shared-renewal": {
      type: "boolean",
      negatable: true,
      description: "any issuer of the profile may renew its certificates, not only their owner",
    },
    "require-approval": {
      type: "boolean",
      negatable: true,
      description: "requests wait for an approver",
    },
    "allow-self-approval": {
      type: "boolean",
      negatable: true,
      description: "the token that made a request may approve it",
    },
    "validity-overflow": {
      type: "string",
      value: "MODE",
      description: "a certificate that would outlive its CA: fail or truncate (default: fail)",
      choices: VALIDITY_OVERFLOW.choices,
    },
    "private-key-retention": {
      type: "string",
      value: "MODE",
      description: "what certmint keeps of keys it generates (default: return-once)",
      choices: KEY_RETENTION.choices,
    },
  },
};

export const PROFILE_SECTIONS: readonly OptionSection[] = [
  ISSUER_SECTION,
  DEFAULTS_SECTION,
  BEHAVIOUR_SECTION,
];

function applyIssuer(args: Args, profile: CertificateProfile): string[] {
  const ca = args.string("ca");
  const selfSigned = args.flag("self-signed") === true;
  if (ca !== undefined && selfSigned)
    throw new UsageError("--ca and --self-signed contradict each other");
  if (ca !== undefined) profile.issuer = { $case: "certificateAuthority", value: ca };
  else if (selfSigned) profile.issuer = { $case: "selfSigned", value: true };
  else return [];
  return [ca !== undefined ? "certificate_authority" : "self_signed"];
}

function applyDefaults(args: Args, profile: CertificateProfile): string[] {
  const d: ProfileDefaults = {
    keyAlgorithm: 0,
    signatureAlgorithm: 0,
    keyUsages: [],
    extendedKeyUsages: [],
    ...profile.defaults,
  };
  const paths: string[] = [];
  const ttl = args.string("ttl");
  if (ttl !== undefined) {
    d.ttl = parseDuration(ttl, "ttl");
    paths.push("defaults.ttl");
  }
  const subject = readSubject(args, "default-");
  if (subject) {
    d.subject = subject;
    paths.push("defaults.subject");
  }
  if (args.given("key-algorithm")) {
    d.keyAlgorithm = readKeyAlgorithm(args);
    paths.push("defaults.key_algorithm");
  }
  if (args.given("signature-algorithm")) {
    d.signatureAlgorithm = readSignatureAlgorithm(args);
    paths.push("defaults.signature_algorithm");
  }
  if (args.given("key-usage")) {
    d.keyUsages = args.strings("key-usage").map((u) => KEY_USAGE.parse(u, "key-usage"));
    paths.push("defaults.key_usages");
  }
  if (args.given("eku")) {
    d.extendedKeyUsages = args.strings("eku").map((u) => EXTENDED_KEY_USAGE.parse(u, "eku"));
    paths.push("defaults.extended_key_usages");
  }
  if (paths.length > 0) profile.defaults = d;
  return paths;
}

function applyRenewal(args: Args, profile: CertificateProfile): string[] {
  const r: RenewalSettings = {
    autoRenew: false,
    renewBeforeDays: 0,
    allowSharedRenewal: false,
    ...profile.renewal,
  };
  const paths: string[] = [];
  const autoRenew = args.flag("auto-renew");
  if (autoRenew !== undefined) {
    r.autoRenew = autoRenew;
    paths.push("renewal.auto_renew");
  }
  // Only one of the two may be set (RENEW_BEFORE_CONFLICT): setting one clears the other.
  const days = args.string("renew-before-days");
  const before = args.string("renew-before");
  if (days !== undefined && before !== undefined) {
    throw new UsageError("--renew-before and --renew-before-days: give one of them");
  }
  if (days !== undefined) {
    r.renewBeforeDays = parseInteger(days, "renew-before-days", 0, 36500);
    r.renewBefore = undefined;
  }
  if (before !== undefined) {
    r.renewBefore = parseDuration(before, "renew-before");
    r.renewBeforeDays = 0;
  }
  if (days !== undefined || before !== undefined) {
    paths.push("renewal.renew_before_days", "renewal.renew_before");
  }
  const shared = args.flag("allow-shared-renewal");
  if (shared !== undefined) {
    r.allowSharedRenewal = shared;
    paths.push("renewal.allow_shared_renewal");
  }
  if (paths.length > 0) profile.renewal = r;
  return paths;
}

function applyBehaviour(args: Args, profile: CertificateProfile): string[] {
  const paths: string[] = [];
  const set = <K extends keyof CertificateProfile>(
    key: K,
    value: CertificateProfile[K] | undefined,
    path: string,
  ) => {
    if (value === undefined) return;
    profile[key] = value;
    paths.push(path);
  };
  const description = args.string("description");
  set("description", description, "description");
  set("certificatePolicy", args.string("policy"), "certificate_policy");
  const method = args.string("enrollment-method");
  set(
    "enrollmentMethod",
    method === undefined ? undefined : ENROLLMENT_METHOD.parse(method, "enrollment-method"),
    "enrollment_method",
  );
  const eab = args.flag("acme-require-eab");
  set(
    "acme",
    eab === undefined ? undefined : { requireExternalAccountBinding: eab },
    "acme.require_external_account_binding",
  );
  set("requireApproval", args.flag("require-approval"), "require_approval");
  set("allowSelfApproval", args.flag("allow-self-approval"), "allow_self_approval");
  const overflow = args.string("validity-overflow");
  set(
    "validityOverflow",
    overflow === undefined ? undefined : VALIDITY_OVERFLOW.parse(overflow, "validity-overflow"),
    "validity_overflow",
  );
  const retention = args.string("private-key-retention");
  set(
    "privateKeyRetention",
    retention === undefined ? undefined : KEY_RETENTION.parse(retention, "private-key-retention"),
    "private_key_retention",
  );
  return paths;
}

/** Applies every profile option; returns the update mask paths they touch. */
export function applyProfileSettings(args: Args, profile: CertificateProfile): string[] {
  return [
    ...applyBehaviour(args, profile),
    ...applyIssuer(args, profile),
    ...applyDefaults(args, profile),
    ...applyRenewal(args, profile),
  ];
}
