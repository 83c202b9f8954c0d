import type { Server, Socket } from "node:net";
import type { Logger } from "pino";
import { peerAddressKey } from "../auth/address-keys";
import type { ConnectionLimits } from "../config";

/**
 * Open connections one client address (an IPv4 address, an IPv6 /64: auth/address-keys.ts) may
 * hold on a port that accepts `maxConnections` (CERTMINT_MAX_CONNECTIONS): a quarter of them,
 * or CERTMINT_MAX_CONNECTIONS_PER_ADDRESS (at most maxConnections), for a NAT or load balancer
 * in front that must bring more clients than a quarter of the cap.
 * Without it one address opening that many connections, and opening them again as the
 * handshake timeout closes them (a hundred a second at the default 10 s), kept the port full:
 * every other client's new connection was closed at once, without any credential. Four
 * addresses are needed to fill a port; a load balancer or NAT in front (one address) keeps 250
 * of the default 1000. Per process on purpose: each worker of CERTMINT_PROCESSES has its own
 * descriptors and its own cap, and an address holding a quarter of each fills none of them.
 */
export function connectionsPerAddress(
  limits: Pick<ConnectionLimits, "maxConnections" | "maxConnectionsPerAddress">,
): number {
  const share = limits.maxConnectionsPerAddress ?? Math.floor(limits.maxConnections / 4);
  return Math.max(1, Math.min(limits.maxConnections, share));
}

/** The client as gRPC peers are written ("1.2.3.4:port", "[v6]:port"), for peerAddressKey. */
export function peerOf(socket: Socket): string {
  const address = socket.remoteAddress ?? "";
  return `${address.includes(":") ? `[${address}]` : address}:${socket.remotePort ?? ""}`;
}

/**
 * Closes at once a new connection from an address that already holds
 * connectionsPerAddress(limits) open connections, as net.Server closes one past
 * maxConnections; logged at most once a minute. An address is forgotten when its last
 * connection closes, so a stream of addresses cannot grow the map past the open connections.
 * For any net.Server (HTTP, HTTPS, the http2 servers of the gRPC port).
 */
export function limitConnectionsPerAddress(
  server: Server,
  limits: Pick<ConnectionLimits, "maxConnections" | "maxConnectionsPerAddress">,
  name: string,
  logger: Logger,
): void {
  const limit = connectionsPerAddress(limits);
  const open = new Map<string, number>();
  let warnedAt = Number.NEGATIVE_INFINITY;
  // Before the server's own listener: a refused socket gets no parser and no session.
  server.prependListener("connection", (socket: Socket) => {
    const key = peerAddressKey(peerOf(socket));
    const count = open.get(key) ?? 0;
    if (count >= limit) {
      socket.destroy();
      if (performance.now() - warnedAt >= 60_000) {
        warnedAt = performance.now();
        logger.warn(
          { port: name, address: key, connectionsPerAddress: limit },
          "a client address holds its share of connections (CERTMINT_MAX_CONNECTIONS_PER_ADDRESS, by default a quarter of CERTMINT_MAX_CONNECTIONS): its new connections are closed",
        );
      }
      return;
    }
    open.set(key, count + 1);
    socket.once("close", () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}
