/**
 * What one token's watches do to everyone else's latency: a quiet backend (its own ISSUER
 * token, one client issuing P-256 CSRs one after another) measured alone, then while another
 * ISSUER token of the same profile holds BENCH_WATCHES WatchCertificates streams (scope: all it
 * may see, so every issuance is an event each of them reads), spread over connections of
 * BENCH_WATCHES_PER_CONNECTION streams. Compiled server, fresh database of the running
 * PostgreSQL.
 *
 *   make build
 *   node --require tsx/cjs bench/fairness/watch-flood.ts
 *
 * Prints the quiet client's p50 / p99 alone and beside the watches with their ratios, how many
 * streams the server accepted and refused, and the events the watches received. Server
 * settings go in BENCH_SERVER_ENV as KEY=VALUE pairs separated by spaces (e.g.
 * "CERTMINT_WATCH_STREAMS_PER_TOKEN=100000" to see the watches without the cap).
 *
 * What every watch costs each issuance: BENCH_WATCH_TOKENS ISSUER tokens (default 1) each open
 * BENCH_WATCHES streams, BENCH_CLIENTS quiet clients (default 1) issue, and the server's CPU
 * (utime + stime, /proc) is taken over each phase. Printed: issuances per second alone and
 * beside the watches, server CPU per issuance in both, and the CPU the watches added per
 * message sent ((CPU beside - issued beside x CPU per issuance alone) / messages received).
 * BENCH_CPU_PROF=dir runs the server with --cpu-prof and prints its top functions (the
 * profile covers the whole run, the warm-up and the phase alone included).
 *
 *   BENCH_WATCH_TOKENS=5 BENCH_WATCHES=100 BENCH_CLIENTS=8 \
 *     node --require tsx/cjs bench/fairness/watch-flood.ts
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { ClientReadableStream, ServiceError } from "@grpc/grpc-js";
import {
  AccessToken,
  AccessTokenServiceClient,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import {
  CertificateServiceClient,
  CertificateServiceService,
  WatchCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { bearer, type CertmintServer, CLIENT_PROFILE, call } from "../common/certmint";
import { ghzIssue } from "../common/load";
import { processCpuSeconds } from "../common/proc";
import { topFunctions } from "../profile/top";
import { loadLine, ratio, setUpQuietBackend } from "./quiet-backend";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WATCHES = Number(process.env.BENCH_WATCHES ?? 2000);
const PER_CONNECTION = Number(process.env.BENCH_WATCHES_PER_CONNECTION ?? 200);
const WATCH_TOKENS = Number(process.env.BENCH_WATCH_TOKENS ?? 1);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1);
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const SERVER_ENV = Object.fromEntries(
  (process.env.BENCH_SERVER_ENV ?? "")
    .split(" ")
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
);

const WATCH = CertificateServiceService.watchCertificates;

interface Watches {
  opened: number;
  refused: Map<string, number>;
  events: number;
  close(): void;
}

/** `count` watches of `token`, `perConnection` to a connection; resolves once each answered. */
async function openWatches(
  server: CertmintServer,
  token: string,
  count: number,
  perConnection: number,
): Promise<Watches> {
  const clients: CertificateServiceClient[] = [];
  const streams: ClientReadableStream<Buffer>[] = [];
  const result: Watches = {
    opened: 0,
    refused: new Map(),
    events: 0,
    close() {
      for (const s of streams) s.cancel();
      for (const c of clients) c.close();
    },
  };
  const settled: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    if (i % perConnection === 0) {
      clients.push(
        new CertificateServiceClient(server.address, server.credentials, {
          ...server.channelOptions,
          // One connection per client, not one shared by every client of this address.
          "grpc.use_local_subchannel_pool": 1,
          interceptors: [bearer(token)],
        }),
      );
    }
    // Messages counted, not decoded: the bench shares the server's 2 cores, and decoding every
    // message of every stream here took CPU the server's figures would miss.
    const stream = clients
      .at(-1)!
      .makeServerStreamRequest(
        WATCH.path,
        WATCH.requestSerialize,
        (bytes: Buffer) => bytes,
        WatchCertificatesRequest.fromPartial({}),
      );
    streams.push(stream);
    settled.push(
      new Promise<void>((resolve) => {
        stream.once("metadata", () => {
          result.opened++;
          resolve();
        });
        stream.on("data", () => {
          result.events++;
        });
        stream.on("error", (err: ServiceError) => {
          if (err.code !== 1) {
            const reason = err.details || String(err.code);
            result.refused.set(reason, (result.refused.get(reason) ?? 0) + 1);
          }
          resolve();
        });
      }),
    );
  }
  await Promise.all(settled);
  return result;
}

