/**
 * Request bytes the gRPC port holds for calls whose request has not arrived whole. grpc-js reads
 * a call's request as it arrives, keeping every DATA frame until the message is complete (up to
 * CERTMINT_MAX_MESSAGE_BYTES, 4 MiB), and only then runs the handler, which authenticates the
 * caller. HTTP/2 flow control does not hold such a client back: grpc-js takes each frame, so the
 * window reopens. Without a bound, a client with no credential opened 250 streams
 * (CERTMINT_MAX_CONCURRENT_STREAMS) on one connection, declared 4 MiB messages and sent all but
 * their last byte: the server held 1 GiB per connection, 2.3 GB of RSS for two connections, for
 * as long as the connections lived (test/server/request-bytes.test.ts).
 *
 * Bytes of a stream count from its first DATA frame until its request ends (END_STREAM) or the
 * stream closes. A stream whose next frame takes its connection past `perConnection`, or the
 * process past `total` while the stream is large (over SMALL_REQUEST_BYTES) or its connection has
 * other requests arriving, is reset with ENHANCE_YOUR_CALM (gRPC clients see RESOURCE_EXHAUSTED);
 * its handler never runs. So past the process's budget a connection sending one small request at
 * a time is still served, and the most the process holds is `total`, plus one small request per
 * connection, plus one frame.
 */
import { constants, type Http2Session, type ServerHttp2Stream } from "node:http2";
import type { Logger } from "pino";

/** A request this small is never refused for the process's budget alone (a CSR is at most 64 KiB). */
export const SMALL_REQUEST_BYTES = 64 * 1024;

export interface RequestByteLimits {
  /** Bytes the unfinished requests of one connection may hold. */
  readonly perConnection: number;
  /** Bytes the unfinished requests of every connection may hold together. */
  readonly total: number;
}

/**
 * The limits for CERTMINT_MAX_MESSAGE_BYTES: a connection may be sending two requests of the
 * largest size at once; the process 64 MiB, or four such requests when they are larger.
 */
export function requestByteLimits(maxMessageBytes: number): RequestByteLimits {
  return {
    perConnection: 2 * maxMessageBytes,
    total: Math.max(64 * 1024 * 1024, 4 * maxMessageBytes),
  };
}

/** The bytes held by unfinished requests, process-wide, and the session listener that counts them. */
export class PendingRequestBytes {
  /** Bytes of unfinished requests held now, every connection together. */
  bytes = 0;
  private warnedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly limits: RequestByteLimits,
    private readonly logger: Logger,
  ) {}

  /**
   * A "session" listener of an http2 server. Its "stream" listener runs after grpc-js's (Node
   * registers the server's before it emits "session"), which has paused the stream: the "data"
   * listener added here then does not start the stream flowing; it sees each frame as grpc-js
   * reads it.
   */
  readonly watch = (session: Http2Session): void => {
    let held = 0;
    session.on("stream", (stream: ServerHttp2Stream) => {
      let mine = 0;
      let done = false;
      const release = () => {
        if (done) return;
        done = true;
        held -= mine;
        this.bytes -= mine;
        mine = 0;
      };
      stream.on("data", (chunk: Buffer) => {
        if (done) return;
        mine += chunk.length;
        held += chunk.length;
        this.bytes += chunk.length;
        const overConnection = held > this.limits.perConnection;
        const overTotal =
          this.bytes > this.limits.total && (mine > SMALL_REQUEST_BYTES || held > mine);
        if (!overConnection && !overTotal) return;
        release();
        stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
        this.warn(overConnection ? "connection" : "server", session);
      });
      stream.once("end", release);
      stream.once("close", release);
    });
  };

  /** At most one warning a minute: a flood of such streams is not a flood of log lines. */
  private warn(limit: "connection" | "server", session: Http2Session): void {
    const now = performance.now();
    if (now - this.warnedAt < 60_000) return;
    this.warnedAt = now;
    this.logger.warn(
      {
        limit,
        address: session.socket?.remoteAddress,
        perConnection: this.limits.perConnection,
        total: this.limits.total,
      },
      "requests arriving on the gRPC port hold too many bytes: streams reset (RESOURCE_EXHAUSTED)",
    );
  }
}
