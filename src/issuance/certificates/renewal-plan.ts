import { failedPrecondition, invalidField } from "../../errors";
import type {
  KeyAlgorithm,
  SignatureAlgorithm,
  SubjectAltNames,
  SubjectName,
} from "../../model/pki";
import {
  assertSignatureFits,
  inlineCsrParser,
  parseCertificate,
  sameDistinguishedName,
} from "../../signer";
import { standingOf } from "../auto-renewal/standing";
import type { Call } from "../call";
import type { IssuanceDeps } from "../deps";
import { defaultUsagesFor } from "../policy-engine";
import { foundProfile, issuanceSettings } from "../profiles/load";
import type { Certificate, IssuanceRows } from "../repositories";
import { certifiedNames } from "./names";
import { assertMayRenew } from "./ownership";
import {
  caPlan,
  caSignatureDefault,
  enrollmentOf,
  refuseOtherEnrollment,
  requestCsr,
  union,
} from "./plan";
import type { IssuancePlan, KeySource, RenewInput } from "./types";

/** Backdate the signer applies to notBefore; the original lifetime is notAfter - notBefore - this. */
const BACKDATE_SECONDS = 60;

/** Renewal violations: identity comes from the original certificate, so name rules point at it. */
export const renewFieldMapper = (path: string) =>
  path.startsWith("subject") || path.startsWith("sans.") ? "certificate_id" : path;

/** The renewed certificate's state, as a refused renewal's PreconditionFailure names it. */
const certificateState = (id: string, description: string) => ({
  type: "CERTIFICATE_STATE",
  subject: `certificates/${id}`,
  description,
});

/** Refused for a revoked or already renewed certificate, or one whose profile is gone. */
export function assertRenewable(
  old: Certificate,
): asserts old is Certificate & { profileId: string } {
  if (old.revokedAt) {
    throw failedPrecondition(
      "CERTIFICATE_REVOKED",
      `certificate ${old.id} is revoked and cannot be renewed`,
      { preconditions: [certificateState(old.id, "revoked")] },
    );
  }
  if (old.renewedById) {
    throw failedPrecondition(
      "CERTIFICATE_ALREADY_RENEWED",
      `certificate ${old.id} was already renewed by ${old.renewedById}; renew that one`,
      { preconditions: [certificateState(old.id, `renewed by ${old.renewedById}`)] },
    );
  }
  if (!old.profileId) {
    throw failedPrecondition("PROFILE_DELETED", `the profile of certificate ${old.id} was deleted`);
  }
}

/**
 * The key algorithm of a key certmint generates for its own renewal of a certificate: the
 * original's, unless the policy allows it no more and the profile's default is allowed, which
 * is then what the profile issues (a client's RenewCertificate names one, or keeps the
 * original's, as the proto says). Until stop 51 of 2026-12-07 a profile moved from EC to RSA
 * had every server-driven renewal of a generated EC key fail until the certificates expired
 * (an outside probe, RENEWAL F6).
 */
function algorithmNow(
  original: KeyAlgorithm,
  policy: { keyAlgorithms: { allowed: readonly KeyAlgorithm[] } },
  profile: { defaults: { keyAlgorithm?: KeyAlgorithm } },
): KeyAlgorithm {
  const allowed = policy.keyAlgorithms.allowed;
  if (allowed.length === 0 || allowed.includes(original)) return original;
  const preferred = profile.defaults.keyAlgorithm;
  return preferred !== undefined && allowed.includes(preferred) ? preferred : original;
}

/**
 * The renewal's plan: the same profile, subject and SANs, the original lifetime unless a TTL is
 * given, the profile's policy and CA as they are now; refused for a caller that may not renew
 * this certificate (ownership.ts). The key: a new one, the same one (REUSE), or a CSR's that
 * certifies the same identity; by default NEW when certmint made the original key, else REUSE.
 */
