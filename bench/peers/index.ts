/**
 * certmint side by side with smallstep step-ca and Cloudflare cfssl (issue 14): each signs
 * the same 1,000 distinct client P-256 CSRs with a P-256 intermediate under a P-256 root and
 * stores every certificate durably in PostgreSQL 15 (a dedicated instance: fsync,
 * synchronous_commit and full_page_writes on), each server on its own database.
 *
 *   make bench-peers                      (installs the pinned tools, builds dist/, runs this)
 *   node --require tsx/cjs bench/peers/index.ts [seconds-per-row, default 10]
 *
 * Pinning: the server and its PostgreSQL (postmaster and every backend) on one core
 * (BENCH_SERVER_CPU, default 0), the load generator and this process on the other
 * (BENCH_LOAD_CPU, default 1). Load: ghz for certmint (gRPC IssueCertificate, h2c and TLS),
 * vegeta for the peers (step-ca `/1.0/sign` with JWK one-time tokens over TLS, cfssl
 * `/api/v1/cfssl/sign` over plain HTTP and TLS); 1, 16 and 64 closed-loop clients, each on its
 * own connection, after a 3 s warm-up at 16. certmint runs compiled (`node dist/src/main.js`),
 * as `make run` and production start it.
 *
 * Measured per row: stored issuances per second (successes over the load generator's wall
 * time); the rows each server stored, counted in its database and checked against the
 * successes; server + PostgreSQL CPU per certificate (utime + stime deltas from /proc, reaped
 * backends included); the server's peak RSS. "other" is what else ran on the server's core
 * (the machine may be shared): figures are only comparable when it stays near 0.
 * BENCH_TARGETS=certmint-h2c,cfssl-http,... runs a subset.
 */
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import { createClientProfile, startCertmint } from "../common/certmint";
import { clientCsrs } from "../common/csr";
import { ghzIssue, type LoadResult, writeGhzData } from "../common/load";
import { type PostgresInstance, startPostgres } from "../common/postgres";
import { coreBusySeconds, memoryMiB, processCpuSeconds } from "../common/proc";
import { toolPath, toolVersion } from "../common/tools";
import { createCfsslDatabase, startCfssl } from "./cfssl";
import { makePki, type Pki } from "./pki";
import { STEPCA_DATABASE, startStepCa } from "./stepca";
import { vegetaAttack } from "./vegeta";

const SECONDS = Number(process.argv[2] ?? 10);
const WARMUP_SECONDS = 3;
const CLIENTS = [1, 16, 64] as const;
const CSR_COUNT = 1000;
const SERVER_CPU = Number(process.env.BENCH_SERVER_CPU ?? 0);
const LOAD_CPU = Number(process.env.BENCH_LOAD_CPU ?? 1);

interface Running {
  pid: number;
  /** `clients` closed-loop clients for `seconds`, from the load core. */
  load(clients: number, seconds: number, tag: string): Promise<LoadResult>;
  /** Certificates stored in the server's database. */
  stored(): Promise<number>;
  /** One stored certificate (PEM or DER), to show that each server issued the same kind. */
  sample(): Promise<Buffer>;
  stop(): Promise<void>;
}

interface Target {
  key: string;
  label: string;
  peer: boolean;
  start(ctx: Context): Promise<Running>;
}

interface Context {
  dir: string;
  pki: Pki;
  pg: PostgresInstance;
  csrs: { name: string; pem: string }[];
  ghzData: string;
}

interface Row {
  clients: number;
  load: LoadResult;
  stored: number;
  /** CPU seconds over the row: the server, its PostgreSQL, anything else on the server core. */
  server: number;
  postgres: number;
  other: number;
  wall: number;
  rssPeak: number;
}

const count = async (pg: PostgresInstance, database: string, table: string) =>
  Number((await pg.query<{ n: string }>(`select count(*) as n from ${table}`, database))[0]?.n);

