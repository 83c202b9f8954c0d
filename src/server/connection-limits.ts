/**
 * Limits on what a connection to the gRPC port may cost (issue 10 item 5). Without them a
 * client could open thousands of TCP connections that never speak HTTP/2 and hold them
 * forever: at the file-descriptor limit new clients cannot connect and certmint cannot reach
 * PostgreSQL (EMFILE).
 *
 * grpc-js closes sessions that are idle, too old or do not answer keepalive pings (server
 * options below), but only once a connection is an HTTP/2 session, and it has no cap on
 * connections. The rest is applied to the http2 server grpc-js creates for each bound address:
 *  - a cap (net.Server maxConnections: beyond it the kernel's accepted socket is closed at once);
 *  - a handshake deadline: from accept, the TLS handshake and the client's HTTP/2 connection
 *    preface (its SETTINGS frame, RFC 9113 3.4) must arrive within handshakeTimeoutMs, or the
 *    socket is destroyed. Node's own TLS handshake timeout is 120 s and cannot be set through
 *    grpc-js; a plaintext session is created at accept, before any byte arrived.
 */
import {
  constants,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import type { Server as NetServer, Socket } from "node:net";
import type { ChannelOptions, Server, ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { ConnectionLimits } from "../config";
import { outageCondition } from "../database-outage";
import { limitConnectionsPerAddress } from "./connections-per-address";
import { closeWithoutLoss } from "./graceful-close";
import { grpcTimeoutMs } from "./grpc-timeouts";
import type { PendingRequestBytes } from "./request-bytes";

/**
 * grpc-js server options for idle connections and streams. The connection age and keepalive are
 * certmint's own (limitAge and keepAlive below), not grpc-js's grpc.max_connection_age_ms and
 * grpc.keepalive_time_ms, which are left unset (grpc-js: no age, no keepalive).
 */
export function connectionOptions(limits: ConnectionLimits): ChannelOptions {
  return {
    "grpc.max_connection_idle_ms": limits.idleTimeoutMs,
    // Node's default is 2^32-1: one connection could leave any number of answers unread in
    // the server's memory. 250 is Go's net/http2 server default.
    "grpc.max_concurrent_streams": limits.maxConcurrentStreams,
  };
}

type CreateHttp2Server = (credentials: ServerCredentials) => Http2Server;

/**
 * The HTTP/2 sessions of the gRPC ports still open. grpc-js's forceShutdown destroys only the
 * sessions its channelz bookkeeping holds, and certmint runs with channelz off (app.ts): what a
 * shutdown past its grace period must still close (watch streams never end on their own) is
 * destroyed from here, as grpc-js would (NGHTTP2_CANCEL).
 */
export class OpenSessions {
  readonly #sessions = new Set<Http2Session>();

  readonly watch = (session: Http2Session): void => {
    this.#sessions.add(session);
    session.once("close", () => this.#sessions.delete(session));
  };

  get size(): number {
    return this.#sessions.size;
  }

  destroyAll(): void {
    for (const session of this.#sessions) {
      // Node's Http2Session.destroy takes a bare error code in its first argument (its types
      // do not say so); the session's error goes to the server's sessionError, as grpc-js's.
      (session.destroy as unknown as (code: number) => void).call(
        session,
        constants.NGHTTP2_CANCEL,
      );
    }
    this.#sessions.clear();
  }
}

/**
 * Applies the cap and the handshake deadline to every port `server` binds from now on. grpc-js
 * has no public hook for its http2 servers, so this wraps the (private) method that creates
 * them; @grpc/grpc-js is pinned, and a version without the method stops the start-up here
 * rather than serving without limits. test/server/connections.test.ts covers both ports.
 * Returns the sessions of those ports still open, for forceShutdown to destroy (OpenSessions).
 */
export function limitConnections(
  server: Server,
  limits: ConnectionLimits,
  logger: Logger,
  requestBytes: PendingRequestBytes,
): OpenSessions {
  const internals = server as unknown as { createHttp2Server?: CreateHttp2Server };
  const create = internals.createHttp2Server;
  if (typeof create !== "function") {
    throw new Error(
      "this @grpc/grpc-js has no Server.createHttp2Server: connection limits cannot be applied",
    );
  }
  const sessions = new OpenSessions();
  internals.createHttp2Server = function (this: Server, credentials: ServerCredentials) {
    const http2Server = create.call(this, credentials);
    guard(http2Server, limits, logger);
    // Before grpc-js's own "stream" listener, which reads the headers this one completes.
    http2Server.prependListener("stream", keepRepeatedAuthorization);
    // Unfinished requests' bytes, bounded per connection and per process (request-bytes.ts).
    http2Server.on("session", requestBytes.watch);
    http2Server.on("session", sessions.watch);
    return http2Server;
  };
  return sessions;
}

/**
 * Node keeps only the first value of a header it holds single-valued, authorization among them,
 * so grpc-js never saw a second `authorization` header: the first silently won (found by an
 * outside probe, 2026-12-05), and a proxy that appends its own after a client's did not
 * override it. The raw header list still has every value: they go back into the headers
 * grpc-js reads, and the authenticator refuses the call (CREDENTIALS_AMBIGUOUS).
 */
export function keepRepeatedAuthorization(
  _stream: unknown,
  headers: IncomingHttpHeaders,
  _flags: number,
  rawHeaders: readonly string[] | undefined,
): void {
  if (!rawHeaders) return;
  const values: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i] === "authorization") values.push(rawHeaders[i + 1]!);
  }
  if (values.length > 1) {
    (headers as Record<string, string | string[] | undefined>).authorization = values;
  }
}

