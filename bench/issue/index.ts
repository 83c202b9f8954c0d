/**
 * IssueCertificate end to end: concurrent gRPC clients against the real server process
 * (the compiled dist/src/main.js, as `make run` starts it) on a real PostgreSQL with durable commits, a P-256 root
 * CA and a TLS-server profile. Every call carries a fresh request_id, so every call is one
 * stored issuance (request row PENDING with its serial, then certificate + ISSUED).
 *
 *   make bench-issue
 *   node --require tsx/cjs bench/issue/index.ts [seconds-per-row, default 6]
 *
 * Environment:
 *   BENCH_DATABASE_URL  a role that may create databases (default: the local test cluster,
 *                       postgresql://certmint:certmint@127.0.0.1:5432/certmint); a fresh
 *                       database is created for the run and dropped after it.
 *   BENCH_CPU_PROF=dir  run the server with --cpu-prof and print where its CPU time went
 *                       (profiling slows the server: those figures are not the reference).
 *   BENCH_PROCESSES=1,2 the CSR rows once per CERTMINT_PROCESSES value listed (default 1), each
 *                       on a fresh server on the same database, then the ratio of each to the
 *                       first; the other rows run with the last value. Server CPU and RSS are
 *                       the supervisor's and its workers' together.
 *
 * Rows: CSR issuance at 1, 16 and 64 clients; server-generated EC_P256 and RSA_2048 keys; CSR
 * p99 at 16 clients beside the same with 2 clients asking for RSA_2048 keys all the time.
 * Then a probe of what one issuance costs PostgreSQL: round trips per issuance counted on the
 * wire (through a counting proxy, one client, a second server instance), and the latency of one
 * round trip and of one durable commit on this machine.
 *
 * The load generator runs on the same machine as the server and PostgreSQL: the CPU columns
 * show how the cores were shared. Latency is measured per call by the client (queueing in the
 * client included); no figure here is an assertion.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { summarizeCpuProfile } from "./cpu-profile";
import { type LoopResult, type MakeRequest, percentile, runLoops, type Target } from "./load";
import { startPgCounter } from "./pg-counter";
import {
  type BenchServer,
  machineBusySeconds,
  postgresCpuSeconds,
  rssMiB,
  startServer,
  treeCpuSeconds,
} from "./server";
import { type BenchDatabase, createIssuer, csrPool, freshDatabase } from "./setup";

const SECONDS = Number(process.argv[2] ?? 6);
/** Baseline / with-RSA pairs of the interference measurement. */
const INTERFERENCE_ROUNDS = 3;
const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ?? "postgresql://certmint:certmint@127.0.0.1:5432/certmint";
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const PROCESSES = (process.env.BENCH_PROCESSES || "1").split(",").map((v) => {
  const n = Number(v.trim());
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`BENCH_PROCESSES: not a process count: "${v}"`);
  return n;
});
/** Client counts of the CSR rows, run once per process count. */
const CSR_CLIENTS = [1, 16, 64] as const;
const CSR_POOL = 200;
/** The server inherits this environment: CERTMINT_DATABASE_POOL_SIZE (default 10) applies. */
const POOL_SIZE = process.env.CERTMINT_DATABASE_POOL_SIZE ?? "10";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function csrRequests(csrs: string[], tag: string): MakeRequest {
  return (ci, n) =>
    IssueCertificateRequest.fromPartial({
      certificateProfile: "web",
      requestId: `${tag}-${ci}-${n}`,
      source: { $case: "csrPem", value: csrs[(ci * 37 + n) % csrs.length]! },
    });
}

function generatedRequests(keyAlgorithm: KeyAlgorithm, tag: string): MakeRequest {
  return (ci, n) => {
    const name = `gen-${ci}-${n}.bench.example.com`;
    return IssueCertificateRequest.fromPartial({
      certificateProfile: "web",
      requestId: `${tag}-${ci}-${n}`,
      source: {
        $case: "attributes",
        value: {
          subject: { commonName: name },
          subjectAlternativeNames: { dnsNames: [name] },
          keyAlgorithm,
        },
      },
    });
  };
}

