/**
 * A failed call on one screen: the gRPC code and message, then every google.rpc detail the server
 * sent (ErrorInfo reason and metadata, each BadRequest field violation, each PreconditionFailure,
 * RetryInfo, and the other standard types), and the call's x-request-id for the server's log.
 */
import { type ServiceError, status } from "@grpc/grpc-js";
import type { Any } from "../../gen/ts/google/protobuf/any";
import {
  BadRequest,
  DebugInfo,
  ErrorInfo,
  Help,
  LocalizedMessage,
  PreconditionFailure,
  QuotaFailure,
  RequestInfo,
  ResourceInfo,
  RetryInfo,
} from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { formatDuration } from "./values";

/** The name of a gRPC status code, e.g. INVALID_ARGUMENT. */
export function codeName(code: number): string {
  return status[code] ?? `code ${code}`;
}

/** Lines describing each google.rpc detail, indented by two spaces. */
export function describeDetails(details: readonly Any[]): string[] {
  return details.flatMap(describeDetail).map((line) => `  ${line}`);
}

function describeDetail(any: Any): string[] {
  const type = any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1);
  switch (type) {
    case "google.rpc.ErrorInfo": {
      const info = ErrorInfo.decode(any.value);
      const meta = Object.entries(info.metadata).map(([k, v]) => `${k}=${v}`);
      return [
        `reason: ${info.reason}${info.domain ? ` (${info.domain})` : ""}`,
        ...(meta.length > 0 ? [`metadata: ${meta.join(", ")}`] : []),
      ];
    }
    case "google.rpc.BadRequest":
      return BadRequest.decode(any.value).fieldViolations.map(
        (v) =>
          `field ${v.field || "(request)"}: ${v.description}${v.reason ? ` [${v.reason}]` : ""}`,
      );
    case "google.rpc.PreconditionFailure":
      return PreconditionFailure.decode(any.value).violations.map(
        (v) => `precondition ${v.type} ${v.subject}: ${v.description}`,
      );
    case "google.rpc.RetryInfo":
      return [`retry after: ${formatRetryDelay(RetryInfo.decode(any.value))}`];
    case "google.rpc.QuotaFailure":
      return QuotaFailure.decode(any.value).violations.map(
        (v) => `quota ${v.subject}: ${v.description}`,
      );
    case "google.rpc.ResourceInfo": {
      const r = ResourceInfo.decode(any.value);
      return [`resource ${r.resourceType} ${r.resourceName}: ${r.description}`];
    }
    case "google.rpc.RequestInfo": {
      const r = RequestInfo.decode(any.value);
      return [`request: ${r.requestId}${r.servingData ? ` ${r.servingData}` : ""}`];
    }
    case "google.rpc.Help":
      return Help.decode(any.value).links.map((l) => `help: ${l.description} ${l.url}`);
    case "google.rpc.LocalizedMessage": {
      const m = LocalizedMessage.decode(any.value);
      return [`message (${m.locale}): ${m.message}`];
    }
    case "google.rpc.DebugInfo":
      return [`debug: ${DebugInfo.decode(any.value).detail}`];
    default:
      return [`detail of type ${any.typeUrl}`];
  }
}

function formatRetryDelay(info: RetryInfo): string {
  const d = info.retryDelay;
  if (!d) return "now";
  const millis = Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6);
  return millis % 1000 === 0 ? formatDuration(d) : `${millis} ms`;
}

/**
 * A status message as a person reads it. grpc-js ends the message of a connection that failed
 * with "Resolution note: " and the resolver's note, which is most often empty: a dangling
 * label (an outside probe, stop 43 of 2026-12-06). Only an empty one is dropped.
 */
export function statusMessage(err: Pick<ServiceError, "details">): string {
  return (err.details ?? "").replace(/\s*Resolution note:\s*$/, "");
}

/** The ErrorInfo reason certmint sent with a failed call, if any. */
export function errorReason(err: ServiceError): string | undefined {
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  if (!(raw instanceof Buffer)) return undefined;
  try {
    for (const any of Status.decode(raw).details) {
      if (any.typeUrl.endsWith("/google.rpc.ErrorInfo")) return ErrorInfo.decode(any.value).reason;
    }
  } catch {
    // Undecodable details: no reason (describeServiceError says so).
  }
  return undefined;
}

/** The RetryInfo delay certmint sent with a failed call, in milliseconds, if any. */
export function retryDelayMs(err: ServiceError): number | undefined {
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  if (!(raw instanceof Buffer)) return undefined;
  try {
    for (const any of Status.decode(raw).details) {
      if (!any.typeUrl.endsWith("/google.rpc.RetryInfo")) continue;
      const d = RetryInfo.decode(any.value).retryDelay;
      return d ? Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6) : 0;
    }
  } catch {
    // Undecodable details: no delay.
  }
  return undefined;
}

/** The lines of a failed call: code and message, details, and the request id when returned. */
export function describeServiceError(err: ServiceError): string[] {
  const lines = [`${codeName(err.code)}: ${statusMessage(err) || "(no message)"}`];
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  if (raw instanceof Buffer) {
    try {
      lines.push(...describeDetails(Status.decode(raw).details));
    } catch {
      lines.push("  (error details that could not be decoded)");
    }
  }
  const requestId = err.metadata?.get("x-request-id")[0];
  if (typeof requestId === "string") lines.push(`  request id: ${requestId}`);
  return lines;
}
