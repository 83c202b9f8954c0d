import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { databaseOutage } from "../database-outage";
import type { OcspAnswer, OcspResponder } from "../issuance/ca/ocsp";
import { OCSP_REQUEST_MAX_BYTES, ocspErrorResponse } from "../signer";
import { notModified } from "./conditional-get";
import { requestPath } from "./http-server";

const OCSP_RESPONSE_TYPE = "application/ocsp-response";

/**
 * OCSP over HTTP (RFC 6960 appendix A): POST /ocsp with the DER request as the body, or
 * GET /ocsp/<url-encoded base64 of the DER request>. Answers are always 200 with an
 * OCSPResponse (errors are OCSP statuses, A.1); a response without a nonce may be cached by
 * HTTP caches until its nextUpdate (RFC 5019 6.2). Returns false for paths that are not OCSP.
 */
export function serveOcsp(
  req: IncomingMessage,
  res: ServerResponse,
  ocsp: OcspResponder,
  logger: Logger,
  onAnswer?: (status: string) => void,
  /** A POST's body, read before the request counted (server/publication.ts). */
  body?: Buffer | "too large",
  /** Whether this client may have a response signed now (OcspResponder.respond). */
  admit?: () => boolean,
): boolean {
  const path = requestPath(req);
  if (path !== "/ocsp" && path !== "/ocsp/" && !path.startsWith("/ocsp/")) return false;
  const send = (answer: OcspAnswer) => {
    onAnswer?.(answer.status);
    const headers: Record<string, string | number> = {
      "content-type": OCSP_RESPONSE_TYPE,
      "content-length": answer.der.length,
    };
    if (answer.cacheUntil && (req.method === "GET" || req.method === "HEAD")) {
      const keptUntil = Math.min(
        answer.cacheUntil.getTime(),
        answer.reuseUntil?.getTime() ?? Number.POSITIVE_INFINITY,
      );
      const maxAge = Math.max(0, Math.floor((keptUntil - Date.now()) / 1000));
      headers["cache-control"] = `public, max-age=${maxAge}, no-transform, must-revalidate`;
      headers["last-modified"] = answer.thisUpdate!.toUTCString();
      headers.expires = answer.cacheUntil.toUTCString();
      // RFC 5019 6.2.2 lists ETag with the others (until stop 49 it was missing: an outside
      // probe): the response's own digest, so a cache revalidates an unchanged one for a 304.
      const etag = `"${createHash("sha256").update(answer.der).digest("base64url")}"`;
      headers.etag = etag;
      // The entity tag alone decides: two answers for one certificate (good, then revoked)
      // may share a thisUpdate second, so If-Modified-Since could hide a revocation.
      if (notModified(req, { etag })) {
        delete headers["content-length"];
        delete headers["content-type"];
        res.writeHead(304, headers);
        res.end();
        return;
      }
    } else {
      headers["cache-control"] = "no-store";
    }
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : answer.der);
  };
  const answer = (der: Buffer) =>
    ocsp.respond(der, admit).then(send, (err: unknown) => {
      // RFC 6960 4.2.1: tryLater is the responder's "cannot answer now"; internalError says
      // it is in an inconsistent state. A database outage is the first, logged by its cause.
      const outage = databaseOutage(err);
      if (outage) {
        logger.warn({ cause: outage }, "database unavailable");
        send({ der: ocspErrorResponse("tryLater"), status: "tryLater" });
        return;
      }
      logger.error({ err }, "OCSP response failed");
      send({ der: ocspErrorResponse("internalError"), status: "internalError" });
    });
  const malformed = () =>
    send({ der: ocspErrorResponse("malformedRequest"), status: "malformedRequest" });

  if (req.method === "POST" && (path === "/ocsp" || path === "/ocsp/")) {
    if (body === "too large") {
      // The rest of the body was not read: the connection ends with this answer.
      res.setHeader("connection", "close");
      malformed();
    } else void answer(body ?? Buffer.alloc(0));
    return true;
  }
  if ((req.method === "GET" || req.method === "HEAD") && path.startsWith("/ocsp/")) {
    let der: Buffer;
    try {
      // Clients percent-encode the base64 (A.1); some leave its '/' and '+' as they are.
      der = Buffer.from(decodeURIComponent(path.slice("/ocsp/".length)), "base64");
    } catch {
      malformed();
      return true;
    }
    if (der.length === 0 || der.length > OCSP_REQUEST_MAX_BYTES) malformed();
    else void answer(der);
    return true;
  }
  // RFC 9110 10.2.1: the methods this target answers (until stop 49 "GET, POST" wherever
  // the refusal came from: an outside probe). /ocsp takes a POST; /ocsp/<base64> a GET or HEAD.
  res.setHeader("allow", path === "/ocsp" || path === "/ocsp/" ? "POST" : "GET, HEAD");
  res.writeHead(405, { "content-type": "text/plain; charset=utf-8" });
  res.end("OCSP: POST /ocsp with application/ocsp-request, or GET /ocsp/<base64>\n");
  return true;
}
