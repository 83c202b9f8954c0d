/**
 * Probe 52 (TRANSPORT): the TLS edges of the compiled server's gRPC port with client
 * certificates required (CERTMINT_TLS_REQUIRE_CLIENT_CERT=true), met with raw node:tls clients:
 * old protocol versions, renegotiation (RFC 9113 9.2.1), ALPN without h2, and client chains that
 * are expired, long, huge or looping. Each must be refused at the handshake, in bounded work,
 * while a legitimate mTLS client is served. test/tls/ciphers.test.ts has TLS 1.1 and the cipher
 * suites, test/tls/own-ca.test.ts the serverAuth-only client certificate.
 */
import { type ConnectionOptions, connect, type TLSSocket } from "node:tls";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerOnDatabase, startOnFreshDatabase, stopOnDatabase } from "../../probe49/live";
import { TempDir } from "../../support/openssl";
import { healthCheckWith, type Issued, makeCa, makeLeaf } from "../../tls/pki";
import { issuerOf, makeCert, type Pem, rsaKeyPem } from "./client-chains";

const PREFACE = Buffer.concat([
  Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
  Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
]);

interface Attempt {
  /** The server sent its HTTP/2 SETTINGS: the connection was accepted. */
  accepted: boolean;
  alpn?: string | false | null;
  error?: string;
}

