/**
 * What a connection may cost (issue 10 item 5, src/server/connection-limits.ts and
 * src/server/publication.ts): connections that never finish the HTTP/2 preface (or send no
 * HTTP request) are closed within the handshake timeout, idle ones after the idle timeout,
 * old ones are told to reconnect, the server pings, and beyond the cap new connections are
 * closed at once while the connections already open keep working.
 */
import { connect as h2connect } from "node:http2";
import { connect, type Socket } from "node:net";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { TempDir } from "../support/openssl";
import { OWN_CONNECTION } from "../support/own-connection";
import { rawCall } from "../support/raw-grpc";
import {
  HealthClientWithOptions,
  healthCheckWith,
  makeCa,
  makeLeaf,
  tlsHealthCheck,
  waitFor,
} from "../tls/pki";

/** A raw TCP connection that sends nothing (or what the test writes); resolves when closed. */
interface RawConnection {
  socket: Socket;
  /** Everything the server sent. */
  received(): string;
  /** Settles once the socket is closed (by the server: the test never closes it first). */
  closed: Promise<void>;
  isClosed(): boolean;
}

/** A raw connection from `localAddress` (any of 127.0.0.0/8 is loopback on Linux). */
function openRaw(port: number, localAddress = "127.0.0.1"): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress });
    let data = "";
    let closed = false;
    socket.on("data", (d) => {
      data += d.toString("latin1");
    });
    // A reset by the server is a close like any other here.
    socket.on("error", () => undefined);
    const closedPromise = new Promise<void>((r) =>
      socket.once("close", () => {
        closed = true;
        r();
      }),
    );
    socket.once("connect", () =>
      resolve({
        socket,
        received: () => data,
        closed: closedPromise,
        isClosed: () => closed,
      }),
    );
    socket.once("error", reject);
  });
}

/** Resolves `p`, or fails the test after `ms` (a generous overall limit, never a sleep). */
function within<T>(what: string, p: Promise<T>, ms = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

const health = (address: string) => healthCheckWith(address, credentials.createInsecure());

describe("timeouts: handshake 500 ms, idle 1.5 s, maximum age 3 s, keepalive 1 s", () => {
  let h: TestCertmint;
  let grpcPort: number;
  let httpPort: number;

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_HANDSHAKE_TIMEOUT_MS: "500",
      CERTMINT_CONNECTION_IDLE_TIMEOUT_MS: "1500",
      CERTMINT_CONNECTION_MAX_AGE_MS: "3000",
      CERTMINT_CONNECTION_MAX_AGE_GRACE_MS: "500",
      CERTMINT_KEEPALIVE_TIME_MS: "1000",
      CERTMINT_PUBLICATION_LISTEN: "127.0.0.1:0",
    });
    grpcPort = h.running.port;
    httpPort = h.running.publicationPort!;
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("200 TCP connections that never send the HTTP/2 preface are all closed by the server; it stays healthy", async () => {
    const raws = await Promise.all(Array.from({ length: 200 }, () => openRaw(grpcPort)));
    await within(
      "the server to close 200 silent connections",
      Promise.all(raws.map((r) => r.closed)),
    );
    // Neither the closing nor the flood disturbed anything: a new client is served.
    expect(await health(h.address)).toBe("SERVING");
    const res = await new Promise<unknown>((resolve, reject) =>
      h.accessTokens.listAccessTokens({ pageSize: 1, pageToken: "" }, (err, r) =>
        err ? reject(err) : resolve(r),
      ),
    );
    expect(res).toBeDefined();
  });

  it("a connection that sends half the preface and stalls (slowloris) is closed too", async () => {
    const raw = await openRaw(grpcPort);
    raw.socket.write("PRI * HTTP/2.0\r\n");
    await within("the server to close a stalled preface", raw.closed);
  });

  it("a connection with a call in flight is told to reconnect at its maximum age, then closed after the grace", async () => {
    const session = h2connect(`http://${h.address}`);
    session.on("error", () => undefined);
    const goaway = new Promise<string>((resolve) =>
      session.once("goaway", (_code, _last, data) => resolve(data?.toString() ?? "")),
    );
    const closed = new Promise<void>((resolve) => session.once("close", resolve));
    // A call whose request message never comes keeps the connection busy, so it is never idle.
    const stream = session.request(
      {
        ":method": "POST",
        ":path": "/grpc.health.v1.Health/Check",
        "content-type": "application/grpc",
        te: "trailers",
      },
      { endStream: false },
    );
    stream.on("error", () => undefined);
    expect(await within("the GOAWAY at the maximum age", goaway)).toBe("max_age");
    await within("the connection to close after the grace period", closed);
  });

  it("the server pings every connection (keepalive)", async () => {
    const session = h2connect(`http://${h.address}`);
    session.on("error", () => undefined);
    try {
      // A call first: a connection that makes none is sent away after the handshake timeout
      // (connection-limits.ts firstCallDue, since stop 59), before any ping.
      expect((await rawCall(session, "/grpc.health.v1.Health/Check")).status).toBe(0);
      await within(
        "a keepalive PING from the server",
        new Promise<void>((resolve) => session.once("ping", () => resolve())),
      );
    } finally {
      session.destroy();
    }
  });

  it("the publication port closes connections that send no request (408) and still serves requests", async () => {
    const raws = await Promise.all(Array.from({ length: 50 }, () => openRaw(httpPort)));
    await within(
      "the publication server to close 50 silent connections",
      Promise.all(raws.map((r) => r.closed)),
    );
    expect(raws[0]!.received()).toMatch(/^HTTP\/1\.1 408 /);
    const res = await fetch(
      `http://127.0.0.1:${httpPort}/crl/00000000-0000-0000-0000-000000000000.crl`,
    );
    expect(res.status).toBe(404);
  });
});

