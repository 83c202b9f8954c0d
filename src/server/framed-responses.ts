/**
 * Lets grpc-js write a reusable response's framed bytes (api/reusable-response.ts) as they are.
 *
 * grpc-js frames every response it sends (BaseServerInterceptingCall.serializeMessage): a new
 * buffer of the message's length plus five octets, and a copy of the message into it. For a
 * message sent many times unchanged that copy is the only cost left per send, and for a CRL of
 * 10^5 entries (11 MB with both forms) it was the longest pause of the event loop at 10^6 stored
 * certificates: 128 ms in one call, 63% of it in that copy (bench/scale, CPU profile of the
 * server, 2026-12-05), while the other callers waited. Here serializeMessage returns the frame
 * built once when the message was first encoded; every other response is framed as grpc-js
 * frames it. The frame is only read after that (HTTP/2 writes it, and grpc-js does not compress
 * responses), so one buffer can be queued on many streams at once.
 *
 * This replaces a method of grpc-js's internal class, the one version package.json pins
 * (1.14.7). Where that class or method is not found (another version), nothing is replaced and
 * responses are copied as before; test/server/framed-responses.unit.test.ts fails then, so an
 * upgrade that loses this is seen.
 */
import { framedResponse, frameMessage } from "../api/reusable-response";
import { grpcServerCallClass } from "./grpc-internals";

interface GrpcServerCall {
  handler: { serialize(value: unknown): Buffer };
}

let installed: boolean | undefined;

/** Installs the framing of reusable responses; true when it is in place. Idempotent. */
export function installFramedResponses(): boolean {
  if (installed !== undefined) return installed;
  const cls = grpcServerCallClass<{ serializeMessage?: unknown }>("serializeMessage");
  if (!cls) {
    installed = false;
    return false;
  }
  cls.prototype.serializeMessage = function serializeMessage(
    this: GrpcServerCall,
    value: unknown,
  ): Buffer {
    const body = this.handler.serialize(value);
    return framedResponse(value) ?? frameMessage(body);
  };
  installed = true;
  return true;
}
