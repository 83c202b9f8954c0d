/**
 * A TCP proxy between the CLI and the server that loses one answer, as a network does: it
 * forwards both ways until the client has sent the message of its Nth gRPC call (the first
 * HTTP/2 DATA frame of the Nth stream), then throws away every byte the server sends back on
 * that connection. The server has the call and carries it out; the client hears nothing, and
 * gives up at its deadline, or when the test cuts the connection (cut()). Connections made
 * after that pass untouched, so a retry gets through. The count runs over every connection.
 */
import { createServer, connect as netConnect, type Socket } from "node:net";

export interface AnswerProxy {
  readonly address: string;
  /** Whether the call's message has been sent on (and its answer is being dropped). */
  sent(): boolean;
  /** Resets the connection whose answer is dropped: the client sees it dropped (UNAVAILABLE). */
  cut(): void;
  close(): Promise<void>;
}

const PREFACE_LENGTH = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 3.4)
const FRAME_HEADER_LENGTH = 9;
const DATA = 0;

/**
 * Calls `onData(streamId)` for each DATA frame with a payload the client sends, from the bytes
 * as they arrive (frames may span chunks).
 */
function clientFrames(onData: (streamId: number) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  let prefaceLeft = PREFACE_LENGTH;
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (prefaceLeft > 0) {
      const skip = Math.min(prefaceLeft, buffered.length);
      buffered = buffered.subarray(skip);
      prefaceLeft -= skip;
    }
    while (buffered.length >= FRAME_HEADER_LENGTH) {
      const length = buffered.readUIntBE(0, 3);
      if (buffered.length < FRAME_HEADER_LENGTH + length) return;
      const type = buffered[3];
      const streamId = buffered.readUInt32BE(5) & 0x7fffffff;
      if (type === DATA && length > 0 && streamId !== 0) onData(streamId);
      buffered = buffered.subarray(FRAME_HEADER_LENGTH + length);
    }
  };
}

/** A proxy to `target` ("host:port") that loses the answer to call number `callNumber` (1-based). */
export async function startAnswerProxy(target: string, callNumber: number): Promise<AnswerProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(":")), target.split(":").at(-1)];
  const streams = new Set<string>();
  let connections = 0;
  let victim: Socket | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const connection = ++connections;
    const upstream = netConnect(Number(port), host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.once("close", () => sockets.delete(s));
    }
    let dropping = false;
    const frames = clientFrames((streamId) => {
      const key = `${connection}/${streamId}`;
      if (victim !== undefined || streams.has(key)) return;
      streams.add(key);
      // Set before this chunk goes on, so nothing the server answers to it gets back.
      if (streams.size === callNumber) {
        dropping = true;
        victim = client;
      }
    });
    client.on("data", (chunk: Buffer) => {
      if (victim === undefined) frames(chunk);
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!dropping) client.write(chunk);
    });
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    sent: () => victim !== undefined,
    cut: () => victim?.resetAndDestroy(),
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