/** Cap and handshake deadline on one listening http2 server (plaintext or TLS). */
function guard(http2Server: Http2Server, limits: ConnectionLimits, logger: Logger): void {
  http2Server.maxConnections = limits.maxConnections;
  http2Server.on("drop", capWarning(logger, "gRPC", limits.maxConnections));
  surviveAcceptErrors(http2Server, logger, "gRPC");
  // One client address holds at most its share (server/connections-per-address.ts).
  limitConnectionsPerAddress(http2Server, limits, "gRPC", logger);
  // Connections not yet usable, by peer address and port: the raw socket the deadline
  // destroys, reached again from its session (whose socket is a TLS socket or a proxy).
  const pending = new Map<string, { socket: Socket; timer: NodeJS.Timeout }>();
  // A peer that closed its side of the connection (TCP FIN) is gone: HTTP/2 has no half-closed
  // connections (RFC 9113 9.1), so it is destroyed at once, freeing its places under
  // CERTMINT_MAX_CONNECTIONS_PER_ADDRESS and CERTMINT_MAX_CONNECTIONS (and see readsResumed).
  http2Server.on("connection", (socket: Socket) => {
    socket.once("end", () => socket.destroy());
  });
  http2Server.on("session", readsResumed);
  http2Server.prependListener("connection", (socket: Socket) => {
    const key = peerKey(socket);
    if (key === undefined) return;
    const timer = setTimeout(() => socket.destroy(), limits.handshakeTimeoutMs);
    timer.unref();
    pending.set(key, { socket, timer });
    socket.once("close", () => {
      clearTimeout(timer);
      if (pending.get(key)?.socket === socket) pending.delete(key);
    });
  });
  // First, so that every close of the session (grpc-js's shutdown and idle too) waits for the
  // streams it took.
  http2Server.prependListener("session", limitAge(limits));
  http2Server.on("session", keepAlive(limits));
  http2Server.on("session", limitResets(logger));
  http2Server.on("session", limitIdlePings(logger));
  http2Server.on("session", firstCallDue(limits.handshakeTimeoutMs));
  http2Server.on("session", (session: Http2Session) => {
    const key = session.socket ? peerKey(session.socket) : undefined;
    if (key === undefined) return;
    session.once("remoteSettings", () => {
      const entry = pending.get(key);
      if (!entry) return;
      clearTimeout(entry.timer);
      pending.delete(key);
    });
  });
}

