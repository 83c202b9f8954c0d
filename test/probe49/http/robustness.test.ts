/**
 * Probe 49 (HTTP): what one client's malformed or slow HTTP costs on the publication port and the
 * ACME listener of the compiled server (no load: a few sockets each). The handshake timeout is
 * 500 ms here (CERTMINT_HANDSHAKE_TIMEOUT_MS; README "Connections": a connection must send its
 * request headers within it), so a connection the server should close is closed long before the
 * waits below give up (they bound a hung test only, at 30 times the limit; Node's own TLS
 * handshake default is 120 s, its request timeout 300 s).
 */
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { START_LIMIT_MS } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { type LiveServer, plainRequest, rawExchange, startLiveServer } from "./live-server";

const HANDSHAKE_MS = 500;
/** A bound for a hung test: 30 times the limit under test. */
const CLOSED_WITHIN_MS = 30 * HANDSHAKE_MS;

interface Held {
  socket: Socket | TLSSocket;
  received(): string;
  isClosed(): boolean;
}

function hold(socket: Socket | TLSSocket): Held {
  let data = "";
  let closed = false;
  socket.on("data", (d: Buffer) => {
    data += d.toString("latin1");
  });
  socket.on("error", () => undefined);
  socket.on("close", () => {
    closed = true;
  });
  return { socket, received: () => data, isClosed: () => closed };
}

