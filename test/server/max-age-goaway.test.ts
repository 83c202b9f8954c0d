/**
 * A connection at its maximum age is recycled (src/server/connection-limits.ts, limitAge): one
 * GOAWAY ("max_age") naming the last stream nghttp2 took, the calls up to it finish, and only
 * then the connection ends. Read on the wire (test/probe52/transport/h2-wire.ts), as a client
 * library sees it. Until stop 54 of 2026-12-07 grpc-js's own max age closed the session at once,
 * and a call whose headers were still arriving was counted as taken by the GOAWAY but dropped:
 * the client failed it UNAVAILABLE (a CI run failed on it: test/probe53/loadclients); that case
 * is test/server/graceful-close.test.ts.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DATA,
  END_HEADERS,
  END_STREAM,
  frame,
  GOAWAY,
  grpcHeaders,
  grpcMessage,
  HEADERS,
  PING,
  SETTINGS,
  WireConnection,
} from "../probe52/transport/h2-wire";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";

const ACK = 1;
const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
/** HealthCheckResponse{status: SERVING}, length-prefixed: what a health call answers. */
const SERVING = grpcMessage(Buffer.from([0x08, 0x01]));
const EMPTY_REQUEST = grpcMessage(Buffer.alloc(0));

interface Goaway {
  lastStreamId: number;
  errorCode: number;
  debug: string;
}

function goaways(c: WireConnection): Goaway[] {
  return c.frames
    .filter((f) => f.type === GOAWAY)
    .map((f) => ({
      lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff,
      errorCode: f.payload.readUInt32BE(4),
      debug: f.payload.subarray(8).toString(),
    }));
}

/**
 * Whether the server's end of the TCP connection from `clientPort` to `serverPort` has no byte
 * left unread by the server process (Linux /proc/net/tcp, its rx_queue), IPv4 loopback.
 */
function receiveQueueEmpty(serverPort: number, clientPort: number): boolean {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, "0");
  const line = readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1]?.endsWith(`:${hex(serverPort)}`) && f[2]?.endsWith(`:${hex(clientPort)}`));
  if (!line) throw new Error(`no TCP connection ${clientPort} -> ${serverPort}`);
  return Number.parseInt(line[4]!.split(":")[1]!, 16) === 0;
}

/** Opens a connection and acknowledges the server's SETTINGS, as every client does. */
async function openAcked(address: string): Promise<WireConnection> {
  const c = await WireConnection.open(address);
  await waitFor("the server's SETTINGS", () =>
    c.frames.some((f) => f.type === SETTINGS && !(f.flags & ACK)),
  );
  await c.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
  return c;
}

/** The call on `stream` was answered SERVING and ended (trailers), not reset. */
function answered(c: WireConnection, stream: number): boolean {
  const frames = c.on(stream);
  return (
    frames.some((f) => f.type === DATA && f.payload.equals(SERVING)) &&
    frames.some((f) => f.type === HEADERS && f.flags & END_STREAM)
  );
}

describe("maximum age 3 s (grace 10 min)", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_CONNECTION_MAX_AGE_MS: "3000",
      CERTMINT_CONNECTION_MAX_AGE_GRACE_MS: "600000",
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("one GOAWAY names the last call taken; that call finishes, a call sent after it is left for the client to retry, then the connection ends", async () => {
    const c = await openAcked(h.address);
    try {
      await c.write(
        Buffer.concat([
          frame(HEADERS, END_HEADERS, 1, grpcHeaders(HEALTH_CHECK)),
          frame(DATA, END_STREAM, 1, EMPTY_REQUEST),
          // Headers only: this call waits for its request message.
          frame(HEADERS, END_HEADERS, 3, grpcHeaders(HEALTH_CHECK)),
        ]),
      );
      await waitFor("the first call's answer", () => answered(c, 1));
      await waitFor("the GOAWAY at the maximum age", () => goaways(c).length > 0);
      expect(goaways(c)[0]).toEqual({ lastStreamId: 3, errorCode: 0, debug: "max_age" });
      // Sent before this client read the GOAWAY: above its last stream, so never taken.
      await c.write(
        Buffer.concat([
          frame(HEADERS, END_HEADERS, 5, grpcHeaders(HEALTH_CHECK)),
          frame(DATA, END_STREAM, 5, EMPTY_REQUEST),
        ]),
      );
      expect(c.closed).toBe(false);
      await c.write(frame(DATA, END_STREAM, 3, EMPTY_REQUEST));
      await waitFor("the call in flight to be answered", () => answered(c, 3));
      await waitFor("the server to end the connection", () => c.closed);
      expect(c.on(5)).toEqual([]);
      expect(goaways(c).every((g) => g.lastStreamId === 3 && g.errorCode === 0)).toBe(true);
    } finally {
      c.destroy();
    }
  });

  it("a connection with no call gets the GOAWAY (last stream 0) and is ended", async () => {
    const c = await openAcked(h.address);
    try {
      await waitFor("the server to end the connection", () => c.closed);
      expect(goaways(c)).toContainEqual({ lastStreamId: 0, errorCode: 0, debug: "max_age" });
    } finally {
      c.destroy();
    }
  });
});