describe("the idle timeout alone (idle 1.5 s, maximum age 10 min)", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_CONNECTION_IDLE_TIMEOUT_MS: "1500",
      CERTMINT_CONNECTION_MAX_AGE_MS: "600000",
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("advertises 250 calls at once per connection by default (Go's net/http2 default)", async () => {
    expect((await serverSettings(h.address)).maxConcurrentStreams).toBe(250);
  });

  it("an idle HTTP/2 connection gets a GOAWAY after the idle timeout and is closed", async () => {
    const session = h2connect(`http://${h.address}`);
    session.on("error", () => undefined);
    const goaway = new Promise<{ code: number; data: string }>((resolve) =>
      session.once("goaway", (code, _last, data) =>
        resolve({ code, data: data?.toString() ?? "" }),
      ),
    );
    const closed = new Promise<void>((resolve) => session.once("close", resolve));
    // A GOAWAY (graceful close) is the idle timeout: the handshake deadline destroys the
    // socket without one, and this server's maximum age (10 min) cannot come first, however
    // late a loaded machine runs the idle timer.
    const got = await within("a GOAWAY on an idle connection", goaway);
    expect(got.code).toBe(0);
    expect(got.data).not.toBe("max_age");
    await within("the idle connection to close", closed);
  });
});

/** The HTTP/2 SETTINGS a server sends a new connection. */
async function serverSettings(address: string) {
  const session = h2connect(`http://${address}`);
  session.on("error", () => undefined);
  try {
    return await within(
      "the server's SETTINGS",
      new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
        session.once("remoteSettings", resolve),
      ),
    );
  } finally {
    session.close();
  }
}

describe("calls open at once on one connection (CERTMINT_MAX_CONCURRENT_STREAMS)", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_MAX_CONCURRENT_STREAMS: "4" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("the server advertises the setting, and a client's calls beyond it wait their turn and are answered", async () => {
    // Node's own default is 2^32-1: no bound on the answers one connection can leave unread.
    expect((await serverSettings(h.address)).maxConcurrentStreams).toBe(4);
    // 12 calls at once on the clients' one connection: the client queues those beyond 4.
    const codes = await Promise.all(
      Array.from(
        { length: 12 },
        () =>
          new Promise<number>((resolve) =>
            h.certificates.getCertificate({ certificate: "01" }, (err) => resolve(err?.code ?? 0)),
          ),
      ),
    );
    expect(codes).toEqual(Array(12).fill(5)); // NOT_FOUND, each answered
  });
});

