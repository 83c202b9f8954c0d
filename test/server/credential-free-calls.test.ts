/**
 * Health and reflection calls need no credential, so they get a rate per client address instead
 * of fair admission by token (src/server/credential-free-calls.ts): an outside probe (stop 51,
 * LATENCY) saw reflection answer ~1,000 requests a second to one client, on the event loop every
 * caller shares. Past 100 a second (bursts of 1,000) a call is refused, RESOURCE_EXHAUSTED
 * RATE_LIMITED with a RetryInfo, and its connection is held a second; another address is served
 * meanwhile, and each request of a reflection stream counts too.
 */
import type { ClientHttp2Session } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREDENTIAL_FREE_CALLS_PER_SECOND } from "../../src/server/credential-free-calls";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { rawCall, rawSession } from "../support/raw-grpc";

const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
const REFLECTION = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const ISSUE = "/certmint.v1.CertificateService/IssueCertificate";
/** ServerReflectionRequest { list_services: "*" } (field 7, a string). */
const LIST_SERVICES = Buffer.from([0x3a, 0x01, 0x2a]);
/** Calls sent at once: far past the burst of ten seconds' worth, whatever the machine's speed. */
const FLOOD = 30 * CREDENTIAL_FREE_CALLS_PER_SECOND;

describe("Health and reflection calls: a rate per client address", () => {
  let h: TestCertmint;
  let port: number;
  const sessions: ClientHttp2Session[] = [];
  const session = (address: string) => {
    const s = rawSession(port, address);
    sessions.push(s);
    return s;
  };

  beforeAll(async () => {
    h = await startTestCertmint();
    port = Number(h.address.split(":").at(-1));
  });
  afterAll(async () => {
    for (const s of sessions) s.destroy();
    await h?.stop();
  });

  it("a flood of Health calls from one address is refused past the rate; another address is served", async () => {
    const flooder = session("127.0.8.1");
    const flood = Array.from({ length: FLOOD }, () => rawCall(flooder, HEALTH_CHECK));
    const first = await Promise.race(
      flood.map((p) => p.then((a) => (a.status === 8 ? a : new Promise<never>(() => {})))),
    );
    expect(first).toMatchObject({ status: 8, reason: "RATE_LIMITED", retrySeconds: 1 });
    expect(first.message).toMatch(
      new RegExp(
        `more than ${CREDENTIAL_FREE_CALLS_PER_SECOND} Health or reflection calls a second`,
      ),
    );
    // While that address is refused (and its connection held), another is served.
    expect((await rawCall(session("127.0.8.2"), HEALTH_CHECK)).status).toBe(0);
    const answers = await Promise.all(flood);
    const served = answers.filter((a) => a.status === 0).length;
    const refused = answers.filter((a) => a.reason === "RATE_LIMITED").length;
    expect(served + refused).toBe(FLOOD);
    expect(served).toBeGreaterThanOrEqual(10 * CREDENTIAL_FREE_CALLS_PER_SECOND);
    expect(refused).toBeGreaterThan(0);
    const warnings = h.logs.filter((l) =>
      String(l.msg).startsWith("a client address is past its rate of Health and reflection calls"),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ callsPerSecond: CREDENTIAL_FREE_CALLS_PER_SECOND });
  });

  it("calls that need a credential are not counted against the rate", async () => {
    const s = session("127.0.8.3");
    // Past the burst with calls of certmint's own service, refused for their missing credential.
    const unauthenticated = await Promise.all(
      Array.from({ length: 12 * CREDENTIAL_FREE_CALLS_PER_SECOND }, () => rawCall(s, ISSUE)),
    );
    expect(unauthenticated.every((a) => a.reason !== "RATE_LIMITED")).toBe(true);
    expect((await rawCall(s, HEALTH_CHECK)).status).toBe(0);
  });

  it("each request of a reflection stream counts: the stream ends RATE_LIMITED past the rate", async () => {
    const s = session("127.0.8.4");
    const answer = await rawCall(
      s,
      REFLECTION,
      Array.from({ length: FLOOD }, () => LIST_SERVICES),
    );
    expect(answer).toMatchObject({ status: 8, reason: "RATE_LIMITED" });
    expect(answer.messages.length).toBeGreaterThanOrEqual(10 * CREDENTIAL_FREE_CALLS_PER_SECOND);
    expect(answer.messages.length).toBeLessThan(FLOOD);
  });
});

// Many probes behind one address (a NAT, a fleet of load balancers) need more than 100 a second:
// the rate is a setting since stop 53 of 2026-12-07 (it was a constant: an outside probe,
// LOADCLIENTS).
describe("CERTMINT_CREDENTIAL_FREE_CALLS_PER_ADDRESS_PER_SECOND", () => {
  let h: TestCertmint;
  let s: ClientHttp2Session | undefined;
  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_CREDENTIAL_FREE_CALLS_PER_ADDRESS_PER_SECOND: "3" });
  });
  afterAll(async () => {
    s?.destroy();
    await h?.stop();
  });

  it("sets the rate: past ten seconds' worth at once, a Health call is refused, naming it", async () => {
    s = rawSession(Number(h.address.split(":").at(-1)), "127.0.8.9");
    // 200 at once: all served only if answering them took a minute.
    const answers = await Promise.all(Array.from({ length: 200 }, () => rawCall(s!, HEALTH_CHECK)));
    const served = answers.filter((a) => a.status === 0).length;
    const refused = answers.filter((a) => a.reason === "RATE_LIMITED");
    // A burst of 30 (ten seconds of 3), plus what refilled while they were answered.
    expect(served).toBeGreaterThanOrEqual(30);
    expect(served).toBeLessThan(200);
    expect(served + refused.length).toBe(200);
    expect(refused[0]!.message).toMatch(/more than 3 Health or reflection calls a second/);
  });
});