/**
 * A connection that has made no call `dueMs` (CERTMINT_HANDSHAKE_TIMEOUT_MS, 10 s) after its
 * HTTP/2 settings arrived is told to go (GOAWAY, then closed; destroyed a second later if it
 * does not read). gRPC clients open a connection to make a call; one that makes none holds a
 * place under CERTMINT_MAX_CONNECTIONS_PER_ADDRESS and CERTMINT_MAX_CONNECTIONS for nothing.
 * Until stop 59 of 2026-12-07 it held it for the idle timeout (300 s): four addresses sending
 * the connection preface and nothing else kept every other client out, health checks too (an
 * outside probe, 260 connections each). A client that connects early (a channel told to
 * connect) reconnects when it has a call to make.
 */
function firstCallDue(dueMs: number): (session: Http2Session) => void {
  return (session) => {
    let timer: NodeJS.Timeout | undefined;
    let called = false;
    const clear = () => {
      called = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    };
    session.once("remoteSettings", () => {
      if (called) return;
      timer = setTimeout(() => {
        if (session.destroyed || session.closed) return;
        session.close();
        setTimeout(() => {
          if (!session.destroyed) session.destroy();
        }, 1_000).unref();
      }, dueMs);
      timer.unref();
    });
    session.once("stream", clear);
    session.once("close", clear);
  };
}

/**
 * How long a connection with no call open and nothing to send waits, silent, before its reads
 * are started again (readsResumed).
 */
export const IDLE_READ_RESUME_MS = 200;

/**
 * Starts reading again, after IDLE_READ_RESUME_MS of silence, a connection with no call open and
 * nothing queued to send. When nghttp2 ends a session for a connection error (COMPRESSION_ERROR
 * for a header value over ~100 KB, a frame it refuses), Node 20 stops reading its socket and
 * neither closes it nor reports anything: the client's FIN is never read, and the connection
 * stayed in CLOSE-WAIT, counted under CERTMINT_MAX_CONNECTIONS_PER_ADDRESS and
 * CERTMINT_MAX_CONNECTIONS, until the keepalive's PING went unanswered (80 s). Until stop 58 of
 * 2026-12-07 four addresses, with no credentials, kept every new client out that way (an
 * outside probe: 250 connections each, sent a 110 KB header and closed). Reading again surfaces
 * the end, and the socket's "end" above destroys it. A connection still reading is not changed
 * (the start is a no-op), and one with calls open or answers queued is left alone: Node stops
 * reading those for backpressure, which must hold.
 */
function readsResumed(session: Http2Session): void {
  let open = 0;
  session.on("stream", (stream: ServerHttp2Stream) => {
    open += 1;
    stream.once("close", () => {
      open -= 1;
    });
  });
  session.setTimeout(IDLE_READ_RESUME_MS, () => {
    if (open > 0 || session.destroyed || session.closed) return;
    if ((session.state.outboundQueueSize ?? 0) > 0) return;
    // session.socket forwards property reads to the socket (Node's proxy refuses read/resume).
    const handle = (session.socket as unknown as { _handle?: { readStart?: () => number } })
      ._handle;
    handle?.readStart?.();
  });
}

/**
 * A connection older than maxAgeMs (±10%, so that clients connected together do not reconnect
 * together) is told to go: GOAWAY "max_age" naming the last call taken, closed once the calls it
 * took have ended (graceful-close.ts), or destroyed maxAgeGraceMs after the age (a watch never
 * ends on its own). grpc-js's grpc.max_connection_age_ms is not set: its close lost calls
 * (graceful-close.ts, and keepAlive below).
 */
