/**
 * The certificate policy model: what a certificate request may contain. Plain JSON data (it is
 * stored as jsonb and mapped from the proto CertificatePolicy); `compilePolicy` checks it once
 * and `evaluate` applies the checked form to each request.
 *
 * # Semantics (the proto comments and the README copy these)
 *
 * General
 * - Deny wins over allow, for every rule.
 * - Nothing is allowed unless a rule allows it explicitly. A SAN type with no rule, or with an
 *   empty `allowed` list, permits NO names of that type; a subject attribute with no rule, or
 *   with an empty `allowed` list, may not appear. "Allow any" is always spelled out: `**` (DNS,
 *   URI host), `0.0.0.0/0` and `::/0` (IP), `@**` (email), `*` (subject values).
 * - A policy that allows nothing (e.g. a preset before its names are filled in) is valid: it
 *   fails closed. Explicit contradictions are rejected by `compilePolicy` instead: an item both
 *   required and denied, a required usage outside a non-empty allowed list, a usage both
 *   allowed and denied, a required name type or attribute whose every allowed pattern is denied.
 *   A name pattern both allowed and denied is not refused: a denial carves names out of what
 *   the allowed patterns cover, and it wins (an allowed pattern it covers whole allows nothing).
 * - Unknown fields are rejected (a misspelt `allowWildcardNames` must not silently mean false).
 *   Lists hold at most 1000 entries. `compilePolicy` returns the canonical spec (name patterns
 *   normalised, e.g. U-labels as A-labels); store that one, it recompiles to the same policy.
 * - Names are normalised before matching, patterns the same way at compile time; normalisation
 *   is idempotent. The issuer must put the normalised SAN values (see normalize.ts) in the
 *   certificate, so that what was checked is what is signed.
 *
 * DNS names (RFC 1034 3.5, RFC 5890/5891, RFC 6125 6.4.3)
 * - Normalised: lower case, one trailing dot removed, U-labels converted to A-labels by UTS #46
 *   (idna.ts, tr46): full-width forms and the ideographic / fullwidth / halfwidth full stops
 *   (U+3002, U+FF0E, U+FF61) are mapped, characters UTS #46 maps to nothing (soft hyphen)
 *   dropped, and deviation characters kept (non-transitional: "faß.de" -> "xn--fa-hia.de",
 *   not "fass.de"). CheckBidi (RFC 5893), CheckJoiners (RFC 5892 Appendix A) and
 *   CheckHyphens are on; an A-label must decode to a U-label that passes the same checks.
 *   The same normalisation applies to email domains, URI hosts and subject names.
 * - Valid: letters, digits and '-' only (no '_', no spaces, no percent-encoding); labels 1-63
 *   octets, not starting or ending with '-', no "--" in positions 3-4 unless an A-label
 *   (RFC 5890 2.3.1); whole name at most 253
 *   octets; the last label is not all-numeric or "0x..." (it would read as an IPv4 address).
 *   Single-label names ("db") are valid.
 * - Patterns: "api.example.com" matches itself only. "*.example.com" matches exactly one label
 *   below example.com (not a.b.example.com, not example.com). "**.example.com" matches one or
 *   more labels below example.com, NOT example.com itself (deny "example.com" and
 *   "**.example.com" to block a whole zone). "**" matches every name. '*' is valid only as the
 *   whole left-most label ("f*o.example.com", "a.*.example.com" and a bare "*" are invalid).
 * - A requested wildcard name ("*.example.com", RFC 6125 6.4.3: a whole left-most label only)
 *   needs `allowWildcardNames` AND an allowed pattern that covers every name it can stand for:
 *   "*.example.com" or "**.example.com" or "**.com" or "**" cover it; an exact pattern never
 *   does. It is denied when a denied pattern matches ANY name it can stand for: a denied
 *   "api.example.com" denies a requested "*.example.com".
 *
 * IP addresses (RFC 4291, RFC 5952; model/ip.ts is the one parser, shared with the signer)
 * - Requested values are single addresses; IPv4 must be four decimal octets without leading
 *   zeros ("010.0.0.1", "0x7f.0.0.1", "2130706433", "10.1" are invalid); IPv6 per RFC 4291 2.2
 *   without zone ids or brackets. Normalised to RFC 5952 text; IPv4-mapped addresses keep their
 *   family and print as "::ffff:10.0.0.1" (RFC 5952 5).
 * - Never certified, whatever the rules: 0.0.0.0 and :: (unspecified, RFC 4291 2.5.2),
 *   255.255.255.255 (limited broadcast), and any IPv6 form below that carries one of them.
 * - Patterns are CIDR ranges; a bare address is a /32 or /128; host bits must be zero
 *   ("10.0.0.1/8" is rejected as a likely typo); prefix lengths are plain decimals.
 * - IPv4 in IPv6 clothing (ip-match.ts embeddedIpv4): IPv4-mapped ::ffff:0:0/96, IPv4-compatible
 *   ::/96 (but :: and ::1), IPv4-translated ::ffff:0:0:0/96 (RFC 2765), NAT64 64:ff9b::/96
 *   (RFC 6052) and 64:ff9b:1::/48 (RFC 8215: any of four layouts, embeddedIpv4Candidates), 6to4
 *   2002::/16 (RFC 3056, the router's IPv4 address) and Teredo 2001::/32 (RFC 4380, the
 *   client's IPv4 address) carry an IPv4 address, and meet the IPv4 rules too:
 *   - denied when an IPv4 deny range holds the IPv4 address, or an IPv6 deny range the address;
 *   - an IPv4-mapped address is the IPv4 address: only IPv4 ranges (or IPv6 ranges inside
 *     ::ffff:0:0/96, which compile to their IPv4 equivalent) can allow it;
 *   - every other form needs an IPv6 range that allows it AND an IPv4 range that allows the
 *     IPv4 address it carries ("::/0" alone allows no NAT64 address).
 *   NAT64 prefixes an operator chose (RFC 6052 2.2 network-specific) cannot be recognised:
 *   deny them as IPv6 ranges where they exist.

 * Email addresses (RFC 5321 4.1.2, RFC 5280 4.2.1.6)
 * - Valid: `local@domain`, exactly one '@', ASCII dot-atom local part of at most 64 octets (no
 *   quoted local parts, RFC 5280 rfc822Name is IA5String; no '%' or '!', the mail-routing
 *   characters of RFC 1123 5.2.16 and RFC 976), domain a valid DNS name (no address
 *   literals), whole address at most 254 octets. Normalised: domain as DNS names, local part
 *   unchanged (RFC 5321 2.4: the local part may be case-sensitive).
 * - Patterns: "alice@example.com" (that mailbox), "@example.com" (any mailbox at exactly that
 *   domain), "@*.example.com" / "@**.example.com" (domains below, as DNS patterns), "@**"
 *   (any address). A bare "example.com" is invalid (ambiguous).
 * - Allowed mailbox patterns compare the local part case-sensitively; denied mailbox patterns
 *   compare it case-insensitively, so "Root@example.com" cannot slip past a denied
 *   "root@example.com".
 * - Sub-addresses (RFC 5233, '+'): a denied mailbox denies all its sub-addresses ("root@"
 *   denies "root+x@", "Root+y@"); an allowed mailbox allows only itself; a '+' local part
 *   under a domain pattern needs `allowSubAddresses` (default false), else only a mailbox
 *   pattern naming it exactly allows it. Other delimiters ('-') are not recognised.

 * URIs (RFC 3986, RFC 5280 4.2.1.6, SPIFFE ID)
 * - Valid: `scheme://host[:port][/path]`; the host is a DNS name (normalised as above; no IP
 *   literals, no percent-encoding); no userinfo ('@'), query ('?'), fragment ('#') or '*';
 *   URIs without an authority (URNs) are not accepted. Scheme lower-cased. Port 1-65535 as a
 *   plain decimal. Path "/" is the empty path; other empty segments ("//", a trailing "/") and
 *   "." / ".." segments are invalid. Percent-encoded unreserved characters are decoded
 *   (RFC 3986 6.2.2.2), other escapes upper-cased (6.2.2.1); escaped '/', '\', '*' and
 *   control characters are invalid, so a path cannot hide a separator or a dot segment. "spiffe" URIs follow the SPIFFE ID
 *   rules: ASCII trust domain, no port, no percent-encoding, path segments of [A-Za-z0-9._-].
 *   Paths are case-sensitive.
 * - Patterns: `scheme://hostpattern[:port][/path][/*]`: the scheme is exact; the host is a DNS
 *   pattern ("**", "*.example.com", ...); no path matches only the empty path; "/a/b" matches
 *   exactly that path; "/a/b/*" matches any path of one or more whole segments below /a/b
 *   (so "/ns/pay/*" never matches "/ns/payments/x", and "/a/b/*" does not match "/a/b").
 * - Ports: an allowed pattern without a port allows only URIs without a port, with a port only
 *   that port; a denied pattern without a port denies every port.
 *
 * Subject attributes (RFC 5280 4.1.2.4, 7.1; RFC 4518)
 * - Patterns are exact values or contain '*' matching any run of characters (never regular
 *   expressions; matched without backtracking). "*" alone allows any value.
 * - Matching is case-insensitive and whitespace-insensitive: values and patterns are compared
 *   after NFKC, case folding and collapsing white space (in the spirit of RFC 4518 caseIgnore).
 * - Values are invalid when empty, longer than the RFC 5280 upper bound of the attribute, or
 *   containing control, format (zero-width), private-use or unassigned characters, or '*' (a
 *   wildcard common name must not ride past the DNS wildcard rule); a country must be two
 *   letters; an emailAddress a valid email address.
 * - Every value of an attribute must be allowed and not denied; `required` means at least one
 *   value. Attributes that are single-valued in the API (all but O and OU) may appear once.
 * - Names in the subject (subject-names.ts): a common name that reads as a DNS name, an IP
 *   address, an email address or a URI, and every emailAddress, is normalised as a SAN of that
 *   kind (and signed so), must satisfy that kind's SAN rules as if it were a SAN (violations
 *   on the subject field, with the SAN reasons), and per `subjectNamesInSans` is copied into
 *   the SANs (COPY, the default), must be among the requested SANs (REQUIRE) or, for the CN
 *   only, need not be (NOT_REQUIRED). Its own subject rule is matched against its normalised
 *   forms (A-labels and U-labels). A value that reads as a name but is not a valid one is
 *   SUBJECT_INVALID. Free text (a value with white space, say) meets its subject rule only.
 *   A SAN type's `required` counts the names COPY adds.
 * - A certificate needs a subject or at least one SAN; a CA certificate needs a subject
 *   (RFC 5280 4.1.2.6).
 *
 * Key usages and extended key usages (RFC 5280 4.2.1.3, 4.2.1.12)
 * - Every requested usage must be in `allowed` (an empty `allowed` means any usage) and not in
 *   `denied`; every `required` usage must be requested. A request naming no usages should be
 *   given `defaultUsagesFor(policy)` (the required ones) before evaluation.
 * - Independently of the policy: keyCertSign only with isCa (RFC 5280 4.2.1.9); encipherOnly /
 *   decipherOnly only with keyAgreement (4.2.1.3); key encipherment / data encipherment only
 *   for RSA keys, key agreement only for EC keys (RFC 3279 2.3.1, RFC 5480 3, RFC 8410 5).
 * - Independently of the policy, for end-entity certificates (usage-purposes.ts): with
 *   TIME_STAMPING no other extended key usage (RFC 3161 2.3; the signer marks an extKeyUsage of
 *   exactly TIME_STAMPING critical); and when both lists are non-empty, the key usages must be
 *   consistent with the extended key usages (RFC 5280 4.2.1.12) as zlint's
 *   e_key_usage_and_extended_key_usage_inconsistent decides: exactly one of a purpose's
 *   combinations (SERVER_AUTH: digitalSignature and/or one of keyEncipherment, keyAgreement;
 *   CLIENT_AUTH: digitalSignature and/or keyAgreement; CODE_SIGNING: digitalSignature;
 *   EMAIL_PROTECTION: digitalSignature, nonRepudiation, and/or one of keyEncipherment,
 *   keyAgreement; TIME_STAMPING, OCSP_SIGNING: digitalSignature and/or nonRepudiation), or with
 *   several purposes a union zlint accepts in every run. Checked on the final lists, after
 *   defaults and required usages were added. CA certificates are exempt from both.
 *
 * Algorithms, lifetime, basic constraints
 * - `keyAlgorithms.allowed` / `signatureAlgorithms.allowed`: empty means any.
 * - `minRsaBits` defaults to 2048 and may not be lower; it applies to the request's actual
 *   modulus size (`rsaBits`) when given, else to the size the algorithm names.
 * - The requested lifetime must be > 0 and <= `maxTtlSeconds`.
 * - `basicConstraints.ca`: DENIED = end-entity only, ALLOWED = either, REQUIRED = CA only.
 *   `maxPathLength` caps pathLenConstraint; a CA request without a path length (unlimited)
 *   exceeds any cap. A path length on a non-CA request is invalid (RFC 5280 4.2.1.9).
 */

