/**
 * What one anonymous address flooding the publication port (no credentials: CA certificates,
 * CRLs, OCSP) does to a backend's issuance latency on the gRPC port of the same process: a
 * quiet backend (its own ISSUER token, one client issuing P-256 CSRs one after another)
 * measured alone, then beside vegeta sending `GET /ca/<id>.crt` (a cached answer, the cheapest
 * request there is) from BENCH_FLOOD_WORKERS keep-alive connections as fast as they are
 * answered, on the compiled server and a fresh database of the running PostgreSQL.
 *
 *   make build bench-tools
 *   node --require tsx/cjs bench/fairness/publication-flood.ts
 *
 * Prints the quiet client's p50 / p99 alone and beside the flood with their ratios, and the
 * flood's requests per second by status code. Everything shares the machine; the ratio,
 * measured in one run, is the figure.
 */
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { ghzIssue, runTool } from "../common/load";
import { toolPath } from "../common/tools";
import { loadLine, ratio, setUpQuietBackend } from "./quiet-backend";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const FLOOD_WORKERS = Number(process.env.BENCH_FLOOD_WORKERS ?? 32);

interface VegetaReport {
  requests: number;
  duration: number;
  wait: number;
  status_codes: Record<string, number>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** vegeta GETs of `url` from `workers` keep-alive connections, each sending as it is answered. */
async function flood(url: string, dir: string, seconds: number): Promise<string> {
  const targets = join(dir, "flood-targets.txt");
  const results = join(dir, "flood.bin");
  writeFileSync(targets, `GET ${url}\n`);
  const vegeta = toolPath("vegeta");
  await runTool(vegeta, [
    "attack",
    `-targets=${targets}`,
    "-rate=0",
    `-workers=${FLOOD_WORKERS}`,
    `-max-workers=${FLOOD_WORKERS}`,
    `-duration=${seconds}s`,
    "-timeout=10s",
    "-keepalive=true",
    `-output=${results}`,
  ]);
  const report = JSON.parse(
    await runTool(vegeta, ["report", "-type=json", results]),
  ) as VegetaReport;
  const per = (n: number) => (n / (report.duration / 1e9)).toFixed(0);
  const codes = Object.entries(report.status_codes)
    .map(([code, n]) => `${code === "0" ? "no answer" : code}: ${n} (${per(n)}/s)`)
    .join(", ");
  return `flood (${FLOOD_WORKERS} connections, GET /ca/<id>.crt): ${report.requests} requests, ${per(report.requests)}/s; ${codes}`;
}

async function main(): Promise<void> {
  const port = await freePort();
  const bench = await setUpQuietBackend("publication-flood", {
    env: {
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      CERTMINT_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      ...(process.env.BENCH_SERVER_ENV ? JSON.parse(process.env.BENCH_SERVER_ENV) : {}),
    },
  });
  try {
    const { quiet, data, caId } = bench;
    const url = `http://127.0.0.1:${port}/ca/${caId}.crt`;
    const alone = await ghzIssue(quiet, data, { clients: 1, seconds: SECONDS });
    const [beside, flooded] = await Promise.all([
      ghzIssue(quiet, data, { clients: 1, seconds: SECONDS }),
      flood(url, bench.dir, SECONDS + 2),
    ]);
    console.log(loadLine("quiet token alone (1 client)", alone));
    console.log(loadLine("quiet token beside the flood (1 client)", beside));
    console.log(flooded);
    console.log(
      `quiet beside / alone: calls ${ratio(beside.successes, alone.successes)}, mean ${ratio(beside.meanMs, alone.meanMs)}, p50 ${ratio(beside.p50Ms, alone.p50Ms)}, p99 ${ratio(beside.p99Ms, alone.p99Ms)}`,
    );
  } finally {
    await bench.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
