import {
  type FieldViolation,
  failedPrecondition,
  fieldViolation,
  invalidArgument,
  invalidField,
  isCertmintError,
} from "../../errors";
import type {
  KeyAlgorithm,
  SignatureAlgorithm,
  SubjectAltNames,
  SubjectName,
} from "../../model/pki";
import {
  assertSignatureFits,
  type CsrParser,
  defaultSignatureAlgorithm,
  inlineCsrParser,
  type ParsedCsr,
  parseCertificate,
  sameDistinguishedName,
  spkiSha256Of,
} from "../../signer";
import { assertCaNameFree } from "../ca/new-ca";
import { type Call, requireProfileAccess } from "../call";
import {
  CA_KEY_USAGES,
  type CompiledPolicy,
  defaultUsagesFor,
  evaluate,
  MAX_NON_ASCII_PER_REQUEST,
  nameConstraintsFor,
  nameNormalisationBudget,
} from "../policy-engine";
import { defaultKeyAlgorithm, defaultTtlSeconds } from "../profiles/effective-defaults";
import { foundProfile, issuanceSettings } from "../profiles/load";
import type { EnrollmentMethod, ProfileDefaults } from "../profiles/types";
import type {
  CaRepository,
  CertificateAuthority,
  CertificateProfile,
  CertificateRepository,
  IssuanceRows,
  PolicyRepository,
} from "../repositories";
import { certifiedNames, sanCount } from "./names";
import type { IssuancePlan, IssueInput, KeySource } from "./types";

/** At most this many SANs per certificate: bounds the work one request can cause. */
export const MAX_SANS = 100;

/** Maps the policy engine's request paths to the fields of the API request that carried them. */
export type FieldMapper = (path: string) => string;

export const issueFieldMapper =
  (fromCsr: boolean): FieldMapper =>
  (path) => {
    if (path.startsWith("subject.") || path === "subject")
      return fromCsr ? "csr_pem" : `attributes.${path}`;
    if (path.startsWith("sans."))
      return fromCsr ? "csr_pem" : `attributes.subject_alternative_names.${path.slice(5)}`;
    if (path === "key_algorithm") return fromCsr ? "csr_pem" : "attributes.key_algorithm";
    if (path === "is_ca") return "ca_certificate";
    if (path === "path_length") return "ca_certificate.max_path_length";
    return path;
  };

/**
 * The CA part of a plan (RFC 5280 4.2.1.9, 4.2.1.10): a CA certificate gets the policy's name
 * constraints; a leaf gets nothing (the fields stay absent, as in plans made before CA
 * requests existed).
 */
export function caPlan(
  policy: CompiledPolicy,
  isCa: boolean,
  pathLength: number | undefined,
): Pick<IssuancePlan, "isCa" | "pathLength" | "nameConstraints"> {
  if (!isCa) return {};
  return {
    isCa: true,
    ...(pathLength === undefined ? {} : { pathLength }),
    nameConstraints: nameConstraintsFor(policy),
  };
}

/**
 * Whether the request is for a CA certificate, and with which path length: the request's
 * ca_certificate, else a CSR's basicConstraints cA=TRUE, else what a policy that requires CA
 * certificates implies. An unset path length is the tightest of the policy's maximum and one
 * below the issuing CA's own; none when neither has one.
 */
function caRequest(
  input: IssueInput,
  csrAsks: { isCa: boolean; pathLength?: number } | undefined,
  policy: CompiledPolicy,
  ca: CertificateAuthority | null,
): { isCa: boolean; pathLength?: number } {
  const asked = input.ca ?? (csrAsks?.isCa ? { pathLength: csrAsks.pathLength } : undefined);
  if (!asked && policy.basicConstraints.ca !== "REQUIRED") return { isCa: false };
  if (asked?.pathLength !== undefined) return { isCa: true, pathLength: asked.pathLength };
  const caps = [policy.basicConstraints.maxPathLength];
  if (ca?.maxPathLength !== null && ca?.maxPathLength !== undefined && ca.maxPathLength > 0) {
    caps.push(ca.maxPathLength - 1);
  }
  const defined = caps.filter((c): c is number => c !== undefined);
  return defined.length === 0 ? { isCa: true } : { isCa: true, pathLength: Math.min(...defined) };
}

