/**
 * grpc-js's own log lines (src/server/grpc-logger.ts) on the server `make run` starts (the
 * embedded database): a metadata entry grpc-js refuses is logged by its key only, as a JSON
 * line, never with its value. Until stop 46 of 2026-12-06 `authorization: Bearer<TAB><token>`
 * (a tab is legal in an HTTP/2 header value, not in gRPC metadata) put the whole admin secret
 * on stderr twice, on a non-JSON line (an outside probe).
 */
import { connect as h2connect } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcLine } from "../../src/server/grpc-logger";
import { type ServerProcess, startServerProcess } from "../support/server-process";
import { waitFor } from "../support/wait";

/** One raw gRPC call with these headers; its grpc-status. */
function rawCall(address: string, headers: Record<string, string>): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`http://${address}`);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": "/certmint.v1.CertificateService/GetCertificate",
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let status: string | undefined;
    const take = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
    };
    stream.on("response", take);
    stream.on("trailers", take);
    stream.on("data", () => undefined);
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      resolve(status);
    });
    // GetCertificate { certificate: "00" }, framed.
    stream.end(Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x30, 0x30]));
  });
}

describe("grpc-js's log lines carry no header value", () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("a refused authorization entry is logged by its key, as JSON, and the call is UNAUTHENTICATED", async () => {
    const token = server.adminToken();
    const status = await rawCall(server.address, {
      authorization: `Bearer\t${token}`,
      "x-note": "caf\u00e9-secret-value",
    });
    expect(status).toBe("16");
    await waitFor("grpc-js's line about the refused entries", () =>
      server.output().includes('refused metadata entry \\"x-note\\"'),
    );
    const out = server.output();
    expect(out).toContain('refused metadata entry \\"authorization\\"');
    expect(out).not.toContain(token);
    expect(out).not.toContain(token.slice("certmint_".length));
    expect(out).not.toContain("secret-value");
    // One JSON object per line, grpc-js's included.
    for (const line of out.split("\n").filter((l) => l.trim())) {
      expect(() => JSON.parse(line), line).not.toThrow();
    }
    // The server still serves the same token sent properly.
    expect(await rawCall(server.address, { authorization: `Bearer ${token}` })).toBe("5");
  });

  it("other grpc-js lines have credentials blanked and are bounded", () => {
    const token = `certmint_${"A".repeat(43)}`;
    expect(grpcLine(`connection from x: Bearer ${token} failed`)).toBe(
      "connection from x: Bearer [redacted] failed",
    );
    expect(grpcLine(`value ${token} seen`)).toBe("value certmint_[redacted] seen");
    expect(grpcLine("x".repeat(2000)).length).toBeLessThanOrEqual(515);
  });
});
