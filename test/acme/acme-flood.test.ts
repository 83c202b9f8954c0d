import { readFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  ServerResponse,
} from "node:http";
import { Server as HttpsServer } from "node:https";
import { connect as netConnect, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  ACME_MAX_REQUESTS_IN_FLIGHT,
  ACME_MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS,
  ACME_MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION,
} from "../../src/acme/http/server";
import { peerAddressKey } from "../../src/auth/failure-limiter";
import { loadConfig } from "../../src/config";
import { limitRequestsInFlight } from "../../src/server/http-server";
import { OrmAcmeRepository } from "../../src/store/repositories/acme";
import { OrmProfileRepository } from "../../src/store/repositories/certificate-profiles";
import { RawHttpConnection } from "../support/raw-http";
import { waitFor } from "../support/wait";
import { type AcmeServer, createAcmeProfile, startAcmeServer } from "./helpers";
import { AcmeTestClient } from "./jws-client";

const ACME = "urn:ietf:params:acme:error:";

/** The test client, from another local address (127.0.0.2 is loopback too), on new connections. */
function clientFrom(directoryUrl: string, caFile: string, localAddress: string): AcmeTestClient {
  const client = new AcmeTestClient(directoryUrl, caFile);
  client.localAddress = localAddress;
  client.agent = false;
  return client;
}

/**
 * A 503 from a requests-in-flight limit: Retry-After and a rateLimited problem document, whose
 * detail names the limit (`from this address`...) when `detail` is given.
 */
function expectBusy(
  a: { status: number; headers: Record<string, unknown>; body: string },
  detail?: string,
): void {
  expect(a.status).toBe(503);
  expect(a.headers["retry-after"]).toBe("1");
  expect(a.headers["content-type"]).toBe("application/problem+json");
  expect(a.headers["replay-nonce"]).toBeUndefined();
  expect(JSON.parse(a.body)).toMatchObject({ type: `${ACME}rateLimited`, status: 503 });
  if (detail !== undefined) expect(JSON.parse(a.body).detail).toBe(detail);
}

/**
 * The ACME listener answers anyone before any credential: a connection's pipelined requests,
 * the port's requests in flight, and bodies sent slowly must not start unbounded database work
 * (beyond the limits: 503 with Retry-After and a problem document, no handler run), and new
 * accounts without External Account Binding are a small budget per client address.
 */
