/**
 * Only gRPC's content types are served as gRPC; gRPC-Web and anything else that merely starts
 * with "application/grpc" is HTTP 415 (src/server/content-types.ts). Until stop 52 of
 * 2026-12-07 grpc-js answered them as gRPC (an outside probe, TRANSPORT F4).
 */
import { connect } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGrpcContentType } from "../../src/server/content-types";
import { startTestCertmint, type TestCertmint } from "../support/harness";

/** An empty HealthCheckRequest in a gRPC frame: SERVING when served as gRPC. */
const EMPTY_MESSAGE = Buffer.alloc(5);

describe("content types", () => {
  it("gRPC's are application/grpc, alone or followed by + or ;", () => {
    for (const ok of [
      "application/grpc",
      "application/grpc+proto",
      "application/grpc+json",
      "application/grpc;charset=utf-8",
    ]) {
      expect(isGrpcContentType(ok), ok).toBe(true);
    }
    for (const no of [
      "application/grpc-web",
      "application/grpc-web+proto",
      "application/grpc-web-text",
      "application/grpcx",
      "application/json",
      "text/plain",
      " application/grpc",
      "",
      undefined,
    ]) {
      expect(isGrpcContentType(no), String(no)).toBe(false);
    }
  });

  describe("on a server", () => {
    let h: TestCertmint;
    beforeAll(async () => {
      h = await startTestCertmint();
    });
    afterAll(async () => {
      await h?.stop();
    });

    /** The HTTP status and grpc-status of a Health Check sent with `contentType`. */
    const check = (contentType: string) =>
      new Promise<{ http?: number; grpc?: number }>((resolve, reject) => {
        const session = connect(`http://${h.address}`);
        session.on("error", reject);
        const req = session.request({
          ":method": "POST",
          ":path": "/grpc.health.v1.Health/Check",
          "content-type": contentType,
          te: "trailers",
        });
        const answer: { http?: number; grpc?: number } = {};
        req.on("response", (head) => {
          answer.http = Number(head[":status"]);
          if (head["grpc-status"] !== undefined) answer.grpc = Number(head["grpc-status"]);
        });
        req.on("trailers", (t) => {
          answer.grpc = Number(t["grpc-status"]);
        });
        req.on("error", reject);
        req.on("close", () => {
          session.close();
          resolve(answer);
        });
        req.resume();
        req.end(EMPTY_MESSAGE);
      });

    it.each(["application/grpc-web", "application/grpc-web+proto", "application/grpcx"])(
      "%s is HTTP 415",
      async (contentType) => {
        expect(await check(contentType)).toEqual({ http: 415 });
      },
    );

    it.each(["application/grpc", "application/grpc+proto", "application/grpc;charset=utf-8"])(
      "%s is served",
      async (contentType) => {
        expect(await check(contentType)).toEqual({ http: 200, grpc: 0 });
      },
    );
  });
});
