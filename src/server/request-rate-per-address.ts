import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2Session } from "node:http2";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { AddressRateLimiter } from "../auth/address-rate-limiter";
import { peerOf } from "./connections-per-address";

/**
 * How long a connection of an address past its request rate is not read from, and the
 * Retry-After of its 429: a client that honours the answer waits that long anyway.
 */
export const RATE_HOLD_SECONDS = 1;

/** Bursts: this many seconds' worth of requests (relying parties fetching after a CRL update). */
const BURST_SECONDS = 10;

/** What limitRequestRatePerAddress gives its port: the check, and counts for tests and metrics. */
export interface RequestRateLimit {
  /** True when `req` may be served; otherwise it was answered 429 and its connection is held. */
  admit(req: IncomingMessage, res: ServerResponse): boolean;
  /** The port's "connection" listener: holds a new connection of an address past its rate. */
  onConnection(socket: Socket): void;
}

/**
 * Requests per second of one client address (an IPv4 address, an IPv6 /64 and its /48:
 * auth/address-rate-limiter.ts) on a port anyone may reach without credentials (publication).
 * The limits on requests in flight (http-server.ts limitRequestsInFlight) bound the work of
 * slow requests, not the rate of cheap ones: one address sending thousands of requests a
 * second for a cached CA certificate kept the event loop it shares with the gRPC calls busy,
 * and issuance was 4.7x slower on average (bench/fairness/publication-flood.ts).
 *
 * Answering each request past the rate would not help: a 429 costs what a cached answer costs,
 * and a client that does not honour it asks again at once. So past the rate, the request is
 * answered `429` with Retry-After (RFC 6585 4) and then its connection is not read from for
 * RATE_HOLD_SECONDS: the client's next requests wait in its own TCP buffers, at no cost to
 * anyone else. A new connection from an address past its rate is held the same way before its
 * first byte is read. Requests already read in the same packet (pipelined) are answered 429
 * too. Other addresses are served as before.
 *
 * Per process on purpose: it protects the event loop that serves the requests (and the gRPC
 * calls beside them), and an address's connections spread over the workers of
 * CERTMINT_PROCESSES load each worker's loop only with its own share. Nothing it serves is
 * secret or costs a write (signed CRLs and CA certificates, OCSP from a cache), so the rate is
 * a cost bound, not a budget a caller could turn into more than load.
 */
export function limitRequestRatePerAddress(
  ratePerSecond: number,
  name: string,
  logger: Logger,
  onRefused?: () => void,
): RequestRateLimit {
  const limiter = new AddressRateLimiter(ratePerSecond, BURST_SECONDS * ratePerSecond);
  let warnedAt = Number.NEGATIVE_INFINITY;
  // A new connection of an address past its rate waits before anything of it is parsed.
  const onConnection = (socket: Socket) => {
    if (limiter.peek(peerOf(socket)) > 0) holdConnection(socket);
  };
  const admit = (req: IncomingMessage, res: ServerResponse): boolean => {
    const peer = peerOf(req.socket);
    if (limiter.take(peer) === 0) return true;
    onRefused?.();
    if (performance.now() - warnedAt >= 60_000) {
      warnedAt = performance.now();
      logger.warn(
        { port: name, peer, requestsPerSecond: ratePerSecond },
        "a client address is past its request rate (CERTMINT_PUBLICATION_REQUESTS_PER_ADDRESS_PER_SECOND): answered 429, its connections held",
      );
    }
    const body = "too many requests from this address; retry later\n";
    res.writeHead(429, {
      "retry-after": String(RATE_HOLD_SECONDS),
      "content-type": "text/plain; charset=utf-8",
      "content-length": Buffer.byteLength(body),
    });
    res.end(req.method === "HEAD" ? undefined : body);
    holdConnection(req.socket);
    return false;
  };
  return { admit, onConnection };
}

/** Connections being held (holdConnection), until their hold ends. */
const held = new WeakSet<Socket>();

/**
 * Reads nothing more from `socket` for RATE_HOLD_SECONDS (its answers are still written): the
 * client's next requests wait in its own buffers. For a connection of an address past its rate,
 * here and on the ACME port (acme/http/server.ts).
 */
export function holdConnection(socket: Socket): void {
  if (held.has(socket) || socket.destroyed) return;
  if (!stopReading(socket)) {
    socket.destroy(); // no way to stop reading it: close it rather than serve the flood
    return;
  }
  held.add(socket);
  const timer = setTimeout(() => {
    held.delete(socket);
    startReading(socket);
  }, RATE_HOLD_SECONDS * 1000);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
}

/** HTTP/2 sessions being held (holdSession), until their hold ends. */
const heldSessions = new WeakSet<Http2Session>();

/**
 * holdConnection for an HTTP/2 session (the gRPC port): its socket is not read from for
 * RATE_HOLD_SECONDS, so its client's next frames wait in its own buffers. Node gives a session's
 * socket as a proxy that refuses pause and destroy but passes `_handle` through, and its
 * HTTP/2 parser reads the socket in C++ like the HTTP/1 one: stopping the handle holds it
 * (test/server/credential-free-calls.test.ts).
 */
export function holdSession(session: Http2Session): void {
  if (heldSessions.has(session) || session.destroyed) return;
  const socket = session.socket as Socket;
  if (!stopReading(socket)) {
    session.destroy();
    return;
  }
  heldSessions.add(session);
  const timer = setTimeout(() => {
    heldSessions.delete(session);
    if (!session.destroyed) startReading(socket);
  }, RATE_HOLD_SECONDS * 1000);
  timer.unref();
  session.once("close", () => clearTimeout(timer));
}

/** The libuv stream under a net.Socket (Node's own `_handle`). */
interface StreamHandle {
  reading?: boolean;
  readStop?: () => number;
  readStart?: () => number;
}

const handleOf = (socket: Socket) => (socket as unknown as { _handle?: StreamHandle })._handle;

/**
 * Stops reading `socket` at the source. socket.pause() does not: Node's HTTP server reads a
 * connection in C++ (its parser consumes the socket's stream), so pausing the JavaScript stream
 * stopped nothing (a pipelining client went on at 20,000 requests a second, all answered 429).
 * This is what net.Socket.pause does for sockets it reads itself: `reading` false, then readStop,
 * so that a resume by Node's own code starts it again. False when the socket has no such
 * handle (closed, or a Node that changed it): the caller closes the connection instead;
 * test/server/publication-rate.test.ts notices the change.
 */
function stopReading(socket: Socket): boolean {
  const handle = handleOf(socket);
  if (typeof handle?.readStop !== "function" || typeof handle.readStart !== "function")
    return false;
  handle.reading = false;
  handle.readStop();
  return true;
}

/** Reads `socket` again (unless it is gone, or reading already). */
function startReading(socket: Socket): void {
  const handle = handleOf(socket);
  if (socket.destroyed || !handle || handle.reading || typeof handle.readStart !== "function")
    return;
  handle.reading = true;
  handle.readStart();
}
