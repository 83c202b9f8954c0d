/**
 * Two builds side by side, at the same time, on this machine: on a shared, noisy machine the
 * CPU figures of runs made one after the other differ by ±25%, so a change of a few percent
 * shows only between builds loaded together. Each build (a clone with its own dist/, built)
 * runs its compiled server on a fresh database with its own ghz load; per round, the server's
 * CPU (utime + stime) and that of its PostgreSQL backends (the backends of its database,
 * sampled every 100 ms so that one that ends within the round still counts) per issuance.
 * Rounds alternate which load starts first.
 *
 *   AB_A=/work/old AB_B=/work/new AB_ROUNDS=6 AB_SECONDS=10 AB_CLIENTS=64 [AB_RPS=300] \
 *     node --require tsx/cjs bench/profile/ab.ts
 *
 * AB_RPS fixes each load's rate (calls/s): both servers then gather the same number of calls
 * per shared statement, which otherwise follows each one's throughput and moves its CPU per
 * issuance with it. AB_A_NODE_FLAGS / AB_B_NODE_FLAGS add node flags to one side's server
 * (after `make run`'s), to compare V8 settings on one build (AB_A and AB_B the same clone).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import type { CertmintServer, ClientProfile } from "../common/certmint";
import type { ghzIssue as GhzIssue, LoadResult } from "../common/load";
import { ghzIssue, writeGhzData } from "../common/load";
import { rssMiB } from "../issue/server";
import type { BenchDatabase } from "../issue/setup";

const ADMIN =
  process.env.BENCH_DATABASE_URL ?? "postgresql://certmint:certmint@127.0.0.1:5432/certmint";
const ROUNDS = Number(process.env.AB_ROUNDS ?? 6);
const SECONDS = Number(process.env.AB_SECONDS ?? 10);
const CLIENTS = Number(process.env.AB_CLIENTS ?? 64);
const RPS = process.env.AB_RPS ? Number(process.env.AB_RPS) : undefined;
const ROOTS: Record<string, string> = {
  A: process.env.AB_A ?? "/work/old",
  B: process.env.AB_B ?? join(__dirname, "..", ".."),
};

/** utime + stime of a process in seconds; undefined once it is gone. */
function cpuOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

interface Side {
  label: string;
  root: string;
  db: BenchDatabase;
  server: CertmintServer;
  profile: ClientProfile;
  data: string;
  rows: Array<{ server: number; postgres: number; rate: number; rss: number }>;
}

/** CPU of a database's backends between start() and stop(), backends that come and go included. */
class BackendCpu {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly admin: Client,
    private readonly database: string,
  ) {}

  private async sample(): Promise<void> {
    const { rows } = await this.admin.query<{ pid: number }>(
      "select pid from pg_stat_activity where datname = $1",
      [this.database],
    );
    for (const { pid } of rows) {
      const cpu = cpuOf(pid);
      if (cpu === undefined) continue;
      if (!this.first.has(pid)) this.first.set(pid, this.timer ? 0 : cpu);
      this.last.set(pid, cpu);
    }
  }

  async start(): Promise<void> {
    await this.sample(); // backends already there count from now
    this.timer = setInterval(() => void this.sample().catch(() => undefined), 100);
  }

  async stop(): Promise<number> {
    clearInterval(this.timer);
    await this.sample();
    let total = 0;
    for (const [pid, last] of this.last) total += last - (this.first.get(pid) ?? last);
    return total;
  }
}

async function main(): Promise<void> {
  const admin = new Client({ connectionString: ADMIN });
  await admin.connect();
  const sides: Side[] = [];
  try {
    for (const [label, root] of Object.entries(ROOTS)) {
      // Each build's own server start-up and set-up; the load generator is the same for both.
      const certmint = require(join(root, "bench/common/certmint.ts"));
      const { clientCsrs } = require(join(root, "bench/common/csr.ts"));
      const { freshDatabase } = require(join(root, "bench/issue/setup.ts"));
      const dir = mkdtempSync(join(tmpdir(), `certmint-ab-${label}-`));
      const db: BenchDatabase = await freshDatabase(ADMIN);
      const nodeFlags = (process.env[`AB_${label}_NODE_FLAGS`] ?? "").split(" ").filter(Boolean);
      const server: CertmintServer = await certmint.startCertmint({
        databaseUrl: db.url,
        dir,
        nodeFlags,
      });
      const profile: ClientProfile = await certmint.createClientProfile(server);
      const csrs: Array<{ pem: string }> = clientCsrs(200);
      const data = writeGhzData(
        dir,
        csrs.map((c) => c.pem),
      );
      sides.push({ label, root, db, server, profile, data, rows: [] });
    }
    const load = (s: Side, seconds: number): ReturnType<typeof GhzIssue> =>
      ghzIssue({ address: s.server.address, token: s.profile.issuerToken }, s.data, {
        clients: CLIENTS,
        seconds,
        rps: RPS,
      });
    await Promise.all(sides.map((s) => load(s, 3))); // warm-up (JIT, pool connections)
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 ? sides : [...sides].reverse();
      const pg = order.map((s) => new BackendCpu(admin, s.db.name));
      await Promise.all(pg.map((p) => p.start()));
      const before = order.map((s) => cpuOf(s.server.pid) ?? 0);
      const peaks = order.map(() => 0);
      const rssTimer = setInterval(() => {
        order.forEach((s, i) => {
          peaks[i] = Math.max(peaks[i]!, rssMiB(s.server.pid));
        });
      }, 200);
      const results: LoadResult[] = await Promise.all(order.map((s) => load(s, SECONDS)));
      clearInterval(rssTimer);
      const serverCpu = order.map((s, i) => (cpuOf(s.server.pid) ?? 0) - before[i]!);
      const pgCpu = await Promise.all(pg.map((p) => p.stop()));
      const line = order.map((s, i) => {
        const r = results[i]!;
        const row = {
          server: (serverCpu[i]! * 1000) / r.successes,
          postgres: (pgCpu[i]! * 1000) / r.successes,
          rate: r.successes / r.seconds,
          rss: peaks[i]!,
        };
        s.rows.push(row);
        return `${s.label} ${row.rate.toFixed(0)}/s RSS peak ${row.rss.toFixed(0)} MiB server ${row.server.toFixed(3)} + PostgreSQL ${row.postgres.toFixed(3)} = ${(row.server + row.postgres).toFixed(3)} ms${r.errors ? ` (${r.errors} errors: ${r.topError})` : ""}`;
      });
      console.log(`round ${round}: ${line.join(" | ")}`);
    }
    const mean = (s: Side, f: (r: Side["rows"][number]) => number) =>
      s.rows.reduce((a, r) => a + f(r), 0) / s.rows.length;
    for (const s of sides) {
      console.log(
        `${s.label} (${s.root}): mean server ${mean(s, (r) => r.server).toFixed(3)} + PostgreSQL ${mean(s, (r) => r.postgres).toFixed(3)} = ${mean(s, (r) => r.server + r.postgres).toFixed(3)} ms per issuance, ${mean(s, (r) => r.rate).toFixed(0)}/s, RSS peak ${Math.max(...s.rows.map((r) => r.rss)).toFixed(0)} MiB`,
      );
    }
    const [a, b] = sides;
    if (a && b) {
      const wins = a.rows.filter(
        (r, i) => b.rows[i]!.server + b.rows[i]!.postgres < r.server + r.postgres,
      ).length;
      console.log(`B below A (server + PostgreSQL) in ${wins} of ${a.rows.length} rounds`);
    }
  } finally {
    for (const s of sides) {
      await s.server.stop();
      await s.db.drop();
    }
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
