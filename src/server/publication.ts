import { createServer, type Server } from "node:http";
import type { Logger } from "pino";
import type { ConnectionLimits } from "../config";
import type { CaPublisher, Published } from "../issuance/ca/publication";
import { capWarning } from "./connection-limits";

/**
 * Plain HTTP for what relying parties fetch without credentials: CRLs at /crl/<ca id>.crl
 * (application/pkix-crl, RFC 2585 3) and CA certificates at /ca/<ca id>.crt
 * (application/pkix-cert, RFC 5280 4.2.2.1), the paths CERTMINT_PUBLIC_BASE_URL puts in
 * certificates. HTTP, not HTTPS, on purpose (RFC 5280 8): both are signed, and a TLS check that
 * needs the CRL must not depend on TLS. GET and HEAD only; nothing else is served.
 *
 * A connection must send its request headers within the handshake timeout (then 408 and
 * closed), finish its request within twice that, and is closed after the idle timeout without
 * traffic; beyond the connection cap new connections are closed at once (issue 10 item 5).
 */
export function startPublicationServer(
  listen: { host: string; port: number },
  publisher: CaPublisher,
  logger: Logger,
  limits: ConnectionLimits,
): Promise<{ server: Server; port: number }> {
  const options = {
    headersTimeout: limits.handshakeTimeoutMs,
    requestTimeout: 2 * limits.handshakeTimeoutMs,
    // Between requests of a keep-alive connection (Node's default, unless the idle timeout is shorter).
    keepAliveTimeout: Math.min(5000, limits.idleTimeoutMs),
    // How often Node checks the two timeouts above (its default, 30 s, would let a silent
    // connection live up to 30 s past them).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, limits.handshakeTimeoutMs / 2)),
  };
  const server = createServer(options, (req, res) => {
    const respond = (code: number, body: Buffer | string, type = "text/plain; charset=utf-8") => {
      res.writeHead(code, { "content-type": type, "content-length": Buffer.byteLength(body) });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      respond(405, "only GET and HEAD\n");
      return;
    }
    const path = (req.url ?? "").split("?")[0]!;
    const m = /^\/(crl|ca)\/([0-9a-fA-F-]{36})\.(crl|crt)$/.exec(path);
    if (!m || (m[1] === "crl") !== (m[3] === "crl")) {
      respond(404, "not found\n");
      return;
    }
    const kind = m[1] as "crl" | "ca";
    const lookup: Promise<Published | undefined> =
      kind === "crl" ? publisher.crl(m[2]!) : publisher.caCertificate(m[2]!);
    lookup.then(
      (published) => {
        if (!published) {
          respond(404, "no such certificate authority\n");
          return;
        }
        // Caches may keep a CRL until its nextUpdate at the latest (RFC 5019 style), a
        // certificate for a day.
        const maxAge =
          kind === "crl"
            ? Math.max(0, Math.floor((published.expires.getTime() - Date.now()) / 1000))
            : 86_400;
        res.setHeader("cache-control", `public, max-age=${maxAge}`);
        respond(
          200,
          published.der,
          kind === "crl" ? "application/pkix-crl" : "application/pkix-cert",
        );
      },
      (err: unknown) => {
        logger.error({ err, path }, "publication failed");
        respond(500, "internal error\n");
      },
    );
  });
  // Socket inactivity: destroyed by Node when nothing else handles "timeout".
  server.timeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.on("drop", capWarning(logger, "publication", limits.maxConnections));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      const address = server.address();
      resolve({ server, port: typeof address === "object" && address ? address.port : 0 });
    });
  });
}
