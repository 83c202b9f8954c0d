import { createSocket } from "node:dgram";

/**
 * A tiny authoritative DNS server over UDP (RFC 1035 4.1) for dns-01 tests: it answers TXT
 * queries from `records` (name -> values) and NXDOMAIN otherwise. certmint reaches it through
 * CERTMINT_ACME_DNS_RESOLVERS.
 */
export async function startTxtServer(
  records: Map<string, string[]>,
): Promise<{ port: number; close(): void }> {
  const socket = createSocket("udp4");
  socket.on("message", (query, peer) => {
    if (query.length < 17) return;
    const labels: string[] = [];
    let i = 12;
    while (i < query.length && query[i]! > 0) {
      const n = query[i]!;
      labels.push(query.subarray(i + 1, i + 1 + n).toString("ascii"));
      i += n + 1;
    }
    const questionEnd = i + 5; // zero label, QTYPE, QCLASS
    const name = labels.join(".").toLowerCase();
    const type = query.readUInt16BE(i + 1);
    const values = type === 16 ? (records.get(name) ?? []) : [];
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8400 | (records.has(name) ? 0 : 3), 2); // response, authoritative
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(values.length, 6);
    const answers = values.map((value) => {
      const text = Buffer.from(value, "ascii");
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
      rr.writeUInt16BE(16, 2); // TXT
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(0, 6); // TTL
      rr.writeUInt16BE(text.length + 1, 10);
      return Buffer.concat([rr, Buffer.from([text.length]), text]);
    });
    socket.send(
      Buffer.concat([header, query.subarray(12, questionEnd), ...answers]),
      peer.port,
      peer.address,
    );
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { port: socket.address().port, close: () => socket.close() };
}
