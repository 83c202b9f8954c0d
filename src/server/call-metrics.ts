import { ServerInterceptingCall, type ServerInterceptor, status } from "@grpc/grpc-js";
import type { CertmintMetrics } from "./metrics";

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
        const code = st.code ?? status.OK;
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.callEnded(method.path, status[code] ?? String(code), seconds);
        next(st);
      },
    });
  };
}
