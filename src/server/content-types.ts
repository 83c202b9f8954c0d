/**
 * Only gRPC's own content types are served as gRPC; any other is HTTP 415, as PROTOCOL-HTTP2.md
 * asks ("Content-Type": application/grpc, optionally +proto, +json or another subtype).
 *
 * grpc-js 1.14.7 (server.js, Server#_verifyContentType) checks only that the content type starts
 * with "application/grpc", so gRPC-Web (application/grpc-web, +proto, -text) and
 * "application/grpcx" were answered as gRPC: HTTP/2 trailers and application/grpc+proto, which a
 * gRPC-Web client reads neither of, and a -text (base64) body decoded as raw protobuf (an outside
 * probe of stop 52 of 2026-12-07, TRANSPORT F4). certmint does not speak gRPC-Web. The test is
 * grpc-go's (grpcutil.ContentSubtype): exactly "application/grpc", or it followed by "+" or ";".
 *
 * This wraps that check of one server (not part of grpc-js's public API, like
 * unknown-methods.ts): a content type it refuses is passed on to grpc-js's check as absent, so
 * grpc-js answers the 415 itself. If the method is not there nothing is wrapped, and
 * test/server/content-types.test.ts fails.
 */
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { Server } from "@grpc/grpc-js";

type VerifyContentType = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean;

const GRPC_CONTENT_TYPE = /^application\/grpc(?:$|[+;])/;

/** Whether `contentType` is gRPC's (HTTP/2 gRPC, not gRPC-Web). */
export function isGrpcContentType(contentType: unknown): boolean {
  return typeof contentType === "string" && GRPC_CONTENT_TYPE.test(contentType);
}

/** Installs the check on `server`; true when it is in place. */
export function refuseOtherContentTypes(server: Server): boolean {
  const target = server as unknown as { _verifyContentType?: VerifyContentType };
  const verify = target._verifyContentType;
  if (typeof verify !== "function") return false;
  target._verifyContentType = function verifyContentType(stream, headers) {
    if (isGrpcContentType(headers["content-type"])) return verify.call(this, stream, headers);
    return verify.call(this, stream, { ...headers, "content-type": undefined });
  };
  return true;
}