import type {
  ExtendedKeyUsage,
  KeyAlgorithm,
  KeyUsage,
  SignatureAlgorithm,
  SubjectAltNames,
  SubjectAttribute,
  SubjectName,
} from "../../model/pki";

/** Rule for one subject attribute. Patterns: exact values or '*' globs (see above). */
export interface ValueRule {
  /** Patterns every value must match. Empty: the attribute may not appear. */
  allowed: string[];
  /** Patterns no value may match, whatever `allowed` says. */
  denied: string[];
  /** At least one value of this attribute must be present. */
  required: boolean;
}

/** Rule for one SAN type. Pattern syntax depends on the type (see above). */
export interface NameRule {
  /** Patterns every name must match. Empty: no names of this type are allowed. */
  allowed: string[];
  /** Patterns no name may match, whatever `allowed` says. */
  denied: string[];
  /** At least one name of this type must be present. */
  required: boolean;
  /** DNS only: a requested name may itself be a wildcard ("*.example.com"). Default false. */
  allowWildcardNames?: boolean;
  /**
   * Email only: domain patterns ("@example.com") also allow '+' sub-addresses
   * ("alice+tag@example.com", RFC 5233). Default false: a sub-address needs a mailbox pattern
   * naming it exactly. Stored only when true.
   */
  allowSubAddresses?: boolean;
}

