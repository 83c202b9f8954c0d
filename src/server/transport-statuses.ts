/**
 * Statuses grpc-js itself answers for a client's malformed call, given the code that says so.
 *
 * Before a handler runs, grpc-js refuses some bad input on its own, with codes that blame the
 * server or the method (found by an outside probe, 2026-12-05):
 *  - a compressed message that does not decompress: INTERNAL "Failed to decompress message";
 *  - a message flagged compressed with no encoding, or with a flag other than 0 and 1
 *    (inflated-requests.ts refuses them INTERNAL, as the gRPC spec has it; stop 52);
 *  - a `grpc-timeout` header that is not one: INTERNAL "Invalid grpc-timeout value ...";
 *  - request bytes that are not the method's message (Health, Reflection: services without
 *    certmint's own request check): INTERNAL "Error deserializing request";
 *  - a unary call with no request message, or two: UNIMPLEMENTED "... for server streaming
 *    method", which names the wrong kind of method too;
 *  - an encoding it does not support: UNIMPLEMENTED, without the `grpc-accept-encoding` header
 *    the gRPC compression spec asks that answer to carry;
 *  - a request message over the size limit: RESOURCE_EXHAUSTED, rightly, but with no ErrorInfo
 *    and a message that names neither the method nor what to do.
 * Each is the client's doing: INVALID_ARGUMENT with a message it can act on and an ErrorInfo
 * (REQUEST_MALFORMED, GRPC_TIMEOUT_INVALID), like every refusal certmint makes itself. The
 * UNIMPLEMENTED of an unsupported encoding stays, with the header added; the RESOURCE_EXHAUSTED
 * of an over-size message stays, with an ErrorInfo (REQUEST_TOO_LARGE, the size and the limit).
 *
 * This wraps sendStatus of grpc-js's internal call class, in the version package.json pins
 * (1.14.7), as framed-responses.ts wraps serializeMessage; the statuses are recognised by their
 * code and message, both of that version. Anything else passes unchanged. If the class is not
 * there, nothing is wrapped; test/server/transport-statuses.test.ts fails then.
 */
import { Metadata, status } from "@grpc/grpc-js";
import { toServiceError } from "../api/errors";
import { CertmintError, invalidArgument } from "../errors";
import { grpcServerCallClass } from "./grpc-internals";
import {
  COMPRESSED_FLAG_INVALID,
  COMPRESSED_WITHOUT_ENCODING,
  INFLATION_REFUSED,
} from "./inflated-requests";

interface StatusObject {
  code: number;
  details: string;
  metadata: Metadata | null;
}

/** The encodings grpc-js decompresses (server-interceptors.js, decompressMessage). */
const ACCEPTED_ENCODINGS = "identity,deflate,gzip";