/** The profile's issuer token, then WATCH_TOKENS - 1 more ISSUER tokens of the profile. */
async function watchingTokens(server: CertmintServer, first: string): Promise<string[]> {
  const admin = new AccessTokenServiceClient(server.address, server.credentials, {
    ...server.channelOptions,
    interceptors: [bearer(server.adminToken)],
  });
  const out = [first];
  for (let i = 1; i < WATCH_TOKENS; i++) {
    const created = await call(admin, "createAccessToken", {
      accessToken: AccessToken.fromPartial({
        slug: `bench-watcher-${i}`,
        role: Role.ROLE_ISSUER,
        certificateProfiles: [CLIENT_PROFILE],
      }),
    });
    out.push(created.secret);
  }
  admin.close();
  return out;
}

async function main(): Promise<void> {
  const nodeFlags = PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const bench = await setUpQuietBackend("watch-flood", { env: SERVER_ENV, nodeFlags });
  const issued: number[] = [];
  try {
    const { server, quiet, data } = bench;
    const cpu0 = processCpuSeconds(server.pid);
    const alone = await ghzIssue(quiet, data, { clients: CLIENTS, seconds: SECONDS });
    const cpuAlone = processCpuSeconds(server.pid) - cpu0;
    const tokens = await watchingTokens(server, bench.noisyToken);
    const all = await Promise.all(
      tokens.map((t) => openWatches(server, t, WATCHES, PER_CONNECTION)),
    );
    const opened = all.reduce((n, w) => n + w.opened, 0);
    const before = all.reduce((n, w) => n + w.events, 0);
    const cpu1 = processCpuSeconds(server.pid);
    const beside = await ghzIssue(quiet, data, { clients: CLIENTS, seconds: SECONDS });
    const cpuBeside = processCpuSeconds(server.pid) - cpu1;
    const received = all.reduce((n, w) => n + w.events, 0) - before;
    for (const w of all) w.close();
    issued.push(alone.successes, beside.successes);
    const clients = `${CLIENTS} client${CLIENTS === 1 ? "" : "s"}`;
    console.log(loadLine(`quiet token alone (${clients})`, alone));
    console.log(loadLine(`quiet token beside ${opened} open watches (${clients})`, beside));
    for (const [i, w] of all.entries()) {
      const refused = [...w.refused].map(([why, n]) => `${n} x ${why}`).join("; ");
      console.log(
        `watching token ${i + 1}: ${WATCHES} watches asked for, ${w.opened} open, ${WATCHES - w.opened} refused${refused ? ` (${refused})` : ""}`,
      );
    }
    console.log(
      `quiet beside / alone: calls ${ratio(beside.successes, alone.successes)}, mean ${ratio(beside.meanMs, alone.meanMs)}, p50 ${ratio(beside.p50Ms, alone.p50Ms)}, p99 ${ratio(beside.p99Ms, alone.p99Ms)}`,
    );
    const perIssuance = cpuAlone / Math.max(alone.successes, 1);
    const watchCpu = cpuBeside - perIssuance * beside.successes;
    console.log(
      `server CPU: alone ${cpuAlone.toFixed(1)} s (${(perIssuance * 1e3).toFixed(2)} ms/issuance), beside ${cpuBeside.toFixed(1)} s (${((cpuBeside / Math.max(beside.successes, 1)) * 1e3).toFixed(2)} ms/issuance); ${received} messages received: ${received > 0 ? ((watchCpu / received) * 1e6).toFixed(0) : "-"} us of CPU per message (per event per stream)`,
    );
  } finally {
    await bench.close();
  }
  if (PROFILE_DIR) {
    const last = readdirSync(PROFILE_DIR)
      .filter((f) => f.endsWith(".cpuprofile"))
      .sort()
      .at(-1);
    if (last) {
      const total = issued.reduce((a, b) => a + b, 0);
      console.log(topFunctions(join(PROFILE_DIR, last), total, 30));
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