/** Rule for key usages or extended key usages. */
export interface UsageRule<T extends string> {
  /** Usages a request may carry; empty means any usage that is not denied. */
  allowed: T[];
  /** Usages a request must carry (and the defaults when it names none). */
  required: T[];
  /** Usages a request may never carry. */
  denied: T[];
}

/**
 * Whether a name in the subject (a common name that reads as a DNS name, IP address, email
 * address or URI, and an emailAddress) must be among the SANs (subject-names.ts):
 * COPY: it is added to them when missing (the default); REQUIRE: the request must list it;
 * NOT_REQUIRED: a common name need not be there (an emailAddress must, as with REQUIRE).
 * In every case the name must satisfy the SAN rules of its kind.
 */
export type SubjectNamesInSans = "COPY" | "REQUIRE" | "NOT_REQUIRED";
export const SUBJECT_NAMES_IN_SANS: readonly SubjectNamesInSans[] = [
  "COPY",
  "REQUIRE",
  "NOT_REQUIRED",
];

/** SAN types, as named in the policy (`sans.dns`, ...). */
export type SanType = "dns" | "ip" | "email" | "uri";
export const SAN_TYPES: readonly SanType[] = ["dns", "ip", "email", "uri"];

/** Whether a request may, or must, be for a CA certificate (basicConstraints cA). */
export type CaRule = "DENIED" | "ALLOWED" | "REQUIRED";
export const CA_RULES: readonly CaRule[] = ["DENIED", "ALLOWED", "REQUIRED"];