const sample = async (pg: PostgresInstance, database: string, select: string) => {
  const c = (await pg.query<{ c: Buffer | string }>(`${select} limit 1`, database))[0]?.c;
  if (c === undefined) throw new Error(`nothing stored in ${database}`);
  return Buffer.from(c);
};

/** What one stored certificate is: subject, SAN, issuer, key, extended key usages, lifetime. */
function describe(cert: Buffer): string {
  const x = new X509Certificate(cert);
  const hours = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 3_600_000;
  const eku = (x.keyUsage ?? []).map((oid) => (oid === "1.3.6.1.5.5.7.3.2" ? "clientAuth" : oid));
  return (
    `${x.subject.replace(/\n/g, ", ")}; ${x.subjectAltName}; issuer ${x.issuer.replace(/\n/g, ", ")}; ` +
    `${x.publicKey.asymmetricKeyType} ${x.publicKey.asymmetricKeyDetails?.namedCurve}; EKU ${eku.join(",")}; ${hours.toFixed(2)} h`
  );
}

function certmintTarget(tls: boolean): Target {
  const database = tls ? "certmint_tls" : "certmint_h2c";
  return {
    key: tls ? "certmint-tls" : "certmint-h2c",
    label: tls ? "certmint (TLS)" : "certmint (h2c)",
    peer: false,
    async start(ctx) {
      await ctx.pg.query(`create database ${database}`);
      const dir = join(ctx.dir, database);
      mkdirSync(dir);
      const server = await startCertmint({
        databaseUrl: ctx.pg.url(database),
        dir,
        cpu: SERVER_CPU,
        tls: tls
          ? { cert: ctx.pki.serverCert, key: ctx.pki.serverKey, ca: ctx.pki.rootCert }
          : undefined,
      });
      const { issuerToken } = await createClientProfile(server);
      const target = {
        address: server.address,
        token: issuerToken,
        tlsCa: tls ? ctx.pki.rootCert : undefined,
      };
      return {
        pid: server.pid,
        load: (clients, seconds) =>
          ghzIssue(target, ctx.ghzData, { clients, seconds, cpu: LOAD_CPU }),
        stored: () => count(ctx.pg, database, "certificate"),
        sample: () => sample(ctx.pg, database, "select certificate_pem as c from certificate"),
        stop: () => server.stop(),
      };
    },
  };
}

const stepCaTarget: Target = {
  key: "stepca-tls",
  label: "step-ca (TLS)",
  peer: true,
  async start(ctx) {
    const dir = join(ctx.dir, "stepca");
    mkdirSync(dir);
    const ca = await startStepCa({ dir, pki: ctx.pki, pg: ctx.pg, cpu: SERVER_CPU });
    const target = {
      url: ca.signUrl,
      rootCa: ctx.pki.rootCert,
      successStatus: 201,
      body: (n: number) => ca.body(ctx.csrs[n % ctx.csrs.length]!),
    };
    return {
      pid: ca.pid,
      load: (clients, seconds, tag) =>
        vegetaAttack(target, { clients, seconds, cpu: LOAD_CPU, dir, tag }),
      stored: () => count(ctx.pg, STEPCA_DATABASE, "x509_certs"),
      sample: () => sample(ctx.pg, STEPCA_DATABASE, "select nvalue as c from x509_certs"),
      stop: () => ca.stop(),
    };
  },
};

