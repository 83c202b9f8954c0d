import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { AddressRateLimiter } from "../auth/address-rate-limiter";
import type { ConnectionLimits } from "../config";
import { databaseOutage, OUTAGE_RETRY_SECONDS } from "../database-outage";
import { isCertmintError } from "../errors";
import type { OcspResponder } from "../issuance/ca/ocsp";
import type { CaPublisher, Published } from "../issuance/ca/publication";
import { OCSP_REQUEST_MAX_BYTES } from "../signer";
import { notModified } from "./conditional-get";
import { peerOf } from "./connections-per-address";
import {
  limitRequestsInFlight,
  MAX_REQUESTS_IN_FLIGHT,
  MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS,
  MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION,
  readBoundedBody,
  requestAddressKey,
  requestPath,
  startHttpServer,
} from "./http-server";
import { serveOcsp } from "./ocsp-http";
import { limitRequestRatePerAddress } from "./request-rate-per-address";

/**
 * Plain HTTP for what relying parties fetch without credentials: CRLs at /crl/<ca id>.crl
 * (application/pkix-crl, RFC 2585 3) and CA certificates at /ca/<ca id>.crt
 * (application/pkix-cert, RFC 5280 4.2.2.1), the paths CERTMINT_PUBLIC_BASE_URL puts in
 * certificates. HTTP, not HTTPS, on purpose (RFC 5280 8): both are signed, and a TLS check that
 * needs the CRL must not depend on TLS. GET and HEAD only; nothing else is served, except the
 * OCSP responder at /ocsp (GET and POST, server/ocsp-http.ts), when one is given.
 *
 * Connections are limited as on the gRPC port (server/http-server.ts), one client address
 * holding a quarter of them at most (server/connections-per-address.ts). So are the requests
 * being answered at once: MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION of one connection (pipelined
 * requests run at once otherwise), MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS of one address,
 * MAX_REQUESTS_IN_FLIGHT of all; beyond any, 503 with Retry-After and no database work. OCSP
 * responses that cannot come from the cache are signed for one address at most
 * `signingsPerAddressPerSecond` (past it, tryLater), and at most OCSP_MAX_SIGNINGS_IN_FLIGHT at
 * once (issuance/ca/ocsp.ts). Neither a made-up CA id nor a CA certificate costs a query of its
 * own (issuance/ca/publication.ts, KNOWN_CA_REFRESH_MS). A database outage is a 503 with
 * Retry-After, never a 500. Answers carry an ETag (and, for CRLs, Last-Modified), and a
 * conditional GET of what the fetcher holds is a 304 (server/conditional-get.ts).
 */
export async function startPublicationServer(
  listen: { host: string; port: number },
  publisher: CaPublisher,
  logger: Logger,
  limits: ConnectionLimits,
  ocsp?: {
    responder: OcspResponder;
    onAnswer?: (status: string) => void;
    /** CERTMINT_OCSP_SIGNINGS_PER_ADDRESS_PER_SECOND (bursts of ten seconds' worth); 0: none. */
    signingsPerAddressPerSecond?: number;
  },
  requestRate?: {
    /** CERTMINT_PUBLICATION_REQUESTS_PER_ADDRESS_PER_SECOND (request-rate-per-address.ts); 0: none. */
    perAddressPerSecond: number;
    /** A request answered 429 (the metric). */
    onRefused?: () => void;
  },
): Promise<{ server: Server; port: number }> {
  const perSecond = requestRate?.perAddressPerSecond ?? 0;
  const rateLimit =
    perSecond > 0
      ? limitRequestRatePerAddress(perSecond, "publication", logger, requestRate?.onRefused)
      : undefined;
  const rate = ocsp?.signingsPerAddressPerSecond ?? 0;
  // Per process on purpose, as the request rate: it bounds the signing CPU of this process's
  // event loop, and signing more elsewhere costs that address nothing it could misuse.
  const signings = rate > 0 ? new AddressRateLimiter(rate, 10 * rate) : undefined;
  // Bounds the requests being answered at once, OCSP included (server/http-server.ts). A POST
  // (OCSP) counts once its body has arrived (at most OCSP_REQUEST_MAX_BYTES): bodies sent slowly
  // hold their own connections, not the port's places; one whose connection is gone by then
  // is not served.
  const bodies = new WeakMap<IncomingMessage, Buffer | "too large">();
  const limited = limitRequestsInFlight((req, res) => serve(req, res, bodies.get(req)), {
    perConnection: MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION,
    total: MAX_REQUESTS_IN_FLIGHT,
    perAddress: { limit: MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS, key: requestAddressKey },
  });
  const serve = (req: IncomingMessage, res: ServerResponse, body?: Buffer | "too large") => {
    const admit = signings && (() => signings.take(peerOf(req.socket)) === 0);
    if (ocsp && serveOcsp(req, res, ocsp.responder, logger, ocsp.onAnswer, body, admit)) return;
    const respond = (code: number, body: Buffer | string, type = "text/plain; charset=utf-8") => {
      res.writeHead(code, { "content-type": type, "content-length": Buffer.byteLength(body) });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      respond(405, "only GET and HEAD\n");
      return;
    }
    const path = requestPath(req);
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
        // Caches may keep a CRL one CRL cache period at most (never past its nextUpdate;
        // issuance/ca/publication.ts), a certificate for a day.
        const maxAge =
          published.maxAgeSeconds ??
          (kind === "crl"
            ? Math.max(0, Math.floor((published.expires.getTime() - Date.now()) / 1000))
            : 86_400);
        res.setHeader("cache-control", `public, max-age=${maxAge}`);
        res.setHeader("etag", published.etag);
        if (published.lastModified) {
          res.setHeader("last-modified", published.lastModified.toUTCString());
        }
        // A fetcher that holds this CRL (or certificate) revalidates it for a few hundred bytes.
        if (notModified(req, published)) {
          res.writeHead(304);
          res.end();
          return;
        }
        respond(
          200,
          published.der,
          kind === "crl" ? "application/pkix-crl" : "application/pkix-cert",
        );
      },
      (err: unknown) => {
        // An outage is an outage (503 with Retry-After, RFC 9110 15.6.4), logged by its cause
        // alone as on the gRPC port: relying parties and caches retry a 503, not a 500.
        const outage = databaseOutage(err);
        if (outage) {
          logger.warn({ cause: outage, path }, "database unavailable");
          res.setHeader("retry-after", String(OUTAGE_RETRY_SECONDS));
          respond(503, "certmint cannot reach its database right now; retry shortly\n");
          return;
        }
        // A CA that cannot sign a CRL (a certificate without cRLSign, adopted before imports
        // refused it) has none to publish: a 404 with the reason, not a 500 (an outside lint
        // probe, 2026-12-05).
        if (isCertmintError(err) && err.kind === "failed_precondition") {
          logger.warn({ reason: err.reason, path }, "nothing to publish");
          respond(404, `${err.message}\n`);
          return;
        }
        logger.error({ err, path }, "publication failed");
        respond(500, "internal error\n");
      },
    );
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    // First, before a body is read or anything looked up: past its rate an address costs a 429.
    if (rateLimit && !rateLimit.admit(req, res)) return;
    if (req.method !== "POST") {
      limited(req, res);
      return;
    }
    void readBoundedBody(req, OCSP_REQUEST_MAX_BYTES).then((body) => {
      bodies.set(req, body);
      if (!req.socket.destroyed) limited(req, res);
    });
  };
  const started = await startHttpServer("publication", listen, limits, logger, handler, {
    limitConnectionsPerAddress: true,
  });
  if (rateLimit) started.server.on("connection", rateLimit.onConnection);
  return started;
}
