/**
 * Probe 52 (TRANSPORT): raw HTTP/2 frames over a TCP socket, for what node:http2 and grpc-js
 * would never send (RFC 9113 frame layout: 3-byte length, type, flags, 4-byte stream id).
 * The reader records every frame the server sends, so a test waits for a state (a GOAWAY, a
 * closed socket, a stream's trailers), never for a duration.
 */
import { connect, type Socket } from "node:net";

export const DATA = 0;
export const HEADERS = 1;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PING = 6;
export const GOAWAY = 7;
export const WINDOW_UPDATE = 8;
export const CONTINUATION = 9;

export const END_STREAM = 1;
export const END_HEADERS = 4;

export const ENHANCE_YOUR_CALM = 0xb;

export function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an `prefix`-bit prefix (RFC 7541 5.1) under the first byte's `mask`. */
function hpackInt(value: number, prefix: number, mask: number): Buffer {
  const max = (1 << prefix) - 1;
  if (value < max) return Buffer.from([mask | value]);
  const out = [mask | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) | 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** HPACK literals without indexing and without Huffman (RFC 7541 6.2.2), any length. */
export function headerBlock(headers: Array<[string, string]>): Buffer {
  return Buffer.concat(
    headers.flatMap(([n, v]) => [
      Buffer.from([0]),
      hpackInt(Buffer.byteLength(n), 7, 0),
      Buffer.from(n),
      hpackInt(Buffer.byteLength(v), 7, 0),
      Buffer.from(v),
    ]),
  );
}

/** The request headers of a gRPC call to `path` (PROTOCOL-HTTP2.md), plus `extra`. */
export function grpcHeaders(
  path: string,
  extra: Array<[string, string]> = [],
  contentType = "application/grpc",
): Buffer {
  return headerBlock([
    [":method", "POST"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "certmint"],
    ["content-type", contentType],
    ["te", "trailers"],
    ...extra,
  ]);
}

/** A gRPC length-prefixed message: flag byte, 4-byte declared length, bytes. */
export function grpcMessage(bytes: Buffer, o: { compressed?: boolean; length?: number } = {}) {
  const head = Buffer.alloc(5);
  head[0] = o.compressed ? 1 : 0;
  head.writeUInt32BE(o.length ?? bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** A raw HTTP/2 connection: frames out as given, frames in recorded. */
export class WireConnection {
  readonly frames: Frame[] = [];
  closed = false;
  bytesIn = 0;
  private pending = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.bytesIn += d.length;
      this.pending = Buffer.concat([this.pending, d]);
      while (this.pending.length >= 9) {
        const length = this.pending.readUIntBE(0, 3);
        if (this.pending.length < 9 + length) break;
        this.frames.push({
          type: this.pending[3]!,
          flags: this.pending[4]!,
          stream: this.pending.readUInt32BE(5) & 0x7fffffff,
          payload: Buffer.from(this.pending.subarray(9, 9 + length)),
        });
        this.pending = this.pending.subarray(9 + length);
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.closed = true;
    });
  }

  /** Connects to `address` ("host:port") and sends the preface and an empty SETTINGS. */
  static async open(address: string, preface = true): Promise<WireConnection> {
    const i = address.lastIndexOf(":");
    const socket = connect(Number(address.slice(i + 1)), address.slice(0, i));
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    const c = new WireConnection(socket);
    if (preface) {
      c.write(
        Buffer.concat([
          Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
          frame(SETTINGS, 0, 0, Buffer.alloc(0)),
        ]),
      );
    }
    return c;
  }

  /** Writes `bytes`, waiting for the socket to drain when its buffer is full (false: closed). */
  async write(bytes: Buffer): Promise<boolean> {
    if (this.closed || this.socket.destroyed) return false;
    if (this.socket.write(bytes)) return true;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
    return !this.closed;
  }

  /** The GOAWAY the server sent, with its error code, if any. */
  goaway(): { errorCode: number } | undefined {
    const g = this.frames.find((f) => f.type === GOAWAY);
    return g ? { errorCode: g.payload.readUInt32BE(4) } : undefined;
  }

  /** Every frame the server sent on `stream`. */
  on(stream: number): Frame[] {
    return this.frames.filter((f) => f.stream === stream);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