export interface PolicySpec {
  /** Rules per subject attribute; an attribute without a rule may not appear. */
  subject: Partial<Record<SubjectAttribute, ValueRule>>;
  /** Rules per SAN type; a type without a rule permits no names. */
  sans: Partial<Record<SanType, NameRule>>;
  keyUsages: UsageRule<KeyUsage>;
  extendedKeyUsages: UsageRule<ExtendedKeyUsage>;
  /** Empty `allowed` = any. `minRsaBits`: 2048 when absent; at least 2048, at most 16384. */
  keyAlgorithms: { allowed: KeyAlgorithm[]; minRsaBits?: number };
  /** Empty `allowed` = any. */
  signatureAlgorithms: { allowed: SignatureAlgorithm[] };
  /** Longest lifetime in seconds; an integer > 0. */
  maxTtlSeconds: number;
  /** `maxPathLength`: largest pathLenConstraint (integer >= 0); absent = no cap. */
  basicConstraints: { ca: CaRule; maxPathLength?: number };
  /** How subject names relate to the SANs; COPY when absent (stored only when not COPY). */
  subjectNamesInSans?: SubjectNamesInSans;
}

/** What `evaluate` checks: a request after the profile's defaults have been applied. */
export interface PolicyRequest {
  subject: SubjectName;
  sans: SubjectAltNames;
  keyAlgorithm: KeyAlgorithm;
  /** The actual RSA modulus size (from a CSR); the algorithm's nominal size when absent. */
  rsaBits?: number;
  signatureAlgorithm: SignatureAlgorithm;
  keyUsages: KeyUsage[];
  extendedKeyUsages: ExtendedKeyUsage[];
  ttlSeconds: number;
  isCa: boolean;
  /** pathLenConstraint; absent = unlimited. Only for CA requests. */
  pathLength?: number;
  /**
   * The usages are those of a certificate being renewed, certified before: they are not held to
   * the rule that key usages agree with extended key usages (usage-purposes.ts), which came on
   * 2026-12-05, so a certificate issued before it is still renewed (a reviewer).
   */
  usagesOfRenewed?: boolean;
}

