/**
 * Requests per second of one client address on the publication port
 * (CERTMINT_PUBLICATION_REQUESTS_PER_ADDRESS_PER_SECOND, src/server/request-rate-per-address.ts).
 * Before 2026-12-04 nothing bounded the rate of cheap requests (a cached CA certificate): one
 * address sending them from a few keep-alive connections was answered 12,000 times a second,
 * and issuance on the gRPC port was 4.7x slower on average
 * (bench/fairness/publication-flood.ts). Answering 429 alone did not help: the client asked
 * again at once, 20,000 times a second. Past its rate an address's connections are now held
 * (not read) for a second after each 429.
 *
 * The counts below are upper bounds that grow with the time the test measured: a busy machine
 * only lowers them. Clients come from several loopback addresses (127.0.0.0/8 on Linux).
 */
import { Agent, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RATE_HOLD_SECONDS } from "../../src/server/request-rate-per-address";
import { parseExposition, sampleValue } from "../metrics/prometheus";
import { createRoot } from "../support/fixtures";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { unusedPort } from "../support/ports";
import { waitFor } from "../support/wait";

/** The rate in this file; bursts are ten seconds' worth. */
const PER_SECOND = 2;
const BURST = 10 * PER_SECOND;

/** One GET over `agent` (keep-alive: the agent's connections are reused). */
function get(
  port: number,
  path: string,
  agent: Agent | false,
  localAddress = "127.0.0.1",
): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent, localAddress }, (res) => {
      res.resume();
      res.on("end", () =>
        resolve({ status: res.statusCode!, retryAfter: res.headers["retry-after"] }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("requests per second of one address on the publication port", () => {
  let h: TestCertmint;
  let port = 0;
  let caPath = "";

  beforeAll(async () => {
    port = await unusedPort();
    h = await startTestCertmint({
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      CERTMINT_PUBLICATION_REQUESTS_PER_ADDRESS_PER_SECOND: String(PER_SECOND),
      CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
    });
    caPath = `/ca/${(await createRoot(h, "rate-root")).id}.crt`;
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("past its burst an address gets 429 with Retry-After, its connections are held, and another address is served", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const started = performance.now();
    // The burst, on one keep-alive connection, one request after another: all served.
    for (let i = 0; i < BURST; i++) {
      expect((await get(port, caPath, agent)).status, `request ${i + 1} of the burst`).toBe(200);
    }
    // Eight connections, each asking again as soon as it is answered, until each has been
    // refused three times: a client that ignores Retry-After.
    const counts = { ok: 0, refused: 0 };
    const retryAfters = new Set<string | undefined>();
    const worker = async () => {
      for (let refused = 0; refused < 3; ) {
        const r = await get(port, caPath, agent);
        if (r.status === 429) {
          refused++;
          counts.refused++;
          retryAfters.add(r.retryAfter);
        } else {
          expect(r.status).toBe(200);
          counts.ok++;
        }
      }
    };
    const flood = Promise.all(Array.from({ length: 8 }, worker));
    // Meanwhile another address is served at once, held behind nothing.
    expect((await get(port, caPath, false, "127.0.0.2")).status).toBe(200);
    await flood;
    const seconds = (performance.now() - started) / 1000;
    agent.destroy();

    expect(retryAfters).toEqual(new Set([String(RATE_HOLD_SECONDS)]));
    expect(counts.refused).toBe(24);
    // Served: the burst plus what refills meanwhile. Without the hold, the eight connections'
    // three refusals each came within milliseconds of the burst's end; with it, each refusal
    // holds its connection for a second: three refusals take two holds at least.
    expect(counts.ok).toBeLessThanOrEqual(Math.ceil(PER_SECOND * seconds) + 1);
    expect(seconds).toBeGreaterThanOrEqual(2 * RATE_HOLD_SECONDS);

    const metrics = parseExposition(
      await (await fetch(`http://127.0.0.1:${h.running.metricsPort}/metrics`)).text(),
    );
    expect(sampleValue(metrics, "certmint_publication_rate_limited_total")).toBe(24);
  });

  it("pipelined requests past the rate are answered 429 beyond what the rate refills, and the connection stays open", async () => {
    // 127.0.0.3 spends its burst, then one connection pipelines 200 requests in one write.
    const started = performance.now();
    for (let i = 0; i < BURST; i++) {
      expect((await get(port, caPath, false, "127.0.0.3")).status).toBe(200);
    }
    const socket = connect({ host: "127.0.0.1", port, localAddress: "127.0.0.3" });
    const statuses: number[] = [];
    let closed = false;
    socket.on("data", (chunk: Buffer) => {
      for (const m of chunk.toString("latin1").matchAll(/HTTP\/1\.1 (\d{3})/g)) {
        statuses.push(Number(m[1]));
      }
    });
    socket.on("close", () => {
      closed = true;
    });
    await new Promise((r) => socket.once("connect", r));
    socket.write(`GET ${caPath} HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(200));
    await waitFor("200 answers", () => statuses.length === 200, 60_000);
    const seconds = (performance.now() - started) / 1000;
    // Every answer is 200 or 429, and the 200s are only what the address's rate refilled while
    // the test ran (none on a fast machine; a busy one that took seconds for the burst refills
    // some: a bound, not an exact count, so the test holds on a slow machine too).
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    const served = statuses.filter((s) => s === 200).length;
    expect(served).toBeLessThanOrEqual(Math.ceil(PER_SECOND * seconds) + 1);
    expect(closed).toBe(false);
    socket.destroy();
  });
});

describe("CERTMINT_PUBLICATION_REQUESTS_PER_ADDRESS_PER_SECOND=0", () => {
  let h: TestCertmint;
  let port = 0;

  beforeAll(async () => {
    port = await unusedPort();
    h = await startTestCertmint({
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      CERTMINT_PUBLICATION_REQUESTS_PER_ADDRESS_PER_SECOND: "0",
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("sets no rate: 300 requests in a row from one address are all served", async () => {
    const path = `/ca/${(await createRoot(h, "unlimited-root")).id}.crt`;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 300; i++) {
      expect((await get(port, path, agent)).status, `request ${i + 1}`).toBe(200);
    }
    agent.destroy();
  });
});
