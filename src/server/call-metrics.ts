import { ServerInterceptingCall, type ServerInterceptor, status } from "@grpc/grpc-js";
import type { CertmintMetrics } from "./metrics";
import { clientCodeOf } from "./transport-statuses";

/**
 * Counts every gRPC call and its latency by method and status code. grpc-js runs server
 * interceptors only for registered methods (others are UNIMPLEMENTED before any), so the
 * method label holds the contract's methods, health and reflection, never a caller's string.
 */
export function callMetricsInterceptor(metrics: CertmintMetrics): ServerInterceptor {
  return (method, call) => {
    const started = process.hrtime.bigint();
    return new ServerInterceptingCall(call, {
      sendStatus: (st, next) => {
        // As the client is told (transport-statuses.ts), as the call log says it.
        const code = clientCodeOf(st, method.path);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.callEnded(method.path, status[code] ?? String(code), seconds);
        next(st);
      },
    });
  };
}
