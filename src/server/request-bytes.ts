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
 *
 * A compressed message counts twice: its bytes as they arrive, and its bytes as grpc-js inflates
 * them (inflated-requests.ts), counted from the first inflated chunk until the message was
 * handed on (decoded: the inflated buffer is garbage then). Past a limit the inflation stops and
 * the call is RESOURCE_EXHAUSTED
 * (REQUEST_BYTES_EXHAUSTED). Until stop 51 of 2026-12-07 only the wire bytes counted: 64 gzip
 * bombs of 4 KB, each inflating to just under 4 MiB, sent with no credential on one connection,
 * raised the server's RSS by ~350 MiB, and 400 took it to 2 GB (an outside probe, LATENCY F1).
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

/**
 * What counts a stream's inflated request bytes (PendingRequestBytes.watch): `take` adds bytes
 * as they come out of zlib, true while they stay within the budgets; `giveBack` lets them go once
 * the message was handed on (its inflated buffer is garbage then), and the stream's close lets go
 * of the rest. Streams of a server without the watch have none.
 */
export interface InflationBudget {
  take(bytes: number): boolean;
  giveBack(bytes: number): void;
}

const inflationBudgets = new WeakMap<ServerHttp2Stream, InflationBudget>();

/** The inflation budget of a stream (inflated-requests.ts), if its server counts request bytes. */
export function inflationBudgetOf(
  stream: ServerHttp2Stream | undefined,
): InflationBudget | undefined {
  return stream ? inflationBudgets.get(stream) : undefined;
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
      let inflated = 0;
      const release = () => {
        if (done) return;
        done = true;
        held -= mine;
        this.bytes -= mine;
        mine = 0;
      };
      /** Whether the bytes just added leave this stream within its connection's and the process's budgets. */
      const within = (streamBytes: number): boolean =>
        held <= this.limits.perConnection &&
        !(
          this.bytes > this.limits.total &&
          (streamBytes > SMALL_REQUEST_BYTES || held > streamBytes)
        );
      stream.on("data", (chunk: Buffer) => {
        if (done) return;
        mine += chunk.length;
        held += chunk.length;
        this.bytes += chunk.length;
        if (within(mine + inflated)) return;
        const overConnection = held > this.limits.perConnection;
        release();
        stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
        this.warn(overConnection ? "connection" : "server", session);
      });
      const giveBack = (bytes: number) => {
        const n = Math.min(bytes, inflated);
        inflated -= n;
        held -= n;
        this.bytes -= n;
      };
      stream.once("end", release);
      stream.once("close", () => {
        release();
        giveBack(inflated);
        inflationBudgets.delete(stream);
      });
      inflationBudgets.set(stream, {
        take: (bytes) => {
          if (stream.closed) return false;
          inflated += bytes;
          held += bytes;
          this.bytes += bytes;
          if (within(mine + inflated)) return true;
          this.warn(held > this.limits.perConnection ? "connection" : "server", session);
          return false;
        },
        giveBack,
      });
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
