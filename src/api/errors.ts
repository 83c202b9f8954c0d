import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import type { Any } from "../../gen/ts/google/protobuf/any";
import {
  BadRequest,
  ErrorInfo,
  PreconditionFailure,
  RetryInfo,
} from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { CertmintError, type ErrorKind, isCertmintError } from "../errors";
import { databaseOutage } from "../store/connection-errors";

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

/** Builds the google.rpc.Status that describes a domain error, details included. */
export function toRpcStatus(err: CertmintError): Status {
  const details: Any[] = [
    {
      typeUrl: `${TYPE_PREFIX}ErrorInfo`,
      value: Buffer.from(
        ErrorInfo.encode({
          reason: err.reason,
          domain: ERROR_DOMAIN,
          metadata: err.metadata,
        }).finish(),
      ),
    },
  ];
  if (err.violations.length > 0) {
    const badRequest = BadRequest.fromPartial({
      fieldViolations: err.violations.map((v) => ({
        field: v.field,
        description: v.description,
        reason: v.reason ?? "",
      })),
    });
    details.push({
      typeUrl: `${TYPE_PREFIX}BadRequest`,
      value: Buffer.from(BadRequest.encode(badRequest).finish()),
    });
  }
  if (err.preconditions.length > 0) {
    details.push({
      typeUrl: `${TYPE_PREFIX}PreconditionFailure`,
      value: Buffer.from(PreconditionFailure.encode({ violations: err.preconditions }).finish()),
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
  return { code: CODE_OF_KIND[err.kind], message: err.message, details };
}

/** Seconds a client should wait before retrying a call that met a database outage. */
const OUTAGE_RETRY_SECONDS = 1;

/**
 * What a thrown error means for the client: a CertmintError as is; a database outage
 * (src/store/connection-errors.ts: refused, reset, shutting down, pool timeout) as UNAVAILABLE
 * with a RetryInfo, since the same call may succeed in a moment; undefined for anything else.
 */
export function asCertmintError(err: unknown): CertmintError | undefined {
  if (isCertmintError(err)) return err;
  if (databaseOutage(err) !== undefined) {
    return new CertmintError(
      "unavailable",
      "DATABASE_UNAVAILABLE",
      "certmint cannot reach its database right now; retry shortly (a retry with the same request_id never issues twice)",
      { retryAfterSeconds: OUTAGE_RETRY_SECONDS },
    );
  }
  return undefined;
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
