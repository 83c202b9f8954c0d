/**
 * What callers can make the server hold in memory, with its heap bounded: the compiled server
 * started with --max-old-space-size=BENCH_HEAP_MB (default 160) on a fresh database of the
 * running PostgreSQL, then one scenario at a time:
 *
 *   watch  BENCH_TOKENS ISSUER tokens (1, then 5) each hold BENCH_WATCHES WatchCertificates
 *          streams (default 100, the per-token cap), half never reading, half reading one event
 *          a second, while another token issues for BENCH_SECONDS (every issuance is an event
 *          each watch may see);
 *   crl    a CA with BENCH_REVOKED revoked certificates (default 50,000; bench/scale/fill.ts),
 *          its CRL fetched by BENCH_FETCHERS gRPC clients and as many HTTP clients in a loop,
 *          plus as many of each that request it and never read, while a revocation every
 *          second makes it be signed again;
 *   list   BENCH_CERTIFICATES certificates (default 20,000) listed 1,000 at a time with PEMs
 *          (CERTIFICATE_VIEW_FULL, the largest page) by BENCH_LISTERS callers of one token and
 *          of five tokens, half reading, half never reading.
 *
 * Meanwhile a quiet token issues one certificate at a time (its successes, failures and
 * slowest call are printed), and the server's VmRSS and V8 heap (nodejs_heap_size_used_bytes
 * from /metrics) are sampled every 250 ms. Whether it crashed is printed too.
 *
 *   make build
 *   node --require tsx/cjs bench/memory/probe.ts            # every scenario
 *   BENCH_SCENARIOS=crl BENCH_HEAP_MB=128 node --require tsx/cjs bench/memory/probe.ts
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { type ClientHttp2Session, connect as http2Connect } from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { Client } from "pg";
import {
  AccessToken,
  AccessTokenServiceClient,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import {
  CertificateAuthorityServiceClient,
  CrlEncoding,
  GetCertificateRevocationListRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificateServiceClient,
  CertificateView,
  IssueCertificateRequest,
  ListCertificatesRequest,
  WatchCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import {
  bearer,
  type CertmintServer,
  CLIENT_PROFILE,
  call,
  createClientProfile,
  startCertmint,
} from "../common/certmint";
import { clientCsrs } from "../common/csr";
import { ghzIssue, writeGhzData } from "../common/load";
import { freePort } from "../common/postgres";
import { memoryMiB } from "../common/proc";
import { freshDatabase } from "../issue/setup";
import { fill } from "../scale/fill";

const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ?? "postgresql://certmint:certmint@127.0.0.1:5432/certmint";
const HEAP_MB = Number(process.env.BENCH_HEAP_MB ?? 160);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WATCHES = Number(process.env.BENCH_WATCHES ?? 100);
const REVOKED = Number(process.env.BENCH_REVOKED ?? 50_000);
const FETCHERS = Number(process.env.BENCH_FETCHERS ?? 20);
const CERTIFICATES = Number(process.env.BENCH_CERTIFICATES ?? 20_000);
const LISTERS = Number(process.env.BENCH_LISTERS ?? 40);
const READER_TOKENS = Number(process.env.BENCH_READER_TOKENS ?? 2);
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? "watch,crl,list").split(",");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Setup {
  server: CertmintServer;
  db: Client;
  caId: string;
  issuerToken: string;
  metricsPort: number;
  publicationPort: number;
  dir: string;
  close(): Promise<void>;
}

async function setUp(): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), "certmint-memory-"));
  const database = await freshDatabase(ADMIN_URL);
  const metricsPort = await freePort();
  const publicationPort = await freePort();
  const server = await startCertmint({
    databaseUrl: database.url,
    dir,
    nodeFlags: [`--max-old-space-size=${HEAP_MB}`],
    env: {
      CERTMINT_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${publicationPort}`,
      CERTMINT_PUBLIC_BASE_URL: `http://127.0.0.1:${publicationPort}`,
      // The probe's own many requests from 127.0.0.1 are not what is measured.
      CERTMINT_PUBLICATION_REQUESTS_PER_ADDRESS_PER_SECOND: "0",
      ...Object.fromEntries(
        (process.env.BENCH_SERVER_ENV ?? "")
          .split(" ")
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
      ),
    },
  });
  const profile = await createClientProfile(server);
  const db = new Client({ connectionString: database.url });
  await db.connect();
  return {
    server,
    db,
    caId: profile.caId,
    issuerToken: profile.issuerToken,
    metricsPort,
    publicationPort,
    dir,
    async close() {
      await server.stop();
      await db.end();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** ISSUER tokens of the client profile (or tokens of another role, on every profile). */
