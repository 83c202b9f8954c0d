/**
 * A connection with no call open that sends PINGs far faster than any keepalive is closed with
 * GOAWAY ENHANCE_YOUR_CALM "too_many_pings" (src/server/connection-limits.ts, limitIdlePings);
 * pings while a call is open are not counted. Until stop 52 of 2026-12-07 any number were
 * answered (an outside probe, TRANSPORT F5; test/probe52/transport/h2-floods.test.ts sends them
 * as raw frames).
 */
import { type ClientHttp2Session, connect, constants } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";

/** Far past the bound (100 at once, 1 a second): a test that reaches it has failed. */
const MOST_PINGS = 1_000;

describe("PINGs of a connection with no call", () => {
  let h: TestCertmint;
  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** Sends PINGs one after another's acknowledgement, up to `count`, until the session ends. */
  async function pingUntilClosed(session: ClientHttp2Session, count: number): Promise<number> {
    let acked = 0;
    while (acked < count && !session.closed && !session.destroyed) {
      const ok = await new Promise<boolean>((resolve) => {
        if (!session.ping((err) => resolve(!err))) resolve(false);
      });
      if (!ok) break;
      acked += 1;
    }
    return acked;
  }

  it("are answered up to a bound, then the connection gets GOAWAY ENHANCE_YOUR_CALM too_many_pings", async () => {
    const session = connect(`http://${h.address}`);
    session.on("error", () => undefined);
    const goaway = new Promise<{ code: number; data: string }>((resolve) => {
      session.once("goaway", (code, _last, data) =>
        resolve({ code, data: data?.toString() ?? "" }),
      );
    });
    await new Promise((resolve) => session.once("connect", resolve));
    const acked = await pingUntilClosed(session, MOST_PINGS);
    expect(acked).toBeGreaterThanOrEqual(100);
    expect(acked).toBeLessThan(MOST_PINGS);
    expect(await goaway).toEqual({
      code: constants.NGHTTP2_ENHANCE_YOUR_CALM,
      data: "too_many_pings",
    });
    session.destroy();
  });

  it("one after each call's answer (grpc-go's BDP ping) is never counted against the bound", async () => {
    // grpc-go pings on the data of an answer; the ping reaches the server after the call closed.
    // Until stop 53 such a client was closed after ~100 calls made one after another.
    const session = connect(`http://${h.address}`);
    session.on("error", () => undefined);
    let goaway: number | undefined;
    session.on("goaway", (code) => {
      goaway = code;
    });
    await new Promise((resolve) => session.once("connect", resolve));
    const rounds = 400;
    let pinged = 0;
    for (let i = 0; i < rounds && !session.closed && !session.destroyed; i += 1) {
      const call = session.request({
        ":method": "POST",
        ":path": "/grpc.health.v1.Health/Check",
        "content-type": "application/grpc",
        te: "trailers",
      });
      const status = new Promise<string | undefined>((resolve) => {
        call.once("trailers", (trailers) => resolve(String(trailers["grpc-status"])));
        call.once("close", () => resolve(undefined));
      });
      call.resume();
      call.end(Buffer.alloc(5));
      expect(await status).toBe("0");
      await new Promise((resolve) => call.once("close", resolve).closed && resolve(undefined));
      const ok = await new Promise<boolean>((resolve) => {
        if (!session.ping((err) => resolve(!err))) resolve(false);
      });
      if (!ok) break;
      pinged += 1;
    }
    expect(pinged).toBe(rounds);
    expect(goaway).toBeUndefined();
    session.destroy();
  });

  it("are not counted while a call is open", async () => {
    const session = connect(`http://${h.address}`);
    session.on("error", () => undefined);
    let goaway: number | undefined;
    session.on("goaway", (code) => {
      goaway = code;
    });
    // A Health Watch: a call that stays open (after its request, half-closed) until cancelled.
    const watch = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Watch",
      "content-type": "application/grpc",
      te: "trailers",
    });
    watch.end(Buffer.alloc(5));
    await new Promise((resolve) => watch.once("data", resolve));
    expect(await pingUntilClosed(session, 300)).toBe(300);
    expect(goaway).toBeUndefined();
    watch.close();
    session.destroy();
  });
});