/**
 * Step 2 of IssueCertificate (issue.ts): resolve the profile, policy and issuer (from the rows issue()
 * read in one round trip, the store's issuance repository); fill what the request leaves empty from the
 * profile's defaults; take identity and key from the CSR or the attributes. Policy evaluation
 * is separate (checkPlan), so a refusal can be recorded.
 */
export async function planIssue(
  store: {
    policies: Pick<PolicyRepository, "find">;
    cas: Pick<CaRepository, "find" | "siblingSubjects">;
    certificates: Pick<CertificateRepository, "caCertificatesIssuedBy">;
  },
  call: Call,
  input: IssueInput,
  rows: IssuanceRows,
  /** The CSR's parse, started before the rows were read (issue.ts); parsed here otherwise. */
  parsedCsr?: Promise<ParsedCsr>,
): Promise<IssuancePlan> {
  // Before anything else is checked: an issuer learns nothing about profiles not its own, not
  // even whether one exists (a missing profile is refused as one it is not granted).
  if (!rows.profile) requireProfileAccess(call, { id: null }, input.profile);
  const profile = foundProfile(input.profile, rows);
  requireProfileAccess(call, profile, input.profile);
  // Before the policy, the CSR or the key: a profile that enrolls another way issues nothing
  // here, whatever the request says.
  const path = enrollmentOf(call);
  refuseOtherEnrollment(path, profile, path === "ACME" ? "this ACME order" : "IssueCertificate");
  const { policy, defaults, ca } = await issuanceSettings(store, profile, rows);
  let subject: SubjectName;
  let key: KeySource;
  let keyAlgorithm: KeyAlgorithm;
  let sans: SubjectAltNames;
  let csrAsks: { isCa: boolean; pathLength?: number } | undefined;
  if (input.source.kind === "CSR") {
    const csr = await (parsedCsr ?? requestCsr(inlineCsrParser, input.source.csrPem));
    csrAsks = csr.requestedExtensions.basicConstraints;
    subject = csr.subject;
    sans = csr.sans;
    key = { kind: "CSR", csrPem: input.source.csrPem, publicKey: csr.publicKey };
    keyAlgorithm = csr.keyAlgorithm;
  } else {
    subject = withDefaultSubject(input.source.subject, defaults);
    sans = input.source.sans;
    keyAlgorithm = input.source.keyAlgorithm ?? defaultKeyAlgorithm(defaults, policy);
    key = { kind: "GENERATE", keyAlgorithm };
  }
  const namesField =
    input.source.kind === "CSR" ? "csr_pem" : "attributes.subject_alternative_names";
  if (sanCount(sans) > MAX_SANS) {
    throw invalidField(
      "TOO_MANY_SANS",
      `a certificate may carry at most ${MAX_SANS} subject alternative names`,
      namesField,
      `more than ${MAX_SANS} names`,
    );
  }
  // A bound on what normalising the names (UTS #46, on the event loop) may cost, checked before
  // any name is normalised: until 2026-12-05 a refused request of 100 long internationalised
  // names cost 20-60 ms of CPU, and a token sending 21 a second (2% of its rate) raised other
  // tokens' p99 20-fold (an outside probe; bench/idna).
  const costly = nameNormalisationBudget(subject, sans);
  if (costly.length > 0) {
    const mapField = issueFieldMapper(input.source.kind === "CSR");
    throw invalidArgument(
      "NAMES_TOO_COSTLY",
      `the request's names hold more than ${MAX_NON_ASCII_PER_REQUEST} internationalised characters (non-ASCII, or A-label letters); request the rest in another certificate`,
      { violations: costly.map((v) => ({ ...v, field: mapField(v.field) })) },
    );
  }
  // Usages: the request's, else the profile's defaults; the policy's required ones are always
  // added (CertificatePolicy.key_usages.required: "a request without them gets them added").
  const required = defaultUsagesFor(policy);
  const caAsk = caRequest(input, csrAsks, policy, ca);
  const keyUsages = union(
    union(
      input.keyUsages.length ? input.keyUsages : (defaults.keyUsages ?? []),
      required.keyUsages,
    ),
    // RFC 5280 4.2.1.3: a CA certificate verifies certificate and CRL signatures.
    caAsk.isCa ? [...CA_KEY_USAGES] : [],
  );
  const extendedKeyUsages = union(
    input.extendedKeyUsages.length ? input.extendedKeyUsages : (defaults.extendedKeyUsages ?? []),
    required.extendedKeyUsages,
  );
  const signatureAlgorithm =
    input.signatureAlgorithm ?? defaults.signatureAlgorithm ?? caSignatureDefault(ca, keyAlgorithm);
  const certified = certifiedNames(policy, subject, sans);
  // The bound is on what is signed, so the subject's names copied into the SANs count: until
  // stop 59 of 2026-12-07, 100 SANs with a common name and an emailAddress to copy gave a
  // certificate of 102 (an outside probe). Renewals keep their certificate's names.
  if (sanCount(certified.sans) > MAX_SANS) {
    throw invalidField(
      "TOO_MANY_SANS",
      `a certificate may carry at most ${MAX_SANS} subject alternative names, the subject's names the policy copies into them (subject_names_in_sans COPY) included: request fewer, or put the common name among them`,
      namesField,
      `${sanCount(certified.sans)} names with the subject's copied`,
    );
  }
  const plan: IssuancePlan = {
    profile,
    policy,
    ca,
    subject: certified.subject,
    requestedSubject: subject,
    sans: certified.sans,
    requestedSans: sans,
    key,
    keyAlgorithm,
    signatureAlgorithm,
    keyUsages,
    extendedKeyUsages,
    ttlSeconds: input.ttlSeconds ?? defaultTtlSeconds(defaults, policy),
    ...caPlan(policy, caAsk.isCa, caAsk.pathLength),
  };
  // A CA certificate: one name per CA under one issuer, as for CAs created here (ca/new-ca.ts;
  // RFC 5280 4.1.2.6). Until stop 44 of 2026-12-06 a profile certified a CA under the name of
  // another CA of the same issuer, with another key (an outside probe, E F7). Refused before
  // anything is written (ALREADY_EXISTS CA_SUBJECT_TAKEN), once the policy would let it through:
  // a request that breaks the policy is refused for that, and recorded, as before.
  if (ca && plan.isCa && checkPlan(plan, issueFieldMapper(key.kind === "CSR")).length === 0) {
    const spki = key.kind === "GENERATE" ? undefined : spkiSha256Of(key.publicKey);
    await assertCaNameFree(store, ca.id, plan.subject, spki);
  }
  return plan;
}