describe("ACME listener under a flood", () => {
  let s: AcmeServer;
  let port = 0;
  let ca: Buffer;
  const open: RawHttpConnection[] = [];
  /** Releases of held lookups, so a failed test leaves no request holding a place. */
  const gates: Array<() => void> = [];

  beforeAll(async () => {
    s = await startAcmeServer();
    port = s.h.running.acmePort!;
    ca = readFileSync(s.tlsCaFile);
    await createAcmeProfile(s.h, "flood-other");
  });
  afterEach(() => {
    vi.restoreAllMocks();
    for (const release of gates.splice(0)) release();
    for (const c of open.splice(0)) c.close();
  });
  afterAll(async () => {
    await s?.h.stop();
  });

  const raw = async (localAddress?: string) => {
    const c = await RawHttpConnection.open(port, { ca, localAddress });
    open.push(c);
    return c;
  };
  const client = (profile = "web-acme") => new AcmeTestClient(s.directory(profile), s.tlsCaFile);
  const count = async (table: string) =>
    Number((await s.h.db.query<{ n: string }>(`select count(*) as n from ${table}`))[0]!.n);

  /** Holds the lookups of profile `slug` (every ACME request starts with one) until released. */
  const holdProfileLookups = (slug: string) => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const held = { count: 0, release };
    gates.push(release);
    const find = OrmProfileRepository.prototype.find;
    vi.spyOn(OrmProfileRepository.prototype, "find").mockImplementation(async function (
      this: OrmProfileRepository,
      key,
    ) {
      if ((key as { slug?: string }).slug === slug) {
        held.count += 1;
        await gate;
      }
      return find.call(this, key);
    });
    return held;
  };

  /** The statuses of the answers the server has ended (written, or queued behind others). */
  const endedStatuses = () => {
    const statuses: number[] = [];
    const end = ServerResponse.prototype.end;
    vi.spyOn(ServerResponse.prototype, "end").mockImplementation(function (
      this: ServerResponse,
      ...args: unknown[]
    ) {
      statuses.push(this.statusCode);
      return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    });
    return statuses;
  };

  it("a connection's pipelined requests beyond its limit are 503 problems, and others are served meanwhile", async () => {
    const per = ACME_MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION;
    const held = holdProfileLookups("web-acme");
    const statuses = endedStatuses();
    const n = per + 26;
    const c = await raw();
    c.send(Array.from({ length: n }, () => "/acme/web-acme/directory"));
    // Either the limit answered the rest (their answers wait behind the held ones on the
    // socket), or more than the limit reached the database.
    await waitFor(
      "the requests beyond the limit answered, or more lookups held than the limit",
      () =>
        held.count > per ||
        (held.count === per && statuses.filter((st) => st === 503).length === n - per),
    );
    expect(held.count).toBe(per);
    expect(c.answers).toEqual([]);

    // Meanwhile a client of another profile, on its own connections, is served.
    const other = client("flood-other");
    expect((await other.directory()).newAccount).toMatch(/\/acme\/flood-other\/new-account$/);
    expect(await other.nonce()).toMatch(/^[A-Za-z0-9_-]+$/);
    const lookup = await other.register({ onlyReturnExisting: true });
    expect([lookup.status, lookup.json.type]).toEqual([400, `${ACME}accountDoesNotExist`]);
    expect(held.count).toBe(per);

    held.release();
    await waitFor("every answer", () => c.answers.length === n);
    const served = c.answers.filter((a) => a.status === 200);
    expect(served).toHaveLength(per);
    for (const a of served) {
      expect(JSON.parse(a.body.toString()).newNonce).toMatch(/\/acme\/web-acme\/new-nonce$/);
    }
    const refused = c.answers.filter((a) => a.status !== 200);
    expect(refused).toHaveLength(n - per);
    for (const a of refused) expectBusy({ ...a, body: a.body.toString() });
    // The connection is still open and its next request is served.
    c.send(["/acme/web-acme/directory"]);
    await waitFor("the next answer", () => c.answers.length === n + 1);
    expect(c.answers[n]!.status).toBe(200);
  });

  it("beyond the port's limit a request waits for a place (ACME_WAIT_FOR_PLACE_MS), and with none freed is a 503 problem, with no lookup", async () => {
    const per = ACME_MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION;
    const share = ACME_MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS;
    const addresses = ACME_MAX_REQUESTS_IN_FLIGHT / share;
    const held = holdProfileLookups("web-acme");
    const conns: RawHttpConnection[] = [];
    // Each address its share (one address alone cannot fill the port), from 127.0.0.1 on.
    for (let i = 0; i < ACME_MAX_REQUESTS_IN_FLIGHT / per; i++) {
      const c = await raw(`127.0.0.${1 + Math.floor((i * per) / share)}`);
      c.send(
        Array.from({ length: per }, (_, j) => `/acme/web-acme/renewal-info/made.up-${i}-${j}`),
      );
      conns.push(c);
    }
    await waitFor("the port's limit held", () => held.count >= ACME_MAX_REQUESTS_IN_FLIGHT);
    // One more, on a connection of its own from an address holding nothing: answered (after its
    // wait for a place), or held like the others.
    const more = clientFrom(s.directory(), s.tlsCaFile, `127.0.0.${addresses + 1}`).http(
      "GET",
      s.directory(),
    );
    const outcome = await Promise.race([
      more.then((r) => ({ answered: r })),
      waitFor("one more request held", () => held.count > ACME_MAX_REQUESTS_IN_FLIGHT).then(() => ({
        answered: undefined,
      })),
    ]);
    expect(held.count).toBe(ACME_MAX_REQUESTS_IN_FLIGHT);
    expect(outcome.answered).toBeDefined();
    expectBusy(
      { ...outcome.answered!, body: outcome.answered!.text },
      "too many requests in flight; retry shortly",
    );
    held.release();
    for (const c of conns) await waitFor("the held answers", () => c.answers.length === per);
    // Each held request was answered by the handler (a made-up certificate id), none refused.
    const statuses = conns.flatMap((c) => c.answers.map((a) => a.status));
    expect(statuses.every((st) => st === 400 || st === 404)).toBe(true);
    // Once they are answered, the port serves again.
    expect((await client().http("GET", s.directory())).status).toBe(200);
  });

  it("one address holds at most its share of the port: its next request waits, and with none of its places freed is a 503 problem; another address is served", async () => {
    const per = ACME_MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION;
    const share = ACME_MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS;
    expect(share).toBeLessThan(ACME_MAX_REQUESTS_IN_FLIGHT);
    // The two test addresses are two keys of the limit.
    expect(peerAddressKey("127.0.0.1:40000")).not.toBe(peerAddressKey("127.0.0.2:40000"));

    /** `share` requests from 127.0.0.1, held at their lookup; its next one (to a profile not held) refused. */
    const fillShare = async (round: number) => {
      const held = holdProfileLookups("web-acme");
      const conns: RawHttpConnection[] = [];
      for (let i = 0; i < share / per; i++) {
        const c = await raw("127.0.0.1");
        c.send(
          Array.from({ length: per }, (_, j) => `/acme/web-acme/renewal-info/r${round}.${i}-${j}`),
        );
        conns.push(c);
      }
      await waitFor("the address's share held", () => held.count >= share);
      // Another profile's directory, not held: served at once (200) were it not refused.
      const more = await raw("127.0.0.1");
      more.send(["/acme/flood-other/directory"]);
      await waitFor("the refusal", () => more.answers.length === 1);
      expectBusy(
        { ...more.answers[0]!, body: more.answers[0]!.body.toString() },
        "too many requests in flight from this address; retry shortly",
      );
      expect(held.count).toBe(share);
      return { held, conns };
    };

    const { held, conns } = await fillShare(1);
    // Another address meanwhile: its request to the held profile is admitted (held too)...
    const elsewhere = clientFrom(s.directory(), s.tlsCaFile, "127.0.0.2");
    const admitted = elsewhere.http("GET", s.directory());
    await waitFor("the other address's request held", () => held.count === share + 1);
    // ...and one to another profile is served.
    const other = await elsewhere.http("GET", s.directory("flood-other"));
    expect(other.status, other.text).toBe(200);

    held.release();
    expect((await admitted).status).toBe(200);
    for (const c of conns) await waitFor("the held answers", () => c.answers.length === per);
    // Each held request was answered by the handler (a made-up certificate id), none refused.
    const statuses = conns.flatMap((c) => c.answers.map((a) => a.status));
    expect(statuses.every((st) => st === 400 || st === 404)).toBe(true);

    // Every place was given back: the same address is served, and holds its whole share again.
    vi.restoreAllMocks();
    expect((await client().http("GET", s.directory())).status).toBe(200);
    const again = await fillShare(2);
    again.held.release();
    for (const c of again.conns) await waitFor("the held answers", () => c.answers.length === per);
  });

  it("requests whose bodies arrive slowly hold no place: the port still serves", async () => {
    // Counts the requests the listener has parsed (their headers), before any handler runs.
    let parsed = 0;
    const emit = HttpsServer.prototype.emit;
    vi.spyOn(HttpsServer.prototype, "emit").mockImplementation(function (
      this: HttpsServer,
      event: string | symbol,
      ...args: unknown[]
    ) {
      if (event === "request") parsed += 1;
      return (emit as (...a: unknown[]) => boolean).apply(this, [event, ...args]);
    });
    const find = vi.spyOn(OrmProfileRepository.prototype, "find");
    for (let i = 0; i < ACME_MAX_REQUESTS_IN_FLIGHT + 2; i++) {
      const c = await raw();
      c.write(
        "POST /acme/web-acme/new-account HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
          "Content-Type: application/jose+json\r\nContent-Length: 1000\r\n\r\n{",
      );
    }
    await waitFor("every slow request parsed", () => parsed >= ACME_MAX_REQUESTS_IN_FLIGHT + 2);
    const r = await client().http("GET", s.directory());
    expect(r.status).toBe(200);
    // None of the slow requests started any work: the one lookup is the directory's.
    expect(find.mock.calls).toHaveLength(1);
  });

  // Last in this describe: it spends 127.0.0.1's budget of new accounts on this server.
  it("new accounts without a binding are a budget per address; finding an account spends none", async () => {
    const budget = loadConfig({ CERTMINT_ACME_LISTEN: "127.0.0.1:0" }).acme!
      .newAccountsPerAddressPerHour;
    expect(budget).toBe(10);
    const before = await count("acme_account");

    const first = client();
    expect((await first.register()).status).toBe(201);
    // Finding it again, by key or with onlyReturnExisting, any number of times.
    for (let i = 0; i < budget + 2; i++) {
      const again = await first.register(i % 2 ? { onlyReturnExisting: true } : {});
      expect([again.status, again.headers.location]).toEqual([200, first.kid]);
    }
    const unknown = await client().register({ onlyReturnExisting: true });
    expect(unknown.json.type).toBe(`${ACME}accountDoesNotExist`);

    // A creation that fails writes no row and spends nothing.
    vi.spyOn(OrmAcmeRepository.prototype, "insertAccount").mockRejectedValueOnce(
      new Error("simulated failure of the insert"),
    );
    const failed = await client().register();
    expect([failed.status, failed.json.type]).toEqual([500, `${ACME}serverInternal`]);
    vi.restoreAllMocks();
    expect(await count("acme_account")).toBe(before + 1);

    for (let i = 1; i < budget; i++) {
      const r = await client().register();
      expect(r.status, r.text).toBe(201);
    }
    expect(await count("acme_account")).toBe(before + budget);

    const refused = await client().register();
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ type: `${ACME}rateLimited`, status: 429 });
    const retryAfter = Number(refused.headers["retry-after"]);
    // The next creation is one budget's share of the hour away.
    expect(retryAfter).toBeGreaterThan(1);
    expect(retryAfter).toBeLessThanOrEqual(3600 / budget);
    expect(await count("acme_account")).toBe(before + budget);

    // Existing accounts are still found, and used.
    const again = await first.register();
    expect([again.status, again.headers.location]).toEqual([200, first.kid]);
    expect((await first.register({ onlyReturnExisting: true })).status).toBe(200);
    expect((await first.newOrder(["after-budget.acme.localhost"])).status).toBe(201);

    // Another address has its own budget.
    const elsewhere = clientFrom(s.directory(), s.tlsCaFile, "127.0.0.2");
    const r = await elsewhere.register();
    expect(r.status, r.text).toBe(201);
    const [row] = await s.h.db.query<{ n: string }>(
      `select count(*) as n from audit_record where resource_id = $1 and peer like '127.0.0.2:%'`,
      [elsewhere.kid!.split("/").at(-1)],
    );
    expect(Number(row!.n)).toBe(1);
    expect(await count("acme_account")).toBe(before + budget + 1);
    // ...while this one's is still spent.
    expect((await client().register()).status).toBe(429);
  });
});

