/**
 * IP addresses as iPAddress GeneralName octets (RFC 5280 4.2.1.6: 4 octets for IPv4, 16 for
 * IPv6) and back to the one canonical text form (RFC 5952; model/ip.ts is the single parser
 * and formatter, shared with the policy engine), so matching and storage compare like with like.
 */
import { formatIp, ipFromOctets, ipToOctets, parseIp } from "../model/ip";

/** Text -> 4 or 16 octets; undefined when the text is not an IP address. */
export function ipToBytes(text: string): Buffer | undefined {
  const ip = parseIp(text);
  return ip.ok ? ipToOctets(ip) : undefined;
}

/** 4 or 16 octets -> canonical text; undefined for any other length. */
export function ipFromBytes(bytes: Uint8Array): string | undefined {
  const ip = ipFromOctets(bytes);
  return ip === undefined ? undefined : formatIp(ip);
}

/** Canonical text of an IP address given as text; undefined when it is not one. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip.ok ? formatIp(ip) : undefined;
}
