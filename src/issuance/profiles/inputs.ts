import type {
  EnrollmentMethod,
  PrivateKeyRetention,
  ProfileDefaults,
  RenewalSettings,
  ValidityOverflow,
} from "./types";

/** Who signs: a CA by id or slug, the certificate's own key, or (an error) nothing. */
export type IssuerChoice = { kind: "CA"; ref: string } | { kind: "SELF_SIGNED" } | { kind: "NONE" };

/** A profile as a request gives it, unchecked. Unset enums take the proto's documented defaults. */
export interface ProfileDraft {
  description: string;
  /** The policy, by id or slug. */
  policy: string;
  issuer: IssuerChoice;
  /** Unset: API. */
  enrollmentMethod?: EnrollmentMethod;
  /** Usage lists as given (repeats allowed: they are dropped, and errors point at the first). */
  defaults: ProfileDefaults;
  renewal: RenewalSettings;
  requireApproval: boolean;
  /** The requester may approve its own request (default false: never). */
  allowSelfApproval?: boolean;
  /** Unset: FAIL. */
  validityOverflow?: ValidityOverflow;
  /** Unset: RETURN_ONCE. */
  privateKeyRetention?: PrivateKeyRetention;
  /** ACME profiles: new accounts need an External Account Binding key (src/acme/eab.ts). */
  acmeRequireEab?: boolean;
}

export interface NewProfileInput extends ProfileDraft {
  slug: string;
}

export interface UpdateProfileInput {
  /** The profile, by id or slug. */
  ref: string;
  /** The slug the request gave beside an id: must be that profile's (refs.ts updateTarget). */
  namedSlug?: string;
  /** "" for no check; else must be current (ABORTED otherwise). */
  etag: string;
  /** Proto field paths ("defaults.ttl", "require_approval", "certificate_authority", "*"). */
  mask: string[];
  draft: ProfileDraft;
}

export interface DeleteProfileInput {
  ref: string;
  etag: string;
  /** Delete even though certificates issued under it are still valid. */
  force?: boolean;
}
