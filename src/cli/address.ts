import { BlockList, isIP } from "node:net";
import { UsageError } from "./command";

export const DEFAULT_SERVER = "127.0.0.1:50051";
const DEFAULT_PORT = "50051";

/**
 * A gRPC server address split into host and port: "host:port", "[v6]:port", or a host alone
 * (port 50051). `source` names where it came from (--server, $CERTMINT_SERVER) for the message.
 * An address that can never be dialled (a port out of range, a URL, a host name with characters
 * no host name has) is a UsageError before any call: until stop 40 of 2026-12-05 (an outside
 * probe) `--server 127.0.0.1:99999` was UNAVAILABLE, "is it running?", exit 1.
 */
export function parseServerAddress(
  address: string,
  source = "--server",
): { host: string; target: string } {
  const { host, port } = splitAddress(address);
  const bad = (why: string) =>
    new UsageError(
      `${source} "${address}": ${why}; give HOST:PORT, [IPv6]:PORT or a host alone (port ${DEFAULT_PORT})`,
    );
  if (address.includes("/")) throw bad("a URL or a path, not an address");
  if (!isIP(host) && !isHostName(host)) throw bad("not an IP address or host name");
  if (port !== undefined && !isPort(port)) throw bad("the port must be a number from 1 to 65535");
  const p = port ?? DEFAULT_PORT;
  return { host, target: isIP(host) === 6 ? `[${host}]:${p}` : `${host}:${p}` };
}

/** Host and port as written; the port undefined when none is given. */
function splitAddress(address: string): { host: string; port?: string } {
  const bracketed = /^\[([^\]]*)\](?::([^:]*))?$/.exec(address);
  if (bracketed) {
    const host = bracketed[1]!;
    // Inside brackets only an IPv6 address (RFC 3986 3.2.2).
    return { host: isIP(host) === 6 ? host : `[${host}]`, port: bracketed[2] };
  }
  if (isIP(address) === 6) return { host: address };
  const hostPort = /^([^:]*):([^:]*)$/.exec(address);
  return hostPort ? { host: hostPort[1]!, port: hostPort[2]! } : { host: address };
}

/** Letters, digits, '-' and '_' in dot-separated labels; not all digits at the end (a bad IPv4). */
function isHostName(host: string): boolean {
  const label = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
  const labels = host.replace(/\.$/, "").split(".");
  return host.length <= 253 && labels.every((l) => label.test(l)) && !/^\d+$/.test(labels.at(-1)!);
}

const isPort = (port: string) =>
  /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535;

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
