/**
 * evaluate: every way a request breaks a compiled policy, never only the first. The order is
 * fixed (subject, SANs, key, signature, usages, usages against purposes, lifetime, basic
 * constraints) so that results
 * are stable for callers and tests.
 */

import { type FieldViolation, internalError, withArticle } from "../../errors";
import { isKeyAlgorithm, keyUsagesAllowedFor, rsaBitsOf } from "../../model/keys";
import {
  EXTENDED_KEY_USAGES,
  type ExtendedKeyUsage,
  KEY_ALGORITHMS,
  KEY_USAGES,
  type KeyUsage,
  SIGNATURE_ALGORITHMS,
} from "../../model/pki";
import { type CompiledPolicy, type CompiledUsageRule, isCompiledPolicy } from "./compile";
import { evaluateSans, evaluateSubject, quote, violation } from "./evaluate-names";
import { subjectNamesToCopy } from "./subject-names";
import { type PolicyRequest, SAN_TYPES, type ViolationReason } from "./types";
import { purposeViolations } from "./usage-purposes";

/** The requested SANs normalised by their rules (invalid ones as given). */
function normalizedSanTexts(policy: CompiledPolicy, sans: PolicyRequest["sans"]) {
  const norm = (type: (typeof SAN_TYPES)[number]) =>
    (sans?.[type] ?? []).map((n) => {
      const v = policy.sans[type].check(n);
      return v.valid ? v.text : n;
    });
  return { dns: norm("dns"), ip: norm("ip"), email: norm("email"), uri: norm("uri") };
}

/**
 * Extended key usages an empty `allowed` list does not grant: the policy must name them (in
 * `allowed` or `required`). A certificate with id-kp-OCSPSigning signed by a CA answers OCSP for
 * every certificate of that CA (RFC 6960 4.2.2.2, delegated responder): granted by default, any
 * issuer of any profile on the CA could answer "good" for a revoked certificate of another.
 */
const EXPLICIT_ONLY_EKUS: readonly ExtendedKeyUsage[] = ["OCSP_SIGNING"];

/**
 * Key usages an empty `allowed` list does not grant on a certificate that is not a CA's: a leaf
 * with cRLSign signed by the CA can sign CRLs that validators supporting indirect CRLs (RFC 5280
 * 5.2.5, 6.3.3) accept for the CA's certificates, as OCSP_SIGNING answers OCSP for them. A CA
 * certificate signs CRLs by nature (4.2.1.3).
 */
const EXPLICIT_ONLY_LEAF_KEY_USAGES: readonly KeyUsage[] = ["CRL_SIGN"];

/** Why a usage must be named by the policy (evaluateUsages' explicitOnly). */
const EXPLICIT_ONLY_WHY: Record<string, string> = {
  OCSP_SIGNING:
    "a certificate with it signed by the CA answers OCSP for all of that CA's certificates (RFC 6960 4.2.2.2)",
  CRL_SIGN:
    "a certificate that is not a CA's, with it, can sign CRLs that relying parties accept for the CA's certificates (RFC 5280 5.2.5)",
};

function evaluateUsages<T extends string>(
  requested: readonly T[],
  rule: CompiledUsageRule<T>,
  members: readonly T[],
  field: string,
  prefix: "KEY_USAGE" | "EXTENDED_KEY_USAGE",
  explicitOnly: readonly T[] = [],
): FieldViolation[] {
  const out: FieldViolation[] = [];
  const reason = (r: "INVALID" | "NOT_ALLOWED" | "DENIED" | "REQUIRED") =>
    `${prefix}_${r}` as ViolationReason;
  (requested ?? []).forEach((u, i) => {
    const at = `${field}[${i}]`;
    if (!members.includes(u))
      out.push(violation(at, reason("INVALID"), `${quote(u)} is not a known usage`));
    else if (rule.denied.includes(u))
      out.push(violation(at, reason("DENIED"), `${u} is denied by the policy`));
    else if (rule.allowed.length > 0 && !rule.allowed.includes(u)) {
      out.push(
        violation(
          at,
          reason("NOT_ALLOWED"),
          `${u} is not among the allowed usages (${rule.allowed.join(", ")})`,
        ),
      );
    } else if (
      rule.allowed.length === 0 &&
      explicitOnly.includes(u) &&
      !rule.required.includes(u)
    ) {
      out.push(
        violation(
          at,
          reason("NOT_ALLOWED"),
          `${u} must be named in the policy's allowed usages: ${EXPLICIT_ONLY_WHY[u] ?? "it is never granted by default"}`,
        ),
      );
    }
  });
  for (const u of rule.required) {
    if (!(requested ?? []).includes(u)) {
      out.push(violation(field, reason("REQUIRED"), `the policy requires ${u}`));
    }
  }
  return out;
}

