import { outageError } from "../database-outage";
import { type CertmintError, isCertmintError } from "../errors";

/** The ACME error types certmint sends (RFC 8555 6.7, RFC 9773 for alreadyReplaced). */
export type AcmeErrorType =
  | "accountDoesNotExist"
  | "alreadyReplaced"
  | "alreadyRevoked"
  | "badCSR"
  | "badNonce"
  | "badPublicKey"
  | "badRevocationReason"
  | "badSignatureAlgorithm"
  | "connection"
  | "dns"
  | "externalAccountRequired"
  | "incorrectResponse"
  | "invalidContact"
  | "malformed"
  | "orderNotReady"
  | "rateLimited"
  | "rejectedIdentifier"
  | "serverInternal"
  | "tls"
  | "unauthorized"
  | "unsupportedContact"
  | "unsupportedIdentifier";

// Stored with orders and challenges, so defined with the ACME repository.
import type { AcmeIdentifier, ProblemDocument } from "../issuance/repositories";

export type { AcmeIdentifier, ProblemDocument };

/** The error every ACME handler throws; the listener turns it into application/problem+json. */
export class AcmeProblem extends Error {
  override readonly name = "AcmeProblem";
  constructor(
    readonly type: AcmeErrorType,
    readonly detail: string,
    readonly status = 400,
    readonly extra: {
      subproblems?: ProblemDocument[];
      identifier?: AcmeIdentifier;
      algorithms?: string[];
      /** Seconds, for rateLimited (RFC 8555 6.6: Retry-After). */
      retryAfter?: number;
      /** A Location header, e.g. the account that holds a key already (RFC 8555 7.3.5). */
      location?: string;
      /**
       * What failed, for a 500 made of an unexpected error: the listener logs it (never sent).
       * A handler that turns every error into a problem (finalize records it on the order)
       * keeps the cause this way; until stop 47 of 2026-12-06 such a 500 was logged nowhere.
       */
      internalCause?: unknown;
    } = {},
  ) {
    super(detail);
  }

  document(): ProblemDocument {
    return {
      type: `urn:ietf:params:acme:error:${this.type}`,
      detail: this.detail,
      status: this.status,
      ...(this.extra.identifier ? { identifier: this.extra.identifier } : {}),
      ...(this.extra.subproblems ? { subproblems: this.extra.subproblems } : {}),
      ...(this.extra.algorithms ? { algorithms: this.extra.algorithms } : {}),
    };
  }
}

export const malformed = (detail: string) => new AcmeProblem("malformed", detail);
export const unauthorized = (detail: string) => new AcmeProblem("unauthorized", detail, 403);
export const notFoundProblem = (what: string) =>
  new AcmeProblem("malformed", `no such ${what}`, 404);

/** Policy violations (policy-engine/evaluate-names.ts) that refuse a name itself. */
const IDENTIFIER_REFUSALS = new Set([
  "SAN_DENIED",
  "SAN_NOT_ALLOWED",
  "SAN_INVALID",
  "WILDCARD_NOT_ALLOWED",
]);

/**
 * A domain error met while serving ACME (the issuance and revocation use cases): policy
 * violations become rejectedIdentifier (RFC 8555 7.4) or badCSR, the rest keep their message
 * under the closest ACME type. Anything else is serverInternal with no details.
 */
export function problemOfDomainError(err: unknown): AcmeProblem {
  if (err instanceof AcmeProblem) return err;
  // A database outage is a 503 with Retry-After (below), which ACME clients retry; a 500
  // tells them the request itself failed.
  const e = (isCertmintError(err) ? err : outageError(err)) as CertmintError | undefined;
  if (!e) return new AcmeProblem("serverInternal", "internal error", 500, { internalCause: err });
  if (e.reason === "POLICY_VIOLATION") {
    // Only a refused name is a refused identifier. A subject attribute the policy does not
    // allow (O=, a common name its subject rules refuse) is a fault of the CSR, badCSR (RFC 8555
    // 7.4), which the client fixes with another CSR; until 2026-12-05 it was rejectedIdentifier
    // (every violation of a CSR names the field csr_pem, so the field told them apart no more).
    const names = e.violations.filter(
      (v) => /^(csr_pem|sans)/.test(v.field) && IDENTIFIER_REFUSALS.has(v.reason ?? ""),
    );
    if (names.length > 0 && names.length === e.violations.length) {
      return new AcmeProblem("rejectedIdentifier", e.message, 400, {
        subproblems: names.map((v) => ({
          type: "urn:ietf:params:acme:error:rejectedIdentifier",
          detail: v.description,
        })),
      });
    }
    return new AcmeProblem("badCSR", e.message);
  }
  // RFC 8555 6.7: badPublicKey, "the JWS was signed by a public key the server does not
  // support", is also what Boulder answers for a CSR of a blocked key.
  if (e.reason === "KEY_BLOCKED") return new AcmeProblem("badPublicKey", e.message);
  // RFC 8555 7.6: a certificate whose issuing CA (or one above it) was revoked is revoked for
  // every relying party already (OCSP answers so, RFC 6960 2.2): revokeCert of it is refused
  // (certificates/revoke.ts) as revoking a revoked one is.
  if (e.reason === "ISSUER_REVOKED")
    return new AcmeProblem("alreadyRevoked", issuerRevokedDetail(e));
  if (e.reason.startsWith("CSR_")) {
    return new AcmeProblem(e.reason === "CSR_KEY_TOO_WEAK" ? "badPublicKey" : "badCSR", e.message);
  }
  switch (e.kind) {
    case "invalid_argument":
      return malformed(e.message);
    case "not_found":
      return new AcmeProblem("malformed", e.message, 404);
    case "permission_denied":
    case "unauthenticated":
      return unauthorized(e.message);
    case "resource_exhausted":
      return new AcmeProblem("rateLimited", e.message, 429, {
        retryAfter: e.retryAfterSeconds ?? 1,
      });
    case "unavailable":
    case "deadline_exceeded":
      return new AcmeProblem("serverInternal", e.message, 503, {
        retryAfter: e.retryAfterSeconds ?? 1,
      });
    case "failed_precondition":
    case "already_exists":
    case "aborted":
      return new AcmeProblem("malformed", e.message, 409);
    default:
      return new AcmeProblem("serverInternal", "internal error", 500, { internalCause: e });
  }
}

/**
 * An ISSUER_REVOKED refusal told in ACME's terms (RFC 8555 7.6: reason codes are RFC 5280's
 * numbers): the revoked CA from its PreconditionFailure, not the gRPC message's RPC and enum
 * names (an outside probe of stop 47 of 2026-12-06).
 */
function issuerRevokedDetail(e: CertmintError): string {
  const ca = e.preconditions.find((p) => p.type === "CA_STATUS");
  const which = ca
    ? `certificate authority "${ca.subject.replace(/^certificate_authorities\//, "")}" (${ca.description})`
    : "its certificate authority";
  return `the certificate is revoked already: ${which} was revoked, and OCSP answers that revocation for it; only a revocation for keyCompromise (reason 1) is still recorded, since it blocks the certificate's key`;
}
