/**
 * Calls with no credential held open (src/server/open-calls.ts). An outside probe of stop 59
 * (2026-12-07) held 2,500 calls from each of four loopback addresses, each with no credential
 * and a request message that never completed, and 60 KB of metadata: every address's share of
 * CERTMINT_MAX_OPEN_CALLS was full, every other caller (health checks too) was refused
 * OPEN_CALLS_EXHAUSTED, and RSS reached 1 GB. Such a call can only end in CREDENTIALS_MISSING,
 * so an address holds at most 16 of them (CREDENTIAL_LESS_CALLS_PER_ADDRESS) and its next is
 * refused UNAUTHENTICATED CREDENTIALS_MISSING as its headers arrive, before any message, without
 * taking an open call. A call with a token (checked once its message comes), a credential-free
 * method (Health) and another address are not limited by it; a method certmint does not serve
 * is still UNIMPLEMENTED.
 */
import type { ClientHttp2Session, ClientHttp2Stream } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREDENTIAL_LESS_CALLS_PER_ADDRESS } from "../../src/server/open-calls";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { heldCall, rawCall, rawSession } from "../support/raw-grpc";
import { waitFor } from "../support/wait";

const ISSUE = "/certmint.v1.CertificateService/IssueCertificate";
const LIST_TOKENS = "/certmint.v1.AccessTokenService/ListAccessTokens";
const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
const MADE_UP = { authorization: `Bearer certmint_${"A".repeat(43)}` };

/** The status a call is answered with before it sends anything (headers only, or trailers). */
function answerBeforeMessage(
  stream: ClientHttp2Stream,
): Promise<{ status: number; message: string }> {
  return new Promise((resolve) => {
    stream.on("response", (head) => {
      if (head["grpc-status"] !== undefined) {
        resolve({
          status: Number(head["grpc-status"]),
          message: decodeURIComponent(String(head["grpc-message"] ?? "")),
        });
      }
    });
    stream.on("trailers", (t) =>
      resolve({
        status: Number(t["grpc-status"]),
        message: decodeURIComponent(String(t["grpc-message"] ?? "")),
      }),
    );
  });
}

describe("calls with no credential held open from one address", () => {
  let h: TestCertmint;
  let port: number;
  const sessions: ClientHttp2Session[] = [];
  const session = (n: number): ClientHttp2Session => {
    const s = rawSession(port, `127.0.9.${n}`);
    sessions.push(s);
    return s;
  };

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_MAX_OPEN_CALLS: "1000" });
    port = Number(h.address.split(":").at(-1));
  });
  afterAll(async () => {
    for (const s of sessions) s.destroy();
    await h?.stop();
  });

  it("an address holds at most 16; the next is refused CREDENTIALS_MISSING before its message", async () => {
    expect(CREDENTIAL_LESS_CALLS_PER_ADDRESS).toBe(16);
    const a = session(1);
    const held = Array.from({ length: 16 }, () => heldCall(a, ISSUE));
    await waitFor("the server to hold 16 calls", () => h.running.openCalls() === 16);
    // The 17th sends nothing, and is answered at once; it holds no open call.
    const next = heldCall(a, ISSUE);
    const answer = await answerBeforeMessage(next);
    expect(answer.status).toBe(16);
    expect(answer.message).toMatch(/this call needs credentials/);
    expect(h.running.openCalls()).toBe(16);
    // The same address: a call with a token is held (checked once its message comes), the
    // health check is served, an unknown method is UNIMPLEMENTED, and one with the admin's
    // token is served.
    const withToken = heldCall(a, ISSUE, MADE_UP);
    await waitFor("the server to hold the call with a token", () => h.running.openCalls() === 17);
    expect((await rawCall(a, HEALTH_CHECK)).status).toBe(0);
    expect((await rawCall(a, "/certmint.v1.CertificateService/NoSuchMethod")).status).toBe(12);
    const listed = await rawCall(a, LIST_TOKENS, undefined, {
      authorization: `Bearer ${h.adminToken}`,
    });
    expect(listed.status).toBe(0);
    // Another address holds its own.
    const b = session(2);
    const other = heldCall(b, ISSUE);
    await waitFor("the other address's call held", () => h.running.openCalls() === 18);
    // Once one ends, the address may hold another.
    held[0]!.close();
    await waitFor("the server to let it go", () => h.running.openCalls() === 17);
    const again = heldCall(a, ISSUE);
    await waitFor("the address's new call held", () => h.running.openCalls() === 18);
    for (const s of [...held, next, withToken, other, again]) s.close();
    await waitFor("no call open", () => h.running.openCalls() === 0);
  });

  it("a call with no credential that sends its message is refused as before, with the authenticator's words", async () => {
    const answer = await rawCall(session(3), LIST_TOKENS);
    expect(answer).toMatchObject({ status: 16, reason: "CREDENTIALS_MISSING" });
  });
});
