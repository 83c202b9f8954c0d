import type { Server } from "node:http";
import type { Logger } from "pino";
import type { ConnectionLimits } from "../config";
import { requestPath, startHttpServer } from "./http-server";
import { carriesToken, readMetricsToken } from "./metrics-token";

/** What /metrics serves: one process's metrics (server/metrics.ts) or all workers' (server/cluster-metrics.ts). */
export interface MetricsSource {
  exposition(): Promise<{ contentType: string; body: string }>;
}

/**
 * The Prometheus endpoint, on a listener of its own (CERTMINT_METRICS_LISTEN), never on the
 * gRPC port: GET /metrics in the text exposition format; nothing else is served.
 */
export function startMetricsServer(
  listen: { host: string; port: number },
  metrics: MetricsSource,
  logger: Logger,
  limits: ConnectionLimits,
  tokenFile?: string,
): Promise<{ server: Server; port: number }> {
  // Read before listening: a token file certmint refuses stops the start (metrics-token.ts).
  const tokenDigest = tokenFile === undefined ? undefined : readMetricsToken(tokenFile);
  // Each address at most its share of the connections, as on every other port: until stop 51
  // of 2026-12-07 one address could hold them all and Prometheus's scrape failed, its bearer
  // token or not (an outside probe, LATENCY F5).
  const options = { limitConnectionsPerAddress: true };
  return startHttpServer(
    "metrics",
    listen,
    limits,
    logger,
    (req, res) => {
      const respond = (code: number, body: string, type = "text/plain; charset=utf-8") => {
        res.writeHead(code, { "content-type": type, "content-length": Buffer.byteLength(body) });
        res.end(req.method === "HEAD" ? undefined : body);
      };
      // Before anything else is answered (RFC 6750 3: 401 with a Bearer challenge).
      if (tokenDigest && !carriesToken(req.headers.authorization, tokenDigest)) {
        res.setHeader("www-authenticate", 'Bearer realm="certmint metrics"');
        respond(
          401,
          "unauthorized: /metrics needs the bearer token of CERTMINT_METRICS_TOKEN_FILE (Authorization: Bearer ...)\n",
        );
        return;
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.setHeader("allow", "GET, HEAD");
        respond(405, "only GET and HEAD\n");
        return;
      }
      if (requestPath(req) !== "/metrics") {
        respond(404, "not found: the metrics are at /metrics\n");
        return;
      }
      metrics.exposition().then(
        ({ contentType, body }) => respond(200, body, contentType),
        (err: unknown) => {
          logger.error({ err }, "metrics collection failed");
          respond(500, "internal error\n");
        },
      );
    },
    options,
  );
}
