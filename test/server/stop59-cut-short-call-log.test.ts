/**
 * A call whose request message is cut short (its length prefix promises more than comes before
 * the client ends its side) is answered INVALID_ARGUMENT REQUEST_MALFORMED
 * (transport-statuses.ts remaps grpc-js's UNIMPLEMENTED "Received no request message ..."), and
 * its log line and certmint_grpc_requests_total say so. Until stop 59 of 2026-12-07 both said
 * UNIMPLEMENTED, the code grpc-js gave below the interceptors: an outside probe left 52,572 false
 * UNIMPLEMENTED lines, which would mislead alerting.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { rawSession } from "../support/raw-grpc";
import { waitFor } from "../support/wait";

const LIST_TOKENS = "/certmint.v1.AccessTokenService/ListAccessTokens";

describe("the log line and metric of a call cut short", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_METRICS_LISTEN: "127.0.0.1:0" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("is INVALID_ARGUMENT, as the client is told", async () => {
    const port = Number(h.address.split(":").at(-1));
    const s = rawSession(port, "127.0.11.1");
    const requestId = "stop59-cut-short";
    const answer = await new Promise<Record<string, unknown>>((resolve) => {
      const req = s.request({
        ":method": "POST",
        ":path": LIST_TOKENS,
        "content-type": "application/grpc",
        te: "trailers",
        authorization: `Bearer ${h.adminToken}`,
        "x-request-id": requestId,
      });
      let head: Record<string, unknown> = {};
      req.on("response", (r) => {
        head = { ...head, ...r };
      });
      req.on("trailers", (t) => {
        head = { ...head, ...t };
      });
      req.on("error", () => undefined);
      req.on("close", () => resolve(head));
      // A prefix promising 100 bytes, 5 of them sent, then the end of the client's side.
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(100, 1);
      req.end(Buffer.concat([prefix, Buffer.from("abcde")]));
    });
    s.destroy();
    expect(Number(answer["grpc-status"])).toBe(3);
    await waitFor("the call's log line", () =>
      h.logs.some((l) => l.msg === "call" && l.requestId === requestId),
    );
    const line = h.logs.find((l) => l.msg === "call" && l.requestId === requestId)!;
    expect(line).toMatchObject({ method: LIST_TOKENS, code: "INVALID_ARGUMENT" });
    const text = await (await fetch(`http://127.0.0.1:${h.running.metricsPort}/metrics`)).text();
    const counted = text
      .split("\n")
      .filter(
        (l) => l.startsWith("certmint_grpc_requests_total") && l.includes("ListAccessTokens"),
      );
    expect(counted.some((l) => l.includes('code="INVALID_ARGUMENT"'))).toBe(true);
    expect(counted.some((l) => l.includes('code="UNIMPLEMENTED"'))).toBe(false);
  });
});
