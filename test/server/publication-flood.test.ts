import { randomUUID } from "node:crypto";
import { Agent, Server as HttpServer, request as httpRequest, ServerResponse } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { CrlCache } from "../../src/issuance/ca/crl-cache";
import { CaPublisher } from "../../src/issuance/ca/publication";
import {
  MAX_REQUESTS_IN_FLIGHT,
  MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION,
} from "../../src/server/http-server";
import { OrmCaRepository } from "../../src/store/repositories/certificate-authorities";
import { createRoot } from "../support/fixtures";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { unusedPort } from "../support/ports";
import { RawHttpConnection } from "../support/raw-http";
import { waitFor } from "../support/wait";

/** A GET (or HEAD) over node:http: status, headers, body, and whether the socket was reused. */
function get(
  port: number,
  path: string,
  options: { agent?: Agent; method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        agent: options.agent ?? false,
        headers: options.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: Buffer.concat(chunks),
            reused: req.reusedSocket,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/**
 * The publication port (CRLs, CA certificates, OCSP) answers anyone without credentials: a
 * flood of pipelined requests for made-up CA ids must cost no database lookup and no place in
 * the CRL signing queue, the requests being answered at once are bounded per connection and in
 * all (beyond: 503 with Retry-After), and a normal keep-alive client is unaffected.
 */
describe("publication port under a flood of requests", () => {
  let h: TestCertmint;
  let port = 0;
  let rootId = "";
  const open: RawHttpConnection[] = [];

  beforeAll(async () => {
    const publicationPort = await unusedPort();
    h = await startTestCertmint({
      CERTMINT_PUBLIC_BASE_URL: `http://127.0.0.1:${publicationPort}`,
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${publicationPort}`,
      CERTMINT_CRL_CACHE_SECONDS: "3600",
      // This file floods from one address on purpose, to show what each request costs; the
      // rate per address (test/server/publication-rate.test.ts) would turn most away first.
      CERTMINT_PUBLICATION_REQUESTS_PER_ADDRESS_PER_SECOND: "0",
    });
    port = h.running.publicationPort!;
    rootId = (await createRoot(h, "flood-root")).id;
  });
  afterEach(() => {
    vi.restoreAllMocks();
    for (const c of open.splice(0)) c.close();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const raw = async (localAddress?: string) => {
    const c = await RawHttpConnection.open(port, { localAddress });
    open.push(c);
    return c;
  };

  /**
   * Holds the lookups of one CA's certificate (CaPublisher.caCertificate; it reads the CA's
   * row at most once a second, so the row's reads cannot be held per request) until released:
   * requests for /ca/<id>.crt stay in flight for as long as the test wants.
   */
  const holdCaLookups = (caId: string) => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const held = { count: 0, release };
    const lookup = CaPublisher.prototype.caCertificate;
    vi.spyOn(CaPublisher.prototype, "caCertificate").mockImplementation(async function (
      this: CaPublisher,
      id,
    ) {
      if (id === caId) {
        held.count += 1;
        await gate;
      }
      return lookup.call(this, id);
    });
    return held;
  };

  it("a pipelined flood of made-up CA ids costs no lookup of them and no CRL signing", async () => {
    const looked: string[] = [];
    const signed: string[] = [];
    const find = OrmCaRepository.prototype.find;
    vi.spyOn(OrmCaRepository.prototype, "find").mockImplementation(function (
      this: OrmCaRepository,
      key,
    ) {
      const id = (key as { id?: string }).id;
      if (id) looked.push(id);
      return find.call(this, key);
    });
    const revocationCount = OrmCaRepository.prototype.revocationCount;
    vi.spyOn(OrmCaRepository.prototype, "revocationCount").mockImplementation(function (
      this: OrmCaRepository,
      id,
    ) {
      looked.push(id);
      return revocationCount.call(this, id);
    });
    // CrlCache.sign is what the shared signing queue runs, one CA after another.
    const cache = CrlCache.prototype as unknown as { sign(id: string): Promise<unknown> };
    const sign = cache.sign;
    vi.spyOn(cache, "sign").mockImplementation(function (this: unknown, id: string) {
      signed.push(id);
      return sign.call(this, id);
    });

    const made: string[] = Array.from({ length: 1500 }, () => randomUUID());
    const flood = await raw();
    flood.send(made.map((id, i) => (i % 3 === 2 ? `/ca/${id}.crt` : `/crl/${id}.crl`)));
    // The CA's first CRL (signed now: nothing cached yet) while the flood is being answered.
    const crl = await get(port, `/crl/${rootId}.crl`);
    expect(crl.status).toBe(200);
    expect(crl.headers["content-type"]).toBe("application/pkix-crl");

    await waitFor("every flood request answered", () => flood.answers.length === made.length);
    const statuses = new Set(flood.answers.map((a) => a.status));
    expect([...statuses].every((s) => s === 404 || s === 503)).toBe(true);
    expect(statuses.has(404)).toBe(true);
    // None of the made-up ids was looked up in the database or queued for a CRL signing.
    const floodIds = new Set(made);
    expect(looked.filter((id) => floodIds.has(id))).toEqual([]);
    expect(signed.filter((id) => floodIds.has(id))).toEqual([]);
    expect(signed).toEqual([rootId]);
  });

  it("a connection's requests beyond its limit are answered 503 with Retry-After", async () => {
    const held = holdCaLookups(rootId);
    const statuses: number[] = [];
    const writeHead = ServerResponse.prototype.writeHead;
    vi.spyOn(ServerResponse.prototype, "writeHead").mockImplementation(function (
      this: ServerResponse,
      ...args: Parameters<ServerResponse["writeHead"]>
    ) {
      statuses.push(args[0]);
      return writeHead.apply(this, args);
    });
    const n = MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION + 6;
    const c = await raw();
    c.send(Array.from({ length: n }, () => `/ca/${rootId}.crt`));
    // Either the limit answered the rest (its 503s wait behind the held answers on the
    // socket), or more than the limit reached the database.
    await waitFor(
      "the requests beyond the limit answered, or more requests held than the limit",
      () =>
        held.count > MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION ||
        (held.count === MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION &&
          statuses.filter((s) => s === 503).length === n - MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION),
    );
    expect(held.count).toBe(MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION);
    expect(c.answers).toEqual([]);
    held.release();
    await waitFor("every answer", () => c.answers.length === n);
    expect(c.answers.map((a) => a.status)).toEqual([
      ...Array(MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION).fill(200),
      ...Array(n - MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION).fill(503),
    ]);
    for (const a of c.answers.slice(MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION)) {
      expect(a.headers["retry-after"]).toBe("1");
    }
    // The connection is still open and its next request is served.
    c.send([`/ca/${rootId}.crt`]);
    await waitFor("the next answer", () => c.answers.length === n + 1);
    expect(c.answers[n]!.status).toBe(200);
  });

  it("beyond the port's limit a request is answered 503 with Retry-After at once", async () => {
    const held = holdCaLookups(rootId);
    const per = MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION;
    const conns: RawHttpConnection[] = [];
    for (let i = 0; i < MAX_REQUESTS_IN_FLIGHT / per; i++) {
      // From four addresses: one address holds at most a quarter of the port's places.
      const c = await raw(`127.0.0.${11 + (i % 4)}`);
      c.send(Array.from({ length: per }, () => `/ca/${rootId}.crt`));
      conns.push(c);
    }
    await waitFor("the port's limit held", () => held.count >= MAX_REQUESTS_IN_FLIGHT);
    // One more, on a connection of its own: answered at once, or held like the others.
    const more = get(port, `/ca/${rootId}.crt`);
    const outcome = await Promise.race([
      more.then((r) => ({ answered: r })),
      waitFor("one more request held", () => held.count > MAX_REQUESTS_IN_FLIGHT).then(() => ({
        answered: undefined,
      })),
    ]);
    expect(held.count).toBe(MAX_REQUESTS_IN_FLIGHT);
    expect(outcome.answered?.status).toBe(503);
    expect(outcome.answered?.headers["retry-after"]).toBe("1");
    held.release();
    for (const c of conns) await waitFor("the held answers", () => c.answers.length === per);
    expect(conns.flatMap((c) => c.answers.map((a) => a.status)).every((s) => s === 200)).toBe(true);
    // Once they are answered, the port serves again.
    expect((await get(port, `/crl/${rootId}.crl`)).status).toBe(200);
  });

  it("a keep-alive client's sequential requests, HEAD and conditional GETs all get answers", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(port, `/crl/${rootId}.crl`, { agent });
      expect(first.status).toBe(200);
      const etag = String(first.headers.etag);
      const results: Array<{ status: number; reused: boolean }> = [];
      for (let i = 0; i < 10; i++) {
        results.push(await get(port, `/crl/${rootId}.crl`, { agent }));
        results.push(await get(port, `/ca/${rootId}.crt`, { agent }));
        results.push(await get(port, `/crl/${rootId}.crl`, { agent, method: "HEAD" }));
        results.push(
          await get(port, `/crl/${rootId}.crl`, { agent, headers: { "if-none-match": etag } }),
        );
      }
      // A made-up id is still a 404 (after the next reading of the known ids).
      results.push(await get(port, `/crl/${randomUUID()}.crl`, { agent }));
      results.push(await get(port, `/ca/${randomUUID()}.crt`, { agent }));
      expect(results.map((r) => r.status)).toEqual([
        ...Array.from({ length: 10 }, () => [200, 200, 200, 304]).flat(),
        404,
        404,
      ]);
      // All on the one connection.
      expect(results.every((r) => r.reused)).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it("OCSP requests whose bodies arrive slowly hold no place, and a body too large is refused at once", async () => {
    // Counts the requests the port has parsed (their heads), before any handler runs.
    let parsed = 0;
    const emit = HttpServer.prototype.emit;
    vi.spyOn(HttpServer.prototype, "emit").mockImplementation(function (
      this: HttpServer,
      event: string | symbol,
      ...args: unknown[]
    ) {
      if (event === "request") parsed += 1;
      return (emit as (...a: unknown[]) => boolean).apply(this, [event, ...args]);
    });
    const slow = MAX_REQUESTS_IN_FLIGHT + 2;
    for (let i = 0; i < slow; i++) {
      const c = await raw();
      c.write(
        "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n" +
          "Content-Length: 1000\r\n\r\n0",
      );
    }
    await waitFor("every slow request parsed", () => parsed >= slow);
    // Counted at their heads, they would hold all 64 places: this would be a 503.
    expect((await get(port, `/ca/${rootId}.crt`)).status).toBe(200);

    // A body past OCSP's bound: malformedRequest at once, and the connection ends with it.
    const big = await raw();
    big.write(
      "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n" +
        "Content-Length: 1000000\r\n\r\n0123456789",
    );
    await waitFor("the oversized request answered", () => big.answers.length === 1);
    const [answer] = big.answers;
    expect(answer!.status).toBe(200);
    expect(answer!.headers["content-type"]).toBe("application/ocsp-response");
    // OCSPResponse { responseStatus malformedRequest (1) } (RFC 6960 4.2.1).
    expect(answer!.body.toString("hex")).toBe("30030a0101");
    expect(answer!.headers.connection).toBe("close");
    await waitFor("the oversized request's connection closed", () => big.closed);
  });
});
