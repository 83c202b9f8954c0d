import { BlockList, isIP } from "node:net";

export const DEFAULT_SERVER = "127.0.0.1:50051";
const DEFAULT_PORT = "50051";

/** A gRPC server address split into host and port: "host:port", "[v6]:port", or a host alone. */
export function parseServerAddress(address: string): { host: string; target: string } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  if (bracketed) {
    return { host: bracketed[1]!, target: `[${bracketed[1]}]:${bracketed[2] ?? DEFAULT_PORT}` };
  }
  if (isIP(address) === 6) return { host: address, target: `[${address}]:${DEFAULT_PORT}` };
  const hostPort = /^([^:]+):(\d+)$/.exec(address);
  if (hostPort) return { host: hostPort[1]!, target: address };
  return { host: address, target: `${address}:${DEFAULT_PORT}` };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/**
 * Whether a host is this machine's loopback interface: 127.0.0.0/8, ::1 or localhost, the same
 * set the server accepts plaintext on. Only such a server gets plaintext by default and the local
 * data directory's admin token: anything else could be another machine, or an attacker's.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost") return true;
  const family = isIP(h);
  if (family === 4) return LOOPBACK.check(h, "ipv4");
  if (family === 6) return LOOPBACK.check(h, "ipv6");
  return false;
}
