/**
 * Calls held open, in all and per client address (src/server/open-calls.ts). A client with no
 * credential holding calls open (a request that never comes, a Health.Watch) could make one
 * address hold 62,500 of them, about 0.5 GB, until an outside probe (stop 51, LATENCY). Here the
 * server allows 8 open calls (CERTMINT_MAX_OPEN_CALLS), 2 per address: raw HTTP/2 clients from
 * their own loopback addresses hold calls open, and the call past a limit is answered at once,
 * RESOURCE_EXHAUSTED OPEN_CALLS_EXHAUSTED with a RetryInfo; once calls close, new ones are served.
 */
import type { ClientHttp2Session } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { heldCall, rawCall, rawSession } from "../support/raw-grpc";
import { waitFor } from "../support/wait";

const ISSUE = "/certmint.v1.CertificateService/IssueCertificate";
const HEALTH_CHECK = "/grpc.health.v1.Health/Check";

describe("calls held open (CERTMINT_MAX_OPEN_CALLS)", () => {
  let h: TestCertmint;
  let port: number;
  const sessions: ClientHttp2Session[] = [];

  /** A raw HTTP/2 connection from `127.0.7.<n>`: an address of its own. */
  const session = (n: number): ClientHttp2Session => {
    const s = rawSession(port, `127.0.7.${n}`);
    sessions.push(s);
    return s;
  };
  const held = (s: ClientHttp2Session) => heldCall(s, ISSUE);
  const call = (s: ClientHttp2Session, path: string) => rawCall(s, path);

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_MAX_OPEN_CALLS: "8" });
    port = Number(h.address.split(":").at(-1));
  });
  afterAll(async () => {
    for (const s of sessions) s.destroy();
    await h?.stop();
  });

  it("one address holds at most a quarter; its next call is refused, other addresses served", async () => {
    const a = session(1);
    const open = [held(a), held(a)];
    await waitFor("the server to hold both calls", () => h.running.openCalls() === 2);
    const refused = await call(a, HEALTH_CHECK);
    expect(refused).toMatchObject({
      status: 8,
      reason: "OPEN_CALLS_EXHAUSTED",
      retrySeconds: 1,
    });
    expect(refused.message).toMatch(
      /this client address has 2 calls open.*CERTMINT_MAX_OPEN_CALLS/,
    );
    // A second connection from the same address is the same address.
    expect((await call(session(1), HEALTH_CHECK)).reason).toBe("OPEN_CALLS_EXHAUSTED");
    // Another address is served.
    expect((await call(session(2), HEALTH_CHECK)).status).toBe(0);
    // Once a held call ends, the address is served again.
    open[0]!.close();
    await waitFor("the server to let the call go", () => h.running.openCalls() === 1);
    expect((await call(a, HEALTH_CHECK)).status).toBe(0);
    open[1]!.close();
    await waitFor("no call open", () => h.running.openCalls() === 0);
  });

  it("four addresses holding their share fill the server; a fifth is refused, then served", async () => {
    const holders = [11, 12, 13, 14].map((n) => {
      const s = session(n);
      return [held(s), held(s)];
    });
    await waitFor("the server to hold 8 calls", () => h.running.openCalls() === 8);
    const refused = await call(session(15), HEALTH_CHECK);
    expect(refused).toMatchObject({ status: 8, reason: "OPEN_CALLS_EXHAUSTED" });
    expect(refused.message).toMatch(/the server has 8 calls open, its limit/);
    for (const s of holders[0]!) s.close();
    await waitFor("two calls let go", () => h.running.openCalls() === 6);
    expect((await call(session(15), HEALTH_CHECK)).status).toBe(0);
    for (const pair of holders) for (const s of pair) s.close();
    await waitFor("no call open", () => h.running.openCalls() === 0);
  });
});
