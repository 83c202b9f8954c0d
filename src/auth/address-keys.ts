import { isIPv6 } from "node:net";

/**
 * The keys a limit by client address counts a peer against, from grpc-js's getPeer()
 * ("10.0.0.1:5000", "[2001:db8::1]:5000", or a Unix socket path), most specific first:
 * - an IPv4 address (or IPv4-mapped IPv6 address, which is the same client): that address alone.
 *   No wider IPv4 range: a /24 is often one NAT or one provider's many unrelated customers.
 * - IPv6: its /64, the smallest block a host is usually given (RFC 6177), so one host cannot
 *   dodge a limit by rotating addresses within its own network; and its /48, the block a site
 *   is usually given, so that one holder of a /48 (65,536 /64s) does not get 65,536 budgets.
 *   A zone id ("fe80::1%eth0") is dropped: it names the server's interface, not the client.
 * - anything else (a Unix socket path): itself.
 */
export function peerAddressKeys(peer: string): [string] | [string, string] {
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(peer);
  if (v6) {
    const address = v6[1]!.split("%")[0]!.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
    if (mapped) return [mapped[1]!];
    if (!isIPv6(address)) return [address];
    const groups = ipv6Groups(address);
    return [`${groups.slice(0, 4).join(":")}::/64`, `${groups.slice(0, 3).join(":")}::/48`];
  }
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(peer);
  return [v4 ? v4[1]! : peer];
}

/** The most specific of peerAddressKeys: the IPv4 address, the IPv6 /64, or the peer itself. */
export function peerAddressKey(peer: string): string {
  return peerAddressKeys(peer)[0];
}

/**
 * The eight 16-bit groups of an IPv6 address (as node:net's isIPv6 accepts it, without a zone
 * id), in lower-case hex without leading zeros.
 */
export function ipv6Groups(address: string): string[] {
  const [head, tail] = address.includes("::") ? address.split("::") : [address, undefined];
  const part = (s: string | undefined) => (s ? s.split(":") : []);
  const toGroups = (groups: string[]) =>
    groups.flatMap((g) => {
      if (!g.includes(".")) return [g];
      // An embedded IPv4 tail (RFC 4291 2.2 form 3) is two groups.
      const [a, b, c, d] = g.split(".").map(Number) as [number, number, number, number];
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  const left = toGroups(part(head));
  const right = toGroups(part(tail));
  const fill = tail === undefined ? [] : Array(8 - left.length - right.length).fill("0");
  return [...left, ...fill, ...right].map((g) => Number.parseInt(g, 16).toString(16));
}