interface CpuSample {
  at: number;
  server: number;
  bench: number;
  postgres: number;
  machine: number;
}

class Meter {
  constructor(
    private readonly server: BenchServer,
    private readonly admin: Client,
  ) {}
  /** CPU seconds so far of the server, this process, PostgreSQL and the whole machine. */
  cpu(): CpuSample {
    const own = process.cpuUsage();
    return {
      at: performance.now(),
      server: treeCpuSeconds(this.server.pid),
      bench: (own.user + own.system) / 1e6,
      postgres: postgresCpuSeconds(),
      machine: machineBusySeconds(),
    };
  }
  /** WAL fsyncs of the whole cluster (pg_stat_wal; published at most once a second). */
  async walSyncs(): Promise<number> {
    const wal = await this.admin.query<{ wal_sync: string }>("select wal_sync from pg_stat_wal");
    return Number(wal.rows[0]?.wal_sync ?? 0);
  }
  /** Samples RSS every 200 ms while `work` runs: the peak, and the value at the end. */
  async rssDuring<T>(work: Promise<T>): Promise<{ value: T; peak: number; end: number }> {
    let peak = rssMiB(this.server.pid);
    const timer = setInterval(() => {
      peak = Math.max(peak, rssMiB(this.server.pid));
    }, 200);
    try {
      const value = await work;
      const end = rssMiB(this.server.pid);
      return { value, peak: Math.max(peak, end), end };
    } finally {
      clearInterval(timer);
    }
  }
}

const COLUMNS = [
  ["row", 34],
  ["clients", 7],
  ["calls", 6],
  ["err", 4],
  ["certs/s", 8],
  ["p50 ms", 7],
  ["p99 ms", 7],
  ["max ms", 7],
  ["srv cpu", 7],
  ["pg cpu", 7],
  ["bench cpu", 9],
  ["other cpu", 9],
  ["fsync/iss", 9],
  ["RSS MiB", 11],
] as const;

function printRow(values: (string | number)[]): void {
  console.log(
    values
      .map((v, i) => {
        const [, width] = COLUMNS[i]!;
        return i === 0 ? String(v).padEnd(width) : String(v).padStart(width);
      })
      .join(" "),
  );
}

interface RowFigures {
  p99: number;
}

async function measureRow(
  meter: Meter,
  label: string,
  target: Target,
  load: { clients: number; make: MakeRequest; maxCalls: number; seconds: number },
  background?: { clients: number; make: MakeRequest },
): Promise<RowFigures & { rate: number; result: LoopResult; background?: LoopResult }> {
  let measuring = true;
  const bg = background
    ? runLoops(target, { ...background, maxCalls: Number.MAX_SAFE_INTEGER }, () => !measuring)
    : undefined;
  if (bg) await sleep(500); // the background load reaches its steady state first
  const walBefore = await meter.walSyncs();
  const before = meter.cpu();
  const deadline = performance.now() + load.seconds * 1000;
  const {
    value: result,
    peak,
    end,
  } = await meter.rssDuring(runLoops(target, load, () => performance.now() > deadline));
  const after = meter.cpu();
  measuring = false;
  const bgResult = bg ? await bg : undefined;
  await sleep(1100); // PostgreSQL publishes its statistics at most once a second
  const walSyncs = (await meter.walSyncs()) - walBefore;
  const secs = (after.at - before.at) / 1000;
  const cpu = (a: number, b: number) => `${((100 * (b - a)) / secs).toFixed(0)}%`;
  const ok = result.latencies.length;
  const rate = (ok * 1000) / result.elapsedMs;
  const issued = ok + (bgResult?.latencies.length ?? 0);
  const p99 = percentile(result.latencies, 99);
  printRow([
    label,
    load.clients,
    result.calls,
    result.errors,
    rate.toFixed(0),
    percentile(result.latencies, 50).toFixed(1),
    p99.toFixed(1),
    percentile(result.latencies, 100).toFixed(1),
    cpu(before.server, after.server),
    cpu(before.postgres, after.postgres),
    cpu(before.bench, after.bench),
    cpu(
      before.machine - before.server - before.postgres - before.bench,
      after.machine - after.server - after.postgres - after.bench,
    ),
    issued ? (walSyncs / issued).toFixed(2) : "-",
    `${peak.toFixed(0)} / ${end.toFixed(0)}`,
  ]);
  if (result.firstError) console.log(`    first error: ${result.firstError}`);
  if (bgResult) {
    console.log(
      `    meanwhile ${background!.clients} RSA_2048 clients: ${bgResult.latencies.length} issued, ` +
        `p50 ${percentile(bgResult.latencies, 50).toFixed(0)} ms, ${bgResult.errors} errors`,
    );
  }
  return { p99, rate, result, background: bgResult };
}

