import { Resolver } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { ipv6Groups } from "../../auth/address-keys";
import { AcmeProblem } from "../problem";

/**
 * Where a challenge may be validated (issue 16, security): the addresses an identifier
 * resolves to, kept only when they lie in the networks the operator allows
 * (CERTMINT_ACME_VALIDATION_NETWORKS). Without that setting every unicast address is allowed
 * except loopback, link-local (cloud metadata services live at 169.254.169.254), unspecified
 * and multicast: a client cannot point certmint at the host it runs on. The validator then
 * connects to the checked address itself, never resolving the name a second time (no DNS
 * rebinding between check and connect).
 */
export class ValidationTargets {
  private readonly resolver: Resolver | undefined;
  private systemResolver: Resolver | undefined;

  constructor(
    private readonly allowed: BlockList | undefined,
    resolverServers: readonly string[] = [],
    /** How long one DNS query may take. */
    private readonly timeoutMs = 5000,
  ) {
    if (resolverServers.length > 0) {
      this.resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
      this.resolver.setServers([...resolverServers]);
    }
  }

  /** The DNS resolver of dns-01 (the configured servers, else the system's). */
  dns(): Resolver {
    this.systemResolver ??= new Resolver({ timeout: this.timeoutMs, tries: 2 });
    return this.resolver ?? this.systemResolver;
  }

  /** Whether an address may be connected to for validation. */
  allows(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    const type = family === 4 ? "ipv4" : "ipv6";
    if (this.allowed) return this.allowed.check(address, type);
    if (DENIED_BY_DEFAULT.check(address, type)) return false;
    // An IPv4 address reached through a NAT64 or 6to4 gateway is the IPv4 address's case.
    const v4 = family === 6 ? embeddedIpv4(address) : undefined;
    return v4 === undefined || !DENIED_BY_DEFAULT.check(v4, "ipv4");
  }

  /**
   * The allowed addresses of a host name or IP literal. `localhost` and names under it resolve
   * to the loopback address without a query (RFC 6761 6.3). Refused when it resolves to
   * nothing (dns) or to no allowed address (connection, naming the setting).
   */
  async addressesOf(host: string): Promise<string[]> {
    let addresses: string[];
    if (isIP(host) !== 0) {
      addresses = [host];
    } else if (host === "localhost" || host.endsWith(".localhost")) {
      addresses = ["127.0.0.1"];
    } else {
      try {
        // Always c-ares (off the thread pool, with a timeout per query), never getaddrinfo
        // (dns.lookup): that runs on libuv's 4 pool threads, which also sign with RSA and
        // P-384 CA keys and read files, and has no timeout of its own, so challenges for
        // names whose DNS never answers could hold every pool thread (review, 2026-12-03).
        // Without CERTMINT_ACME_DNS_RESOLVERS, the system's servers (/etc/resolv.conf); as
        // with any CA's validation, /etc/hosts is not consulted.
        addresses = await this.resolveWith(this.dns(), host);
      } catch {
        addresses = [];
      }
      if (addresses.length === 0) {
        throw new AcmeProblem("dns", `no A or AAAA record for ${host}`);
      }
    }
    const usable = addresses.filter((a) => this.allows(a));
    if (usable.length === 0) {
      // The addresses are not named: a redirect may name any host, and its client would learn
      // what internal names resolve to.
      throw new AcmeProblem(
        "connection",
        `${host} resolves only to addresses outside the networks certmint may validate (CERTMINT_ACME_VALIDATION_NETWORKS)`,
      );
    }
    return usable;
  }

  private async resolveWith(resolver: Resolver, host: string): Promise<string[]> {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    return [
      ...(v4.status === "fulfilled" ? v4.value : []),
      ...(v6.status === "fulfilled" ? v6.value : []),
    ];
  }
}

const DENIED_BY_DEFAULT = new BlockList();
DENIED_BY_DEFAULT.addSubnet("127.0.0.0", 8, "ipv4");
DENIED_BY_DEFAULT.addSubnet("169.254.0.0", 16, "ipv4");
DENIED_BY_DEFAULT.addSubnet("0.0.0.0", 8, "ipv4");
DENIED_BY_DEFAULT.addSubnet("224.0.0.0", 4, "ipv4");
DENIED_BY_DEFAULT.addSubnet("240.0.0.0", 4, "ipv4");
DENIED_BY_DEFAULT.addAddress("::1", "ipv6");
DENIED_BY_DEFAULT.addAddress("::", "ipv6");
DENIED_BY_DEFAULT.addSubnet("fe80::", 10, "ipv6");
DENIED_BY_DEFAULT.addSubnet("ff00::", 8, "ipv6");
// No rule for IPv4-mapped addresses (::ffff:0:0/96): BlockList judges them by the IPv4 rules
// above, and an IPv6 rule for them also matches every IPv4 address (it refused them all).
// IPv4-compatible addresses (deprecated, RFC 4291 2.5.5.1), ::1 and :: among them.
DENIED_BY_DEFAULT.addSubnet("::", 96, "ipv6");
// Cloud metadata services outside link-local: AWS's IPv6 endpoint, Alibaba Cloud's.
DENIED_BY_DEFAULT.addAddress("fd00:ec2::254", "ipv6");
DENIED_BY_DEFAULT.addAddress("100.100.100.200", "ipv4");

/** The 16 bytes of an IPv6 address in text form, or undefined. */
function ipv6Bytes(address: string): Buffer | undefined {
  const groups = ipv6Groups(address);
  if (groups.length !== 8) return undefined;
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16) & 0xffff, 2 * i);
  return out;
}

/**
 * The IPv4 address a NAT64 (the well-known prefix 64:ff9b::/96, RFC 6052) or 6to4
 * (2002::/16, RFC 3056) address reaches, or undefined.
 */
export function embeddedIpv4(address: string): string | undefined {
  const b = ipv6Bytes(address);
  if (!b) return undefined;
  const v4 = (at: number) => [...b.subarray(at, at + 4)].join(".");
  if (b.readUInt16BE(0) === 0x2002) return v4(2);
  if (b.readUInt32BE(0) === 0x0064ff9b && b.subarray(4, 12).every((x) => x === 0)) return v4(12);
  return undefined;
}

/** Parses CERTMINT_ACME_VALIDATION_NETWORKS: comma-separated CIDRs or addresses. */
export function parseNetworks(value: string): { list?: BlockList; problem?: string } {
  const list = new BlockList();
  for (const raw of value.split(",").map((s) => s.trim())) {
    if (raw === "") continue;
    const [address, bits] = raw.split("/");
    const family = isIP(address ?? "");
    const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
    if (
      family === 0 ||
      !Number.isInteger(prefix) ||
      prefix < 0 ||
      prefix > (family === 4 ? 32 : 128)
    ) {
      return { problem: `"${raw}" is not an address or CIDR (e.g. 10.0.0.0/8, fd00::/8)` };
    }
    list.addSubnet(address!, prefix, family === 4 ? "ipv4" : "ipv6");
  }
  return { list };
}
