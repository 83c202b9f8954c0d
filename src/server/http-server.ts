import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { peerAddressKey } from "../auth/address-keys";
import type { ConnectionLimits } from "../config";
import { capWarning, surviveAcceptErrors } from "./connection-limits";
import { limitConnectionsPerAddress, peerOf } from "./connections-per-address";

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
  /** Cap each client address's open connections at connectionsPerAddress (publication, metrics). */
  options: { limitConnectionsPerAddress?: boolean } = {},
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
  surviveAcceptErrors(server, logger, name);
  if (options.limitConnectionsPerAddress) {
    limitConnectionsPerAddress(server, limits, name, logger);
  }
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      const address = server.address();
      resolve({ server, port: typeof address === "object" && address ? address.port : 0 });
    });
  });
}

/**
 * Requests of one connection being answered at once on the publication port. Node's HTTP
 * server runs the handler of every pipelined request as soon as it is parsed, so without this
 * one TCP connection could start thousands of lookups with a single write. A few let a client
 * that pipelines (or an HTTP proxy multiplexing relying parties) go on; browsers and CRL
 * fetchers send one request at a time.
 */
export const MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION = 4;

/**
 * Requests being answered at once on the publication port, all connections together: a bound
 * on the database work (and memory) anonymous clients can cause, well above what relying
 * parties need (each answer is one cached CRL or certificate, or one OCSP response), and below
 * the database pool's queue growing without end.
 */
export const MAX_REQUESTS_IN_FLIGHT = 64;

/**
 * Requests of one client address (an IPv4 address, an IPv6 /64: auth/address-keys.ts) being
 * answered at once on the publication port. Without it one address opening
 * MAX_REQUESTS_IN_FLIGHT / MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION connections of slow requests (a
 * CRL being signed, a database slow to answer) held every place, and every other relying party
 * got 503. A quarter of the port, as on the ACME port (ACME_MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS):
 * four addresses are needed to fill it. A constant, not a setting: it bounds this process's work.
 * An HTTP cache or load balancer in front (one address for all) keeps 16 requests going, and a
 * cached CRL, certificate or OCSP response is answered in well under a millisecond.
 */
export const MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS = 16;

/** The address key (IPv4 address, IPv6 /64) a request counts against. */
export function requestAddressKey(req: IncomingMessage): string {
  return peerAddressKey(peerOf(req.socket));
}

/**
 * The path of a request's target, without its query. A target in absolute form
 * (`http://host/crl/x.crl`) is a path too: RFC 9112 3.2.2 says a server MUST accept it,
 * though clients send it mostly to proxies (Node's parser passes it through as it came).
 */
export function requestPath(req: Pick<IncomingMessage, "url">): string {
  const target = req.url ?? "";
  const absolute = /^https?:\/\/[^/?#]*/i.exec(target);
  const path = absolute ? target.slice(absolute[0].length) || "/" : target;
  return path.split("?")[0]!;
}

/** The query of a request's target with its "?", or "" when it has none. */
export function requestQuery(req: Pick<IncomingMessage, "url">): string {
  const target = req.url ?? "";
  const at = target.indexOf("?");
  return at < 0 ? "" : target.slice(at).split("#")[0]!;
}

/** Retry-After (seconds) of a 503 for a request beyond either limit. */
export const BUSY_RETRY_AFTER_SECONDS = 1;

/**
 * A request's body, read whole up to `maxBytes`; "too large" past it (declared or sent), and
 * then the rest is not read: the caller answers and closes the connection. For handlers whose
 * request counts against limitRequestsInFlight only once its body has arrived, so a client that
 * sends its headers and then its body slowly (until Node's request timeout) holds its own
 * connection, not a place other clients need.
 */
export function readBoundedBody(
  req: IncomingMessage,
  maxBytes: number,
): Promise<Buffer | "too large"> {
  return new Promise((resolve) => {
    if (Number(req.headers["content-length"] ?? 0) > maxBytes) {
      resolve("too large");
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off("data", onData);
        req.pause();
        resolve("too large");
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks)));
    // A connection gone mid-body: the caller sees the socket destroyed and answers nothing.
    req.on("error", () => resolve(Buffer.concat(chunks)));
  });
}