function limitAge(limits: ConnectionLimits): (session: Http2Session) => void {
  return (session) => {
    const goAway = closeWithoutLoss(session, limits.handshakeTimeoutMs);
    const jitter = (Math.random() * 2 - 1) * (limits.maxAgeMs / 10);
    let grace: NodeJS.Timeout | undefined;
    const age = setTimeout(() => {
      if (session.closed || session.destroyed) return;
      goAway("max_age");
      grace = setTimeout(() => {
        if (!session.destroyed) session.destroy();
      }, limits.maxAgeGraceMs);
      grace.unref();
    }, limits.maxAgeMs + jitter);
    age.unref();
    session.once("close", () => {
      clearTimeout(age);
      clearTimeout(grace);
    });
  };
}

/**
 * The server pings each gRPC connection every keepaliveTimeMs and destroys one whose answer does
 * not come within keepaliveTimeoutMs (a peer gone without a word: its calls and watches end).
 * Not grpc-js's keepalive: Node cancels every PING of a session being closed (Http2Session.close,
 * at the maximum age or a graceful stop), and grpc-js destroys the session on a cancelled PING,
 * so the calls still finishing on it were lost at the next keepalive tick: the failures of the
 * maximum age seen by stop 53's outside probe (1-15 in 1,000-1,500 calls with a keepalive of
 * 1 s), and at a graceful stop any call still running one keepalive period in. A session being
 * closed is not pinged: its end is bounded by its grace (maximum age or shutdown).
 */
function keepAlive(limits: ConnectionLimits): (session: Http2Session) => void {
  return (session) => {
    let next: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    const gone = () => {
      if (!session.destroyed) session.destroy();
    };
    const ping = () => {
      if (session.closed || session.destroyed) return;
      deadline = setTimeout(gone, limits.keepaliveTimeoutMs);
      deadline.unref();
      const answered = (err: Error | null) => {
        clearTimeout(deadline);
        // An error is a ping cancelled by the session's close or destruction: nothing to do.
        if (!err) schedule();
      };
      // False: too many PINGs unanswered already.
      if (!session.ping(answered)) gone();
    };
    const schedule = () => {
      next = setTimeout(ping, limits.keepaliveTimeMs);
      next.unref();
    };
    schedule();
    session.once("close", () => {
      clearTimeout(next);
      clearTimeout(deadline);
    });
  };
}

/**
 * Streams one connection may see reset (RST_STREAM, both ways) at once, and refilled per
 * second. Rapid Reset (CVE-2023-44487): a client opening calls and resetting them at once is
 * never held by grpc.max_concurrent_streams, and each call it sends whole still runs its
 * handler. nghttp2 (Node 20's 1.61) counts every RST_STREAM it receives, for a stream already
 * answered and closed too, and past 1,000 at over 33 a second it ends the session (GOAWAY
 * INTERNAL_ERROR: the calls in flight fail, and gRPC clients do not retry INTERNAL), or stops
 * reading it and leaves its socket open until keepalive closes it (80 s by default), a place of
 * the connection cap held per flood; Node 20 offers no setting for either. Here the session is
 * told to go first (GOAWAY ENHANCE_YOUR_CALM naming the last stream it took): 900 resets,
 * refilled at nghttp2's 33 a second. It takes no new call, the calls in flight finish (their
 * clients send new ones on a new connection, as after any GOAWAY), and it is closed once they
 * have, or after RESET_CLOSE_GRACE_MS. Until stop 53 of 2026-12-07 it was destroyed at once, and
 * a busy client whose calls ran into their deadlines while the database stalled (200 calls of
 * 200 ms at once) lost the calls still in flight, UNAVAILABLE (an outside probe, LOADCLIENTS F2).
 * A client that cancels calls already answered (hedging, gRFC A6: the losing attempt) is seen
 * by nghttp2 only: README "HTTP/2 abuse on the gRPC port".
 */
