/**
 * A connection its client has closed frees its place at once (an outside probe of stop 58,
 * 2026-12-07). When nghttp2 ends a session for a connection error (a header value over ~100 KB:
 * COMPRESSION_ERROR), Node stops reading the socket and never reads the client's FIN: the
 * connection stayed in CLOSE-WAIT, counted under CERTMINT_MAX_CONNECTIONS_PER_ADDRESS, until the
 * keepalive's PING timed out (80 s by default), so a few hundred such connections a second, with
 * no credentials, kept every new client out. The server now reads again a silent connection
 * with nothing open (connection-limits.ts readsResumed), sees the end and closes it.
 *
 * The check waits for a state (a fresh connection from the same address served) with a bound
 * far below the keepalive's 80 s, never for a duration.
 */
import { connect as h2connect } from "node:http2";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";

const ADDRESS = "127.0.0.58";
const SHARE = 4;

/** One Health/Check over its own connection from `localAddress`: grpc-status, or the error. */
function healthFrom(port: number, extraHeaders: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve) => {
    const session = h2connect(`http://127.0.0.1:${port}`, {
      maxSendHeaderBlockLength: 1 << 24,
      createConnection: () => connect({ host: "127.0.0.1", port, localAddress: ADDRESS }),
    });
    const done = (outcome: string) => {
      session.destroy();
      resolve(outcome);
    };
    session.on("error", (err) => done(`session error ${(err as NodeJS.ErrnoException).code}`));
    session.on("close", () => done("closed"));
    const req = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      te: "trailers",
      ...extraHeaders,
    });
    req.on("error", (err) => done(`stream error ${(err as NodeJS.ErrnoException).code}`));
    req.on("trailers", (trailers) => done(`grpc-status ${trailers["grpc-status"]}`));
    req.on("response", (headers) => {
      // A trailers-only answer carries grpc-status in its headers.
      if (headers["grpc-status"] !== undefined) done(`grpc-status ${headers["grpc-status"]}`);
    });
    req.resume();
    // An empty HealthCheckRequest: a 5-byte gRPC frame of an empty message.
    req.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

describe("connections a client closed after a connection error", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_MAX_CONNECTIONS_PER_ADDRESS: String(SHARE),
      CERTMINT_MAX_CONNECTIONS: "64",
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("free their places at once: the address is served again", async () => {
    expect(await healthFrom(h.running.port)).toBe("grpc-status 0");
    // Twice the address's share, each ended by the server for a 110 KB header value, then
    // closed by the client.
    const outcomes = [];
    for (let i = 0; i < 2 * SHARE; i++) {
      outcomes.push(await healthFrom(h.running.port, { "x-big": "a".repeat(110_000) }));
    }
    expect(outcomes.filter((o) => o === "grpc-status 0")).toEqual([]);
    // Served again from that address, long before the keepalive (60 + 20 s) would have
    // closed the connections.
    const deadline = Date.now() + 20_000;
    let last = "";
    while (Date.now() < deadline) {
      last = await healthFrom(h.running.port);
      if (last === "grpc-status 0") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(last).toBe("grpc-status 0");
  });
});
