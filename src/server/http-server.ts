import { createServer, type RequestListener, type Server } from "node:http";
import type { Logger } from "pino";
import type { ConnectionLimits } from "../config";
import { capWarning } from "./connection-limits";

/**
 * A plain-HTTP server under the connection limits of the gRPC port (issue 10 item 5): a
 * connection must send its request headers within the handshake timeout (then 408 and
 * closed), finish its request within twice that, and is closed after the idle timeout without
 * traffic; beyond the connection cap new connections are closed at once. Used by the
 * publication server (CRLs, CA certificates, OCSP) and the metrics endpoint.
 */
export function startHttpServer(
  name: string,
  listen: { host: string; port: number },
  limits: ConnectionLimits,
  logger: Logger,
  handler: RequestListener,
): Promise<{ server: Server; port: number }> {
  const server = createServer(
    {
      headersTimeout: limits.handshakeTimeoutMs,
      requestTimeout: 2 * limits.handshakeTimeoutMs,
      // Between requests of a keep-alive connection (Node's default, unless the idle timeout is shorter).
      keepAliveTimeout: Math.min(5000, limits.idleTimeoutMs),
      // How often Node checks the two timeouts above (its default, 30 s, would let a silent
      // connection live up to 30 s past them).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, limits.handshakeTimeoutMs / 2)),
    },
    handler,
  );
  // Socket inactivity: destroyed by Node when nothing else handles "timeout".
  server.timeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.on("drop", capWarning(logger, name, limits.maxConnections));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      const address = server.address();
      resolve({ server, port: typeof address === "object" && address ? address.port : 0 });
    });
  });
}