async function issuerTokens(
  s: Setup,
  prefix: string,
  n: number,
  role = Role.ROLE_ISSUER,
): Promise<string[]> {
  const tokens = new AccessTokenServiceClient(s.server.address, s.server.credentials, {
    interceptors: [bearer(s.server.adminToken)],
  });
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = await call(tokens, "createAccessToken", {
      accessToken: AccessToken.fromPartial({
        slug: `${prefix}-${i}-${randomUUID().slice(0, 8)}`,
        role,
        certificateProfiles: role === Role.ROLE_ISSUER ? [CLIENT_PROFILE] : [],
      }),
    });
    out.push(t.secret);
  }
  tokens.close();
  return out;
}

/** Peak VmRSS and V8 heap used while `body` runs, sampled every 250 ms. */
async function sampled<T>(
  s: Setup,
  body: () => Promise<T>,
): Promise<{ value: T; peakRss: number; peakHeap: number; alive: boolean }> {
  let peakRss = 0;
  let peakHeap = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peakRss = Math.max(peakRss, memoryMiB(s.server.pid).rss);
      const heap = await heapUsedMiB(s);
      if (heap !== undefined) peakHeap = Math.max(peakHeap, heap);
      await sleep(250);
    }
  })();
  try {
    const value = await body();
    return { value, peakRss, peakHeap, alive: memoryMiB(s.server.pid).rss > 0 };
  } finally {
    running = false;
    await sampler;
  }
}

function heapUsedMiB(s: Setup): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: s.metricsPort, path: "/metrics", timeout: 2000 },
      (res) => {
        let text = "";
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () => {
          const m = /^nodejs_heap_size_used_bytes (\S+)/m.exec(text);
          resolve(m ? Number(m[1]) / 2 ** 20 : undefined);
        });
      },
    );
    req.on("error", () => resolve(undefined));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** A quiet backend issuing one certificate at a time until stopped. */
function quietIssuer(s: Setup, token: string) {
  const client = new CertificateServiceClient(s.server.address, credentials.createInsecure(), {
    interceptors: [bearer(token)],
    "grpc.use_local_subchannel_pool": 1,
  });
  const csrs = clientCsrs(20).map((c) => c.pem);
  let stop = false;
  const stats = { ok: 0, failed: new Map<string, number>(), slowestMs: 0 };
  const loop = (async () => {
    for (let i = 0; !stop; i++) {
      const started = performance.now();
      try {
        await new Promise<void>((resolve, reject) =>
          client.issueCertificate(
            IssueCertificateRequest.fromPartial({
              certificateProfile: CLIENT_PROFILE,
              requestId: randomUUID(),
              source: { $case: "csrPem", value: csrs[i % csrs.length]! },
            }),
            new Metadata(),
            { deadline: Date.now() + 30_000 },
            (err) => (err ? reject(err) : resolve()),
          ),
        );
        stats.ok++;
      } catch (err) {
        const key = `${(err as ServiceError).code}: ${(err as ServiceError).details}`.slice(0, 120);
        stats.failed.set(key, (stats.failed.get(key) ?? 0) + 1);
      }
      stats.slowestMs = Math.max(stats.slowestMs, performance.now() - started);
    }
  })();
  return {
    async stop() {
      stop = true;
      await loop;
      client.close();
      const failed = [...stats.failed].map(([k, n]) => `${n}x ${k}`).join("; ");
      return `quiet issuer: ${stats.ok} issued, ${[...stats.failed.values()].reduce((a, b) => a + b, 0)} failed${failed ? ` (${failed})` : ""}, slowest ${stats.slowestMs.toFixed(0)} ms`;
    },
  };
}

function line(name: string, r: { peakRss: number; peakHeap: number; alive: boolean }): string {
  return `${name}: peak RSS ${r.peakRss.toFixed(0)} MiB, peak V8 heap used ${r.peakHeap.toFixed(0)} MiB (limit ${HEAP_MB}), server ${r.alive ? "alive" : "GONE"}`;
}

// ---------------------------------------------------------------------------------- watch