/** Rules of RFC 5280 and the key algorithm RFCs that hold whatever the policy says. */
function keyUsageConsistency(req: PolicyRequest): FieldViolation[] {
  const out: FieldViolation[] = [];
  const usages = req.keyUsages ?? [];
  const allowed = isKeyAlgorithm(req.keyAlgorithm)
    ? keyUsagesAllowedFor(req.keyAlgorithm)
    : undefined;
  usages.forEach((u, i) => {
    const at = `key_usages[${i}]`;
    if (!KEY_USAGES.includes(u)) return; // reported as KEY_USAGE_INVALID
    if (u === "KEY_CERT_SIGN" && !req.isCa) {
      out.push(
        violation(
          at,
          "KEY_USAGE_INCONSISTENT",
          "KEY_CERT_SIGN needs a CA certificate (RFC 5280 4.2.1.9)",
        ),
      );
    }
    if ((u === "ENCIPHER_ONLY" || u === "DECIPHER_ONLY") && !usages.includes("KEY_AGREEMENT")) {
      out.push(
        violation(at, "KEY_USAGE_INCONSISTENT", `${u} needs KEY_AGREEMENT (RFC 5280 4.2.1.3)`),
      );
    }
    if (allowed && !allowed.includes(u)) {
      out.push(
        violation(
          at,
          "KEY_USAGE_INCONSISTENT",
          `${u} cannot be used with ${withArticle(req.keyAlgorithm)} key (RFC 3279, 5480, 8410)`,
        ),
      );
    }
  });
  return out;
}

function evaluateKey(policy: CompiledPolicy, req: PolicyRequest): FieldViolation[] {
  const out: FieldViolation[] = [];
  const alg = req.keyAlgorithm;
  if (!KEY_ALGORITHMS.includes(alg)) {
    return [
      violation(
        "key_algorithm",
        "KEY_ALGORITHM_INVALID",
        `${quote(alg)} is not a known key algorithm`,
      ),
    ];
  }
  const allowed = policy.keyAlgorithms.allowed;
  if (allowed.length > 0 && !allowed.includes(alg)) {
    out.push(
      violation(
        "key_algorithm",
        "KEY_ALGORITHM_NOT_ALLOWED",
        `${alg} is not among the allowed key algorithms (${allowed.join(", ")})`,
      ),
    );
  }
  const nominal = rsaBitsOf(alg);
  if (
    req.rsaBits !== undefined &&
    (nominal === undefined || !Number.isInteger(req.rsaBits) || req.rsaBits <= 0)
  ) {
    out.push(
      violation(
        "key_algorithm",
        "KEY_ALGORITHM_INVALID",
        `an RSA modulus size of ${quote(req.rsaBits)} does not fit ${alg}`,
      ),
    );
  } else if (nominal !== undefined) {
    const bits = req.rsaBits ?? nominal;
    const min = policy.keyAlgorithms.minRsaBits;
    if (bits < min) {
      out.push(
        violation(
          "key_algorithm",
          "RSA_KEY_TOO_SMALL",
          `an RSA key of ${bits} bits is smaller than the minimum of ${min}`,
        ),
      );
    }
  }
  return out;
}

function evaluateSignature(policy: CompiledPolicy, req: PolicyRequest): FieldViolation[] {
  const alg = req.signatureAlgorithm;
  if (!SIGNATURE_ALGORITHMS.includes(alg)) {
    return [
      violation(
        "signature_algorithm",
        "SIGNATURE_ALGORITHM_INVALID",
        `${quote(alg)} is not a known signature algorithm`,
      ),
    ];
  }
  const allowed = policy.signatureAlgorithms.allowed;
  if (allowed.length > 0 && !allowed.includes(alg)) {
    const list = allowed.join(", ");
    return [
      violation(
        "signature_algorithm",
        "SIGNATURE_ALGORITHM_NOT_ALLOWED",
        `${alg} is not among the allowed signature algorithms (${list})`,
      ),
    ];
  }
  return [];
}

function evaluateTtl(policy: CompiledPolicy, ttl: number): FieldViolation[] {
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl <= 0) {
    return [violation("ttl", "TTL_INVALID", "the lifetime must be a positive number of seconds")];
  }
  if (ttl > policy.maxTtlSeconds) {
    return [
      violation(
        "ttl",
        "TTL_EXCEEDS_MAX",
        `a lifetime of ${ttl}s exceeds the maximum of ${policy.maxTtlSeconds}s`,
      ),
    ];
  }
  return [];
}

