/**
 * Probe 52 (TRANSPORT): the gRPC-over-HTTP/2 framing a request may get wrong (gRPC
 * PROTOCOL-HTTP2.md), sent with node:http2 so that no gRPC library tidies it up, to the
 * compiled server. certmint's own rule (src/server/transport-statuses.ts): a malformed call is
 * the client's doing, INVALID_ARGUMENT with an ErrorInfo; a content type it does not speak is
 * HTTP 415 (PROTOCOL-HTTP2.md, "Content-Type").
 */
import { connect as h2connect } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfo } from "../../../gen/ts/google/rpc/error_details";
import { Status } from "../../../gen/ts/google/rpc/status";
import { type LiveCertmint, startLive } from "../../probe49/api/live";
import { checkHealth } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { grpcMessage, WireConnection } from "./h2-wire";

const CHECK = "/grpc.health.v1.Health/Check";
/** A grpc.health.v1.HealthCheckRequest for service "x" (field 1, "x"): NOT_FOUND when decoded. */
const SERVICE_X = Buffer.from([0x0a, 0x01, 0x78]);

interface Answer {
  httpStatus?: number;
  contentType?: string;
  grpcStatus?: number;
  reason?: string;
  rstCode?: number;
}

describe("probe52 transport: gRPC framing on the wire", () => {
  let live: LiveCertmint;

  beforeAll(async () => {
    live = await startLive();
  }, 240_000);
  afterAll(() => live?.stop());

  /** One call over its own HTTP/2 connection: `body` sent as is, then the stream ended. */
  function send(headers: Record<string, string>, body: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const session = h2connect(`http://${live.address}`);
      session.on("error", reject);
      const stream = session.request({
        ":method": "POST",
        ":path": CHECK,
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      });
      const answer: Answer = {};
      const read = (h: Record<string, unknown>) => {
        if (h[":status"] !== undefined) answer.httpStatus = Number(h[":status"]);
        if (h["content-type"] !== undefined) answer.contentType = String(h["content-type"]);
        if (h["grpc-status"] !== undefined) answer.grpcStatus = Number(h["grpc-status"]);
        const details = h["grpc-status-details-bin"];
        if (details !== undefined) {
          const info = Status.decode(Buffer.from(String(details), "base64")).details.find((d) =>
            d.typeUrl.endsWith("ErrorInfo"),
          );
          if (info) answer.reason = ErrorInfo.decode(info.value).reason;
        }
      };
      stream.on("response", read);
      stream.on("trailers", read);
      stream.on("data", () => undefined);
      stream.on("error", () => undefined);
      stream.on("close", () => {
        answer.rstCode = stream.rstCode;
        session.close();
        resolve(answer);
      });
      stream.end(body);
    });
  }

  it("the control: a well-formed Check of an unknown service is NOT_FOUND", async () => {
    expect(await send({}, grpcMessage(SERVICE_X))).toMatchObject({
      httpStatus: 200,
      grpcStatus: 5,
    });
  });

  it.each(["text/plain", "application/json"])(
    "content-type %s is HTTP 415",
    async (contentType) => {
      expect((await send({ "content-type": contentType }, grpcMessage(SERVICE_X))).httpStatus).toBe(
        415,
      );
    },
  );

  it.each(["application/grpc-web+proto", "application/grpc-web-text", "application/grpcx"])(
    "%s (gRPC-Web, or not gRPC at all), which certmint does not speak, is HTTP 415, not answered as gRPC",
    async (contentType) => {
      // A gRPC-Web client reads trailers from the body and a grpc-web content type; answered as
      // gRPC it gets neither. PROTOCOL-HTTP2.md: a server "SHOULD" answer an unsupported
      // content type with HTTP 415.
      const answer = await send({ "content-type": contentType }, grpcMessage(SERVICE_X));
      expect(answer.httpStatus).toBe(415);
    },
  );

  it("a declared message length past the bytes sent, then the end of the stream: INVALID_ARGUMENT REQUEST_MALFORMED", async () => {
    expect(await send({}, grpcMessage(SERVICE_X, { length: 100 }))).toMatchObject({
      grpcStatus: 3,
      reason: "REQUEST_MALFORMED",
    });
  });

  it("a declared length of 4 GiB with 3 bytes sent: RESOURCE_EXHAUSTED REQUEST_TOO_LARGE, nothing buffered", async () => {
    expect(await send({}, grpcMessage(SERVICE_X, { length: 0xffffffff }))).toMatchObject({
      grpcStatus: 8,
      reason: "REQUEST_TOO_LARGE",
    });
  });

  it.each([
    ["without grpc-encoding", {}],
    ["with grpc-encoding identity", { "grpc-encoding": "identity" }],
  ])(
    "the compressed flag set %s: refused INVALID_ARGUMENT REQUEST_MALFORMED, not read as uncompressed",
    async (_l, headers) => {
      // PROTOCOL-HTTP2.md: "If the Message-Encoding header is omitted then the Compressed-Flag
      // must be 0"; grpc-go refuses it ("compressed flag set with identity or empty encoding").
      const answer = await send(headers, grpcMessage(SERVICE_X, { compressed: true }));
      expect(answer).toMatchObject({ grpcStatus: 3, reason: "REQUEST_MALFORMED" });
    },
  );

  it("a flag byte that is neither 0 nor 1: refused INVALID_ARGUMENT REQUEST_MALFORMED", async () => {
    const message = grpcMessage(SERVICE_X);
    message[0] = 2;
    expect(await send({}, message)).toMatchObject({ grpcStatus: 3, reason: "REQUEST_MALFORMED" });
  });

  it.each(["-1S", "123456789S", "1S1", "1 S"])(
    "grpc-timeout %j, not a TimeoutValue of 1 to 8 digits and a unit: INVALID_ARGUMENT GRPC_TIMEOUT_INVALID",
    async (timeout) => {
      expect(await send({ "grpc-timeout": timeout }, grpcMessage(SERVICE_X))).toMatchObject({
        grpcStatus: 3,
        reason: "GRPC_TIMEOUT_INVALID",
      });
    },
  );

  it.each([100, 1_000, 4_000])(
    "%i small metadata entries (under the header-list size): answered, or the stream refused; the server carries on",
    async (count) => {
      const headers: Record<string, string> = {};
      for (let i = 0; i < count; i++) headers[`x-m${i}`] = "v";
      const answer = await send(headers, grpcMessage(SERVICE_X));
      // Answered NOT_FOUND, or no gRPC status: the stream reset (REFUSED_STREAM, 7; ENHANCE_YOUR_CALM, 11).
      if (answer.grpcStatus !== undefined) expect(answer.grpcStatus).toBe(5);
      else expect([7, 11]).toContain(answer.rstCode);
      expect(await checkHealth(live.address)).toBe("SERVING");
    },
  );

  it("an HTTP/1.1 request on the gRPC port is closed with a GOAWAY; the port goes on serving", async () => {
    const c = await WireConnection.open(live.address, false);
    await c.write(
      Buffer.from(
        `POST ${CHECK} HTTP/1.1\r\nHost: certmint\r\nContent-Type: application/grpc\r\nContent-Length: 8\r\n\r\n`,
      ),
    );
    await c.write(grpcMessage(SERVICE_X));
    await waitFor("the HTTP/1.1 connection closed", () => c.closed);
    expect(c.goaway()).toBeDefined();
    expect(await checkHealth(live.address)).toBe("SERVING");
  });
});