async function watchScenario(s: Setup, tokenCount: number): Promise<void> {
  const tokens = await issuerTokens(s, `watch${tokenCount}`, tokenCount);
  const [quietToken] = await issuerTokens(s, "quiet", 1);
  const streams: Array<{ cancel(): void }> = [];
  const clients: CertificateServiceClient[] = [];
  let refused = 0;
  let received = 0;
  let opened = 0;
  for (const token of tokens) {
    // 50 streams to a connection (CERTMINT_MAX_CONCURRENT_STREAMS is 250).
    for (let c = 0; c < WATCHES / 50; c++) {
      const client = new CertificateServiceClient(s.server.address, credentials.createInsecure(), {
        interceptors: [bearer(token)],
        "grpc.use_local_subchannel_pool": 1,
      });
      clients.push(client);
      for (let i = 0; i < 50; i++) {
        const stream = client.watchCertificates(WatchCertificatesRequest.fromPartial({}));
        stream.on("error", (err: ServiceError) => {
          if (err.code !== 1) refused++;
        });
        stream.on("metadata", () => opened++);
        if (i % 2 === 0) {
          stream.pause(); // never reads
        } else {
          stream.on("data", () => {
            received++;
            stream.pause();
            setTimeout(() => stream.resume(), 1000);
          });
        }
        streams.push(stream);
      }
    }
  }
  const data = writeGhzData(
    s.dir,
    clientCsrs(50).map((c) => c.pem),
  );
  const quiet = quietIssuer(s, quietToken!);
  const r = await sampled(s, async () => {
    const load = await ghzIssue({ address: s.server.address, token: s.issuerToken }, data, {
      clients: 8,
      seconds: SECONDS,
    });
    // The watches keep what they hold a little longer, while the quiet backend goes on.
    await sleep(3000);
    return load;
  });
  const quietLine = await quiet.stop();
  console.log(
    line(
      `watch: ${tokenCount} token(s) x ${WATCHES} streams (${opened} opened, ${refused} refused)`,
      r,
    ),
  );
  console.log(
    `  ${r.value.successes} issued by the load (${(r.value.successes / r.value.seconds).toFixed(0)}/s, ${r.value.errors} errors), ${received} events read by the slow readers; ${quietLine}`,
  );
  for (const st of streams) st.cancel();
  for (const c of clients) c.close();
}

// ------------------------------------------------------------------------------------ crl