describe("probe52 transport: TLS edges with client certificates required", () => {
  const dir = new TempDir();
  let live: ServerOnDatabase;
  let serverCa: Issued;
  let clientCaKeyPem: string;
  let clientCa: ReturnType<typeof makeCert>;
  let good: Pem;
  let port: number;

  beforeAll(async () => {
    serverCa = makeCa(dir, "probe52 server CA");
    const serverLeaf = makeLeaf(dir, serverCa, "certmint", "server");
    clientCaKeyPem = rsaKeyPem();
    clientCa = makeCert({ cn: "probe52 client CA", keyPem: clientCaKeyPem, ca: true });
    good = makeCert({
      cn: "good client",
      keyPem: rsaKeyPem(),
      issuer: issuerOf(clientCa, "probe52 client CA"),
      ca: false,
    });
    live = await startOnFreshDatabase({
      CERTMINT_TLS_CERT_FILE: serverLeaf.certFile,
      CERTMINT_TLS_KEY_FILE: serverLeaf.keyFile,
      CERTMINT_TLS_CLIENT_CA_FILE: dir.file("client-ca.pem", clientCa.certPem),
      CERTMINT_TLS_REQUIRE_CLIENT_CERT: "true",
    });
    port = Number(live.server.address.split(":").at(-1));
  }, 240_000);
  afterAll(async () => {
    await stopOnDatabase([], live);
    dir.remove();
  });

  /** A TLS connection with `options`; once secure it sends the HTTP/2 preface. */
  function attempt(options: ConnectionOptions): Promise<Attempt> {
    return new Promise((resolve) => {
      let accepted = false;
      let error: string | undefined;
      const socket: TLSSocket = connect({
        host: "127.0.0.1",
        port,
        ca: serverCa.certPem,
        servername: "localhost",
        ALPNProtocols: ["h2"],
        ...options,
      });
      socket.on("secureConnect", () => socket.write(PREFACE));
      let received = Buffer.alloc(0);
      socket.on("data", (d: Buffer) => {
        received = Buffer.concat([received, d]);
        if (received.length < 9) return;
        // An HTTP/2 SETTINGS frame first, not (say) Node's "HTTP/1.0 403 Forbidden" to a
        // connection without ALPN.
        accepted = received[3] === 4;
        socket.destroy();
      });
      socket.on("error", (e: NodeJS.ErrnoException) => {
        error = e.code ?? e.message;
      });
      socket.on("close", () => resolve({ accepted, alpn: socket.alpnProtocol, error }));
    });
  }

  /** The legitimate mTLS client is served (a new connection). */
  async function legitimateServed(): Promise<void> {
    const creds = credentials.createSsl(
      Buffer.from(serverCa.certPem),
      Buffer.from(good.keyPem),
      Buffer.from(good.certPem),
    );
    expect(await healthCheckWith(`localhost:${port}`, creds)).toBe("SERVING");
  }

  it("the control: the good client certificate is accepted over TLS 1.3 and 1.2", async () => {
    for (const v of ["TLSv1.3", "TLSv1.2"] as const) {
      const a = await attempt({
        cert: good.certPem,
        key: good.keyPem,
        minVersion: v,
        maxVersion: v,
      });
      expect(a).toMatchObject({ accepted: true, alpn: "h2" });
    }
    await legitimateServed();
  });

  it("TLS 1.0 is refused", async () => {
    const a = await attempt({
      cert: good.certPem,
      key: good.keyPem,
      minVersion: "TLSv1",
      maxVersion: "TLSv1",
      ciphers: "DEFAULT@SECLEVEL=0",
    });
    expect(a.accepted).toBe(false);
  });

  it("a TLS 1.2 renegotiation on an HTTP/2 connection is refused (RFC 9113 9.2.1)", async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect({
        host: "127.0.0.1",
        port,
        ca: serverCa.certPem,
        servername: "localhost",
        ALPNProtocols: ["h2"],
        cert: good.certPem,
        key: good.keyPem,
        maxVersion: "TLSv1.2",
      });
      socket.on("error", () => undefined);
      socket.on("secureConnect", () => socket.write(PREFACE));
      let renegotiating = false;
      socket.on("data", () => {
        if (renegotiating) return;
        renegotiating = true;
        const started = socket.renegotiate({}, (err) => {
          if (err) resolve(`refused: ${err.message}`);
          else {
            resolve("renegotiated");
            socket.destroy();
          }
        });
        if (!started) resolve("refused: not started");
      });
      socket.on("close", () => resolve("refused: closed"));
    });
    expect(outcome).toMatch(/^refused/);
    await legitimateServed();
  });

  it.each([
    ["only http/1.1", ["http/1.1"]],
    ["none", undefined],
  ])("ALPN offering %s is not served HTTP/2", async (_l, alpn) => {
    const a = await attempt({ cert: good.certPem, key: good.keyPem, ALPNProtocols: alpn });
    expect(a.accepted).toBe(false);
    await legitimateServed();
  });

  it("an expired client certificate of the trusted CA is refused", async () => {
    const expired = makeCert({
      cn: "expired client",
      keyPem: rsaKeyPem(),
      issuer: issuerOf(clientCa, "probe52 client CA"),
      ca: false,
      from: new Date(Date.now() - 10 * 86_400_000),
      to: new Date(Date.now() - 86_400_000),
    });
    expect((await attempt({ cert: expired.certPem, key: expired.keyPem })).accepted).toBe(false);
  });

  it("a serverAuth-only certificate of the trusted CA, presented as a client certificate, is refused", async () => {
    const server = makeCert({
      cn: "a server",
      keyPem: rsaKeyPem(),
      issuer: issuerOf(clientCa, "probe52 client CA"),
      ca: false,
      eku: "serverAuth",
    });
    expect((await attempt({ cert: server.certPem, key: server.keyPem })).accepted).toBe(false);
  });

  it("a client certificate not yet valid is refused", async () => {
    const future = makeCert({
      cn: "future client",
      keyPem: rsaKeyPem(),
      issuer: issuerOf(clientCa, "probe52 client CA"),
      ca: false,
      from: new Date(Date.now() + 86_400_000),
      to: new Date(Date.now() + 10 * 86_400_000),
    });
    expect((await attempt({ cert: future.certPem, key: future.keyPem })).accepted).toBe(false);
  });

  it("a leaf under 40 intermediates that chain to no trusted CA is refused; others are served", async () => {
    const key = rsaKeyPem();
    let issuer = makeCert({ cn: "stranger 0", keyPem: key, ca: true });
    const chain = [issuer.certPem];
    for (let i = 1; i <= 40; i++) {
      issuer = makeCert({
        cn: `stranger ${i}`,
        keyPem: key,
        issuer: issuerOf(issuer, `stranger ${i - 1}`),
        ca: true,
      });
      chain.unshift(issuer.certPem);
    }
    const leaf = makeCert({
      cn: "deep",
      keyPem: key,
      issuer: issuerOf(issuer, "stranger 40"),
      ca: false,
    });
    expect((await attempt({ cert: [leaf.certPem, ...chain].join(""), key })).accepted).toBe(false);
    await legitimateServed();
  });

  it("a valid chain 12 intermediates deep under the trusted CA is accepted", async () => {
    const key = rsaKeyPem();
    let issuer = clientCa;
    let issuerCn = "probe52 client CA";
    const chain: string[] = [];
    for (let i = 1; i <= 12; i++) {
      issuer = makeCert({
        cn: `sub ${i}`,
        keyPem: key,
        issuer: issuerOf(issuer, issuerCn),
        ca: true,
      });
      issuerCn = `sub ${i}`;
      chain.unshift(issuer.certPem);
    }
    const leaf = makeCert({
      cn: "deep but rooted",
      keyPem: key,
      issuer: issuerOf(issuer, issuerCn),
      ca: false,
    });
    const a = await attempt({ cert: [leaf.certPem, ...chain].join(""), key });
    // Valid: every intermediate a CA without a path length, the leaf clientAuth, all in date.
    expect(a.accepted).toBe(true);
    await legitimateServed();
  });

  it("two intermediates that sign each other (a loop) under the leaf are refused", async () => {
    const keyA = rsaKeyPem();
    const keyB = rsaKeyPem();
    const selfA = makeCert({ cn: "loop A", keyPem: keyA, ca: true });
    const selfB = makeCert({ cn: "loop B", keyPem: keyB, ca: true });
    const aByB = makeCert({
      cn: "loop A",
      keyPem: keyA,
      issuer: issuerOf(selfB, "loop B"),
      ca: true,
    });
    const bByA = makeCert({
      cn: "loop B",
      keyPem: keyB,
      issuer: issuerOf(selfA, "loop A"),
      ca: true,
    });
    const leaf = makeCert({
      cn: "looped",
      keyPem: keyA,
      issuer: issuerOf(selfA, "loop A"),
      ca: false,
    });
    const chain = [leaf.certPem, aByB.certPem, bByA.certPem, aByB.certPem, bByA.certPem].join("");
    expect((await attempt({ cert: chain, key: keyA })).accepted).toBe(false);
    await legitimateServed();
  });

  it("a 1 MB client chain (16 certificates of 64 KB) is refused; others are served", async () => {
    const key = rsaKeyPem();
    const big = makeCert({ cn: "padded", keyPem: key, ca: true, padding: 64 * 1024 });
    const leaf = makeCert({
      cn: "huge",
      keyPem: key,
      issuer: issuerOf(big, "padded"),
      ca: false,
      padding: 64 * 1024,
    });
    const chain = [leaf.certPem, ...Array.from({ length: 15 }, () => big.certPem)].join("");
    expect((await attempt({ cert: chain, key })).accepted).toBe(false);
    await legitimateServed();
  });
});