const RESET_BURST = 900;
const RESETS_PER_SECOND = 33;
/** How long the calls in flight of a session told to go for resetting may still take. */
const RESET_CLOSE_GRACE_MS = 2_000;
/**
 * A reset after this share of the call's own deadline (grpc-timeout) is taken for the client's
 * timeout: counted all the same (nghttp2 counts it), and the warning says how many there were.
 * Half, not all: the call's start is when the event loop saw it, which a busy loop delays.
 */
const AT_DEADLINE_SHARE = 0.5;

/** The "session" listener that sends away a session resetting streams past RESET_BURST. */
function limitResets(logger: Logger): (session: Http2Session) => void {
  const warn = warningOnceAMinute(logger);
  return (session) => {
    const reset = allowance(RESET_BURST, RESETS_PER_SECOND);
    let open = 0;
    let lastStreamId = 0;
    let resets = 0;
    let atDeadline = 0;
    let closing = false;
    const close = () => {
      if (!session.destroyed) session.destroy();
    };
    session.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      open += 1;
      lastStreamId = Math.max(lastStreamId, stream.id ?? 0);
      const opened = performance.now();
      const timeout = headers["grpc-timeout"];
      stream.once("close", () => {
        open -= 1;
        if (closing) {
          if (open === 0) close();
          return;
        }
        if (!stream.rstCode || session.destroyed) return;
        resets += 1;
        const timeoutMs = typeof timeout === "string" ? grpcTimeoutMs(timeout) : undefined;
        if (timeoutMs !== undefined && performance.now() - opened >= timeoutMs * AT_DEADLINE_SHARE)
          atDeadline += 1;
        if (reset()) return;
        closing = true;
        session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, lastStreamId);
        if (open === 0) close();
        else setTimeout(close, RESET_CLOSE_GRACE_MS).unref();
        const fields = {
          address: session.socket?.remoteAddress,
          resetBurst: RESET_BURST,
          resets,
          atDeadline,
        };
        warn(
          fields,
          "a gRPC connection reset streams faster than HTTP/2 lets it (an HTTP/2 rapid reset flood, or a client whose calls time out or are cancelled en masse: atDeadline counts those reset at their deadlines, e.g. while the database is slow): told to go, its calls in flight finish",
        );
      });
    });
  };
}

/**
 * `burst` events at once, refilled at `perSecond`: the function is false once they are spent.
 * Its `refund` gives one back (never past `burst`).
 */
function allowance(burst: number, perSecond: number): (() => boolean) & { refund(): void } {
  let tokens = burst;
  let at = performance.now();
  const take = () => {
    const now = performance.now();
    tokens = Math.min(burst, tokens + ((now - at) / 1000) * perSecond) - 1;
    at = now;
    return tokens >= 0;
  };
  return Object.assign(take, {
    refund: () => {
      tokens = Math.min(burst, tokens + 1);
    },
  });
}

/** A warning logged at most once a minute, so that a flood of offenders writes few lines. */
function warningOnceAMinute(logger: Logger): (fields: object, message: string) => void {
  let warnedAt = Number.NEGATIVE_INFINITY;
  return (fields, message) => {
    const now = performance.now();
    if (now - warnedAt < 60_000) return;
    warnedAt = now;
    logger.warn(fields, message);
  };
}

