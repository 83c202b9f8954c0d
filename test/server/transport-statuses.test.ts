/**
 * A call grpc-js refuses before any handler runs is the client's error, said so: INVALID_ARGUMENT
 * with an ErrorInfo, never INTERNAL, and an unsupported encoding's UNIMPLEMENTED names the ones
 * accepted (src/server/transport-statuses.ts). Found by an outside probe (2026-12-05), which sent
 * these frames with curl; here a raw HTTP/2 client sends them to a real server.
 */
import { connect } from "node:http2";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { installTransportStatuses } from "../../src/server/transport-statuses";
import { startTestCertmint, type TestCertmint } from "../support/harness";

interface Answer {
  status: number;
  message: string;
  reason?: string;
  acceptEncoding?: string;
}

/** A gRPC frame: the compressed flag, the length, the bytes. */
const frame = (body: Buffer, compressed = false) => {
  const head = Buffer.alloc(5);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
};

describe("grpc-js's own refusals of malformed calls", () => {
  let h: TestCertmint;

  /** Sends `frames` to `path` with these extra headers; the status the server ends with. */
  const send = (path: string, frames: Buffer[], headers: Record<string, string> = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const session = connect(`http://${h.address}`);
      session.on("error", reject);
      const req = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      });
      let head: Record<string, unknown> = {};
      req.on("response", (h2) => {
        head = h2;
      });
      req.on("trailers", (t) => {
        head = { ...head, ...t };
      });
      req.on("error", reject);
      req.on("close", () => {
        session.close();
        const details = head["grpc-status-details-bin"];
        let reason: string | undefined;
        if (typeof details === "string") {
          for (const d of Status.decode(Buffer.from(details, "base64")).details) {
            if (d.typeUrl.endsWith("ErrorInfo")) reason = ErrorInfo.decode(d.value).reason;
          }
        }
        resolve({
          status: Number(head["grpc-status"]),
          message: decodeURIComponent(String(head["grpc-message"] ?? "")),
          reason,
          acceptEncoding: head["grpc-accept-encoding"] as string | undefined,
        });
      });
      req.resume();
      for (const f of frames) req.write(f);
      req.end();
    });

  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("is installed on the grpc-js version package.json pins", () => {
    expect(installTransportStatuses()).toBe(true);
  });

  it("a compressed message that does not decompress: INVALID_ARGUMENT REQUEST_MALFORMED", async () => {
    const truncated = gzipSync(Buffer.from("0a0474657374", "hex")).subarray(0, 12);
    const a = await send(
      "/certmint.v1.CertificateService/GetCertificate",
      [frame(truncated, true)],
      { "grpc-encoding": "gzip" },
    );
    expect(a).toMatchObject({ status: 3, reason: "REQUEST_MALFORMED" });
    expect(a.message).toContain("does not decompress");
  });

  it("a message flagged compressed with no encoding, or identity: INVALID_ARGUMENT REQUEST_MALFORMED", async () => {
    // PROTOCOL-HTTP2.md: with no Message-Encoding the Compressed-Flag must be 0. Until stop 52
    // the bytes were read as uncompressed and answered (inflated-requests.ts).
    const encodings: Array<Record<string, string>> = [{}, { "grpc-encoding": "identity" }];
    for (const headers of encodings) {
      const a = await send("/grpc.health.v1.Health/Check", [frame(Buffer.alloc(0), true)], headers);
      expect(a).toMatchObject({ status: 3, reason: "REQUEST_MALFORMED" });
      expect(a.message).toContain("flagged compressed");
    }
  });

  it("a Compressed-Flag other than 0 or 1: INVALID_ARGUMENT REQUEST_MALFORMED", async () => {
    const message = frame(Buffer.alloc(0));
    message[0] = 2;
    const a = await send("/grpc.health.v1.Health/Check", [message]);
    expect(a).toMatchObject({ status: 3, reason: "REQUEST_MALFORMED" });
    expect(a.message).toContain("Compressed-Flag other than 0");
  });

  it("a grpc-timeout that is not one: INVALID_ARGUMENT GRPC_TIMEOUT_INVALID", async () => {
    const a = await send("/grpc.health.v1.Health/Check", [frame(Buffer.alloc(0))], {
      "grpc-timeout": "abc",
    });
    expect(a).toMatchObject({ status: 3, reason: "GRPC_TIMEOUT_INVALID" });
  });

  it("bytes that are not the request message (Health): INVALID_ARGUMENT REQUEST_MALFORMED", async () => {
    const a = await send("/grpc.health.v1.Health/Check", [frame(Buffer.from([0x02, 0xff, 0xff]))]);
    expect(a).toMatchObject({ status: 3, reason: "REQUEST_MALFORMED" });
    expect(a.message).toContain("/grpc.health.v1.Health/Check");
  });

  it("a unary call with no request message, or two: INVALID_ARGUMENT, not 'server streaming'", async () => {
    const none = await send("/grpc.health.v1.Health/Check", []);
    expect(none).toMatchObject({ status: 3, reason: "REQUEST_MALFORMED" });
    expect(none.message).toContain("exactly one request message");
    expect(none.message).not.toContain("streaming");
    const two = await send("/grpc.health.v1.Health/Check", [
      frame(Buffer.alloc(0)),
      frame(Buffer.alloc(0)),
    ]);
    expect(two).toMatchObject({ status: 3, reason: "REQUEST_MALFORMED" });
  });

  it("an unsupported encoding: UNIMPLEMENTED with the encodings accepted", async () => {
    const a = await send("/grpc.health.v1.Health/Check", [frame(Buffer.from([1, 2, 3]), true)], {
      "grpc-encoding": "br",
    });
    expect(a.status).toBe(12);
    expect(a.acceptEncoding).toBe("identity,deflate,gzip");
  });

  it("a message over the size limit: RESOURCE_EXHAUSTED with an ErrorInfo naming the method and the limit", async () => {
    const big = 4 * 1024 * 1024 + 100;
    const a = await send("/grpc.health.v1.Health/Check", [frame(Buffer.alloc(big))]);
    expect(a.status).toBe(8);
    expect(a.reason).toBe("REQUEST_TOO_LARGE");
    expect(a.message).toBe(
      `the request message to /grpc.health.v1.Health/Check is ${big} bytes, over the server's limit of 4194304 (CERTMINT_MAX_MESSAGE_BYTES): send less in one call`,
    );
    // Compressed small, inflated past the limit.
    const bomb = await send(
      "/grpc.health.v1.Health/Check",
      [frame(gzipSync(Buffer.alloc(big)), true)],
      { "grpc-encoding": "gzip" },
    );
    expect([bomb.status, bomb.reason]).toEqual([8, "REQUEST_TOO_LARGE"]);
  });

  it("a well-formed call is untouched (the control)", async () => {
    const a = await send("/grpc.health.v1.Health/Check", [frame(Buffer.alloc(0))]);
    expect(a.status).toBe(0);
  });
});
