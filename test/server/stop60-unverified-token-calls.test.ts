/**
 * Calls with an access token the server has not seen authenticate, held open before their
 * message (src/server/open-calls.ts UNVERIFIED_SHARE). An outside probe of stop 59 (2026-12-07)
 * left it open: a call with a made-up token is checked only once its message arrives, so calls
 * with made-up tokens that never sent one could hold every open call from four addresses, as
 * credential-less calls did before. Such calls now hold at most half of the open calls, in all
 * and per address, and past that are refused RESOURCE_EXHAUSTED as their headers arrive; a token
 * that authenticated here (and a revoked one no more) is not limited by it.
 */
import type { ClientHttp2Session, ClientHttp2Stream } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import { UNVERIFIED_SHARE } from "../../src/server/open-calls";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { heldCall, rawCall, rawSession } from "../support/raw-grpc";
import { waitFor } from "../support/wait";

const ISSUE = "/certmint.v1.CertificateService/IssueCertificate";
const LIST_TOKENS = "/certmint.v1.AccessTokenService/ListAccessTokens";
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
let madeUpCount = 0;
/** A different well-formed token each time, none of them known. */
const madeUp = () => bearer(`certmint_${String(madeUpCount++).padStart(6, "0")}${"A".repeat(37)}`);

/** The status a call is answered with before it sends anything (headers only, or trailers). */
function answerBeforeMessage(
  stream: ClientHttp2Stream,
): Promise<{ status: number; message: string }> {
  return new Promise((resolve) => {
    const settle = (head: Record<string, unknown>) => {
      if (head["grpc-status"] === undefined) return;
      resolve({
        status: Number(head["grpc-status"]),
        message: decodeURIComponent(String(head["grpc-message"] ?? "")),
      });
    };
    stream.on("response", settle);
    stream.on("trailers", settle);
  });
}

describe("calls with unverified access tokens held open", () => {
  let h: TestCertmint;
  let port: number;
  const sessions: ClientHttp2Session[] = [];
  const streams: ClientHttp2Stream[] = [];
  const session = (n: number): ClientHttp2Session => {
    const s = rawSession(port, `127.0.10.${n}`);
    sessions.push(s);
    return s;
  };
  const hold = (s: ClientHttp2Session, headers: Record<string, string>) => {
    const stream = heldCall(s, ISSUE, headers);
    streams.push(stream);
    return stream;
  };

  beforeAll(async () => {
    // 40 open calls: 10 per address, of them 5 with unverified tokens; 20 of those in all.
    h = await startTestCertmint({ CERTMINT_MAX_OPEN_CALLS: "40" });
    port = Number(h.address.split(":").at(-1));
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    for (const s of sessions) s.destroy();
    await h?.stop();
  });

  it("made-up tokens hold half of an address's share and half of the server's; known tokens keep the rest", async () => {
    expect(UNVERIFIED_SHARE).toBe(0.5);
    const admin = bearer(h.adminToken);
    const a = session(1);
    // The admin token authenticates here once: from then on it is known.
    expect((await rawCall(a, LIST_TOKENS, undefined, admin)).status).toBe(0);

    for (let i = 0; i < 5; i++) hold(a, madeUp());
    await waitFor("the server to hold 5 calls", () => h.running.openCalls() === 5);
    // The sixth made-up token from this address is answered at once, before any message.
    const refused = await answerBeforeMessage(hold(a, madeUp()));
    expect(refused.status).toBe(8);
    expect(refused.message).toMatch(/access tokens the server has not yet verified/);
    expect(h.running.openCalls()).toBe(5);
    // The known token still has the rest of the address's share.
    for (let i = 0; i < 4; i++) hold(a, admin);
    await waitFor("the server to hold 9 calls", () => h.running.openCalls() === 9);
    expect((await rawCall(a, LIST_TOKENS, undefined, admin)).status).toBe(0);

    // Three more addresses fill the server's 20 for unverified tokens; a fifth gets none, but
    // its known token is served.
    for (const n of [2, 3, 4]) {
      const s = session(n);
      for (let i = 0; i < 5; i++) hold(s, madeUp());
    }
    await waitFor("the server to hold 24 calls", () => h.running.openCalls() === 24);
    const e = session(5);
    const none = await answerBeforeMessage(hold(e, madeUp()));
    expect(none.status).toBe(8);
    expect(none.message).toMatch(/their share of CERTMINT_MAX_OPEN_CALLS/);
    expect((await rawCall(e, LIST_TOKENS, undefined, admin)).status).toBe(0);
    expect(h.running.openCalls()).toBe(24);

    for (const s of streams.splice(0)) s.close();
    await waitFor("no call open", () => h.running.openCalls() === 0);
  });

  it("a token that authenticated is known until it is revoked", async () => {
    const created = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "stop60-known", role: Role.ROLE_AUDITOR },
      }),
    );
    const token = bearer(created.secret);
    const f = session(6);
    expect((await rawCall(f, LIST_TOKENS, undefined, token)).status).toBe(0);
    // Known: six of its calls held from one address, past the unverified share of 5.
    for (let i = 0; i < 6; i++) hold(f, token);
    await waitFor("the server to hold 6 calls", () => h.running.openCalls() === 6);
    for (const s of streams.splice(0)) s.close();
    await waitFor("no call open", () => h.running.openCalls() === 0);

    await call(h.accessTokens, "revokeAccessToken", {
      accessToken: created.accessToken!.id,
      revokeCreatedTokens: false,
    });
    // Revoked: unverified again, so the sixth is refused before its message.
    const g = session(7);
    for (let i = 0; i < 5; i++) hold(g, token);
    await waitFor("the server to hold 5 calls", () => h.running.openCalls() === 5);
    expect((await answerBeforeMessage(hold(g, token))).status).toBe(8);
    // Its message, when sent, is refused as before: the token was revoked.
    const answer = await rawCall(session(8), LIST_TOKENS, undefined, token);
    expect(answer).toMatchObject({ status: 16, reason: "TOKEN_REVOKED" });
  });
});