/**
 * The per-address rate of what costs a write before a key is known (new nonces, POSTs) is
 * checked before the profile is read: a refused request costs no query at all.
 */
describe("ACME per-address rate limit", () => {
  let s: AcmeServer;
  let ca: Buffer;

  beforeAll(async () => {
    // 10 requests per second per address, bursts of 10.
    s = await startAcmeServer({
      CERTMINT_ACME_RATE_LIMIT_PER_SECOND: "1",
      CERTMINT_ACME_RATE_LIMIT_BURST: "1",
    });
    ca = readFileSync(s.tlsCaFile);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await s?.h.stop();
  });

  it("refuses new nonces past the address's rate without reading the profile", async () => {
    const find = vi.spyOn(OrmProfileRepository.prototype, "find");
    const n = 40;
    // One request per connection, all connected first and then written at once.
    const conns = await Promise.all(
      Array.from({ length: n }, () => RawHttpConnection.open(s.h.running.acmePort!, { ca })),
    );
    try {
      for (const c of conns) c.send(["/acme/web-acme/new-nonce"]);
      for (const c of conns) await waitFor("the answer", () => c.answers.length === 1);
      const statuses = conns.map((c) => c.answers[0]!.status);
      const limited = conns.map((c) => c.answers[0]!).filter((a) => a.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      for (const a of limited) {
        expect(JSON.parse(a.body.toString()).type).toBe(`${ACME}rateLimited`);
        expect(Number(a.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      }
      // 503: beyond the address's requests in flight (all 40 come from one address).
      expect(statuses.every((st) => st === 204 || st === 429 || st === 503)).toBe(true);
      // Only the requests let through read the profile.
      expect(find.mock.calls).toHaveLength(statuses.filter((st) => st === 204).length);
    } finally {
      for (const c of conns) c.close();
    }
  });

  it("refuses directory and renewal-info GETs past the address's rate without reading the profile", async () => {
    const find = vi.spyOn(OrmProfileRepository.prototype, "find");
    const n = 40;
    const paths = Array.from({ length: n }, (_, i) =>
      i % 2 ? "/acme/web-acme/directory" : `/acme/web-acme/renewal-info/made.up-${i}`,
    );
    const conns = await Promise.all(
      paths.map(() => RawHttpConnection.open(s.h.running.acmePort!, { ca })),
    );
    try {
      conns.forEach((c, i) => {
        c.send([paths[i]!]);
      });
      for (const c of conns) await waitFor("the answer", () => c.answers.length === 1);
      const answers = conns.map((c) => c.answers[0]!);
      const limited = answers.filter((a) => a.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      for (const a of limited) {
        expect(JSON.parse(a.body.toString())).toMatchObject({
          type: `${ACME}rateLimited`,
          status: 429,
        });
        expect(Number(a.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      }
      // Directories were limited, not only renewal-info (odd indices are directories).
      expect(answers.some((a, i) => i % 2 === 1 && a.status === 429)).toBe(true);
      // Served: 200 (directory), 400 or 404 (made-up renewal-info); 503: the address's requests
      // in flight.
      const served = answers.filter((a) => a.status !== 429 && a.status !== 503);
      answers.forEach((a, i) => {
        if (a.status === 429 || a.status === 503) return;
        expect(i % 2 ? [200] : [400, 404]).toContain(a.status);
      });
      // Only the requests let through read the profile.
      expect(find.mock.calls).toHaveLength(served.length);
    } finally {
      for (const c of conns) c.close();
    }
  });
});

describe("ACME per-address rate limit: unknown paths count, and refused connections are held", () => {
  let s: AcmeServer;
  let ca: Buffer;

  beforeAll(async () => {
    // 10 requests per second per address, bursts of 10.
    s = await startAcmeServer({
      CERTMINT_ACME_RATE_LIMIT_PER_SECOND: "1",
      CERTMINT_ACME_RATE_LIMIT_BURST: "1",
    });
    ca = readFileSync(s.tlsCaFile);
  });
  afterAll(async () => {
    await s?.h.stop();
  });

  it("a client that ignores Retry-After waits a second per refusal, whatever path it asks", async () => {
    // Before 2026-12-04 a path that names no ACME resource was answered 404 before the
    // address's rate was counted, and a refused connection was read again at once: a flood
    // of either cost the event loop the gRPC calls share, without end.
    const ask = async (c: RawHttpConnection) => {
      const n = c.answers.length;
      c.send(["/acme/no-such-resource"]);
      await waitFor("the answer", () => c.answers.length > n, 30_000);
      return c.answers[n]!;
    };
    const started = performance.now();
    const conns = await Promise.all(
      Array.from({ length: 4 }, () =>
        RawHttpConnection.open(s.h.running.acmePort!, { ca, localAddress: "127.0.0.9" }),
      ),
    );
    const counts = { served: 0, refused: 0 };
    try {
      await Promise.all(
        conns.map(async (c) => {
          for (let refused = 0; refused < 3; ) {
            const a = await ask(c);
            if (a.status === 429) {
              refused++;
              counts.refused++;
              expect(JSON.parse(a.body.toString()).type).toBe(`${ACME}rateLimited`);
            } else {
              expect(a.status).toBe(404);
              counts.served++;
            }
          }
        }),
      );
    } finally {
      for (const c of conns) c.close();
    }
    const seconds = (performance.now() - started) / 1000;
    expect(counts.refused).toBe(12);
    // The burst and what refilled meanwhile (10 a second), no more: every 404 counted.
    expect(counts.served).toBeLessThanOrEqual(10 + Math.ceil(10 * seconds) + 1);
    // Three refusals on a connection are two holds of a second apart at least; without the
    // hold they came within milliseconds.
    expect(seconds).toBeGreaterThanOrEqual(2);
  });
});

/**
 * The per-address count of limitRequestsInFlight (what the ACME port uses) on a bare HTTP
 * server: exact on every path that releases a place (the answer ended, the connection closed
 * before the body arrived), and an address holding nothing is forgotten.
 */
describe("requests in flight per address", () => {
  let server: HttpServer;
  let port = 0;
  const pending: ServerResponse[] = [];
  const sockets: Socket[] = [];
  const limited = limitRequestsInFlight(
    (_req, res) => {
      pending.push(res);
    },
    {
      perConnection: 2,
      total: 10,
      perAddress: { limit: 3, key: (req: IncomingMessage) => req.socket.remoteAddress ?? "" },
    },
  );

  beforeAll(async () => {
    server = createHttpServer(limited);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  afterEach(() => {
    for (const res of pending.splice(0)) res.end();
    for (const socket of sockets.splice(0)) socket.destroy();
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  /** A raw connection from `localAddress`, its answers' status lines collected. */
  const connect = async (localAddress: string) => {
    const socket = netConnect({ host: "127.0.0.1", port, localAddress });
    sockets.push(socket);
    const statuses: number[] = [];
    socket.on("data", (chunk: Buffer) => {
      for (const m of chunk.toString("latin1").matchAll(/HTTP\/1\.1 (\d{3})/g)) {
        statuses.push(Number(m[1]));
      }
    });
    socket.on("error", () => undefined);
    await new Promise((r) => socket.once("connect", r));
    return { socket, statuses };
  };

  it("counts each address apart and forgets an address once its requests end", async () => {
    const get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    const a = await connect("127.0.0.1");
    const b = await connect("127.0.0.1");
    a.socket.write(get + get);
    b.socket.write(get);
    await waitFor("three requests of 127.0.0.1 held", () => pending.length === 3);
    expect(limited.inFlight()).toEqual({ total: 3, addresses: 1, waiting: 0 });
    // Its fourth, on a connection of its own (an answer on a busy one waits behind the held
    // ones): refused.
    const d = await connect("127.0.0.1");
    d.socket.write(get);
    await waitFor("the refusal", () => d.statuses.length === 1);
    expect(d.statuses).toEqual([503]);
    expect(limited.inFlight()).toEqual({ total: 3, addresses: 1, waiting: 0 });
    // Another address: admitted.
    const c = await connect("127.0.0.2");
    c.socket.write(get);
    await waitFor("127.0.0.2's request held", () => pending.length === 4);
    expect(limited.inFlight()).toEqual({ total: 4, addresses: 2, waiting: 0 });

    for (const res of pending.splice(0)) res.end();
    expect(limited.inFlight()).toEqual({ total: 0, addresses: 0, waiting: 0 });
    // 127.0.0.1 again holds its whole share.
    a.socket.write(get + get);
    b.socket.write(get);
    await waitFor("three requests held again", () => pending.length === 3);
    expect(limited.inFlight()).toEqual({ total: 3, addresses: 1, waiting: 0 });
    for (const res of pending.splice(0)) res.end();
    expect(limited.inFlight()).toEqual({ total: 0, addresses: 0, waiting: 0 });
  });

  it("gives back the place of a request whose connection closed before its body arrived", async () => {
    const a = await connect("127.0.0.3");
    a.socket.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{");
    await waitFor("the request held", () => pending.length === 1);
    expect(limited.inFlight()).toEqual({ total: 1, addresses: 1, waiting: 0 });
    a.socket.destroy();
    await waitFor("its place given back", () => limited.inFlight().total === 0);
    expect(limited.inFlight()).toEqual({ total: 0, addresses: 0, waiting: 0 });
    // Its late answer releases nothing twice.
    pending.splice(0)[0]!.end();
    expect(limited.inFlight()).toEqual({ total: 0, addresses: 0, waiting: 0 });
  });
});

/**
 * With `wait` (the ACME port's: ACME_WAIT_FOR_PLACE_MS), a request past its address's places
 * waits for one instead of being refused at once: ACME clients retry only badNonce, so a fleet of
 * lego runs behind one address failed past 16 at once (an outside probe of stop 53, LOADACME F1).
 * It is admitted when a place of its address frees, first come first served; past the wait, or
 * past the waiting places, it is refused as before; a client gone while it waited frees its place
 * in the line.
 */
describe("requests waiting for a place", () => {
  let server: HttpServer;
  let port = 0;
  const pending: ServerResponse[] = [];
  const sockets: Socket[] = [];
  const limited = limitRequestsInFlight(
    (_req, res) => {
      pending.push(res);
    },
    {
      perConnection: 2,
      total: 10,
      perAddress: { limit: 1, key: (req: IncomingMessage) => req.socket.remoteAddress ?? "" },
      // Long enough that no waiting request here times out unless the test means it to.
      wait: { ms: 60_000, perAddress: 2, total: 3 },
    },
  );
  const get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

  beforeAll(async () => {
    server = createHttpServer(limited);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  afterEach(() => {
    for (const res of pending.splice(0)) res.end();
    for (const socket of sockets.splice(0)) socket.destroy();
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const connect = async (localAddress: string) => {
    const socket = netConnect({ host: "127.0.0.1", port, localAddress });
    sockets.push(socket);
    const statuses: number[] = [];
    socket.on("data", (chunk: Buffer) => {
      for (const m of chunk.toString("latin1").matchAll(/HTTP\/1\.1 (\d{3})/g)) {
        statuses.push(Number(m[1]));
      }
    });
    socket.on("error", () => undefined);
    await new Promise((r) => socket.once("connect", r));
    return { socket, statuses };
  };

  it("past its address's places a request waits, and is admitted in arrival order as places free", async () => {
    const a = await connect("127.0.1.1");
    a.socket.write(get);
    await waitFor("the first request held", () => pending.length === 1);
    const b = await connect("127.0.1.1");
    const c = await connect("127.0.1.1");
    b.socket.write(get);
    await waitFor("b waiting", () => limited.inFlight().waiting === 1);
    c.socket.write(get);
    await waitFor("c waiting", () => limited.inFlight().waiting === 2);
    // A third waiter of the address is past its waiting places: refused at once.
    const d = await connect("127.0.1.1");
    d.socket.write(get);
    await waitFor("d refused", () => d.statuses.length === 1);
    expect(d.statuses).toEqual([503]);
    // Another address is admitted meanwhile, past the waiting ones of 127.0.1.1.
    const e = await connect("127.0.1.2");
    e.socket.write(get);
    await waitFor("e held", () => pending.length === 2);
    expect(limited.inFlight()).toEqual({ total: 2, addresses: 2, waiting: 2 });
    // 127.0.1.1's place frees: b (first in line) is admitted, not c.
    pending.shift()!.end();
    await waitFor("a answered", () => a.statuses.length === 1);
    await waitFor("b admitted", () => pending.length === 2 && limited.inFlight().waiting === 1);
    pending.pop()!.end(); // the last held is b's
    await waitFor("b answered", () => b.statuses.length === 1);
    expect(c.statuses).toEqual([]);
    await waitFor("c admitted", () => limited.inFlight().waiting === 0 && pending.length === 2);
    for (const res of pending.splice(0)) res.end();
    await waitFor("c answered", () => c.statuses.length === 1);
    expect([a.statuses, b.statuses, c.statuses, e.statuses]).toEqual([[200], [200], [200], [200]]);
    expect(limited.inFlight()).toEqual({ total: 0, addresses: 0, waiting: 0 });
  });

  it("a client gone while it waited frees its place in the line, and is not answered", async () => {
    const a = await connect("127.0.1.3");
    a.socket.write(get);
    await waitFor("the first request held", () => pending.length === 1);
    const b = await connect("127.0.1.3");
    b.socket.write(get);
    await waitFor("b waiting", () => limited.inFlight().waiting === 1);
    b.socket.destroy();
    await waitFor("b out of the line", () => limited.inFlight().waiting === 0);
    pending.shift()!.end();
    await waitFor("a answered", () => a.statuses.length === 1);
    expect(pending).toHaveLength(0);
    expect(limited.inFlight()).toEqual({ total: 0, addresses: 0, waiting: 0 });
  });
});

describe("a request that waits longer than its wait", () => {
  it("is refused for the limit that holds then", async () => {
    const pending: ServerResponse[] = [];
    const limited = limitRequestsInFlight(
      (_req, res) => {
        pending.push(res);
      },
      {
        perConnection: 2,
        total: 10,
        perAddress: { limit: 1, key: () => "one" },
        wait: { ms: 200, perAddress: 4, total: 4 },
      },
    );
    const server = createHttpServer(limited);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const statuses = (url: string) =>
      fetch(url).then(
        (r) => r.status,
        () => 0,
      );
    try {
      const first = statuses(`http://127.0.0.1:${port}/`);
      await waitFor("the first request held", () => pending.length === 1);
      // The place is never freed (until after): the second is refused once its wait is over.
      expect(await statuses(`http://127.0.0.1:${port}/`)).toBe(503);
      expect(limited.inFlight()).toEqual({ total: 1, addresses: 1, waiting: 0 });
      pending.shift()!.end();
      expect(await first).toBe(200);
    } finally {
      for (const res of pending.splice(0)) res.end();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
