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
 */
import type { ClientReadableStream, ServiceError } from "@grpc/grpc-js";
import {
  CertificateServiceClient,
  WatchCertificatesRequest,
  type WatchCertificatesResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import { bearer, type CertmintServer } from "../common/certmint";
import { ghzIssue } from "../common/load";
import { loadLine, ratio, setUpQuietBackend } from "./quiet-backend";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WATCHES = Number(process.env.BENCH_WATCHES ?? 2000);
const PER_CONNECTION = Number(process.env.BENCH_WATCHES_PER_CONNECTION ?? 200);
const SERVER_ENV = Object.fromEntries(
  (process.env.BENCH_SERVER_ENV ?? "")
    .split(" ")
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
);

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
  const streams: ClientReadableStream<WatchCertificatesResponse>[] = [];
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
    const stream = clients.at(-1)!.watchCertificates(WatchCertificatesRequest.fromPartial({}));
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

async function main(): Promise<void> {
  const bench = await setUpQuietBackend("watch-flood", { env: SERVER_ENV });
  try {
    const { server, quiet, data } = bench;
    const alone = await ghzIssue(quiet, data, { clients: 1, seconds: SECONDS });
    const watches = await openWatches(server, bench.noisyToken, WATCHES, PER_CONNECTION);
    const beside = await ghzIssue(quiet, data, { clients: 1, seconds: SECONDS });
    const received = watches.events;
    watches.close();
    console.log(loadLine("quiet token alone (1 client)", alone));
    console.log(loadLine(`quiet token beside ${watches.opened} open watches (1 client)`, beside));
    const refused = [...watches.refused].map(([why, n]) => `${n} x ${why}`).join("; ");
    console.log(
      `watching token: ${WATCHES} watches asked for, ${watches.opened} open, ${WATCHES - watches.opened} refused${refused ? ` (${refused})` : ""}; ${received} messages received meanwhile`,
    );
    console.log(
      `quiet beside / alone: calls ${ratio(beside.successes, alone.successes)}, mean ${ratio(beside.meanMs, alone.meanMs)}, p50 ${ratio(beside.p50Ms, alone.p50Ms)}, p99 ${ratio(beside.p99Ms, alone.p99Ms)}`,
    );
  } finally {
    await bench.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