/**
 * A request's CSR parsed by `parser` (on a worker thread, or here), its violations pointing at
 * the request's field (csr_pem). Handled when it fails, so a parse started early that nobody
 * awaits (a replay) is no unhandled rejection; awaiting it still throws.
 */
export function requestCsr(parser: CsrParser, pem: string): Promise<ParsedCsr> {
  const parsed = parser.parse(pem).catch((err: unknown) => {
    if (isCertmintError(err)) {
      err.violations.splice(
        0,
        err.violations.length,
        ...err.violations.map((v) => ({ ...v, field: "csr_pem" })),
      );
    }
    throw err;
  });
  parsed.catch(() => undefined);
  return parsed;
}

/** The CA's signature algorithm, or for self-signed certificates the default for the subject key. */
export function caSignatureDefault(
  ca: CertificateAuthority | null,
  subjectKey: KeyAlgorithm,
): SignatureAlgorithm {
  return ca ? (ca.signatureAlgorithm as SignatureAlgorithm) : defaultSignatureAlgorithm(subjectKey);
}

/**
 * Whether `subject` is the issuing CA's name. The CA's `subject` is what certmint can represent
 * of it; an outside CA may have certified another name (DC components, a multi-valued RDN:
 * parseCertificate's subject is then undefined), which no subject certmint signs can equal (RFC
 * 5280 7.1 compares every RDN). So a match is confirmed on the CA's certificate, read only then:
 * until stop 59 of 2026-12-07 "O=Ext Org, CN=Ext Issuing" was refused under a CA certified as
 * "DC=com, DC=corp, O=Ext Org, CN=Ext Issuing" (an outside probe).
 */
