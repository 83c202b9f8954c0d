/**
 * IP addresses as iPAddress GeneralName octets (RFC 5280 4.2.1.6: 4 octets for IPv4, 16 for
 * IPv6) and back to one canonical text form, so policy matching and storage compare like with
 * like: dotted quad for IPv4, RFC 5952 for IPv6 (lower case, longest run of two or more zero
 * groups compressed, first run on a tie, mixed notation for IPv4-mapped ::ffff:a.b.c.d).
 */

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function parseIpv6(text: string): number[] | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined; // also rejects zone ids ("%eth0")
  let tail: number[] = [];
  let head = text;
  if (text.includes(".")) {
    // Embedded IPv4 in the last 32 bits (RFC 4291 2.2 form 3), e.g. ::ffff:192.0.2.1.
    const lastColon = text.lastIndexOf(":");
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = v4;
    const withColon = text.slice(0, lastColon + 1);
    head = withColon.endsWith("::") ? withColon : text.slice(0, lastColon);
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const toGroups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const groups: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      groups.push(Number.parseInt(g, 16));
    }
    return groups;
  };
  const left = toGroups(halves[0] ?? "");
  const right = halves.length === 2 ? toGroups(halves[1] ?? "") : [];
  if (left === undefined || right === undefined) return undefined;
  const wanted = 8 - tail.length / 2;
  const have = left.length + right.length;
  if (halves.length === 2 ? have >= wanted : have !== wanted) return undefined;
  const groups = [...left, ...new Array(wanted - have).fill(0), ...right];
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  return [...bytes, ...tail];
}

/** Text -> 4 or 16 octets; undefined when the text is not an IP address. */
export function ipToBytes(text: string): Buffer | undefined {
  const bytes = text.includes(":") ? parseIpv6(text) : parseIpv4(text);
  return bytes === undefined ? undefined : Buffer.from(bytes);
}

/** 4 or 16 octets -> canonical text; undefined for any other length. */
export function ipFromBytes(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length !== 16) return undefined;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952 section 5: IPv4-mapped addresses keep the dotted quad.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${Array.from(bytes.subarray(12)).join(".")}`;
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed (RFC 5952 4.2.2)
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** Canonical text of an IP address given as text; undefined when it is not one. */
export function canonicalIp(text: string): string | undefined {
  const bytes = ipToBytes(text);
  return bytes === undefined ? undefined : ipFromBytes(bytes);
}
