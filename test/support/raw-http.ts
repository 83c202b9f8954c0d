/**
 * A raw HTTP/1.1 connection for the flood tests of the HTTP listeners (publication, ACME), where
 * node:http's client would hide what is under test: `send` writes any number of GETs in one
 * write (pipelined), `write` raw bytes (a request's head and part of its body), and `answers`
 * collects the answers in order as they arrive (bodies by content-length; no HEAD requests).
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

/** One answer read off a raw connection. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export class RawHttpConnection {
  readonly answers: RawAnswer[] = [];
  closed = false;
  private buffer = Buffer.alloc(0);

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.closed = true;
    });
  }

  /**
   * A connection from `localAddress` (any of 127.0.0.0/8 is loopback on Linux), over TLS
   * trusting `ca` when it is given.
   */
  static open(
    port: number,
    options: { localAddress?: string; ca?: Buffer } = {},
  ): Promise<RawHttpConnection> {
    const { localAddress = "127.0.0.1", ca } = options;
    return new Promise((resolve, reject) => {
      if (ca === undefined) {
        const socket = netConnect({ port, host: "127.0.0.1", localAddress }, () =>
          resolve(new RawHttpConnection(socket)),
        );
        socket.once("error", reject);
        return;
      }
      const tcp = netConnect({ host: "127.0.0.1", port, localAddress });
      const socket = tlsConnect({ host: "127.0.0.1", socket: tcp, ca }, () =>
        resolve(new RawHttpConnection(socket)),
      );
      socket.once("error", reject);
    });
  }

  /** GETs of `paths`, pipelined in one write. */
  send(paths: string[]): void {
    this.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`).join(""));
  }

  write(data: string): void {
    this.socket.write(data);
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(): void {
    for (;;) {
      const end = this.buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const lines = this.buffer.subarray(0, end).toString("latin1").split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers["content-length"] ?? 0);
      if (this.buffer.length < end + 4 + length) return;
      this.answers.push({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0]!)?.[1]),
        headers,
        body: this.buffer.subarray(end + 4, end + 4 + length),
      });
      this.buffer = this.buffer.subarray(end + 4 + length);
    }
  }
}