function namedAsIssuer(subject: SubjectName, ca: CertificateAuthority): boolean {
  if (!sameDistinguishedName(subject, ca.subject)) return false;
  if (!ca.certificatePem) return true;
  const certified = parseCertificate(ca.certificatePem).subject;
  return certified !== undefined && sameDistinguishedName(subject, certified);
}

/** Every violation of the plan: the policy's rules, and the signature algorithm fitting the signing key. */
export function checkPlan(
  plan: IssuancePlan,
  mapField: FieldMapper,
  rsaBits?: number,
): FieldViolation[] {
  const violations = evaluate(plan.policy, {
    subject: plan.requestedSubject ?? plan.subject,
    // The names as requested, in request order, so violations carry the request's own
    // indices; the engine normalises them exactly as normalizedSans does for signing.
    sans: plan.requestedSans ?? plan.sans,
    keyAlgorithm: plan.keyAlgorithm,
    rsaBits,
    signatureAlgorithm: plan.signatureAlgorithm,
    keyUsages: plan.keyUsages,
    extendedKeyUsages: plan.extendedKeyUsages,
    ttlSeconds: plan.ttlSeconds,
    isCa: plan.isCa ?? false,
    ...(plan.pathLength === undefined ? {} : { pathLength: plan.pathLength }),
    ...(plan.usagesOfRenewed ? { usagesOfRenewed: true } : {}),
  }).map((v) => ({ ...v, field: mapField(v.field) }));
  // A certificate named as its issuer is self-issued (RFC 5280 6.1): validators may take it for
  // the CA in chain building or as an indirect CRL's issuer (5.2.5). Found by an outside probe,
  // 2026-12-05: an issuer could get a leaf named as the issuing CA.
  if (plan.ca && namedAsIssuer(plan.subject, plan.ca)) {
    violations.push(
      fieldViolation(
        mapField("subject"),
        "SUBJECT_IS_ISSUER",
        "the subject is the issuing CA's own name; a certificate named as its issuer is self-issued (RFC 5280 6.1): choose another subject",
      ),
    );
  }
  // A CA certificate named as a CA above its issuer: two CAs of one path sharing a name, which
  // RFC 5280 (4.1.2.4, 6.1) takes as one CA in chain building, name chaining and CRL scope (a
  // CA certificate named as the root under the root's own intermediate; an outside probe, stop
  // 58 of 2026-12-07).
  if (
    plan.isCa &&
    plan.ca?.chainPem.some((pem) => {
      const above = parseCertificate(pem).subject;
      return above !== undefined && sameDistinguishedName(plan.subject, above);
    })
  ) {
    violations.push(
      fieldViolation(
        mapField("subject"),
        "SUBJECT_IS_ISSUER",
        "the subject is the name of a certificate authority above the issuing CA; a CA certificate must not share its name with another CA of its path (RFC 5280 4.1.2.4): choose another subject",
      ),
    );
  }
  const signingKey = plan.ca ? (plan.ca.keyAlgorithm as KeyAlgorithm) : plan.keyAlgorithm;
  try {
    assertSignatureFits(signingKey, plan.signatureAlgorithm);
  } catch (err) {
    violations.push(
      fieldViolation(
        "signature_algorithm",
        "SIGNATURE_ALGORITHM_MISMATCH",
        err instanceof Error ? err.message : "does not fit the signing key",
      ),
    );
  }
  return violations;
}