/** What a 503 of refuseBusy says, by the limit the request was beyond. */
const BUSY_TEXT: Record<InFlightLimit, string> = {
  connection: "too many requests in flight on this connection; retry shortly\n",
  address: "too many requests in flight from this address; retry shortly\n",
  port: "too many requests in flight; retry shortly\n",
};

/** The answer to a request beyond a limit: 503, Retry-After, a line of text. */
function refuseBusy(req: IncomingMessage, res: ServerResponse, beyond: InFlightLimit): void {
  const body = BUSY_TEXT[beyond];
  res.writeHead(503, {
    "retry-after": String(BUSY_RETRY_AFTER_SECONDS),
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(req.method === "HEAD" ? undefined : body);
}

/** Which limit a refused request was beyond (limitRequestsInFlight). */
export type InFlightLimit = "connection" | "address" | "port";

export interface InFlightLimits {
  /** Requests of one connection being answered at once. */
  readonly perConnection: number;
  /** Requests of all connections being answered at once. */
  readonly total: number;
  /**
   * Requests of one client address being answered at once, `key` naming the address a request
   * counts against (e.g. auth/failure-limiter.ts peerAddressKey: IPv4 address, IPv6 /64).
   * Without it one client opening total / perConnection connections holds every place; absent:
   * no such limit.
   */
  readonly perAddress?: { readonly limit: number; readonly key: (req: IncomingMessage) => string };
  /** The answer to a request beyond a limit; default: 503, Retry-After, a line of text. */
  readonly refuse?: (req: IncomingMessage, res: ServerResponse, beyond: InFlightLimit) => void;
  /**
   * A request beyond the address's or the port's limit waits up to `ms` for a place, first come
   * first served among those a freed place fits, instead of being refused at once; at most
   * `perAddress` of an address and `total` of all wait, beyond which it is refused at once.
   * Absent: refused at once. (Beyond its connection's limit a request is refused at once.)
   */
  readonly wait?: { readonly ms: number; readonly perAddress: number; readonly total: number };
}

/** What limitRequestsInFlight holds now: requests, and addresses with at least one (tests). */
export interface InFlight {
  readonly total: number;
  readonly addresses: number;
  /** Requests waiting for a place (InFlightLimits.wait). */
  readonly waiting: number;
}

/**
 * Wraps `handler` so that at most `perConnection` requests of a connection, `perAddress.limit`
 * of a client address, and `total` of all connections, are being answered at once. A request
 * beyond any limit is answered at once by `refuse` (by default 503 with Retry-After and a line
 * of text; the ACME listener answers a problem document), without running `handler` (no
 * database work), or, with `limits.wait`, first waits a while for a place; pipelined answers
 * keep their order (Node writes them in turn), and the connection stays open.
 *
 * A request counts until its handler ends its answer (`res.end`), even when the client has
 * gone meanwhile: the work it started goes on, so closing a connection frees nothing early.
 * The exception is a request whose body never arrived (POST /ocsp cut short): its handler
 * waits for the body and will not answer, so it stops counting when its connection closes.
 * Either way one release gives back all three counts, once; an address whose count reaches 0
 * is forgotten, so a stream of addresses cannot grow the map.
 */
export function limitRequestsInFlight(
  handler: RequestListener,
  limits: InFlightLimits = {
    perConnection: MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION,
    total: MAX_REQUESTS_IN_FLIGHT,
  },
): RequestListener & { inFlight(): InFlight } {
  const refuse = limits.refuse ?? refuseBusy;
  const perAddress = limits.perAddress;
  // Per connection: its requests being answered, each with what releases it.
  const perSocket = new WeakMap<Socket, Map<() => void, IncomingMessage>>();
  // Per address key: its requests being answered (never 0: such an entry is deleted).
  const perKey = new Map<string, number>();
  let total = 0;
  // Requests waiting for a place (limits.wait), in arrival order, and how many per address.
  const waiting: Waiting[] = [];
  const waitingPerKey = new Map<string, number>();

  const heldBy = (socket: Socket) => {
    let mine = perSocket.get(socket);
    if (!mine) {
      const held = new Map<() => void, IncomingMessage>();
      mine = held;
      perSocket.set(socket, held);
      socket.once("close", () => {
        for (const [release, request] of [...held]) if (!request.complete) release();
      });
    }
    return mine;
  };
  const beyondOf = (mine: Map<() => void, IncomingMessage>, key: string | undefined) => {
    if (mine.size >= limits.perConnection) return "connection";
    if (perAddress && key !== undefined && (perKey.get(key) ?? 0) >= perAddress.limit) {
      return "address";
    }
    if (total >= limits.total) return "port";
    return undefined;
  };
  const unwait = (w: Waiting) => {
    const i = waiting.indexOf(w);
    if (i === -1) return false;
    waiting.splice(i, 1);
    clearTimeout(w.timer);
    w.req.socket.off("close", w.gone);
    if (w.key !== undefined) {
      const left = (waitingPerKey.get(w.key) ?? 1) - 1;
      if (left > 0) waitingPerKey.set(w.key, left);
      else waitingPerKey.delete(w.key);
    }
    return true;
  };
  /** The waiting requests a freed place now fits, first come first served. */
  const admitWaiting = () => {
    for (let i = 0; i < waiting.length && total < limits.total; ) {
      const w = waiting[i]!;
      if (beyondOf(heldBy(w.req.socket), w.key) !== undefined) {
        i++;
        continue;
      }
      unwait(w);
      admit(w.req, w.res, w.key);
    }
  };
  const admit = (req: IncomingMessage, res: ServerResponse, key: string | undefined) => {
    const held = heldBy(req.socket);
    total += 1;
    if (key !== undefined) perKey.set(key, (perKey.get(key) ?? 0) + 1);
    const release = () => {
      if (!held.delete(release)) return;
      total -= 1;
      if (key !== undefined) {
        const left = (perKey.get(key) ?? 1) - 1;
        if (left > 0) perKey.set(key, left);
        else perKey.delete(key);
      }
      if (waiting.length > 0) admitWaiting();
    };
    held.set(release, req);
    const end = res.end;
    res.end = function (this: ServerResponse, ...args: unknown[]) {
      release();
      return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as ServerResponse["end"];
    handler(req, res);
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const key = perAddress?.key(req);
    const beyond = beyondOf(heldBy(req.socket), key);
    if (!beyond) {
      admit(req, res, key);
      return;
    }
    const wait = limits.wait;
    if (
      beyond === "connection" ||
      !wait ||
      waiting.length >= wait.total ||
      (key !== undefined && (waitingPerKey.get(key) ?? 0) >= wait.perAddress)
    ) {
      refuse(req, res, beyond);
      return;
    }
    const w: Waiting = {
      req,
      res,
      key,
      timer: setTimeout(() => {
        // Still no place: refused for the limit that holds now.
        if (unwait(w)) refuse(req, res, beyondOf(heldBy(req.socket), key) ?? beyond);
      }, wait.ms),
      // A client gone while it waited is not answered, and its place in the line is freed.
      gone: () => unwait(w),
    };
    waiting.push(w);
    if (key !== undefined) waitingPerKey.set(key, (waitingPerKey.get(key) ?? 0) + 1);
    req.socket.once("close", w.gone);
  };
  return Object.assign(listener, {
    inFlight: () => ({ total, addresses: perKey.size, waiting: waiting.length }),
  });
}

/** A request waiting for a place (InFlightLimits.wait). */
interface Waiting {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly key: string | undefined;
  readonly timer: NodeJS.Timeout;
  readonly gone: () => void;
}