/** Latency of one round trip (select 1) and of one durable commit (autocommit insert). */
async function postgresBaseline(db: BenchDatabase): Promise<void> {
  const c = new Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query("create table bench_probe (id uuid primary key, v text not null)");
    const time = async (n: number, fn: () => Promise<unknown>) => {
      for (let i = 0; i < 20; i++) await fn();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await fn();
      return (performance.now() - t0) / n;
    };
    const rt = await time(500, () => c.query("select $1::int", [1]));
    const commit = await time(300, () =>
      c.query("insert into bench_probe values ($1, $2)", [randomUUID(), "x"]),
    );
    console.log(
      `PostgreSQL alone, one connection: round trip ${rt.toFixed(3)} ms; ` +
        `durable commit (autocommit insert) ${commit.toFixed(3)} ms`,
    );
  } finally {
    await c.query("drop table if exists bench_probe").catch(() => undefined);
    await c.end();
  }
}

/** A second server instance reaching PostgreSQL through the counting proxy; one client. */
async function roundTripProbe(
  db: BenchDatabase,
  csrs: string[],
  dataDir: string,
  token: string,
): Promise<void> {
  const counter = await startPgCounter(db.url);
  const server = await startServer({
    env: { DATABASE_URL: counter.url, CERTMINT_DATA_DIR: dataDir },
    logFile: join(dataDir, "probe.log"),
  });
  // The same database, so the same issuer token.
  const probe: Target = { address: server.address, token };
  // WAL fsyncs of the cluster, read directly (not through the proxy): what really was made
  // durable, beside the proxy's count, which judges a statement by its text (a store that
  // inserts nothing is counted as a commit, but writes no WAL). Backends publish these at most
  // once a second, so each reading waits past that.
  const direct = new Client({ connectionString: db.url });
  await direct.connect();
  const walSyncs = async () => {
    await sleep(1100);
    const wal = await direct.query<{ wal_sync: string }>("select wal_sync from pg_stat_wal");
    return Number(wal.rows[0]?.wal_sync ?? 0);
  };
  try {
    const warm = csrRequests(csrs, "probe-warm");
    await runLoops(probe, { clients: 1, make: warm, maxCalls: 20 }, () => false);
    const report = async (label: string, m: MakeRequest, n: number) => {
      const walBefore = await walSyncs();
      counter.reset();
      const r = await runLoops(probe, { clients: 1, make: m, maxCalls: n }, () => false);
      const c = counter.counts;
      const fsyncs = (await walSyncs()) - walBefore;
      const ok = r.latencies.length || 1;
      const kinds = [...c.byKind]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${(v / ok).toFixed(2)}`)
        .join(", ");
      console.log(
        `${label}: ${(c.roundTrips / ok).toFixed(2)} PostgreSQL round trips per issuance (${kinds}); ` +
          `${(c.durableCommits / ok).toFixed(2)} durable commits by statement text, ` +
          `${(fsyncs / ok).toFixed(2)} WAL fsyncs; ${r.errors} errors`,
      );
    };
    await report("CSR, fresh request_id", csrRequests(csrs, "probe-csr"), 200);
    await report(
      "CSR, replay of a finished request_id",
      (ci, n) => warm(ci, n % 20), // the 20 warm-up request_ids, already ISSUED
      100,
    );
    await report(
      "generated EC_P256",
      generatedRequests(KeyAlgorithm.KEY_ALGORITHM_EC_P256, "probe-gen"),
      100,
    );
  } finally {
    await direct.end();
    await server.stop();
    await counter.close();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const db = await freshDatabase(ADMIN_URL);
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-bench-"));
  const admin = new Client({ connectionString: db.url });
  await admin.connect();
  let server: BenchServer | undefined;
  try {
    const settings = await admin.query<{ v: string; sc: string }>(
      "select current_setting('server_version') as v, current_setting('synchronous_commit') as sc",
    );
    console.log("certmint bench/issue: IssueCertificate over gRPC against the server process");
    // What the machine does without us: figures are only comparable when this is near 0.
    const idle0 = machineBusySeconds();
    await sleep(1000);
    const busyBefore = machineBusySeconds() - idle0;
    console.log(
      `${availableParallelism()} cores (${cpus()[0]?.model.trim()}), node ${process.version}, ` +
        `PostgreSQL ${settings.rows[0]?.v} (synchronous_commit=${settings.rows[0]?.sc}), server database pool ${POOL_SIZE}`,
    );
    console.log(
      `machine busy before the run: ${(100 * busyBefore).toFixed(0)}% of a core` +
        `${busyBefore > 0.1 ? " (something else is running: figures will be low)" : ""}; load average ${loadavg()[0]!.toFixed(2)}; ` +
        `${SECONDS} s per row; the server, PostgreSQL and this load generator share the machine`,
    );
    const nodeFlags = PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [];
    const csrs = await csrPool(CSR_POOL);
    let target: Target | undefined;
    let meter: Meter | undefined;
    const rates = new Map<number, number[]>();
    const row = (clients: number, maxCalls = 1_000_000, seconds = SECONDS) => ({
      clients,
      maxCalls,
      seconds,
    });
    for (const [i, processes] of PROCESSES.entries()) {
      server = await startServer({
        env: { DATABASE_URL: db.url, CERTMINT_DATA_DIR: dataDir },
        logFile: join(dataDir, `server-${i}-processes-${processes}.log`),
        nodeFlags,
        processes,
      });
      // An issuer token for the profile, as a backend would hold; the admin token sets it up
      // (once: the next servers use the same database).
      if (!target) {
        const adminToken = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
        target = {
          address: server.address,
          token: await createIssuer(server.address, db, adminToken),
        };
      }
      target = { ...target, address: server.address };
      meter = new Meter(server, admin);

      // Warm-up: JIT, the connection pool, the policy and issuer caches.
      const warm = await runLoops(
        target,
        { clients: 16, make: csrRequests(csrs, `warm-${i}`), maxCalls: 20_000 },
        (() => {
          const until = performance.now() + 1500;
          return () => performance.now() > until;
        })(),
      );
      console.log(
        `CERTMINT_PROCESSES=${processes}: warm-up ${warm.latencies.length} issuances, ${warm.errors} errors${warm.firstError ? ` (${warm.firstError})` : ""}; ` +
          `${CSR_POOL} distinct P-256 CSRs cycled; server log ${server.logFile}\n`,
      );
      if (i === 0) {
        console.log(
          "cpu columns: CPU time over the row, 100% = one core, for the server (all its processes), PostgreSQL, this load generator and every " +
            "other process (other > ~10% means the figures are disturbed); fsync/iss: WAL fsyncs (whole cluster) per issuance; " +
            "RSS: server peak / end (all its processes)",
        );
        printRow(COLUMNS.map(([name]) => name));
      }
      const label = PROCESSES.length > 1 ? `CSR (P-256), ${processes} proc` : "CSR (P-256)";
      const measured: number[] = [];
      for (const clients of CSR_CLIENTS) {
        const { rate } = await measureRow(meter, label, target, {
          ...row(clients),
          make: csrRequests(csrs, `c${clients}-${i}`),
        });
        measured.push(rate);
      }
      rates.set(processes, measured);
      if (i < PROCESSES.length - 1) {
        await server.stop();
        server = undefined;
      }
    }
    if (!server || !target || !meter) throw new Error("no server was started");
    if (PROCESSES.length > 1) {
      const first = rates.get(PROCESSES[0]!)!;
      console.log(
        `\nCSR issuances/s by CERTMINT_PROCESSES (ratio to ${PROCESSES[0]} process${PROCESSES[0] === 1 ? "" : "es"}):`,
      );
      for (const processes of PROCESSES) {
        const r = rates.get(processes)!;
        console.log(
          `  ${String(processes).padStart(2)} process${processes === 1 ? " " : "es"}: ` +
            CSR_CLIENTS.map(
              (c, k) => `${c} clients ${r[k]!.toFixed(0)} (x${(r[k]! / first[k]!).toFixed(2)})`,
            ).join(", "),
        );
      }
      console.log(`the rows below: CERTMINT_PROCESSES=${PROCESSES.at(-1)}\n`);
    }
    await measureRow(meter, "generated EC_P256", target, {
      ...row(16, 1_000_000, Math.min(SECONDS, 5)),
      make: generatedRequests(KeyAlgorithm.KEY_ALGORITHM_EC_P256, "g-ec"),
    });
    await measureRow(meter, "generated RSA_2048", target, {
      ...row(4, 40, 8),
      make: generatedRequests(KeyAlgorithm.KEY_ALGORITHM_RSA_2048, "g-rsa"),
    });
    // Interference: CSR p99 alone and with RSA key generation alongside, in alternating rounds
    // so drift (table growth, autovacuum, a noisy neighbour) hits both sides alike; the ratio
    // is of the p99s over all rounds pooled.
    const alone: number[] = [];
    const withRsa: number[] = [];
    for (let round = 1; round <= INTERFERENCE_ROUNDS; round++) {
      const base = await measureRow(meter, `CSR alone, round ${round}`, target, {
        ...row(16, 1_000_000, 4),
        make: csrRequests(csrs, `i0-${round}`),
      });
      const mixed = await measureRow(
        meter,
        `CSR + 2 RSA_2048 clients, round ${round}`,
        target,
        { ...row(16, 1_000_000, 4), make: csrRequests(csrs, `i1-${round}`) },
        {
          clients: 2,
          make: generatedRequests(KeyAlgorithm.KEY_ALGORITHM_RSA_2048, `i-rsa-${round}`),
        },
      );
      alone.push(...base.result.latencies);
      withRsa.push(...mixed.result.latencies);
    }
    const p99Alone = percentile(alone, 99);
    const p99WithRsa = percentile(withRsa, 99);
    console.log(
      `\ninterference (${INTERFERENCE_ROUNDS} alternating rounds pooled): CSR p99 at 16 clients ${p99Alone.toFixed(1)} ms alone, ` +
        `${p99WithRsa.toFixed(1)} ms with 2 RSA_2048 key-generating clients: ratio ${(p99WithRsa / p99Alone).toFixed(2)} (goal <= 2)`,
    );
    const stored = await admin.query<{ n: string }>("select count(*) as n from certificate");
    console.log(`certificates stored in the run: ${stored.rows[0]?.n}\n`);

    await server.stop();
    server = undefined;
    if (PROFILE_DIR) {
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (the
      // key-generation workers write their own profiles, and usually last).
      const newest = readdirSync(PROFILE_DIR)
        .filter((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f))
        .map((f) => join(PROFILE_DIR, f))
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
      if (newest) console.log(`${summarizeCpuProfile(newest, Number(stored.rows[0]?.n))}\n`);
    }
    await postgresBaseline(db);
    await roundTripProbe(db, csrs, dataDir, target.token);
    console.log(`\ntotal bench time ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await server?.stop();
    await admin.end();
    await db
      .drop()
      .catch((err: unknown) => console.error(`could not drop ${db.name}: ${String(err)}`));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
