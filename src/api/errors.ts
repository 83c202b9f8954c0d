import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import type { Any } from "../../gen/ts/google/protobuf/any";
import {
  BadRequest,
  ErrorInfo,
  PreconditionFailure,
  RetryInfo,
} from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { conflictError, outageError, signingGuardError } from "../database-outage";
import {
  type CertmintError,
  clip,
  type ErrorKind,
  type FieldViolation,
  fieldViolation,
  isCertmintError,
  kekRotatedError,
  type PreconditionViolation,
} from "../errors";

/** ErrorInfo.domain of every certmint error (AIP-193). */
export const ERROR_DOMAIN = "certmint.dev";

/** The one mapping from domain error kinds to gRPC status codes (exhaustive by type). */
const CODE_OF_KIND: Record<ErrorKind, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  failed_precondition: status.FAILED_PRECONDITION,
  not_found: status.NOT_FOUND,
  already_exists: status.ALREADY_EXISTS,
  aborted: status.ABORTED,
  permission_denied: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  unimplemented: status.UNIMPLEMENTED,
  unavailable: status.UNAVAILABLE,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  internal: status.INTERNAL,
};

const TYPE_PREFIX = "type.googleapis.com/google.rpc.";

/**
 * How much one status may say. The message and details travel in the trailers, and clients
 * drop a status whose trailers are too large: gRPC C-core clients (Python, C++, Ruby) refuse
 * metadata over 8 KiB by default (grpc.max_metadata_size), and grpc-js never reports a status
 * whose trailers pass node's HTTP/2 header list limit. grpc-message is percent-encoded (up to
 * 3 bytes per byte) and the details base64 (4 per 3), so: a message of at most 512 characters,
 * each violation's texts at most 256, and violations only while their text fits in 3,000
 * characters. Whatever is left out is counted in ErrorInfo.metadata (violations_omitted,
 * preconditions_omitted); the server keeps the full list (a FAILED request row has it).
 */
const MESSAGE_MAX_CHARS = 512;
const DETAIL_TEXT_MAX_CHARS = 256;
const DETAILS_BUDGET_CHARS = 3000;
const METADATA_VALUE_MAX_CHARS = 128;

/** The first entries whose texts fit the budget, each text clipped. */
function withinBudget<T extends object>(items: T[], clipItem: (t: T) => T): [T[], number] {
  const kept: T[] = [];
  let used = 0;
  for (const item of items) {
    const clipped = clipItem(item);
    used += Object.values(clipped).reduce((n: number, v) => n + String(v ?? "").length, 0);
    if (used > DETAILS_BUDGET_CHARS && kept.length > 0) break;
    kept.push(clipped);
  }
  return [kept, items.length - kept.length];
}

const clipViolation = (v: FieldViolation): FieldViolation =>
  fieldViolation(
    clip(v.field, DETAIL_TEXT_MAX_CHARS),
    v.reason ?? "",
    clip(v.description, DETAIL_TEXT_MAX_CHARS),
  );
const clipPrecondition = (p: PreconditionViolation): PreconditionViolation => ({
  type: p.type,
  subject: clip(p.subject, DETAIL_TEXT_MAX_CHARS),
  description: clip(p.description, DETAIL_TEXT_MAX_CHARS),
});

/**
 * A FAILED_PRECONDITION always carries a PreconditionFailure (AIP-193): where the use case named
 * none, the one it failed, by its reason, about the resource the error names, if any.
 */
function preconditionsOf(err: CertmintError): PreconditionViolation[] {
  if (err.kind !== "failed_precondition" || err.preconditions.length > 0) return err.preconditions;
  const request = err.metadata.certificate_request_id;
  return [
    {
      type: err.reason,
      subject: request ? `certificate_requests/${request}` : "",
      description: err.message,
    },
  ];
}

/** Builds the google.rpc.Status that describes a domain error, details included (bounded, above). */
export function toRpcStatus(err: CertmintError): Status {
  const [violations, violationsOmitted] = withinBudget(err.violations, clipViolation);
  const [preconditions, preconditionsOmitted] = withinBudget(
    preconditionsOf(err),
    clipPrecondition,
  );
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(err.metadata))
    metadata[key] = clip(value, METADATA_VALUE_MAX_CHARS);
  if (violationsOmitted > 0) metadata.violations_omitted = String(violationsOmitted);
  if (preconditionsOmitted > 0) metadata.preconditions_omitted = String(preconditionsOmitted);
  const details: Any[] = [
    {
      typeUrl: `${TYPE_PREFIX}ErrorInfo`,
      value: Buffer.from(
        ErrorInfo.encode({ reason: err.reason, domain: ERROR_DOMAIN, metadata }).finish(),
      ),
    },
  ];
  if (violations.length > 0) {
    const badRequest = BadRequest.fromPartial({
      fieldViolations: violations.map((v) =>
        fieldViolation(v.field, v.reason ?? "", v.description),
      ),
    });
    details.push({
      typeUrl: `${TYPE_PREFIX}BadRequest`,
      value: Buffer.from(BadRequest.encode(badRequest).finish()),
    });
  }
  if (preconditions.length > 0) {
    details.push({
      typeUrl: `${TYPE_PREFIX}PreconditionFailure`,
      value: Buffer.from(PreconditionFailure.encode({ violations: preconditions }).finish()),
    });
  }
  if (err.retryAfterSeconds !== undefined) {
    details.push({
      typeUrl: `${TYPE_PREFIX}RetryInfo`,
      value: Buffer.from(
        RetryInfo.encode({
          retryDelay: { seconds: String(err.retryAfterSeconds), nanos: 0 },
        }).finish(),
      ),
    });
  }
  return { code: CODE_OF_KIND[err.kind], message: clip(err.message, MESSAGE_MAX_CHARS), details };
}

/**
 * What a thrown error means for the client: a CertmintError as is; a database outage
 * (src/database-outage.ts: refused, reset, shutting down, pool timeout) as UNAVAILABLE
 * with a RetryInfo, since the same call may succeed in a moment; a transaction that lost a race
 * (a deadlock, a serialization failure) as ABORTED with a RetryInfo; undefined for anything else.
 */
export function asCertmintError(err: unknown): CertmintError | undefined {
  return isCertmintError(err)
    ? err
    : (outageError(err) ?? conflictError(err) ?? signingGuardError(err) ?? kekRotatedError(err));
}

/** The gRPC status code a thrown error reaches the client with. */
export function codeOf(err: unknown): status {
  const known = asCertmintError(err);
  return known ? CODE_OF_KIND[known.kind] : status.INTERNAL;
}

/**
 * Turns anything a handler threw into the error grpc-js sends. A CertmintError (or an outage,
 * see asCertmintError) keeps its message and details (in grpc-status-details-bin, the standard
 * trailer every gRPC client library decodes); anything else is INTERNAL with a fixed message,
 * never a stack trace.
 */
export function toServiceError(thrown: unknown): Partial<ServiceError> {
  const err = asCertmintError(thrown);
  if (!err) {
    return { code: status.INTERNAL, details: "internal error; the server log has the details" };
  }
  const rpcStatus = toRpcStatus(err);
  const metadata = new Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from(Status.encode(rpcStatus).finish()));
  return { code: rpcStatus.code, details: rpcStatus.message, metadata };
}
