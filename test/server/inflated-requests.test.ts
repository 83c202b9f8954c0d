/**
 * Compressed requests are inflated within the request-bytes budget (src/server/inflated-requests.ts
 * over src/server/request-bytes.ts): grpc-js's decompressMessage is replaced in the version
 * package.json pins, and a connection whose requests inflate past twice
 * CERTMINT_MAX_MESSAGE_BYTES gets RESOURCE_EXHAUSTED (REQUEST_BYTES_EXHAUSTED) for the message
 * that crossed it, while one inflated at a time is served. test/probe51/latency/compressed-requests.test.ts
 * measures the memory this bounds.
 */
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { installInflatedRequests } from "../../src/server/inflated-requests";
import {
  grpcFrame,
  lengthDelimited,
  liveWithGoodClient,
  MIB,
  rawGrpcCall,
  rawSession,
  rawStream,
} from "../probe51/latency/attack";
import { waitFor } from "../support/wait";

const CHECK = "/grpc.health.v1.Health/Check";
const WATCH = "/grpc.health.v1.Health/Watch";

describe("compressed requests within the request-bytes budget", () => {
  it("replaces grpc-js's inflation (the version pinned has the method)", () => {
    expect(installInflatedRequests()).toBe(true);
  });

  const state = liveWithGoodClient("inflated-good");

  it("a message inflating past what its connection may hold while two requests arrive is RESOURCE_EXHAUSTED, and one inflating alone is served", async () => {
    // Health.Check requests for "" (the server) with an unknown field: no credential needed.
    const inflating = (bytes: number) =>
      grpcFrame(gzipSync(lengthDelimited(99, Buffer.alloc(bytes, 0x61)), { level: 9 }), true);
    const session = rawSession(state.live.address);
    try {
      const alone = await rawGrpcCall(session, CHECK, inflating(4 * MIB - 200), {
        "grpc-encoding": "gzip",
      });
      expect(alone.grpcStatus, alone.grpcMessage).toBe(0);
      // Two requests of 3.5 MiB, uncompressed, all but their last byte sent: 7 MiB held by the
      // connection until they end (a state; each write's callback says its bytes left here, so
      // they reach the server before anything sent after them on this connection).
      const arriving = [0, 1].map(() => rawStream(session, CHECK));
      for (const stream of arriving) {
        const whole = grpcFrame(lengthDelimited(99, Buffer.alloc(3.5 * MIB, 0x62)));
        await new Promise<void>((resolve, reject) =>
          stream.write(whole.subarray(0, whole.length - 1), (err) =>
            err ? reject(err) : resolve(),
          ),
        );
      }
      // 2 KB on the wire, 2 MiB inflated: past the connection's 8 MiB (twice
      // CERTMINT_MAX_MESSAGE_BYTES) while it inflates.
      const third = await rawGrpcCall(session, CHECK, inflating(2 * MIB), {
        "grpc-encoding": "gzip",
      });
      expect(third.grpcStatus, third.grpcMessage).toBe(8);
      expect(third.grpcMessage).toContain("decompresses to more bytes than this connection");
      // The two end (reset by this client): what they held is let go, and a message inflating
      // to ~4 MiB alone is served again.
      for (const stream of arriving) stream.close();
      await waitFor("both arriving requests closed", () => arriving.every((s) => s.closed));
      await waitFor("a message inflating to ~4 MiB to be served again", async () => {
        const end = await rawGrpcCall(session, CHECK, inflating(4 * MIB - 200), {
          "grpc-encoding": "gzip",
        });
        return end.grpcStatus === 0;
      });
    } finally {
      session.destroy();
    }
  }, 120_000);

  it("inflated bytes are let go once the message is decoded: open watches with large requests do not keep the connection's budget", async () => {
    const session = rawSession(state.live.address);
    try {
      // Three Health.Watch streams, each request inflating to 3 MiB (unknown field, service ""):
      // 9 MiB in all, past the connection's 8 MiB had they stayed counted while open.
      const watches = [0, 1, 2].map(() => rawStream(session, WATCH, { "grpc-encoding": "gzip" }));
      for (const watch of watches) {
        await new Promise<void>((resolve, reject) => {
          watch.once("data", () => resolve());
          watch.once("close", () => reject(new Error(`watch closed: ${watch.rstCode}`)));
          watch.end(
            grpcFrame(
              gzipSync(lengthDelimited(99, Buffer.alloc(3 * MIB, 0x61)), { level: 9 }),
              true,
            ),
          );
        });
      }
      const next = await rawGrpcCall(
        session,
        CHECK,
        grpcFrame(gzipSync(lengthDelimited(99, Buffer.alloc(3 * MIB, 0x63)), { level: 9 }), true),
        { "grpc-encoding": "gzip" },
      );
      expect(next.grpcStatus, next.grpcMessage).toBe(0);
      for (const watch of watches) watch.close();
    } finally {
      session.destroy();
    }
  }, 120_000);
});