function cfsslTarget(tls: boolean): Target {
  const database = tls ? "cfssl_tls" : "cfssl_http";
  return {
    key: tls ? "cfssl-tls" : "cfssl-http",
    label: tls ? "cfssl (TLS)" : "cfssl (plain HTTP)",
    peer: true,
    async start(ctx) {
      await createCfsslDatabase(ctx.pg, database);
      const dir = join(ctx.dir, database);
      mkdirSync(dir);
      const cfssl = await startCfssl({
        dir,
        pki: ctx.pki,
        pg: ctx.pg,
        database,
        tls,
        cpu: SERVER_CPU,
      });
      const bodies = ctx.csrs.map((c) => JSON.stringify({ certificate_request: c.pem }));
      const target = {
        url: cfssl.signUrl,
        rootCa: tls ? ctx.pki.rootCert : undefined,
        successStatus: 200,
        body: (n: number) => bodies[n % bodies.length]!,
      };
      return {
        pid: cfssl.pid,
        load: (clients, seconds, tag) =>
          vegetaAttack(target, { clients, seconds, cpu: LOAD_CPU, dir, tag }),
        stored: () => count(ctx.pg, database, "certificates"),
        sample: () => sample(ctx.pg, database, "select pem as c from certificates"),
        stop: () => cfssl.stop(),
      };
    },
  };
}

const TARGETS: Target[] = [
  certmintTarget(false),
  certmintTarget(true),
  stepCaTarget,
  cfsslTarget(false),
  cfsslTarget(true),
];

async function measure(ctx: Context, running: Running, clients: number): Promise<Row> {
  const storedBefore = await running.stored();
  const before = {
    server: processCpuSeconds(running.pid),
    postgres: ctx.pg.cpuSeconds(),
    core: coreBusySeconds(SERVER_CPU),
    at: performance.now(),
  };
  let rssPeak = memoryMiB(running.pid).rss;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, memoryMiB(running.pid).rss);
  }, 200);
  let load: LoadResult;
  try {
    load = await running.load(clients, SECONDS, `c${clients}`);
  } finally {
    clearInterval(sampler);
  }
  const server = processCpuSeconds(running.pid) - before.server;
  const postgres = ctx.pg.cpuSeconds() - before.postgres;
  const core = coreBusySeconds(SERVER_CPU) - before.core;
  const wall = (performance.now() - before.at) / 1000;
  const stored = (await running.stored()) - storedBefore;
  return {
    clients,
    load,
    stored,
    server,
    postgres,
    other: Math.max(0, core - server - postgres),
    wall,
    rssPeak: Math.max(rssPeak, memoryMiB(running.pid).rss),
  };
}

const pct = (cpuSeconds: number, wall: number) => `${((100 * cpuSeconds) / wall).toFixed(0)}%`;
const cpuPerCert = (r: Row) =>
  r.load.successes ? ((r.server + r.postgres) * 1000) / r.load.successes : Number.NaN;
const rate = (r: Row) => r.load.successes / r.load.seconds;

function printDetail(label: string, r: Row): void {
  const check = r.stored === r.load.successes ? "=" : "MISMATCH";
  console.log(
    [
      label.padEnd(19),
      String(r.clients).padStart(3),
      rate(r).toFixed(0).padStart(6),
      String(r.load.successes).padStart(6),
      String(r.load.errors).padStart(5),
      `${String(r.stored).padStart(6)} ${check.padEnd(8)}`,
      r.load.p50Ms.toFixed(1).padStart(7),
      r.load.p99Ms.toFixed(1).padStart(7),
      pct(r.server, r.wall).padStart(5),
      pct(r.postgres, r.wall).padStart(5),
      pct(r.other, r.wall).padStart(5),
      cpuPerCert(r).toFixed(2).padStart(6),
      r.rssPeak.toFixed(0).padStart(5),
    ].join(" "),
  );
  if (r.load.topError) console.log(`    most frequent error: ${r.load.topError}`);
}