/** Result of a normalisation or parse: the value, or why the input is invalid. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const fail = <T>(error: string): Parsed<T> => ({ ok: false, error });

/**
 * Stable reasons of request violations (FieldViolation.reason). Descriptions name the rule.
 */
export const VIOLATION_REASONS = [
  "SUBJECT_INVALID",
  "SUBJECT_NOT_ALLOWED",
  "SUBJECT_DENIED",
  "SUBJECT_REQUIRED",
  "SUBJECT_ATTRIBUTE_REPEATED",
  "SUBJECT_EMPTY",
  "SUBJECT_IS_ISSUER",
  "SUBJECT_NAME_NOT_IN_SANS",
  "SAN_INVALID",
  "SAN_NOT_ALLOWED",
  "SAN_DENIED",
  "SAN_REQUIRED",
  "WILDCARD_NOT_ALLOWED",
  "KEY_USAGE_INVALID",
  "KEY_USAGE_NOT_ALLOWED",
  "KEY_USAGE_DENIED",
  "KEY_USAGE_REQUIRED",
  "KEY_USAGE_INCONSISTENT",
  "KEY_USAGE_INCONSISTENT_WITH_EKU",
  "EXTENDED_KEY_USAGE_INVALID",
  "EXTENDED_KEY_USAGE_NOT_ALLOWED",
  "EXTENDED_KEY_USAGE_DENIED",
  "EXTENDED_KEY_USAGE_REQUIRED",
  "EXTENDED_KEY_USAGE_TIME_STAMPING_NOT_ALONE",
  "KEY_ALGORITHM_INVALID",
  "KEY_ALGORITHM_NOT_ALLOWED",
  "RSA_KEY_TOO_SMALL",
  "SIGNATURE_ALGORITHM_INVALID",
  "SIGNATURE_ALGORITHM_NOT_ALLOWED",
  "TTL_INVALID",
  "TTL_EXCEEDS_MAX",
  "CA_NOT_ALLOWED",
  "CA_REQUIRED",
  "PATH_LENGTH_INVALID",
  "PATH_LENGTH_EXCEEDS_MAX",
] as const;
export type ViolationReason = (typeof VIOLATION_REASONS)[number];

/** Reasons of `compilePolicy` violations (the error's own reason is POLICY_INVALID). */
export const POLICY_SPEC_REASONS = [
  "POLICY_FIELD_MISSING",
  "POLICY_FIELD_UNKNOWN",
  "POLICY_FIELD_INVALID",
  "POLICY_PATTERN_INVALID",
  "POLICY_CONTRADICTION",
] as const;
export type PolicySpecReason = (typeof POLICY_SPEC_REASONS)[number];