/** What the client is told instead of `s`, or undefined to send `s` as it is. */
export function clientStatusFor(
  s: StatusObject,
  path: string | undefined,
): StatusObject | undefined {
  const method = path ?? "this method";
  const refuse = (reason: string, message: string): StatusObject => {
    const e = toServiceError(invalidArgument(reason, message));
    return { code: e.code!, details: e.details!, metadata: e.metadata ?? null };
  };
  if (s.code === status.INTERNAL) {
    if (s.details === "Failed to decompress message") {
      return refuse(
        "REQUEST_MALFORMED",
        `the request message to ${method} does not decompress with its grpc-encoding; send it uncompressed, or compressed whole`,
      );
    }
    if (s.details === COMPRESSED_WITHOUT_ENCODING || s.details === COMPRESSED_FLAG_INVALID) {
      return refuse(
        "REQUEST_MALFORMED",
        s.details === COMPRESSED_FLAG_INVALID
          ? `the request message to ${method} has a Compressed-Flag other than 0 (uncompressed) or 1 (compressed with the call's grpc-encoding)`
          : `the request message to ${method} is flagged compressed, but the call's grpc-encoding is absent or identity; flag it 0, or name its encoding (gzip, deflate)`,
      );
    }
    const timeout = /^Invalid grpc-timeout value "(.*)"$/s.exec(s.details);
    if (timeout) {
      return refuse(
        "GRPC_TIMEOUT_INVALID",
        `the grpc-timeout header (${JSON.stringify(timeout[1]!.slice(0, 32))}) is not a gRPC timeout: 1 to 8 digits and a unit (H, M, S, m, u, n)`,
      );
    }
    if (s.details.startsWith("Error deserializing request")) {
      return refuse(
        "REQUEST_MALFORMED",
        `the request to ${method} is not a valid protobuf message of its request type`,
      );
    }
    return undefined;
  }
  if (s.code === status.RESOURCE_EXHAUSTED) {
    if (s.details === INFLATION_REFUSED) {
      const e = toServiceError(
        new CertmintError(
          "resource_exhausted",
          "REQUEST_BYTES_EXHAUSTED",
          `the request message to ${method} decompresses to more bytes than this connection or the server may hold in requests being received now (twice CERTMINT_MAX_MESSAGE_BYTES per connection, 64 MiB in all); retry shortly, with fewer large requests at once`,
          { retryAfterSeconds: 1 },
        ),
      );
      return { code: e.code!, details: e.details!, metadata: e.metadata ?? null };
    }
    const size = /^Received message larger than max \((\d+) vs (\d+)\)$/.exec(s.details);
    const inflated = /^Received message that decompresses to a size larger than (\d+)$/.exec(
      s.details,
    );
    if (!size && !inflated) return undefined;
    const limit = size ? size[2]! : inflated![1]!;
    const e = toServiceError(
      new CertmintError(
        "resource_exhausted",
        "REQUEST_TOO_LARGE",
        size
          ? `the request message to ${method} is ${size[1]} bytes, over the server's limit of ${limit} (CERTMINT_MAX_MESSAGE_BYTES): send less in one call`
          : `the request message to ${method} decompresses to more than the server's limit of ${limit} bytes (CERTMINT_MAX_MESSAGE_BYTES): send less in one call`,
        { metadata: { limit_bytes: limit, ...(size ? { message_bytes: size[1]! } : {}) } },
      ),
    );
    return { code: e.code!, details: e.details!, metadata: e.metadata ?? null };
  }
  if (s.code === status.UNIMPLEMENTED) {
    const count = /^Received (a second|no) request message for server streaming method /.exec(
      s.details,
    );
    if (count) {
      return refuse(
        "REQUEST_MALFORMED",
        `${method} takes exactly one request message; the call carried ${count[1] === "no" ? "none" : "more than one"}`,
      );
    }
    if (s.details.startsWith("Received message compressed with unsupported encoding")) {
      const metadata = s.metadata?.clone() ?? new Metadata();
      metadata.set("grpc-accept-encoding", ACCEPTED_ENCODINGS);
      return { ...s, metadata };
    }
  }
  return undefined;
}

/** The code the client is told for a status an interceptor sees (clientStatusFor). */
export function clientCodeOf(
  s: { code?: number; details?: string; metadata?: Metadata | null },
  path: string | undefined,
): status {
  const code = s.code ?? status.OK;
  if (code === status.OK) return code;
  return (
    clientStatusFor({ code, details: s.details ?? "", metadata: s.metadata ?? null }, path)?.code ??
    code
  );
}

interface GrpcServerCall {
  handler?: { path?: string };
  sendStatus(s: StatusObject): void;
}

let installed: boolean | undefined;

/** Installs the remapping; true when it is in place. Idempotent. */
export function installTransportStatuses(): boolean {
  if (installed !== undefined) return installed;
  const cls = grpcServerCallClass<GrpcServerCall>("sendStatus");
  if (!cls) {
    installed = false;
    return false;
  }
  const send = cls.prototype.sendStatus;
  cls.prototype.sendStatus = function sendStatus(this: GrpcServerCall, s: StatusObject): void {
    send.call(this, clientStatusFor(s, this.handler?.path) ?? s);
  };
  installed = true;
  return true;
}