/** A request that is sent and whose answer is never read (HTTP/1.1 on a paused socket). */
function unreadHttpGet(port: number, path: string, localAddress: string): Socket {
  const socket = netConnect({ port, host: "127.0.0.1", localAddress });
  socket.on("error", () => undefined);
  socket.write(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`);
  socket.pause();
  return socket;
}

/** A gRPC call on a raw HTTP/2 session whose answer is never read. */
function unreadGrpc(session: ClientHttp2Session, token: string, path: string, message: Uint8Array) {
  const stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    authorization: `Bearer ${token}`,
  });
  stream.on("error", () => undefined);
  stream.pause();
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(frame, 5);
  stream.end(frame);
  return stream;
}

function httpGetBytes(port: number, path: string, localAddress?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, localAddress }, (res) => {
      let n = 0;
      res.on("data", (d: Buffer) => {
        n += d.length;
      });
      res.on("end", () => resolve(res.statusCode === 200 ? n : -res.statusCode!));
      res.on("error", () => resolve(-1));
    });
    req.on("error", () => resolve(-1));
    req.end();
  });
}

async function crlScenario(s: Setup): Promise<void> {
  // Certificates to replicate, then REVOKED more, revoked and valid for 30 days.
  const data = writeGhzData(
    s.dir,
    clientCsrs(50).map((c) => c.pem),
  );
  await ghzIssue({ address: s.server.address, token: s.issuerToken }, data, {
    clients: 4,
    seconds: 2,
  });
  const before = Number(
    (await s.db.query<{ n: string }>("select count(*) as n from certificate")).rows[0]!.n,
  );
  await fill(s.db, { from: 0, to: REVOKED, caId: s.caId, stamp: new Date() });
  await s.db.query(
    `update certificate set revoked_at = now() - interval '1 hour', revocation_reason = 'KEY_COMPROMISE',
            not_after = now() + interval '30 days'
      where ca_id = $1 and id in (select id from certificate where ca_id = $1 order by id offset $2)`,
    [s.caId, before],
  );
  const revoked = Number(
    (
      await s.db.query<{ n: string }>(
        "select count(*) as n from certificate where ca_id = $1 and revoked_at is not null",
        [s.caId],
      )
    ).rows[0]!.n,
  );
  await s.db.query(
    "update certificate_authority set revocation_count = revocation_count + $2 where id = $1",
    [s.caId, revoked],
  );
  const [quietToken] = await issuerTokens(s, "crl-quiet", 1);
  // Readers and non-readers with tokens of their own (the unread budget is per token too).
  const fetchTokens = await issuerTokens(s, "crl", 2, Role.ROLE_AUDITOR);
  const ca = () =>
    new CertificateAuthorityServiceClient(s.server.address, credentials.createInsecure(), {
      interceptors: [bearer(fetchTokens[0]!)],
      "grpc.use_local_subchannel_pool": 1,
      "grpc.max_receive_message_length": 64 * 2 ** 20,
    });
  const path = `/crl/${s.caId}.crl`;
  const firstBytes = await httpGetBytes(s.publicationPort, path);
  console.log(`crl: ${revoked} revoked; its DER is ${(firstBytes / 2 ** 20).toFixed(1)} MiB`);
  const quiet = quietIssuer(s, quietToken!);
  let stop = false;
  const counts = {
    grpc: 0,
    grpcFailed: new Map<string, number>(),
    http: 0,
    httpFailed: new Map<number, number>(),
  };
  const unreadSockets: Socket[] = [];
  const sessions: ClientHttp2Session[] = [];
  const r = await sampled(s, async () => {
    const fetchers: Promise<void>[] = [];
    for (let i = 0; i < FETCHERS; i++) {
      const client = ca();
      fetchers.push(
        (async () => {
          while (!stop) {
            await new Promise<void>((resolve) =>
              client.getCertificateRevocationList(
                GetCertificateRevocationListRequest.fromPartial({
                  certificateAuthority: s.caId,
                  encoding: CrlEncoding.CRL_ENCODING_UNSPECIFIED,
                }),
                (err) => {
                  if (err) {
                    const key = `${err.code}: ${err.details}`.slice(0, 100);
                    counts.grpcFailed.set(key, (counts.grpcFailed.get(key) ?? 0) + 1);
                  } else counts.grpc++;
                  resolve();
                },
              ),
            );
          }
          client.close();
        })(),
      );
      fetchers.push(
        (async () => {
          while (!stop) {
            // Each fetcher from an address of its own (127.0.1.i): the publication port caps
            // the requests of one address (server/http-server.ts), which is not measured here.
            const got = await httpGetBytes(s.publicationPort, path, `127.0.1.${i + 1}`);
            if (got > 0) counts.http++;
            else counts.httpFailed.set(got, (counts.httpFailed.get(got) ?? 0) + 1);
          }
        })(),
      );
      // And those that ask and never read.
      unreadSockets.push(unreadHttpGet(s.publicationPort, path, `127.0.2.${i + 1}`));
      const session = http2Connect(`http://${s.server.address}`);
      session.on("error", () => undefined);
      sessions.push(session);
      for (let k = 0; k < 5; k++) {
        unreadGrpc(
          session,
          fetchTokens[1]!,
          "/certmint.v1.CertificateAuthorityService/GetCertificateRevocationList",
          GetCertificateRevocationListRequest.encode(
            GetCertificateRevocationListRequest.fromPartial({ certificateAuthority: s.caId }),
          ).finish(),
        );
      }
    }
    // A revocation a second (straight in the database, as another replica's would be seen):
    // the CRL is signed again while it is fetched.
    for (let t = 0; t < SECONDS; t++) {
      await s.db.query(
        "update certificate_authority set revocation_count = revocation_count + 1 where id = $1",
        [s.caId],
      );
      await sleep(1000);
    }
    stop = true;
    await Promise.all(fetchers);
  });
  const quietLine = await quiet.stop();
  for (const so of unreadSockets) so.destroy();
  for (const se of sessions) se.destroy();
  const failed = [...counts.grpcFailed].map(([k, n]) => `${n}x ${k}`).join("; ");
  console.log(
    line(
      `crl: ${FETCHERS} gRPC + ${FETCHERS} HTTP fetchers, ${FETCHERS} HTTP + ${5 * FETCHERS} gRPC never reading`,
      r,
    ),
  );
  console.log(
    `  ${counts.grpc} gRPC answers (${[...counts.grpcFailed.values()].reduce((a, b) => a + b, 0)} refused${failed ? `: ${failed}` : ""}), ${counts.http} HTTP answers (failed: ${[...counts.httpFailed].map(([k, n]) => `${n}x ${k}`).join(", ") || "none"}); ${quietLine}`,
  );
}

// ----------------------------------------------------------------------------------- list