/** RFC 5280 4.2.1.9 and the policy's CA rule and path-length cap. */
function evaluateBasicConstraints(policy: CompiledPolicy, req: PolicyRequest): FieldViolation[] {
  const out: FieldViolation[] = [];
  const { ca, maxPathLength } = policy.basicConstraints;
  if (req.isCa && ca === "DENIED")
    out.push(violation("is_ca", "CA_NOT_ALLOWED", "the policy allows no CA certificates"));
  if (!req.isCa && ca === "REQUIRED")
    out.push(violation("is_ca", "CA_REQUIRED", "the policy allows CA certificates only"));
  const len = req.pathLength;
  if (len !== undefined && (!Number.isInteger(len) || len < 0)) {
    out.push(
      violation("path_length", "PATH_LENGTH_INVALID", "the path length must be an integer >= 0"),
    );
  } else if (len !== undefined && !req.isCa) {
    out.push(
      violation(
        "path_length",
        "PATH_LENGTH_INVALID",
        "only CA certificates may have a path length (RFC 5280 4.2.1.9)",
      ),
    );
  } else if (
    req.isCa &&
    maxPathLength !== undefined &&
    (len === undefined || len > maxPathLength)
  ) {
    const asked = len === undefined ? "an unlimited path length" : `a path length of ${len}`;
    out.push(
      violation(
        "path_length",
        "PATH_LENGTH_EXCEEDS_MAX",
        `${asked} exceeds the maximum of ${maxPathLength}`,
      ),
    );
  }
  return out;
}

/** The usages of `list` that no violation names by index (`field[i]`). */
function unrefused<T>(list: readonly T[], violations: FieldViolation[], field: string): T[] {
  const refused = new Set(violations.map((v) => v.field));
  return (list ?? []).filter((_, i) => !refused.has(`${field}[${i}]`));
}

/**
 * Every violation of `policy` by `request`; empty when the request conforms. Throws (internal)
 * only when `policy` did not come from compilePolicy.
 */
export function evaluate(policy: CompiledPolicy, request: PolicyRequest): FieldViolation[] {
  if (!isCompiledPolicy(policy)) {
    throw internalError("POLICY_NOT_COMPILED", "The certificate policy was not compiled.");
  }
  const out: FieldViolation[] = [];
  out.push(...evaluateSubject(policy, request.subject, request.sans));
  const copies = subjectNamesToCopy(
    request.subject ?? { attributes: [] },
    normalizedSanTexts(policy, request.sans),
    policy.subjectNamesInSans,
  );
  for (const type of SAN_TYPES) {
    out.push(...evaluateSans(policy, request.sans, type, copies[type].length));
  }
  const sanCount = SAN_TYPES.reduce((n, t) => n + (request.sans?.[t]?.length ?? 0), 0);
  const subjectEmpty = (request.subject?.attributes?.length ?? 0) === 0;
  if (subjectEmpty && (request.isCa || sanCount === 0)) {
    const why = request.isCa
      ? "a CA certificate needs a non-empty subject (RFC 5280 4.1.2.6)"
      : "a certificate needs a subject or at least one SAN (RFC 5280 4.1.2.6)";
    out.push(violation("subject", "SUBJECT_EMPTY", why));
  }
  out.push(...evaluateKey(policy, request));
  out.push(...evaluateSignature(policy, request));
  const keyUsageViolations = [
    ...evaluateUsages(
      request.keyUsages,
      policy.keyUsages,
      KEY_USAGES,
      "key_usages",
      "KEY_USAGE",
      request.isCa ? [] : EXPLICIT_ONLY_LEAF_KEY_USAGES,
    ),
    ...keyUsageConsistency(request),
  ];
  const ekuViolations = evaluateUsages(
    request.extendedKeyUsages,
    policy.extendedKeyUsages,
    EXTENDED_KEY_USAGES as readonly ExtendedKeyUsage[],
    "extended_key_usages",
    "EXTENDED_KEY_USAGE",
    EXPLICIT_ONLY_EKUS as readonly ExtendedKeyUsage[],
  );
  out.push(...keyUsageViolations, ...ekuViolations);
  // RFC 3161 2.3 and RFC 5280 4.2.1.12 (usage-purposes.ts), over the usages no rule above
  // refused: a usage the request must drop anyway is reported once, and what remains is what
  // the certificate could carry.
  const kept = {
    ...request,
    keyUsages: unrefused(request.keyUsages, keyUsageViolations, "key_usages"),
    extendedKeyUsages: unrefused(request.extendedKeyUsages, ekuViolations, "extended_key_usages"),
  };
  if (!request.usagesOfRenewed) out.push(...purposeViolations(kept, policy.keyUsages));
  out.push(...evaluateTtl(policy, request.ttlSeconds));
  out.push(...evaluateBasicConstraints(policy, request));
  return out;
}
