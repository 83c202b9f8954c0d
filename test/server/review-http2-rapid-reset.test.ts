/**
 * HTTP/2 Rapid Reset (CVE-2023-44487) on the gRPC port, with raw frames over net: a connection
 * opening streams and resetting them at once is closed (src/server/connection-limits.ts), and
 * the server keeps answering other clients.
 */
import { connect, type Socket } from "node:net";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { HealthClient } from "../support/health-client";
import { waitFor } from "../support/wait";

const HEADERS = 1;
const RST_STREAM = 3;

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK literals without indexing (RFC 7541 6.2.2), every name and value under 127 bytes. */
function headerBlock(headers: Array<[string, string]>): Buffer {
  return Buffer.concat(
    headers.flatMap(([n, v]) => [
      Buffer.from([0, n.length]),
      Buffer.from(n),
      Buffer.from([v.length]),
      Buffer.from(v),
    ]),
  );
}

describe("HTTP/2 rapid reset on the gRPC port", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    // Keepalive far off: it would otherwise close the connection nghttp2 stopped reading.
    h = await startTestCertmint({ CERTMINT_KEEPALIVE_TIME_MS: "600000" });
  }, 120_000);
  afterAll(() => h?.stop());

  const health = () =>
    new Promise<string>((resolve, reject) => {
      const client = new HealthClient(h.address, credentials.createInsecure());
      client.check({ service: "" }, { deadline: Date.now() + 60_000 }, (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve(res.status);
      });
    });

  it("a connection resetting streams as fast as it opens them is closed; others are served", async () => {
    const [host, port] = h.address.split(":");
    const socket: Socket = connect(Number(port), host);
    let closed = false;
    let pending = Buffer.alloc(0);
    socket.on("data", (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
        const length = pending.readUIntBE(0, 3);

        pending = pending.subarray(9 + length);
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      closed = true;
    });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(
      Buffer.concat([
        Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        frame(4, 0, 0, Buffer.alloc(0)),
      ]),
    );
    const block = headerBlock([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/grpc.health.v1.Health/Check"],
      [":authority", "certmint"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
    ]);
    const cancel = Buffer.from([0, 0, 0, 8]);
    // 1,200 streams, each opened (END_HEADERS) and reset (CANCEL) at once.
    for (let i = 0; i < 1200 && !closed; i++) {
      const id = 1 + 2 * i;
      socket.write(Buffer.concat([frame(HEADERS, 4, id, block), frame(RST_STREAM, 0, id, cancel)]));
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    // nghttp2 alone answers a GOAWAY of NO_ERROR after 1,000 resets and leaves the socket open.
    await waitFor("the flooding connection closed", () => closed);
    expect(await health()).toBe("SERVING");
    expect(
      h.logs.filter((l) => String(l.msg).includes("HTTP/2 rapid reset")).map((l) => l.level),
    ).toEqual([40]);
  });
});