/**
 * PINGs one connection with no call open may send at once, and refilled per second. gRPC
 * servers allow a client one ping per 5 minutes without calls, and answer more a GOAWAY
 * ENHANCE_YOUR_CALM "too_many_pings" (gRPC doc/keepalive.md; grpc-go, grpc-core); grpc-js 1.14.7
 * has no such policy, and nghttp2 only bounds acknowledgements left unread, so a client with no
 * credential had 5,000 PINGs paced to their acknowledgements answered (an outside probe of stop
 * 52 of 2026-12-07, TRANSPORT F5). The bound here is far looser than gRPC's, so that no client's
 * keepalive meets it (grpc-go's shortest is 10 s); pings while a call is open are not counted
 * (a client's BDP pings follow the data it receives), and each call that ends gives one back:
 * grpc-go sends a BDP ping on the data of an answer, which reaches the server once the call has
 * closed, so a Go client making unary calls one after another sent about one "idle" ping per call
 * and was closed after ~100 calls ("the connection is draining"; found by `bench/profile` at one
 * client, stop 53). grpc-go's own server does the same: data it sends resets the ping strikes
 * (http2_server.go, resetPingStrikes). The debug data "too_many_pings" makes gRPC clients double
 * their keepalive time.
 */
const IDLE_PING_BURST = 100;
const IDLE_PINGS_PER_SECOND = 1;

/** The "session" listener that closes a session pinging past IDLE_PING_BURST with no call. */
function limitIdlePings(logger: Logger): (session: Http2Session) => void {
  const warn = warningOnceAMinute(logger);
  return (session) => {
    const ping = allowance(IDLE_PING_BURST, IDLE_PINGS_PER_SECOND);
    let open = 0;
    let lastStreamId = 0;
    session.on("stream", (stream: ServerHttp2Stream) => {
      open += 1;
      lastStreamId = Math.max(lastStreamId, stream.id ?? 0);
      stream.once("close", () => {
        open -= 1;
        ping.refund();
      });
    });
    session.on("ping", () => {
      if (open > 0 || session.destroyed || ping()) return;
      session.goaway(
        constants.NGHTTP2_ENHANCE_YOUR_CALM,
        lastStreamId,
        Buffer.from("too_many_pings"),
      );
      session.destroy();
      warn(
        { address: session.socket?.remoteAddress, pingBurst: IDLE_PING_BURST },
        "a gRPC connection with no call sent PINGs far faster than any keepalive (too_many_pings): closed",
      );
    });
  };
}

function peerKey(socket: { remoteAddress?: string; remotePort?: number }): string | undefined {
  return socket.remoteAddress === undefined || socket.remotePort === undefined
    ? undefined
    : `${socket.remoteAddress}|${socket.remotePort}`;
}

/**
 * A listening server's "error" events are its failed accepts (Node's net.Server, onconnection):
 * EMFILE once libuv's spare descriptor is gone too (uv__emfile_trick could not reopen it because
 * another thread took the descriptor it freed), ENFILE, ENOMEM. With no listener such an event is
 * an uncaught exception, and the process ends: grpc-js removes its own listener once bound, and
 * the HTTP ports' listen promise holds theirs only until the first error. The server keeps
 * accepting after a failed accept; so does certmint, with a warning at most once a minute. Errors
 * before the server listens (EADDRINUSE) are the start-up's, which its own listener reports.
 */
export function surviveAcceptErrors(server: NetServer, logger: Logger, port: string): void {
  let last = Number.NEGATIVE_INFINITY;
  server.on("error", (err: NodeJS.ErrnoException) => {
    if (!server.listening) return;
    const now = performance.now();
    if (now - last < 60_000) return;
    last = now;
    logger.warn(
      { port, cause: err.code ?? err.message, condition: outageCondition(err.code ?? "") },
      "could not accept a connection: the port goes on serving",
    );
  });
}

/**
 * The listener for a server's "drop" event (a connection closed by the cap): one warning a
 * minute at most, so that a flood of connections does not become a flood of log lines.
 */
export function capWarning(logger: Logger, port: string, maxConnections: number): () => void {
  // The monotonic clock: a wall clock stepped back would silence the warning that long.
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const now = performance.now();
    if (now - last < 60_000) return;
    last = now;
    logger.warn(
      { port, maxConnections },
      "connection limit reached: new connections are closed (CERTMINT_MAX_CONNECTIONS)",
    );
  };
}
