import { CertmintError, isCertmintError } from "../../errors";
import { type CompiledPolicy, compilePolicy } from "../policy-engine";

/** Top-level spec fields -> CertificatePolicy proto fields. */
const PROTO_FIELD_OF_SPEC_FIELD: Record<string, string> = {
  subject: "subject_rules",
  sans: "san_rules",
  keyUsages: "key_usages",
  extendedKeyUsages: "extended_key_usages",
  keyAlgorithms: "key_algorithms",
  signatureAlgorithms: "signature_algorithms",
  maxTtlSeconds: "max_ttl",
  basicConstraints: "basic_constraints",
};

/** One spec path segment as a proto field name: COMMON_NAME -> common_name, minRsaBits -> min_rsa_bits. */
function protoSegment(segment: string): string {
  const [, name = segment, index = ""] = /^([^[]*)(\[\d+\])?$/.exec(segment) ?? [];
  const snake = /^[A-Z0-9_]+$/.test(name)
    ? name.toLowerCase()
    : name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return snake + index;
}

/**
 * Translates a compilePolicy violation path into the proto field path of the request that
 * carried the policy: `sans.dns.allowed[2]` -> `certificate_policy.san_rules.dns.allowed[2]`,
 * `subject.COMMON_NAME.required` -> `certificate_policy.subject_rules.common_name.required`,
 * `maxTtlSeconds` -> `certificate_policy.max_ttl`. The root ("policy") is the prefix itself.
 */
export function protoPathOfSpecPath(specPath: string, prefix: string): string {
  if (specPath === "policy" || specPath === "") return prefix;
  const [top = "", ...rest] = specPath.split(".");
  const [, topName = top, topIndex = ""] = /^([^[]*)(\[\d+\])?$/.exec(top) ?? [];
  const first = (PROTO_FIELD_OF_SPEC_FIELD[topName] ?? protoSegment(topName)) + topIndex;
  return [prefix, first, ...rest.map(protoSegment)].join(".");
}

/**
 * compilePolicy, with every violation's field given as the request's proto field path under
 * `prefix` (e.g. "certificate_policy"): one INVALID_ARGUMENT listing every problem.
 */
export function compileForRequest(spec: unknown, prefix: string): CompiledPolicy {
  try {
    return compilePolicy(spec);
  } catch (err) {
    if (!isCertmintError(err) || err.violations.length === 0) throw err;
    throw new CertmintError(err.kind, err.reason, err.message, {
      violations: err.violations.map((v) => ({
        ...v,
        field: protoPathOfSpecPath(v.field, prefix),
        // The engine counts seconds; the request gave a Duration.
        description:
          v.field === "maxTtlSeconds" && v.reason === "POLICY_FIELD_INVALID"
            ? "must be a positive whole number of seconds"
            : v.description,
      })),
      metadata: err.metadata,
      cause: err,
    });
  }
}
