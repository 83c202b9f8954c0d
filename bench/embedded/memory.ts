/**
 * The server's memory on the embedded database (what `make run` starts): the compiled server
 * with no DATABASE_URL on a fresh data directory, RSS (VmRSS, and VmHWM as the peak) after the
 * first start and after BENCH_SECONDS of BENCH_CLIENTS issuing P-256 CSRs, then the same after a
 * restart on the same data directory.
 *
 *   make build
 *   node --require tsx/cjs bench/embedded/memory.ts
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CertmintServer, createClientProfile, startCertmint } from "../common/certmint";
import { clientCsrs } from "../common/csr";
import { ghzIssue, writeGhzData } from "../common/load";

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

/** The process's RSS now and at its peak, MiB. */
function rss(server: CertmintServer): string {
  const status = readFileSync(`/proc/${server.pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]);
  return `RSS ${Math.round(kib("VmRSS") / 1024)} MiB (peak ${Math.round(kib("VmHWM") / 1024)})`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "certmint-embedded-memory-"));
  // An empty DATABASE_URL: the embedded database in <dir>/data.
  const start = () => startCertmint({ databaseUrl: "", dir });
  try {
    let server = await start();
    console.log(`first start: ${rss(server)}`);
    const profile = await createClientProfile(server);
    const data = writeGhzData(
      dir,
      clientCsrs(200).map((c) => c.pem),
    );
    const load = async (label: string) => {
      const target = { address: server.address, token: profile.issuerToken };
      const r = await ghzIssue(target, data, { clients: CLIENTS, seconds: SECONDS });
      console.log(
        `${label}: ${CLIENTS} clients ${SECONDS} s, ${(r.successes / r.seconds).toFixed(0)} issuances/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ${r.errors} errors; ${rss(server)}`,
      );
    };
    await load("after the first start");
    await server.stop();
    server = await start();
    console.log(`restart: ${rss(server)}`);
    await load("after the restart");
    await server.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