describe("a graceful stop while a call's headers are still arriving", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_SHUTDOWN_DRAIN_DELAY_MS: "1" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("the call is either named by the GOAWAY and answered, or above it (the client sends it again): never counted and dropped", async () => {
    const c = await openAcked(h.address);
    try {
      await c.write(
        Buffer.concat([
          frame(HEADERS, END_HEADERS, 1, grpcHeaders(HEALTH_CHECK)),
          frame(DATA, END_STREAM, 1, EMPTY_REQUEST),
        ]),
      );
      await waitFor("the first call's answer", () => answered(c, 1));
      const whole = frame(HEADERS, END_HEADERS, 3, grpcHeaders(HEALTH_CHECK));
      const split = 9 + 10;
      await c.write(whole.subarray(0, split));
      // The server (this process) read them: nghttp2 took stream 3 before the stop begins.
      await waitFor("the server to read the half-sent headers", () =>
        receiveQueueEmpty(h.running.port, c.socket.localPort!),
      );
      const stopping = h.running.shutdown();
      // Logged in the same turn as grpc-js's tryShutdown closes the sessions (app.ts).
      await waitFor("the stop to close the connections", () =>
        h.logs.some((l) => String(l.msg).startsWith("drain delay over")),
      );
      await c.write(
        Buffer.concat([whole.subarray(split), frame(DATA, END_STREAM, 3, EMPTY_REQUEST)]),
      );
      await waitFor("the server to end the connection", () => c.closed);
      await stopping;
      const named = goaways(c).some((g) => g.lastStreamId >= 3);
      const ended = c.on(3).some((f) => f.type === HEADERS && f.flags & END_STREAM);
      expect({ named, ended }).toEqual({ named, ended: named });
      // Read before the stop began: taken, named, and answered (NOT_SERVING).
      expect(named).toBe(true);
    } finally {
      c.destroy();
    }
  });
});

describe("keepalive every 100 ms while a connection at its maximum age finishes a call", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_CONNECTION_MAX_AGE_MS: "3000",
      CERTMINT_CONNECTION_MAX_AGE_GRACE_MS: "600000",
      CERTMINT_KEEPALIVE_TIME_MS: "100",
      CERTMINT_KEEPALIVE_TIMEOUT_MS: "1000",
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** Answers every PING of the server on `c` (a live peer), counting them. */
  function answerPings(c: WireConnection): () => number {
    let answered = 0;
    const timer = setInterval(() => {
      const pings = c.frames.filter((f) => f.type === PING && !(f.flags & ACK));
      for (const p of pings.slice(answered)) void c.write(frame(PING, ACK, 0, p.payload));
      answered = pings.length;
    }, 10);
    c.socket.once("close", () => clearInterval(timer));
    return () => answered;
  }

  it("the closing connection is not dropped at the next keepalive tick: its call is answered", async () => {
    const c = await openAcked(h.address);
    try {
      answerPings(c);
      await c.write(frame(HEADERS, END_HEADERS, 1, grpcHeaders(HEALTH_CHECK)));
      await waitFor("the GOAWAY at the maximum age", () => goaways(c).length > 0);
      // The clock: five keepalive periods seen on a fresh connection.
      const clock = await openAcked(h.address);
      try {
        const pings = answerPings(clock);
        await waitFor("five keepalive PINGs on another connection", () => pings() >= 5);
      } finally {
        clock.destroy();
      }
      expect(c.closed).toBe(false);
      await c.write(frame(DATA, END_STREAM, 1, EMPTY_REQUEST));
      await waitFor("the call to be answered", () => answered(c, 1));
      await waitFor("the server to end the connection", () => c.closed);
    } finally {
      c.destroy();
    }
  });

  it("a connection that answers no PING is closed after the keepalive timeout", async () => {
    const c = await openAcked(h.address);
    try {
      await waitFor("a keepalive PING", () =>
        c.frames.some((f) => f.type === PING && !(f.flags & ACK)),
      );
      await waitFor("the silent connection to be closed", () => c.closed);
      expect(goaways(c).filter((g) => g.debug === "max_age")).toEqual([]);
    } finally {
      c.destroy();
    }
  });
});

describe("idle timeout 500 ms, handshake timeout 1 s: a peer that stalls inside a header block", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_CONNECTION_IDLE_TIMEOUT_MS: "500",
      CERTMINT_HANDSHAKE_TIMEOUT_MS: "1000",
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("is closed once idle and the handshake timeout for its headers ran out, not held until the maximum age", async () => {
    const c = await openAcked(h.address);
    try {
      const whole = frame(HEADERS, END_HEADERS, 1, grpcHeaders(HEALTH_CHECK));
      await c.write(whole.subarray(0, 9 + 10));
      await waitFor("the server to read the half-sent headers", () =>
        receiveQueueEmpty(h.running.port, c.socket.localPort!),
      );
      // The rest of the header block never comes. Until stop 55 of 2026-12-07 the idle close
      // waited for it until the maximum age's grace (30 min and more).
      await waitFor("the server to end the connection", () => c.closed);
      expect(goaways(c).length).toBeGreaterThan(0);
      expect(c.on(1).some((f) => f.type === HEADERS)).toBe(false);
    } finally {
      c.destroy();
    }
  });
});
