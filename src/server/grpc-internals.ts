/**
 * grpc-js's internal server call class (BaseServerInterceptingCall, server-interceptors.js), in
 * the version package.json pins (1.14.7), for the few methods certmint replaces or wraps
 * (framed-responses.ts, transport-statuses.ts, inflated-requests.ts, grpc-timeouts.ts). Not
 * part of grpc-js's public API: each caller installs nothing when the class or its method is not
 * found, and its test fails then, so an upgrade that loses one is seen.
 */

/** The class when it has a method `method`; undefined otherwise. */
export function grpcServerCallClass<P>(method: string): { prototype: P } | undefined {
  try {
    const internals = require("@grpc/grpc-js/build/src/server-interceptors") as {
      BaseServerInterceptingCall?: { prototype: Record<string, unknown> };
    };
    const cls = internals.BaseServerInterceptingCall;
    return typeof cls?.prototype[method] === "function"
      ? (cls as unknown as { prototype: P })
      : undefined;
  } catch {
    return undefined;
  }
}
