/**
 * A TCP proxy in front of PostgreSQL that reads the frontend side of the wire protocol
 * (PostgreSQL docs, "Frontend/Backend Protocol", message formats) and counts, per statement
 * kind, the round trips the server makes: each simple Query ('Q') and each extended-protocol
 * batch ending in Sync ('S') waits for the database once. It also counts durable commits: a
 * COMMIT of a transaction that wrote, or a write outside any transaction (autocommit).
 *
 * Used only for the round-trip probe (a separate, single-client run): forwarding costs CPU, so
 * the throughput rows talk to PostgreSQL directly.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

export interface WireCounts {
  roundTrips: number;
  durableCommits: number;
  /** Round trips by the first keyword of their (last) statement: SELECT, INSERT, BEGIN... */
  byKind: Map<string, number>;
}

export interface PgCounter {
  /** postgresql:// URL that reaches the database through the proxy. */
  url: string;
  counts: WireCounts;
  reset(): void;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

class FrontendParser {
  private buf: Buffer = Buffer.alloc(0);
  private startupDone = false;
  private inTransaction = false;
  private wroteInTransaction = false;
  private pendingKind: string | undefined;
  /** Statement texts by name ("" is the unnamed statement), per connection. */
  private readonly statements = new Map<string, string>();

  constructor(private readonly counts: () => WireCounts) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (!this.startupDone) {
        if (this.buf.length < 8) return;
        const len = this.buf.readInt32BE(0);
        if (this.buf.length < len) return;
        const code = this.buf.readInt32BE(4);
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) this.startupDone = true;
        this.buf = this.buf.subarray(len);
        continue;
      }
      if (this.buf.length < 5) return;
      const type = String.fromCharCode(this.buf[0]!);
      const len = this.buf.readInt32BE(1);
      if (this.buf.length < 1 + len) return;
      this.message(type, this.buf.subarray(5, 1 + len));
      this.buf = this.buf.subarray(1 + len);
    }
  }

  private message(type: string, body: Buffer): void {
    if (type === "Q") {
      const text = body.subarray(0, body.indexOf(0)).toString("utf8");
      this.statement(text);
      this.roundTrip(keyword(text));
    } else if (type === "P") {
      // Parse: statement name (cstring), query (cstring), parameter types. A named statement is
      // parsed once per connection and then only bound, so remember its text.
      const nameEnd = body.indexOf(0);
      const name = body.subarray(0, nameEnd).toString("utf8");
      const text = body.subarray(nameEnd + 1, body.indexOf(0, nameEnd + 1)).toString("utf8");
      this.statements.set(name, text);
    } else if (type === "B") {
      // Bind: portal name (cstring), statement name (cstring), ...: the statement runs now.
      const portalEnd = body.indexOf(0);
      const name = body.subarray(portalEnd + 1, body.indexOf(0, portalEnd + 1)).toString("utf8");
      const text = this.statements.get(name) ?? "";
      this.statement(text);
      this.pendingKind = keyword(text);
    } else if (type === "S") {
      this.roundTrip(this.pendingKind ?? "(prepared)");
      this.pendingKind = undefined;
    }
  }

  private statement(text: string): void {
    const kind = keyword(text);
    // A WITH statement writes when one of its parts does (data-modifying CTEs).
    const writes =
      kind === "INSERT" ||
      kind === "UPDATE" ||
      kind === "DELETE" ||
      (kind === "WITH" && /\b(insert|update|delete)\b/i.test(text));
    if (kind === "BEGIN" || kind === "START") {
      this.inTransaction = true;
      this.wroteInTransaction = false;
    } else if (kind === "COMMIT" || kind === "END") {
      if (this.wroteInTransaction) this.counts().durableCommits++;
      this.inTransaction = false;
    } else if (kind === "ROLLBACK") {
      this.inTransaction = false;
    } else if (writes) {
      if (this.inTransaction) this.wroteInTransaction = true;
      else this.counts().durableCommits++;
    }
  }

  private roundTrip(kind: string): void {
    const c = this.counts();
    c.roundTrips++;
    c.byKind.set(kind, (c.byKind.get(kind) ?? 0) + 1);
  }
}

function keyword(sql: string): string {
  return (/^\s*([A-Za-z]+)/.exec(sql)?.[1] ?? "?").toUpperCase();
}

const emptyCounts = (): WireCounts => ({ roundTrips: 0, durableCommits: 0, byKind: new Map() });

export async function startPgCounter(databaseUrl: string): Promise<PgCounter> {
  const target = new URL(databaseUrl);
  let counts = emptyCounts();
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    const parser = new FrontendParser(() => counts);
    client.on("data", (chunk: Buffer) => {
      parser.push(chunk);
      upstream.write(chunk);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const url = new URL(databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String(typeof address === "object" && address ? address.port : 0);
  return {
    url: url.toString(),
    get counts() {
      return counts;
    },
    reset() {
      counts = emptyCounts();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