describe("probe 49: slow and malformed HTTP against the compiled server", () => {
  let live: LiveServer;
  let ca: Buffer;
  const timers: NodeJS.Timeout[] = [];
  const sockets: Array<Socket | TLSSocket> = [];

  beforeAll(async () => {
    live = await startLiveServer({ CERTMINT_HANDSHAKE_TIMEOUT_MS: String(HANDSHAKE_MS) });
    ca = readFileSync(live.acmeCaFile);
  }, 2 * START_LIMIT_MS);

  afterAll(async () => {
    for (const t of timers) clearInterval(t);
    for (const s of sockets) s.destroy();
    await live?.stop();
  });

  const tcp = (port: number) =>
    new Promise<Held>((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port }, () => resolve(held));
      const held = hold(s);
      sockets.push(s);
      s.once("error", reject);
    });
  const tls = () =>
    new Promise<Held>((resolve, reject) => {
      const s = tlsConnect({ host: "127.0.0.1", port: live.acmePort, ca }, () => resolve(held));
      const held = hold(s);
      sockets.push(s);
      s.once("error", reject);
    });
  /** Writes one byte of `text` at a time, every 100 ms, while the socket is open. */
  const dribble = (h: Held, text: string) => {
    let i = 0;
    const t = setInterval(() => {
      if (h.isClosed() || i >= text.length) {
        clearInterval(t);
        return;
      }
      h.socket.write(text[i++]!);
    }, 100);
    timers.push(t);
  };
  const publicationOk = async () => {
    const r = await plainRequest(live.publicationPort, `/ca/${live.caId}.crt`);
    expect(r.status).toBe(200);
  };
  const acmeOk = async () => {
    const h = await tls();
    h.socket.write(
      `GET /acme/web-acme/directory HTTP/1.1\r\nHost: 127.0.0.1:${live.acmePort}\r\nConnection: close\r\n\r\n`,
    );
    await waitFor("the directory", () => h.isClosed());
    expect(h.received()).toMatch(/^HTTP\/1\.1 200 /);
  };
  const status = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
  const noStack = (raw: string) =>
    expect(raw).not.toMatch(/\n\s+at \S+ \(|node:internal|\/dist\/src\//);

  describe("the publication port", () => {
    it("a request whose headers arrive a byte at a time (slowloris) is closed; others are served meanwhile", async () => {
      const slow = await tcp(live.publicationPort);
      dribble(slow, `GET /ca/${live.caId}.crt HTTP/1.1\r\nHost: x\r\nX-Pad: ${"a".repeat(500)}`);
      await publicationOk();
      await waitFor("the slow connection closed", () => slow.isClosed(), CLOSED_WITHIN_MS);
      expect(slow.received()).toMatch(/^(HTTP\/1\.1 408 |$)/);
    });

    it("a POST /ocsp whose chunked body never ends, or whose body is shorter than its Content-Length, is closed", async () => {
      const chunked = await tcp(live.publicationPort);
      chunked.socket.write(
        "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0\x82\x00\x10\r\n",
      );
      const short = await tcp(live.publicationPort);
      short.socket.write(
        "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\nContent-Length: 100\r\n\r\n0123456789",
      );
      await publicationOk();
      await waitFor(
        "both connections closed",
        () => chunked.isClosed() && short.isClosed(),
        CLOSED_WITHIN_MS,
      );
      await publicationOk();
    });

    it("oversized headers are 431, request smuggling forms 400, a missing Host 400; never a stack trace", async () => {
      const cases: Array<[string, string, number[]]> = [
        [
          "20 KB of headers",
          `GET /ca/${live.caId}.crt HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
          [431],
        ],
        [
          "Content-Length and Transfer-Encoding",
          "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
          [400],
        ],
        [
          "two different Content-Lengths",
          "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
          [400],
        ],
        [
          "a negative Content-Length",
          "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
          [400],
        ],
        ["no Host", `GET /ca/${live.caId}.crt HTTP/1.1\r\n\r\n`, [400]],
        ["a control character in a header", "GET / HTTP/1.1\r\nHost: x\x01y\r\n\r\n", [400]],
        ["a bare LF request", `GET /ca/${live.caId}.crt HTTP/1.1\nHost: x\n\n`, [200, 400]],
        [
          "an unknown HTTP version",
          `GET /ca/${live.caId}.crt HTTP/7.0\r\nHost: x\r\n\r\n`,
          [400, 505],
        ],
      ];
      for (const [what, bytes, expected] of cases) {
        const raw = await rawExchange(
          live.publicationPort,
          (s) => s.write(bytes),
          (got) => got.includes("\r\n\r\n"),
        );
        expect(expected, `${what}: ${raw.slice(0, 80)}`).toContain(status(raw));
        noStack(raw);
      }
      await publicationOk();
    });

    it("pipelined requests are answered in order on one connection", async () => {
      const paths = [`/ca/${live.caId}.crt`, "/nope", `/crl/${live.caId}.crl`];
      const raw = await rawExchange(live.publicationPort, (s) =>
        s.write(
          paths
            .map(
              (p, i) =>
                `GET ${p} HTTP/1.1\r\nHost: x${i === 2 ? "\r\nConnection: close" : ""}\r\n\r\n`,
            )
            .join(""),
        ),
      );
      const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
      expect(statuses).toEqual([200, 404, 200]);
    });
  });

  describe("the ACME listener (HTTPS)", () => {
    it("a TCP connection that never starts TLS is closed within the handshake timeout, as on the gRPC port", async () => {
      // README "Connections" / CERTMINT_HANDSHAKE_TIMEOUT_MS: "a new connection must finish TLS
      // ... within this, or it is closed". Node's https server waits 120 s by default
      // (tls.Server handshakeTimeout), which the ACME listener does not set.
      const silent = await tcp(live.acmePort);
      const partial = await tcp(live.acmePort);
      partial.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])); // half a ClientHello
      await acmeOk();
      await waitFor(
        "connections stuck before TLS closed",
        () => silent.isClosed() && partial.isClosed(),
        CLOSED_WITHIN_MS,
      );
    });

    it("a request whose headers arrive a byte at a time over TLS is closed; others are served meanwhile", async () => {
      const slow = await tls();
      dribble(
        slow,
        `GET /acme/web-acme/directory HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ${"a".repeat(500)}`,
      );
      await acmeOk();
      await waitFor("the slow connection closed", () => slow.isClosed(), CLOSED_WITHIN_MS);
    });

    it("a request target in absolute form is the same resource (RFC 9112 3.2.2: a server MUST accept it)", async () => {
      // The publication port takes it (src/server/http-server.ts requestPath); the ACME
      // listener matches req.url against /acme/... as it came (src/acme/http/server.ts serve).
      const h = await tls();
      h.socket.write(
        `GET https://127.0.0.1:${live.acmePort}/acme/web-acme/directory HTTP/1.1\r\nHost: 127.0.0.1:${live.acmePort}\r\nConnection: close\r\n\r\n`,
      );
      await waitFor("the answer", () => h.isClosed());
      expect(status(h.received()), h.received().slice(0, 300)).toBe(200);
      const p = await rawExchange(live.publicationPort, (s) =>
        s.write(
          `GET http://pki.test.internal/ca/${live.caId}.crt HTTP/1.1\r\nHost: pki.test.internal\r\nConnection: close\r\n\r\n`,
        ),
      );
      expect(status(p)).toBe(200);
    });

    it("a Host that is no host name is a malformed problem, not URLs made of it", async () => {
      for (const host of ["evil.example/x?", "a b", "127.0.0.1:99999999"]) {
        const h = await tls();
        h.socket.write(
          `GET /acme/web-acme/directory HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        );
        await waitFor("the answer", () => h.isClosed());
        const raw = h.received();
        expect([400], `${host}: ${raw.slice(0, 200)}`).toContain(status(raw));
        expect(raw).not.toContain("evil.example/x");
        noStack(raw);
      }
    });
  });
});
