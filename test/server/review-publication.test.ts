/**
 * Review of the publication port (CRLs, CA certificates, OCSP: no credentials) as one anonymous
 * client against everyone else. Before 2026-12-03 (fifth stop):
 * - one address could hold all 64 requests in flight (16 connections of 4 pipelined requests),
 *   and every other relying party got 503;
 * - one address could hold every connection the port accepts (CERTMINT_MAX_CONNECTIONS), so
 *   every other client's connection was closed at once (the gRPC and ACME ports too: the same
 *   cap, and now the same share per address);
 * - every GET /ca/<id>.crt read the CA's row: a flood of them made IssueCertificate ~9 times
 *   slower;
 * - every OCSP request with a nonce (or for a made-up serial) read the database three times and
 *   was signed, with no bound per address or on how many ran at once: 16 keep-alive connections
 *   sending such requests made IssueCertificate ~10 times slower (p50 20 ms to 200-300 ms).
 * Clients come from several loopback addresses (127.0.0.0/8 is loopback on Linux).
 */
import { randomBytes } from "node:crypto";
import { request as httpRequest, ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { credentials } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { OCSP_MAX_SIGNINGS_IN_FLIGHT } from "../../src/issuance/ca/ocsp";
import { CaPublisher, KNOWN_CA_REFRESH_MS } from "../../src/issuance/ca/publication";
import { connectionsPerAddress } from "../../src/server/connections-per-address";
import {
  MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS,
  MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION,
} from "../../src/server/http-server";
import { OrmCaRepository } from "../../src/store/repositories/certificate-authorities";
import { OrmCertificateRepository } from "../../src/store/repositories/certificates";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { opensslOk, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { hex, nul, octets, seq, tlv } from "../support/raw-der";
import { waitFor } from "../support/wait";
import { healthCheckWith } from "../tls/pki";

/** The port's connection cap in this file: a quarter of it per address is 10. */
const MAX_CONNECTIONS = 40;
/** Signed OCSP responses per second per address in this file (burst: ten seconds' worth). */
const SIGNINGS_PER_SECOND = 2;

const SHA1 = hex("06 05 2b 0e 03 02 1a");
const NONCE = hex("06 09 2b 06 01 05 05 07 30 01 02");
const SUCCESSFUL = 0;
const TRY_LATER = 3;

/** An OCSPRequest (RFC 6960 4.1.1) for one serial, with a nonce (RFC 8954) when given. */
function ocspRequest(issuer: { name: Buffer; key: Buffer }, serial: Buffer, nonce?: Buffer) {
  const certId = seq(seq(SHA1, nul()), octets(issuer.name), octets(issuer.key), tlv(0x02, serial));
  const extensions = nonce ? [tlv(0xa2, seq(seq(NONCE, octets(octets(nonce)))))] : [];
  return seq(seq(seq(seq(certId)), ...extensions));
}

/** The OCSPResponseStatus of a DER OCSPResponse. */
function responseStatus(der: Buffer): number {
  const at = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
  return der[at + 2]!;
}

/** A request over a connection of its own from `localAddress`. */
function send(
  port: number,
  options: { path: string; method?: string; body?: Buffer; localAddress?: string },
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path: options.path,
        method: options.method ?? "GET",
        localAddress: options.localAddress ?? "127.0.0.1",
        agent: false,
        headers: options.body
          ? { "content-type": "application/ocsp-request", "content-length": options.body.length }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A raw connection from `localAddress`; the status lines of its answers, in order. */
async function rawConnection(port: number, localAddress: string) {
  const socket = connect({ host: "127.0.0.1", port, localAddress });
  const statuses: number[] = [];
  let closed = false;
  socket.on("data", (chunk: Buffer) => {
    for (const m of chunk.toString("latin1").matchAll(/HTTP\/1\.1 (\d{3})/g)) {
      statuses.push(Number(m[1]));
    }
  });
  socket.on("error", () => undefined);
  socket.on("close", () => {
    closed = true;
  });
  await new Promise((r) => socket.once("connect", r));
  return {
    socket,
    statuses,
    get closed() {
      return closed;
    },
  };
}

describe("the publication port: one address against everyone else", () => {
  let h: TestCertmint;
  let port = 0;
  let rootId = "";
  let otherId = "";
  let issuer: { name: Buffer; key: Buffer };
  let goodSerial: Buffer;
  const sockets: Socket[] = [];
  const tmp = new TempDir();

  beforeAll(async () => {
    const publicationPort = await unusedPort();
    h = await startTestCertmint({
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${publicationPort}`,
      CERTMINT_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
      CERTMINT_OCSP_SIGNINGS_PER_ADDRESS_PER_SECOND: String(SIGNINGS_PER_SECOND),
      CERTMINT_OCSP_CACHE_SECONDS: "3600",
      // The ACME listener (plain HTTP on loopback) has the same connection share.
      CERTMINT_ACME_LISTEN: "127.0.0.1:0",
    });
    port = h.running.publicationPort!;
    const root = await createRoot(h, "review-root");
    rootId = root.id;
    otherId = (await createRoot(h, "review-other")).id;
    await createProfileRows(h, { slug: "web", caId: rootId });
    const issued = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn: "good.example.com", dns: ["good.example.com"] }),
    );
    goodSerial = Buffer.from(issued.certificate!.serialNumber, "hex");
    const text = opensslOk([
      "ocsp",
      "-issuer",
      tmp.file("ca.pem", root.certificatePem),
      "-sha1",
      "-serial",
      "0x01",
      "-req_text",
      "-no_nonce",
    ]);
    issuer = {
      name: Buffer.from(/Issuer Name Hash: ([0-9A-F]+)/.exec(text)![1]!, "hex"),
      key: Buffer.from(/Issuer Key Hash: ([0-9A-F]+)/.exec(text)![1]!, "hex"),
    };
  });
  afterEach(() => {
    vi.restoreAllMocks();
    for (const s of sockets.splice(0)) s.destroy();
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const raw = async (localAddress: string) => {
    const c = await rawConnection(port, localAddress);
    sockets.push(c.socket);
    return c;
  };
  const ocsp = (body: Buffer, localAddress: string) =>
    send(port, { path: "/ocsp", method: "POST", body, localAddress }).then((r) => {
      expect(r.status).toBe(200);
      return r.body;
    });

  /** Holds `method` of `proto` for calls whose first argument (or its id) is `arg`, until released. */
  const hold = <T extends object>(proto: T, method: keyof T, arg?: string) => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const held = { count: 0, release };
    const original = proto[method] as (...a: unknown[]) => Promise<unknown>;
    vi.spyOn(proto, method as never).mockImplementation(async function (
      this: unknown,
      ...args: unknown[]
    ) {
      const first = args[0] as { id?: string } | string;
      if (arg === undefined || (typeof first === "string" ? first : first?.id) === arg) {
        held.count += 1;
        await gate;
      }
      return original.apply(this, args);
    } as never);
    return held;
  };

  it("one address holds at most its share of the requests in flight; another is served", async () => {
    const held = hold(CaPublisher.prototype, "caCertificate", rootId);
    const refused: number[] = [];
    const writeHead = ServerResponse.prototype.writeHead;
    vi.spyOn(ServerResponse.prototype, "writeHead").mockImplementation(function (
      this: ServerResponse,
      ...args: Parameters<ServerResponse["writeHead"]>
    ) {
      if (args[0] === 503) refused.push(503);
      return writeHead.apply(this, args);
    });
    // Five connections of four pipelined requests: 20, more than the address's share (16)
    // and less than the port's (64).
    const per = MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION;
    const conns: Awaited<ReturnType<typeof raw>>[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await raw("127.0.0.1");
      c.socket.write(`GET /ca/${rootId}.crt HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(per));
      conns.push(c);
    }
    const beyond = 5 * per - MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS;
    await waitFor(
      "the address's share held and the rest refused, or more than its share held",
      () =>
        held.count > MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS ||
        (held.count === MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS && refused.length === beyond),
    );
    expect(held.count).toBe(MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS);
    // Another relying party, from another address, is served meanwhile.
    const other = await send(port, { path: `/ca/${otherId}.crt`, localAddress: "127.0.0.2" });
    expect(other.status).toBe(200);
    held.release();
    for (const c of conns) await waitFor("the answers", () => c.statuses.length === per);
    const statuses = conns.flatMap((c) => c.statuses);
    expect(statuses.filter((s) => s === 200)).toHaveLength(MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS);
    expect(statuses.filter((s) => s === 503)).toHaveLength(beyond);
  });

  it("one address holds at most a quarter of the port's connections; another connects", async () => {
    const share = connectionsPerAddress({ maxConnections: MAX_CONNECTIONS });
    expect(share).toBe(MAX_CONNECTIONS / 4);
    const flood: Awaited<ReturnType<typeof raw>>[] = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) flood.push(await raw("127.0.0.2"));
    await waitFor(
      "the connections past the address's share closed",
      () => flood.filter((c) => c.closed).length >= MAX_CONNECTIONS - share,
    );
    // Before: the port was full, and this connection was closed at once.
    const mine = await send(port, { path: `/ca/${rootId}.crt`, localAddress: "127.0.0.1" });
    expect(mine.status).toBe(200);
    expect(flood.filter((c) => !c.closed)).toHaveLength(share);
    // The connections it kept still work.
    const kept = flood.find((c) => !c.closed)!;
    kept.socket.write(`GET /ca/${rootId}.crt HTTP/1.1\r\nHost: x\r\n\r\n`);
    await waitFor("the kept connection's answer", () => kept.statuses.length === 1);
    expect(kept.statuses).toEqual([200]);
    // Once closed, the address's places are given back.
    for (const c of flood) c.socket.destroy();
    await waitFor("a new connection from that address served", () =>
      send(port, { path: `/ca/${rootId}.crt`, localAddress: "127.0.0.2" }).then(
        (again) => again.status === 200,
        // Closed at once while the server has not yet seen the others close.
        () => false,
      ),
    );
  });

  it.each(["gRPC", "ACME"] as const)(
    "the %s port has the same share per address (without any credential, one address could fill it)",
    async (which) => {
      const target = which === "gRPC" ? h.running.port : h.running.acmePort!;
      const share = connectionsPerAddress({ maxConnections: MAX_CONNECTIONS });
      let closed = 0;
      for (let i = 0; i < MAX_CONNECTIONS; i++) {
        const socket = connect({ host: "127.0.0.1", port: target, localAddress: "127.0.0.2" });
        sockets.push(socket);
        socket.on("error", () => undefined);
        socket.on("close", () => {
          closed += 1;
        });
        // Read, or a close by the server goes unnoticed.
        socket.resume();
        await new Promise((r) => socket.once("connect", r));
      }
      await waitFor(
        "the connections past the share closed",
        () => closed >= MAX_CONNECTIONS - share,
      );
      // Before: every new connection was closed at once (gRPC: UNAVAILABLE) until the flood's
      // handshake timeout, and the flood opens them again.
      if (which === "gRPC") {
        expect(await healthCheckWith(h.address, credentials.createInsecure())).toBe("SERVING");
      } else {
        const answer = await send(target, { path: "/acme/none/directory" });
        expect(answer.status).toBe(404);
      }
      expect(closed).toBe(MAX_CONNECTIONS - share);
    },
  );

  it("OCSP responses signed for one address are bounded per second; cached answers and other addresses are not", async () => {
    const burst = 10 * SIGNINGS_PER_SECOND;
    // A cached answer: signed once (for 127.0.0.1), then served from the cache to anyone.
    const plain = ocspRequest(issuer, goodSerial);
    const cached = await ocsp(plain, "127.0.0.1");
    expect(responseStatus(cached)).toBe(SUCCESSFUL);

    const started = performance.now();
    const statuses: number[] = [];
    // Until the first refusal (a machine slow enough would refill the bucket as fast as it
    // asks; none is that slow), at most burst + 200 requests.
    while (!statuses.includes(TRY_LATER) && statuses.length < burst + 200) {
      // A fresh nonce each time: a response that cannot come from the cache.
      const answer = await ocsp(ocspRequest(issuer, goodSerial, randomBytes(16)), "127.0.0.3");
      statuses.push(responseStatus(answer));
    }
    const seconds = (performance.now() - started) / 1000;
    const signed = statuses.filter((s) => s === SUCCESSFUL).length;
    expect(signed).toBeGreaterThanOrEqual(burst);
    expect(signed).toBeLessThanOrEqual(burst + Math.ceil(seconds * SIGNINGS_PER_SECOND) + 1);
    expect(statuses.filter((s) => s === TRY_LATER).length).toBe(statuses.length - signed);
    expect(statuses.at(-1)).toBe(TRY_LATER);
    // Unsigned tryLater (RFC 6960 4.2.1): the status alone. On a busy machine the bucket may
    // have refilled a token since the last refusal: ask until refused, and no more were signed
    // than the time taken allows.
    const asked = performance.now();
    let refused = await ocsp(ocspRequest(issuer, goodSerial, randomBytes(16)), "127.0.0.3");
    let signedSince = 0;
    while (responseStatus(refused) === SUCCESSFUL) {
      signedSince++;
      refused = await ocsp(ocspRequest(issuer, goodSerial, randomBytes(16)), "127.0.0.3");
    }
    const since = (performance.now() - asked) / 1000;
    expect(signedSince).toBeLessThanOrEqual(Math.ceil(since * SIGNINGS_PER_SECOND) + 1);
    expect(refused).toEqual(hex("30 03 0a 01 03"));
    // The same address still gets the cached answer (it costs no signature)...
    expect((await ocsp(plain, "127.0.0.3")).equals(cached)).toBe(true);
    // ...and another address its own signatures.
    const other = await ocsp(ocspRequest(issuer, goodSerial, randomBytes(16)), "127.0.0.4");
    expect(responseStatus(other)).toBe(SUCCESSFUL);
  });

  it("at most a few OCSP responses are worked out at once; cached answers do not wait", async () => {
    // Cached first (a response without a nonce about a good certificate).
    const plain = ocspRequest(issuer, goodSerial);
    expect(responseStatus(await ocsp(plain, "127.0.2.1"))).toBe(SUCCESSFUL);
    const held = hold(OrmCertificateRepository.prototype, "statusesIssuedBy");
    const addresses = Array.from(
      { length: OCSP_MAX_SIGNINGS_IN_FLIGHT + 2 },
      (_, i) => `127.0.1.${i + 1}`,
    );
    const answers = addresses.map((a) => ocsp(ocspRequest(issuer, goodSerial, randomBytes(16)), a));
    await waitFor(
      "the bound reached, or more held than it",
      () => held.count >= OCSP_MAX_SIGNINGS_IN_FLIGHT,
    );
    // A cached answer meanwhile: at once.
    const cached = await ocsp(plain, "127.0.2.1");
    expect(responseStatus(cached)).toBe(SUCCESSFUL);
    expect(held.count).toBe(OCSP_MAX_SIGNINGS_IN_FLIGHT);
    held.release();
    // The ones past the bound waited their turn, and were answered.
    expect((await Promise.all(answers)).map(responseStatus)).toEqual(
      addresses.map(() => SUCCESSFUL),
    );
    expect(held.count).toBe(addresses.length);
  });

  it("a CA certificate is read from the database at most once a second, however many ask", async () => {
    const reads: number[] = [];
    const find = OrmCaRepository.prototype.find;
    vi.spyOn(OrmCaRepository.prototype, "find").mockImplementation(function (
      this: OrmCaRepository,
      key,
    ) {
      if ((key as { id?: string }).id === otherId) reads.push(performance.now());
      return find.call(this, key);
    });
    const started = performance.now();
    const c = await raw("127.0.0.5");
    const n = 200;
    for (let i = 0; i < n; i += MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION) {
      c.socket.write(
        `GET /ca/${otherId}.crt HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(
          MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION,
        ),
      );
      await waitFor(
        "the answers",
        () => c.statuses.length === i + MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION,
      );
    }
    const seconds = (performance.now() - started) / 1000;
    expect(c.statuses.every((s) => s === 200)).toBe(true);
    // Before: one read per request (200).
    expect(reads.length).toBeGreaterThanOrEqual(1);
    expect(reads.length).toBeLessThanOrEqual(Math.ceil((seconds * 1000) / KNOWN_CA_REFRESH_MS) + 1);
  });

  it("a failure answers a bare 500 or internalError: no SQL, stack or message", async () => {
    const secret = 'select "sealed_private_key" from "certificate_authority" where id = $1';
    vi.spyOn(CaPublisher.prototype, "caCertificate").mockRejectedValue(new Error(secret));
    vi.spyOn(OrmCaRepository.prototype, "find").mockRejectedValue(new Error(secret));
    const crt = await send(port, { path: `/ca/${rootId}.crt` });
    expect(crt.status).toBe(500);
    expect(crt.body.toString()).toBe("internal error\n");
    const answer = await ocsp(ocspRequest(issuer, goodSerial, randomBytes(16)), "127.0.3.1");
    // internalError (2), unsigned.
    expect(answer).toEqual(hex("30 03 0a 01 02"));
  });
});
