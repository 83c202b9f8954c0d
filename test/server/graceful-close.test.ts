/**
 * src/server/graceful-close.ts on a bare node:http2 server, where the test chooses the instant of
 * the close: a call whose HEADERS frame nghttp2 has begun (its last processed stream) but whose
 * header block is still arriving is waited for, named by the GOAWAY and answered. Http2Session's
 * own close destroyed the session there (no JavaScript stream open yet) and the call was lost,
 * though the GOAWAY counted it as taken (the maximum-age failures of stop 53 of 2026-12-07).
 */
import { createServer, type Http2Server, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { closeWithoutLoss, type GoAway } from "../../src/server/graceful-close";
import {
  END_HEADERS,
  END_STREAM,
  frame,
  GOAWAY,
  grpcHeaders,
  HEADERS,
  SETTINGS,
  WireConnection,
} from "../probe52/transport/h2-wire";
import { waitFor } from "../support/wait";

const ACK = 1;

describe("closeWithoutLoss", () => {
  let server: Http2Server;
  let address: string;
  let session: Http2Session | undefined;
  let goAway: GoAway | undefined;

  beforeEach(async () => {
    server = createServer();
    server.on("session", (s) => {
      session = s;
      goAway = closeWithoutLoss(s);
    });
    server.on("stream", (stream) => {
      stream.respond({ ":status": 200 }, { endStream: true });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    session?.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  async function connected(): Promise<WireConnection> {
    const c = await WireConnection.open(address);
    await waitFor("the server's SETTINGS", () =>
      c.frames.some((f) => f.type === SETTINGS && !(f.flags & ACK)),
    );
    await c.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
    await waitFor("the session", () => session !== undefined);
    return c;
  }

  function goaways(c: WireConnection) {
    return c.frames
      .filter((f) => f.type === GOAWAY)
      .map((f) => ({
        lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff,
        debug: f.payload.subarray(8).toString(),
      }));
  }

  it("a call whose header block is still arriving at the close is waited for, named by the GOAWAY and answered", async () => {
    const c = await connected();
    try {
      const whole = frame(HEADERS, END_HEADERS | END_STREAM, 1, grpcHeaders("/x.Y/Z"));
      const split = 9 + 10;
      await c.write(whole.subarray(0, split));
      await waitFor("nghttp2 to take stream 1", () => session!.state.lastProcStreamID === 1);
      goAway!("max_age");
      // Nothing is sent nor closed until the call's headers are in.
      expect(session!.closed).toBe(false);
      await c.write(whole.subarray(split));
      await waitFor("the answer on stream 1", () =>
        c.on(1).some((f) => f.type === HEADERS && f.flags & END_STREAM),
      );
      await waitFor("the connection to end", () => c.closed);
      expect(goaways(c)).toContainEqual({ lastStreamId: 1, debug: "max_age" });
      expect(goaways(c).every((g) => g.lastStreamId === 1)).toBe(true);
    } finally {
      c.destroy();
    }
  });

  it("session.close (as grpc-js's shutdown calls it) waits the same way and calls its callback once closed", async () => {
    const c = await connected();
    try {
      const whole = frame(HEADERS, END_HEADERS | END_STREAM, 1, grpcHeaders("/x.Y/Z"));
      await c.write(whole.subarray(0, 12));
      await waitFor("nghttp2 to take stream 1", () => session!.state.lastProcStreamID === 1);
      let called = false;
      session!.close(() => {
        called = true;
      });
      await c.write(whole.subarray(12));
      await waitFor("the close callback", () => called);
      expect(c.on(1).some((f) => f.type === HEADERS && f.flags & END_STREAM)).toBe(true);
      expect(goaways(c).every((g) => g.lastStreamId === 1)).toBe(true);
    } finally {
      c.destroy();
    }
  });

  it("with no call taken, closes at once (GOAWAY last stream 0)", async () => {
    const c = await connected();
    try {
      goAway!("max_age");
      await waitFor("the connection to end", () => c.closed);
      expect(goaways(c)).toContainEqual({ lastStreamId: 0, debug: "max_age" });
    } finally {
      c.destroy();
    }
  });
});
