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

  it("two open watches holding 3 MiB inflated each: a third message inflating to ~4 MiB crosses the connection's 8 MiB and is RESOURCE_EXHAUSTED, and served once they end", async () => {
    // Health requests for "" (the server) with an unknown field of 4 MiB less a little: under
    // the message limit once inflated, ~4 KB on the wire, no credential needed. A Watch holds
    // its request (and so its inflated bytes) until it ends: a state, not a race.
    const bomb = grpcFrame(
      gzipSync(lengthDelimited(99, Buffer.alloc(4 * MIB - 200, 0x61)), { level: 9 }),
      true,
    );
    const held = grpcFrame(
      gzipSync(lengthDelimited(99, Buffer.alloc(3 * MIB, 0x61)), { level: 9 }),
      true,
    );
    const session = rawSession(state.live.address);
    try {
      const alone = await rawGrpcCall(session, CHECK, bomb, { "grpc-encoding": "gzip" });
      expect(alone.grpcStatus, alone.grpcMessage).toBe(0);
      const watches = [0, 1].map(() => rawStream(session, WATCH, { "grpc-encoding": "gzip" }));
      await Promise.all(
        watches.map(
          (watch) =>
            new Promise<void>((resolve, reject) => {
              watch.once("data", () => resolve());
              watch.once("close", () => reject(new Error(`watch closed: ${watch.rstCode}`)));
              watch.end(held);
            }),
        ),
      );
      const third = await rawGrpcCall(session, CHECK, bomb, { "grpc-encoding": "gzip" });
      expect(third.grpcStatus, third.grpcMessage).toBe(8);
      expect(third.grpcMessage).toContain("decompresses to more bytes than this connection");
      // What the watches held is let go with their streams: served again.
      for (const watch of watches) watch.close();
      await waitFor("both watches closed", () => watches.every((watch) => watch.closed));
      await waitFor("a message inflating to ~4 MiB to be served again", async () => {
        const end = await rawGrpcCall(session, CHECK, bomb, { "grpc-encoding": "gzip" });
        return end.grpcStatus === 0;
      });
    } finally {
      session.destroy();
    }
  }, 120_000);
});