export async function planRenewal(
  deps: IssuanceDeps,
  call: Call,
  old: Certificate & { profileId: string },
  input: RenewInput,
  /** The profile's rows, read with the prior request (IssuanceRepository.findProfileAndPrior). */
  rows: IssuanceRows,
): Promise<IssuancePlan> {
  const { profile, policy, renewal, ca } = await issuanceSettings(
    deps.store,
    foundProfile(old.profileId, rows),
    rows,
  );
  assertMayRenew(call, old, renewal);
  // The profile's enrollment method as it is now, before a key is made: a certificate issued
  // through the API before its profile switched to ACME is renewed through ACME too (a new
  // order, whose challenges prove its names again: RFC 8555 7.1.4), not by RenewCertificate
  // nor by certmint itself, which would certify the names again with nothing proving them;
  // and an ACME certificate's server-driven renewal would keep certifying names whose proof
  // was never renewed. The renewer records the refusal as a failed attempt (RENEWAL_FAILED to
  // watchers, retried with backoff), so the owner learns why, and renewal resumes if the
  // profile is switched back to API.
  refuseOtherEnrollment(
    enrollmentOf(call),
    profile,
    input.automatic
      ? `certmint's server-driven renewal of certificate ${old.id}`
      : `RenewCertificate of certificate ${old.id}`,
  );
  const keySource = input.keySource ?? (await defaultKeySource(deps, old));

  let key: KeySource;
  let keyAlgorithm = old.keyAlgorithm as KeyAlgorithm;
  if (keySource === "NEW") {
    // A CSR sent with NEW (or with no key_source, which is NEW for a key certmint made) would be
    // dropped and a generated key certified instead of the CSR's: refused, as with REUSE.
    if (input.csrPem) {
      throw invalidField(
        "RENEWAL_FIELDS_CONFLICT",
        `csr_pem goes with key_source RENEWAL_KEY_SOURCE_CSR, not NEW${input.keySource ? "" : " (an unset key_source is NEW for a certificate whose key certmint generated)"}: set key_source to RENEWAL_KEY_SOURCE_CSR to certify the CSR's key`,
        "csr_pem",
        "not used with NEW",
      );
    }
    keyAlgorithm =
      input.keyAlgorithm ??
      (input.automatic ? algorithmNow(keyAlgorithm, policy, profile) : keyAlgorithm);
    key = { kind: "GENERATE", keyAlgorithm };
  } else if (keySource === "REUSE") {
    if (input.keyAlgorithm || input.csrPem) {
      throw invalidField(
        "RENEWAL_FIELDS_CONFLICT",
        "key_algorithm and csr_pem go with key_source NEW and CSR, not REUSE",
        input.csrPem ? "csr_pem" : "key_algorithm",
        "not used with REUSE",
      );
    }
    if (!input.automatic) await refuseReuseOfRevokedOwner(deps, old);
    key = { kind: "REUSE", publicKey: parseCertificate(old.certificatePem).publicKey };
  } else {
    if (input.keyAlgorithm) {
      throw invalidField(
        "RENEWAL_FIELDS_CONFLICT",
        "key_algorithm goes with key_source NEW, not CSR: the certificate gets the CSR's key, whatever its algorithm",
        "key_algorithm",
        "not used with CSR",
      );
    }
    if (!input.csrPem) {
      throw invalidField(
        "CSR_REQUIRED",
        "key_source CSR needs csr_pem",
        "csr_pem",
        "required with key_source CSR",
      );
    }
    const csr = await requestCsr(deps.csrs ?? inlineCsrParser, input.csrPem);
    // Compared as certified: names normalised, subject names copied into the SANs.
    const names = certifiedNames(policy, csr.subject, csr.sans);
    if (!sameSubject(names.subject, old.subject) || !sameSans(names.sans, old.sans)) {
      throw invalidField(
        "CSR_IDENTITY_MISMATCH",
        "the CSR must carry the same subject and SANs as the certificate being renewed",
        "csr_pem",
        "subject or SANs differ from the original certificate",
      );
    }
    // A renewal keeps the certificate's kind: a CSR asking for a CA certificate to renew an end
    // entity's asks for something else, refused as IssueCertificate refuses it where CA
    // certificates are not allowed, rather than signed as an end entity with its request
    // ignored (an outside probe, 2026-12-05). A CSR without the request renews a CA certificate
    // as IssueCertificate issues one where the policy requires CA certificates.
    if (csr.requestedExtensions.basicConstraints?.isCa === true && !old.isCa) {
      throw invalidField(
        "CSR_IDENTITY_MISMATCH",
        "the CSR asks for a CA certificate (basicConstraints cA=TRUE) and the certificate renewed is not one; send a CSR without that request",
        "csr_pem",
        "asks for a CA certificate",
      );
    }
    keyAlgorithm = csr.keyAlgorithm;
    key = { kind: "CSR", csrPem: input.csrPem, publicKey: csr.publicKey };
  }
  // Keep the original signature algorithm when the (possibly new) issuer key still fits it.
  let signatureAlgorithm = old.signatureAlgorithm as SignatureAlgorithm;
  try {
    assertSignatureFits(ca ? (ca.keyAlgorithm as KeyAlgorithm) : keyAlgorithm, signatureAlgorithm);
  } catch {
    signatureAlgorithm = caSignatureDefault(ca, keyAlgorithm);
  }
  const lifetime =
    Math.round((old.notAfter.getTime() - old.notBefore.getTime()) / 1000) - BACKDATE_SECONDS;
  const required = defaultUsagesFor(policy);
  return {
    profile,
    policy,
    ca,
    subject: old.subject,
    sans: old.sans,
    key,
    keyAlgorithm,
    signatureAlgorithm,
    // The renewed certificate's usages, and those the policy requires now, as a new request
    // gets them (plan.ts): until stop 41 of 2026-12-06 a usage the policy came to require
    // refused every renewal, server-driven ones included, until the certificates expired.
    keyUsages: union(old.keyUsages, required.keyUsages),
    extendedKeyUsages: union(old.extendedKeyUsages, required.extendedKeyUsages),
    usagesOfRenewed: true,
    ttlSeconds: input.ttlSeconds ?? Math.max(lifetime, 1),
    // A CA certificate's successor is one too, with its path length and the policy's constraints.
    ...caPlan(policy, old.isCa, parseCertificate(old.certificatePem).pathLength),
  };
}

