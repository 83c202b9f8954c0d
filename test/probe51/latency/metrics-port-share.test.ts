/**
 * Probe 51 (LATENCY): the README bounds one client address to "a quarter of
 * CERTMINT_MAX_CONNECTIONS on any port (publication, gRPC and ACME alike)"; the metrics port
 * (CERTMINT_METRICS_LISTEN) is not among them (src/server/metrics-server.ts starts its server
 * without `limitConnectionsPerAddress`). A bearer token (CERTMINT_METRICS_TOKEN_FILE) is the
 * README's answer to "a loopback address is not private on a shared host", but a connection
 * needs no token: one local user without it holds every connection, and Prometheus's scrape
 * is closed unanswered.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveCertmint, startLive } from "../../probe49/api/live";
import { waitFor } from "../../support/wait";

const CAP = 8;

/** A TCP connection from `localAddress` that sends nothing; resolves once connected. */
function silentConnection(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress });
    socket.on("error", () => undefined);
    socket.once("connect", () => resolve(socket));
  });
}

describe("probe51 latency: the metrics port's connections", () => {
  let live: LiveCertmint;
  let port: number;
  const held: Socket[] = [];

  beforeAll(async () => {
    live = await startLive({
      CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
      CERTMINT_MAX_CONNECTIONS: String(CAP),
      // The attacker's silent connections stay for the whole test, not 10 s.
      CERTMINT_HANDSHAKE_TIMEOUT_MS: "120000",
    });
    port = Number(/"port":(\d+),"msg":"serving Prometheus metrics/.exec(live.server.output())?.[1]);
  }, 240_000);
  afterAll(async () => {
    for (const s of held) s.destroy();
    await live?.stop();
  });

  it("one address that opens the port's every connection leaves room for the scraper at another address", async () => {
    // The attacker, from 127.0.0.2: as many silent connections as it is let keep, and one more.
    for (let i = 0; i < CAP + 1; i++) held.push(await silentConnection(port, "127.0.0.2"));
    // The server has decided on each (kept, or closed at once past a cap).
    let closed = 0;
    for (const s of held) s.once("close", () => closed++);
    const extra = await silentConnection(port, "127.0.0.2");
    held.push(extra);
    await waitFor(
      "the server to close one of the attacker's connections past a cap",
      () => closed > 0,
    );
    // Those past the address's share are closed one by one: wait for the state, not a moment
    // (without a share only the one past the port's cap closes, and this wait fails).
    await waitFor(
      "the attacker to keep at most a quarter of the port's connections",
      () => held.filter((s) => !s.destroyed).length <= CAP / 4,
    );
    const kept = held.filter((s) => !s.destroyed).length;

    // The scraper, from 127.0.0.1.
    const scrape = await fetch(`http://127.0.0.1:${port}/metrics`).then(
      (r) => `${r.status}`,
      (e: Error) => `failed: ${(e.cause as Error | undefined)?.message ?? e.message}`,
    );
    expect(scrape, `127.0.0.2 keeps ${kept} of the port's ${CAP} connections`).toBe("200");
    expect(kept).toBeLessThanOrEqual(CAP / 4);
  }, 120_000);
});
