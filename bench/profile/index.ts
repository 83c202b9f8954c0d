/**
 * A short, targeted look at one issuance's cost on the compiled server (dist/src/main.js), for
 * tuning CPU and memory without the full `make bench-issue`: a fresh database on the running
 * PostgreSQL, the client profile of bench/common/certmint.ts (P-256 root and intermediate),
 * `BENCH_CLIENTS` ghz workers issuing P-256 CSRs for `BENCH_SECONDS`, then
 *   - the server's CPU per stored issuance (utime + stime from /proc over the load window),
 *   - its RSS idle (after set-up) and at peak / end of the load,
 *   - with BENCH_CPU_PROF=dir, where its main-thread CPU went (bench/issue/cpu-profile.ts);
 *   - with BENCH_HEAP_SNAPSHOT=dir, a heap snapshot of the server right after the load.
 *
 *   npm run build
 *   BENCH_CLIENTS=16 BENCH_SECONDS=15 node --require tsx/cjs bench/profile/index.ts
 *
 * Extra node flags for the server go in BENCH_NODE_FLAGS (e.g. "--max-semi-space-size=4").
 * The load generator shares the machine: a figure here is for comparing two builds run the same
 * way, not a reference (that is `make bench-issue`).
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClientProfile, startCertmint } from "../common/certmint";
import { clientCsrs } from "../common/csr";
import { ghzIssue, writeGhzData } from "../common/load";
import { summarizeCpuProfile } from "../issue/cpu-profile";
import { cpuSeconds, rssMiB } from "../issue/server";
import { freshDatabase } from "../issue/setup";

const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ?? "postgresql://certmint:certmint@127.0.0.1:5432/certmint";
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
/** Write a heap snapshot of the server at the end of the load into this directory. */
const HEAP_SNAPSHOT_DIR = process.env.BENCH_HEAP_SNAPSHOT;
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "certmint-profile-"));
  const db = await freshDatabase(ADMIN_URL);
  const flags = [
    ...NODE_FLAGS,
    ...(PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : []),
    ...(HEAP_SNAPSHOT_DIR
      ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${HEAP_SNAPSHOT_DIR}`]
      : []),
  ];
  const server = await startCertmint({
    databaseUrl: db.url,
    dir,
    nodeFlags: flags,
  }).catch(async (err: unknown) => {
    await db.drop(); // a server that did not start leaves no database behind
    throw err;
  });
  try {
    const profile = await createClientProfile(server);
    const data = writeGhzData(
      dir,
      clientCsrs(200).map((c) => c.pem),
    );
    // A short warm-up (JIT, pool connections), not counted.
    await ghzIssue({ address: server.address, token: profile.issuerToken }, data, {
      clients: CLIENTS,
      seconds: 2,
    });
    const idle = rssMiB(server.pid);
    let peak = idle;
    const timer = setInterval(() => {
      peak = Math.max(peak, rssMiB(server.pid));
    }, 200);
    const cpu0 = cpuSeconds(server.pid);
    const res = await ghzIssue({ address: server.address, token: profile.issuerToken }, data, {
      clients: CLIENTS,
      seconds: SECONDS,
    });
    const cpu1 = cpuSeconds(server.pid);
    clearInterval(timer);
    const end = rssMiB(server.pid);
    if (HEAP_SNAPSHOT_DIR) {
      // --heapsnapshot-signal: the server writes a snapshot (after a full GC) into the directory.
      const count = () => readdirSync(HEAP_SNAPSHOT_DIR).filter((f) => f.endsWith(".heapsnapshot"));
      const before = count().length;
      process.kill(server.pid, "SIGUSR2");
      const deadline = Date.now() + 120_000;
      while (count().length === before && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      console.log(
        `heap snapshot in ${HEAP_SNAPSHOT_DIR}; RSS after it ${rssMiB(server.pid).toFixed(0)} MiB`,
      );
    }
    const cpuMs = ((cpu1 - cpu0) * 1000) / Math.max(1, res.successes);
    console.log(
      `${CLIENTS} clients, ${res.seconds.toFixed(1)} s: ${res.successes} issued, ${res.errors} errors` +
        `${res.topError ? ` (${res.topError})` : ""}; ${(res.successes / res.seconds).toFixed(0)}/s; ` +
        `p50 ${res.p50Ms.toFixed(1)} ms p99 ${res.p99Ms.toFixed(1)} ms; ` +
        `server CPU ${cpuMs.toFixed(2)} ms/issuance; RSS idle ${idle.toFixed(0)} MiB, ` +
        `peak ${peak.toFixed(0)}, end ${end.toFixed(0)} MiB`,
    );
    await server.stop();
    if (PROFILE_DIR) {
      const files = readdirSync(PROFILE_DIR)
        .filter((f) => f.endsWith(".cpuprofile"))
        .sort();
      const last = files[files.length - 1];
      if (last) console.log(summarizeCpuProfile(join(PROFILE_DIR, last), undefined, 25));
    }
  } finally {
    await server.stop();
    await db.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