describe("the connection cap (CERTMINT_MAX_CONNECTIONS=4)", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_MAX_CONNECTIONS: "4",
      // Long enough that the raw connections below stay open until the test closes them.
      CERTMINT_HANDSHAKE_TIMEOUT_MS: "600000",
      CERTMINT_PUBLICATION_LISTEN: "127.0.0.1:0",
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("beyond the cap new connections are closed at once; the open client keeps working; freed slots serve new clients", async () => {
    // One client with its own connection, before the flood.
    const client = new HealthClientWithOptions(
      h.address,
      credentials.createInsecure(),
      OWN_CONNECTION,
    );
    const check = () =>
      new Promise<string>((resolve, reject) =>
        client.check({ service: "" }, { deadline: Date.now() + 10_000 }, (err, res) =>
          err ? reject(err) : resolve(res.status),
        ),
      );
    try {
      expect(await check()).toBe("SERVING");
      // Three silent connections fill the cap of four (from other addresses: one address may
      // hold only a quarter of the port's connections, here the client's one).
      const fill = [];
      for (let i = 0; i < 3; i++) fill.push(await openRaw(h.running.port, `127.0.0.${11 + i}`));
      // The server accepts in order, so the next one finds four open and is closed at once.
      const refused = await openRaw(h.running.port, "127.0.0.14");
      await within("the connection beyond the cap to be closed", refused.closed);
      expect(fill.some((r) => r.isClosed())).toBe(false);
      // The client connected before is still served on its connection.
      expect(await check()).toBe("SERVING");
      // Freed slots: once the silent connections (and this client's) are gone, new clients
      // are served again.
      for (const r of fill) r.socket.destroy();
      client.close();
      await waitFor(
        "a new connection to be served",
        () =>
          health(h.address).then(
            (s) => s === "SERVING",
            () => false,
          ),
        30_000,
      );
    } finally {
      client.close();
    }
  });

  it("the publication port has the same cap", async () => {
    const port = h.running.publicationPort!;
    // From four addresses: one address may hold only a quarter of the port's connections.
    const fill = [];
    for (let i = 0; i < 4; i++) fill.push(await openRaw(port, `127.0.0.${11 + i}`));
    const refused = await openRaw(port, "127.0.0.15");
    await within("the connection beyond the cap to be closed", refused.closed);
    expect(fill.some((r) => r.isClosed())).toBe(false);
    for (const r of fill) r.socket.destroy();
  });
});

describe("the share of one client address (CERTMINT_MAX_CONNECTIONS=8)", () => {
  let quarter: TestCertmint;
  let set: TestCertmint;

  beforeAll(async () => {
    // Long enough that the raw connections below stay open until the test closes them.
    const base = { CERTMINT_MAX_CONNECTIONS: "8", CERTMINT_HANDSHAKE_TIMEOUT_MS: "600000" };
    quarter = await startTestCertmint(base);
    set = await startTestCertmint({
      ...base,
      CERTMINT_MAX_CONNECTIONS_PER_ADDRESS: "6",
      CERTMINT_PUBLICATION_LISTEN: "127.0.0.1:0",
    });
  });
  afterAll(async () => {
    await quarter?.stop();
    await set?.stop();
  });

  /** `held` connections from `address` stay open and the next one from it is closed at once. */
  async function expectShare(port: number, address: string, held: number) {
    const open = [];
    for (let i = 0; i < held; i++) open.push(await openRaw(port, address));
    const refused = await openRaw(port, address);
    await within("the connection past the address's share to be closed", refused.closed);
    expect(open.filter((r) => r.isClosed())).toEqual([]);
    return open;
  }

  it("unset, a quarter of the cap: 2 connections from one address, the third closed; another address is served", async () => {
    const open = await expectShare(quarter.running.port, "127.0.0.31", 2);
    expect(await health(quarter.address)).toBe("SERVING");
    for (const r of open) r.socket.destroy();
  });

  it("CERTMINT_MAX_CONNECTIONS_PER_ADDRESS=6: 6 from one address (a NAT in front), the seventh closed; on the publication port too", async () => {
    const grpc = await expectShare(set.running.port, "127.0.0.41", 6);
    expect(await health(set.address)).toBe("SERVING");
    const publication = await expectShare(set.running.publicationPort!, "127.0.0.42", 6);
    const res = await fetch(
      `http://127.0.0.1:${set.running.publicationPort}/crl/00000000-0000-0000-0000-000000000000.crl`,
    );
    expect(res.status).toBe(404);
    for (const r of [...grpc, ...publication]) r.socket.destroy();
  });
});

describe("the handshake deadline on a TLS port (500 ms; Node's own TLS default is 120 s)", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  let caPem: string;

  beforeAll(async () => {
    const ca = makeCa(dir, "connections test CA");
    const server = makeLeaf(dir, ca, "certmint.test", "server");
    caPem = ca.certPem;
    h = await startTestCertmint({
      CERTMINT_HANDSHAKE_TIMEOUT_MS: "500",
      CERTMINT_TLS_CERT_FILE: server.certFile,
      CERTMINT_TLS_KEY_FILE: server.keyFile,
    });
  });
  afterAll(async () => {
    await h?.stop();
    dir.remove();
  });

  it("connections that never start or never finish the TLS handshake are closed; TLS clients are served", async () => {
    const silent = await Promise.all(Array.from({ length: 20 }, () => openRaw(h.running.port)));
    // The first bytes of a ClientHello (a TLS record header), then nothing.
    const stalled = await openRaw(h.running.port);
    stalled.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
    await within(
      "the server to close connections stuck before the TLS handshake ends",
      Promise.all([...silent, stalled].map((r) => r.closed)),
    );
    expect(await tlsHealthCheck(h.running.port, caPem)).toBe("SERVING");
  });
});