function printTable(results: Map<Target, Row[]>): void {
  console.log(
    `\n| issuances/s (one core) | 1 client | 16 clients | 64 clients | server + PostgreSQL CPU per certificate | RSS |`,
  );
  console.log("|---|---|---|---|---|---|");
  for (const [target, rows] of results) {
    const per = rows.map(cpuPerCert);
    console.log(
      `| ${target.label} | ${rows.map((r) => rate(r).toFixed(0)).join(" | ")} | ` +
        `${Math.min(...per).toFixed(1)}–${Math.max(...per).toFixed(1)} ms | ` +
        `${Math.max(...rows.map((r) => r.rssPeak)).toFixed(0)} MiB |`,
    );
  }
  const peers = [...results].filter(([t]) => t.peer);
  if (peers.length === 0) return;
  console.log("");
  for (const [target, rows] of results) {
    if (target.peer) continue;
    const parts = CLIENTS.map((clients, i) => {
      const [bestTarget, bestRows] = peers.reduce((a, b) =>
        rate(b[1][i]!) > rate(a[1][i]!) ? b : a,
      );
      const best = rate(bestRows[i]!);
      return `${clients} client${clients > 1 ? "s" : ""} ${(rate(rows[i]!) / best).toFixed(2)}× (best peer ${bestTarget.label} ${best.toFixed(0)}/s)`;
    });
    console.log(`${target.label} / best peer: ${parts.join("; ")}`);
  }
}

async function main(): Promise<void> {
  // This process makes the peers' request bodies while they run: it belongs with the load.
  spawnSync("taskset", ["-a", "-p", "-c", String(LOAD_CPU), String(process.pid)], {
    stdio: "ignore",
  });
  const selected = process.env.BENCH_TARGETS?.split(",");
  const targets = TARGETS.filter((t) => !selected || selected.includes(t.key));
  for (const tool of ["ghz", "vegeta", "step-ca", "cfssl"] as const) toolPath(tool);
  const dir = mkdtempSync(join(tmpdir(), "certmint-bench-peers-"));
  let pg: PostgresInstance | undefined;
  try {
    console.log("certmint bench/peers: certmint, step-ca and cfssl side by side");
    console.log(
      `${cpus().length} cores (${cpus()[0]?.model.trim()}), Linux ${release()}, node ${process.version}; ` +
        `load average ${loadavg()[0]!.toFixed(2)}; server + PostgreSQL on cpu ${SERVER_CPU}, load generator on cpu ${LOAD_CPU}`,
    );
    console.log(
      `step-ca ${toolVersion("step-ca")}, cfssl ${toolVersion("cfssl")}, ghz ${toolVersion("ghz")}, vegeta ${toolVersion("vegeta")}; ` +
        `${CSR_COUNT} distinct P-256 CSRs; ${SECONDS} s per row after a ${WARMUP_SECONDS} s warm-up`,
    );
    const csrs = clientCsrs(CSR_COUNT);
    const pki = makePki(join(dir, "pki"));
    pg = await startPostgres({ cpu: SERVER_CPU });
    const version = await pg.query<{ v: string }>("select current_setting('server_version') as v");
    console.log(
      `PostgreSQL ${version[0]?.v} (dedicated instance, fsync, synchronous_commit and full_page_writes on)\n`,
    );
    const ctx: Context = {
      dir,
      pki,
      pg,
      csrs,
      ghzData: writeGhzData(
        dir,
        csrs.map((c) => c.pem),
      ),
    };
    console.log(
      "server               cl   iss/s     ok   err stored check    p50 ms  p99 ms   srv    pg other ms/iss  RSS",
    );
    const results = new Map<Target, Row[]>();
    for (const target of targets) {
      const running = await target.start(ctx);
      try {
        const warm = await running.load(16, WARMUP_SECONDS, "warm");
        if (warm.successes === 0) {
          throw new Error(`${target.label}: no success in the warm-up: ${warm.topError}`);
        }
        const rows: Row[] = [];
        for (const clients of CLIENTS) {
          const row = await measure(ctx, running, clients);
          printDetail(target.label, row);
          rows.push(row);
        }
        results.set(target, rows);
        console.log(`    a stored certificate: ${describe(await running.sample())}`);
      } finally {
        await running.stop();
      }
    }
    printTable(results);
  } finally {
    pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
