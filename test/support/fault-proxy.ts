import { createServer, connect as netConnect, type Socket } from "node:net";

/**
 * A TCP proxy a test puts between a client and a server (the server and PostgreSQL, a CLI and
 * the server) to fail the connection without stopping either end, in three modes:
 *  - `pass` (the start): bytes flow;
 *  - `refuse`: every open connection is reset (cut) and new ones are reset on arrival
 *    (PostgreSQL stopped, a firewall that rejects); the client sees ECONNRESET or
 *    "Connection terminated";
 *  - `stall`: open connections stop carrying bytes either way and new ones are accepted and
 *    never answered (a network partition that drops packets, a hung host). A connection
 *    stalled stays stalled after `pass` (its packets were lost for good); its client must give
 *    it up.
 * When the client closes its side, the proxy closes the target's, so PostgreSQL rolls its
 * transaction back, as it would when a partition heals; when the target closes its side, the
 * proxy closes the client's.
 */
export interface FaultProxy {
  readonly port: number;
  pass(): void;
  refuse(): void;
  stall(): void;
  /** Connections the client has open through the proxy now. */
  open(): number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let mode: "pass" | "refuse" | "stall" = "pass";
  const pairs = new Set<{ client: Socket; upstream?: Socket }>();
  const blackHole = (s: Socket) => {
    s.unpipe();
    s.removeAllListeners("data");
    s.on("data", () => undefined);
  };
  const server = createServer((client) => {
    client.on("error", () => undefined);
    if (mode === "refuse") {
      client.resetAndDestroy();
      return;
    }
    const pair: { client: Socket; upstream?: Socket } = { client };
    pairs.add(pair);
    client.once("close", () => {
      pairs.delete(pair);
      pair.upstream?.destroy();
    });
    if (mode === "stall") {
      blackHole(client);
      return;
    }
    const upstream = netConnect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on("error", () => undefined);
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.once("close", () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    pass() {
      mode = "pass";
    },
    refuse() {
      mode = "refuse";
      for (const p of pairs) p.client.resetAndDestroy();
    },
    stall() {
      mode = "stall";
      for (const p of pairs) {
        blackHole(p.client);
        if (p.upstream) blackHole(p.upstream);
      }
    },
    open: () => pairs.size,
    close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream?.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
