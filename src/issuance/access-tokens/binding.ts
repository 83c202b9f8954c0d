import type { FieldViolation } from "../../errors";
import { fieldViolation } from "../../errors";
import { hasControlCharacters } from "../common/text";
import { normalizeDnsName, normalizeUri } from "../policy-engine";

/**
 * Which client certificate field a binding reads (proto ClientCertificateIdentityType). One
 * field, never a fallback to another: before, an identity was "the first URI SAN, else the
 * subject CN", so a certificate whose CN spelled a SPIFFE ID passed for that SPIFFE ID.
 */
export const IDENTITY_TYPES = ["URI_SAN", "DNS_SAN", "COMMON_NAME"] as const;
export type IdentityType = (typeof IDENTITY_TYPES)[number];

/** A client certificate binding as a token stores it (access_token.client_*). */
export interface ClientCertificateBinding {
  readonly type: IdentityType;
  /** Normalised as the type says (see normalizeBindingValue). */
  readonly value: string;
  /** The certmint CA it names, if it names one. */
  readonly caId: string | null;
  /**
   * SHA-256 (lower-case hex) of the certificate of the CA that must be on the client
   * certificate's chain; null only on bindings made before bindings named a CA.
   */
  readonly caSha256: string | null;
}

const MAX_VALUE_LENGTH = 1024;

/** A client certificate binding as requested (proto ClientCertificateBinding). */
export interface RequestedBinding {
  type: IdentityType | undefined;
  value: string;
  /** A certmint CA by id or slug; or */
  certificateAuthority: string;
  /** the SHA-256 of an outside CA's certificate. */
  issuerCertificateSha256: string;
}

/** A requested binding whose value is normalised; its CA is resolved against the database next. */
export interface CheckedBinding {
  type: IdentityType;
  value: string;
  /** The certmint CA reference, or "" when sha256 is given. */
  caRef: string;
  sha256?: string;
}

/**
 * The value a binding of `type` stores, or why it cannot be one. URI and DNS values are
 * normalised exactly as certmint normalises those SANs in what it issues (lower-case scheme and
 * host, A-labels, no trailing dot), so a certificate's SAN and the binding compare as equal
 * strings. A spiffe:// value must be a SPIFFE ID (SPIFFE-ID.md 2: no port, userinfo, query,
 * fragment, percent-encoding, empty, '.' or '..' segment or trailing '/'); the parser refuses
 * each of those for the spiffe scheme.
 */
export function normalizeBindingValue(
  type: IdentityType,
  value: string,
): { ok: true; value: string } | { ok: false; problem: string } {
  if (value === "") return { ok: false, problem: "is required" };
  if (value.trim() !== value || value.length > MAX_VALUE_LENGTH || hasControlCharacters(value)) {
    return {
      ok: false,
      problem: `must be at most ${MAX_VALUE_LENGTH} printable characters with no surrounding spaces`,
    };
  }
  if (type === "URI_SAN") {
    const uri = normalizeUri(value);
    if (!uri.ok)
      return { ok: false, problem: `is not a URI SAN certmint accepts: it ${uri.error}` };
    if (uri.value.startsWith("spiffe://") && uri.value.split("/").length < 4) {
      return { ok: false, problem: "is a SPIFFE trust domain, not a workload's SPIFFE ID" };
    }
    return { ok: true, value: uri.value };
  }
  if (type === "DNS_SAN") {
    const dns = normalizeDnsName(value);
    if (!dns.ok) return { ok: false, problem: `is not a DNS name: it ${dns.error}` };
    if (dns.value.includes("*")) {
      return { ok: false, problem: "is a wildcard; a binding names one host" };
    }
    return { ok: true, value: dns.value };
  }
  return { ok: true, value };
}

/** Problems with the CA part of a new binding (exactly one of the two references). */
export function checkBindingCa(
  caRef: string,
  caSha256: string,
  field: string,
): { violations: FieldViolation[]; sha256?: string } {
  const ref = caRef.trim();
  const hex = caSha256.replace(/:/g, "").trim().toLowerCase();
  if ((ref === "") === (hex === "")) {
    return {
      violations: [
        fieldViolation(
          `${field}.certificate_authority`,
          "BINDING_CA_REQUIRED",
          "name the CA that must have issued the client certificate: certificate_authority (a certmint CA) or issuer_certificate_sha256 (a CA outside certmint), exactly one",
        ),
      ],
    };
  }
  if (hex !== "" && !/^[0-9a-f]{64}$/.test(hex)) {
    return {
      violations: [
        fieldViolation(
          `${field}.issuer_certificate_sha256`,
          "BINDING_CA_SHA256_INVALID",
          "the SHA-256 of the CA certificate's DER: 64 hex digits (colons allowed)",
        ),
      ],
    };
  }
  return { violations: [], ...(hex === "" ? {} : { sha256: hex }) };
}

/**
 * The binding of a new token, its type, value and CA reference checked (violations go to
 * `problems`); undefined for a bearer token or when something is wrong.
 */
export function checkRequestedBinding(
  input: { binding?: RequestedBinding; legacyIdentity?: string },
  problems: FieldViolation[],
): CheckedBinding | undefined {
  const field = "access_token.client_certificate_binding";
  const legacy = input.legacyIdentity ?? "";
  const given = input.binding;
  if (legacy !== "" && legacy !== given?.value) {
    problems.push(
      fieldViolation(
        "access_token.client_certificate_identity",
        "CLIENT_IDENTITY_AMBIGUOUS",
        "deprecated: it does not say whether it names a URI SAN, a DNS SAN or a common name, nor which CA issues the certificate; set client_certificate_binding (identity_type, value, and certificate_authority or issuer_certificate_sha256) instead",
      ),
    );
    return undefined;
  }
  if (!given) return undefined;
  if (!given.type) {
    problems.push(
      fieldViolation(
        `${field}.identity_type`,
        "IDENTITY_TYPE_MISSING",
        "choose URI_SAN (a SPIFFE ID, say), DNS_SAN or COMMON_NAME",
      ),
    );
  }
  const value = normalizeBindingValue(given.type ?? "COMMON_NAME", given.value);
  if (!value.ok) {
    problems.push(
      fieldViolation(`${field}.value`, "CLIENT_IDENTITY_INVALID", `the identity ${value.problem}`),
    );
  }
  const ca = checkBindingCa(given.certificateAuthority, given.issuerCertificateSha256, field);
  problems.push(...ca.violations);
  if (!given.type || !value.ok || ca.violations.length > 0) return undefined;
  return {
    type: given.type,
    value: value.value,
    caRef: given.certificateAuthority.trim(),
    ...(ca.sha256 ? { sha256: ca.sha256 } : {}),
  };
}