async function listScenario(s: Setup, tokenCount: number): Promise<void> {
  const have = Number(
    (await s.db.query<{ n: string }>("select count(*) as n from certificate")).rows[0]!.n,
  );
  if (have < CERTIFICATES) {
    if (have === 0) {
      const data = writeGhzData(
        s.dir,
        clientCsrs(50).map((c) => c.pem),
      );
      await ghzIssue({ address: s.server.address, token: s.issuerToken }, data, {
        clients: 4,
        seconds: 2,
      });
    }
    await fill(s.db, {
      from: 10_000_000,
      to: 10_000_000 + CERTIFICATES,
      caId: s.caId,
      stamp: new Date(),
    });
  }
  const [quietToken] = await issuerTokens(s, `list${tokenCount}-quiet`, 1);
  // The callers that never read (one token, or several), and the others, who read.
  const tokens = await issuerTokens(s, `list${tokenCount}`, tokenCount, Role.ROLE_AUDITOR);
  const readerTokens = await issuerTokens(
    s,
    `reader${tokenCount}`,
    READER_TOKENS,
    Role.ROLE_AUDITOR,
  );
  const request = ListCertificatesRequest.fromPartial({
    pageSize: 1000,
    view: CertificateView.CERTIFICATE_VIEW_FULL,
  });
  const quiet = quietIssuer(s, quietToken!);
  let stop = false;
  const counts = { ok: 0, failed: new Map<string, number>() };
  const sessions: ClientHttp2Session[] = [];
  let unread = 0;
  const r = await sampled(s, async () => {
    const listers: Promise<void>[] = [];
    for (let i = 0; i < LISTERS; i++) {
      if (i % 2 === 0) {
        const token = readerTokens[(i / 2) % readerTokens.length]!;
        const client = new CertificateServiceClient(
          s.server.address,
          credentials.createInsecure(),
          {
            interceptors: [bearer(token)],
            "grpc.use_local_subchannel_pool": 1,
            "grpc.max_receive_message_length": 64 * 2 ** 20,
          },
        );
        listers.push(
          (async () => {
            let pageToken = "";
            while (!stop) {
              await new Promise<void>((resolve) =>
                client.listCertificates(
                  { ...request, pageToken },
                  new Metadata(),
                  { deadline: Date.now() + 60_000 },
                  (err, res) => {
                    if (err) {
                      const key = `${err.code}: ${err.details}`.slice(0, 100);
                      counts.failed.set(key, (counts.failed.get(key) ?? 0) + 1);
                    } else {
                      counts.ok++;
                      pageToken = res?.nextPageToken ?? "";
                    }
                    resolve();
                  },
                ),
              );
            }
            client.close();
          })(),
        );
      } else if (tokens.length > 0) {
        // Never reads: 20 lists on its own connection.
        const token = tokens[((i - 1) / 2) % tokens.length]!;
        const session = http2Connect(`http://${s.server.address}`);
        session.on("error", () => undefined);
        sessions.push(session);
        for (let k = 0; k < 20; k++) {
          unread++;
          unreadGrpc(
            session,
            token,
            "/certmint.v1.CertificateService/ListCertificates",
            ListCertificatesRequest.encode(request).finish(),
          );
        }
      }
    }
    await sleep(SECONDS * 1000);
    stop = true;
    await Promise.all(listers);
  });
  const quietLine = await quiet.stop();
  for (const se of sessions) se.destroy();
  const failed = [...counts.failed].map(([k, n]) => `${n}x ${k}`).join("; ");
  console.log(
    line(
      `list: ${unread} never-read lists over ${tokenCount} token(s), ${LISTERS / 2} reading listers over ${READER_TOKENS} tokens of their own, ${CERTIFICATES} certificates`,
      r,
    ),
  );
  console.log(
    `  ${counts.ok} pages read (${[...counts.failed.values()].reduce((a, b) => a + b, 0)} refused${failed ? `: ${failed}` : ""}); ${quietLine}`,
  );
}

async function main(): Promise<void> {
  const s = await setUp();
  console.log(
    `server pid ${s.server.pid}, --max-old-space-size=${HEAP_MB}; idle RSS ${memoryMiB(s.server.pid).rss.toFixed(0)} MiB`,
  );
  try {
    if (SCENARIOS.includes("watch")) {
      for (const n of (process.env.BENCH_TOKENS ?? "1,5").split(",").map(Number)) {
        await watchScenario(s, n);
        await sleep(2000);
      }
    }
    if (SCENARIOS.includes("crl")) await crlScenario(s);
    if (SCENARIOS.includes("list")) {
      for (const n of (process.env.BENCH_LIST_TOKENS ?? "1,5").split(",").map(Number)) {
        await listScenario(s, n);
        await sleep(2000);
      }
    }
  } finally {
    const alive = memoryMiB(s.server.pid).rss > 0;
    console.log(`server ${alive ? "still running" : "EXITED"}`);
    if (!alive) {
      // Its last words (a V8 out-of-memory report is on stderr, in the same file).
      const log = readFileSync(s.server.logFile, "utf8").split("\n");
      console.log(log.slice(-12).join("\n").slice(0, 3000));
    }
    await s.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