/**
 * The key of a renewal that names none: NEW when certmint made the original key, else REUSE.
 * Read from the original request (a round trip only this default costs).
 */
async function defaultKeySource(deps: IssuanceDeps, old: Certificate): Promise<"NEW" | "REUSE"> {
  const original = await deps.store.requests.findById(old.certificateRequestId);
  return original?.params?.keySource === "GENERATE" ? "NEW" : "REUSE";
}

/**
 * The same name as RFC 5280 7.1 compares names (RFC 4518: case and insignificant space folded):
 * what is signed is the renewed certificate's own subject, so a CSR spelling its organization
 * "ACME" for "Acme" asks for the same certificate (refused until stop 59 of 2026-12-07, while a
 * common name in another case was accepted: an outside probe).
 */
const sameSubject = (a: SubjectName, b: SubjectName) => sameDistinguishedName(a, b);
const sorted = (xs: string[]) => [...xs].sort().join("\n");
const sameSans = (a: SubjectAltNames, b: SubjectAltNames) =>
  sorted(a.dns) === sorted(b.dns) &&
  sorted(a.ip) === sorted(b.ip) &&
  sorted(a.email) === sorted(b.email) &&
  sorted(a.uri) === sorted(b.uri);

/**
 * Refuses (FAILED_PRECONDITION OWNER_REVOKED, OWNER_DEACTIVATED) a REUSE renewal of a
 * certificate whose owner may no longer have certificates made in its name (a revoked access
 * token, a deactivated ACME account: auto-renewal/standing.ts). The key is the owner's, and a
 * REUSE successor keeps the owner: an admin or a sharing issuer renewing it so gave the revoked
 * holder a fresh certificate for its key, which certmint's own renewal refuses to do for that
 * reason (auto-renewal/renewer.ts ownerRefusal; until stop 58 of 2026-12-07: an outside probe).
 * NEW and CSR certify a key of the caller's, owned by the caller.
 */
async function refuseReuseOfRevokedOwner(deps: IssuanceDeps, old: Certificate): Promise<void> {
  const standing = await standingOf(deps.store, old.owner);
  if (standing.state === "ACTIVE") return;
  const owner =
    standing.state === "TOKEN_REVOKED"
      ? {
          what: `access token "${standing.slug}", which was revoked`,
          subject: `access_tokens/${standing.slug}`,
          description: "the owner access token is revoked",
        }
      : {
          what: `an ACME account that is ${standing.status}`,
          subject: "acme_account",
          description: `the owner ACME account is ${standing.status}`,
        };
  throw failedPrecondition(
    standing.state === "TOKEN_REVOKED" ? "OWNER_REVOKED" : "OWNER_DEACTIVATED",
    `certificate ${old.id} is owned by ${owner.what}: key_source REUSE would certify its key again, for a holder that may no longer have certificates; renew with key_source RENEWAL_KEY_SOURCE_NEW or RENEWAL_KEY_SOURCE_CSR (a key of yours), or revoke it; nothing was changed`,
    {
      preconditions: [
        { type: "OWNER_STATUS", subject: owner.subject, description: owner.description },
      ],
      metadata: { certificate_id: old.id },
    },
  );
}