/** Subject attribute order in the name: C, ST, L, O, OU, CN, then the rest (as in the proto). */
const ORDER = [
  "COUNTRY",
  "STATE",
  "LOCALITY",
  "ORGANIZATION",
  "ORGANIZATIONAL_UNIT",
  "COMMON_NAME",
];
const rank = (t: string) => (ORDER.includes(t) ? ORDER.indexOf(t) : ORDER.length);

/** Attributes the request leaves empty take the profile's default subject. */
function withDefaultSubject(subject: SubjectName, defaults: ProfileDefaults): SubjectName {
  const given = new Set(subject.attributes.map((a) => a.type));
  const fill = (defaults.subject?.attributes ?? []).filter((a) => !given.has(a.type));
  const attributes = [...fill, ...subject.attributes].sort((a, b) => rank(a.type) - rank(b.type));
  return { attributes };
}

export const union = <T>(a: readonly T[], b: readonly T[]): T[] => [...new Set([...a, ...b])];

/**
 * The enrollment method (proto EnrollmentMethod) a call comes by: ACME for the use cases
 * src/acme runs for an account (src/acme/acting.ts names their method "/acme/<action>"), API
 * for everything else: the gRPC CertificateService, and certmint's own server-driven renewal,
 * which renews as RenewCertificate does.
 */
export function enrollmentOf(call: Pick<Call, "method">): EnrollmentMethod {
  return call.method.startsWith("/acme/") ? "ACME" : "API";
}

/**
 * FAILED_PRECONDITION (ENROLLMENT_METHOD_MISMATCH) when `profile` does not enroll by the way
 * the request comes (`path`), before anything is planned or written. A profile's enrollment
 * method says how its certificates are obtained (proto EnrollmentMethod): an ACME profile's
 * names are proved by a challenge for each order (RFC 8555 7.1.4, 8) and its policy is usually
 * broad for that reason, so IssueCertificate, RenewCertificate, an approval of a request made
 * through them, or a server-driven renewal there would certify names nothing proved. The ACME side refused
 * other profiles already (src/acme/http/server.ts, src/acme/eab.ts); until stop 44 of
 * 2026-12-06 an issuer token listing an ACME profile (one switched from API to ACME included)
 * issued any name its policy allowed through gRPC, with no challenge (an outside probe).
 * EST profiles cannot be created yet (profiles/validate.ts); one would be refused here too.
 */
export function refuseOtherEnrollment(
  /** The way the request comes (enrollmentOf its call). */
  path: EnrollmentMethod,
  profile: Pick<CertificateProfile, "slug" | "enrollmentMethod">,
  /** What was refused, as the message names it: "IssueCertificate", "the renewal of ...". */
  what: string,
): void {
  const method = profile.enrollmentMethod;
  if (method === path) return;
  // Kept short: a gRPC message is clipped at 512 characters (src/api/errors.ts).
  const how =
    method === "ACME"
      ? `ACME challenges prove its names (RFC 8555), and ${what} would certify names nothing proved. Use an ACME client with /acme/${profile.slug}/directory, or set its enrollment_method to ENROLLMENT_METHOD_API (UpdateCertificateProfile)`
      : method === "EST"
        ? `certmint does not serve EST yet; set its enrollment_method to ENROLLMENT_METHOD_API or ENROLLMENT_METHOD_ACME (UpdateCertificateProfile)`
        : `${what} comes by ${path}; use the certmint API, or set its enrollment_method to ENROLLMENT_METHOD_${path} (UpdateCertificateProfile)`;
  throw failedPrecondition(
    "ENROLLMENT_METHOD_MISMATCH",
    `certificate profile "${profile.slug}" enrolls by ${method}, not ${path}: ${how}`,
    {
      preconditions: [
        {
          type: "ENROLLMENT_METHOD",
          subject: `certificate_profiles/${profile.slug}`,
          description: `the enrollment method is ${method}; ${what} needs ${path}`,
        },
      ],
      metadata: { certificate_profile: profile.slug, enrollment_method: method },
    },
  );
}
