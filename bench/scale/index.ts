/**
 * Flat cost (issue 14): issuance and reads with 0, 10^5 and 10^6 certificates stored (10% of
 * them revoked), on one certmint and one database that grows between the stages.
 *
 *   make bench-scale                  (about 15 minutes on 2 cores; needs ~10 GB in $TMPDIR)
 *   node --require tsx/cjs bench/scale/index.ts [seconds of issuance per stage, default 10]
 *   BENCH_SCALE_STAGES=0,20000,60000  other stages (e.g. a quick try)
 *   BENCH_SCALE_HOLD=1                keep the database and server up afterwards, until Ctrl-C
 *   BENCH_NODE_FLAGS="..."            node flags for the server, after those of `make run`
 *
 * Setup: a dedicated PostgreSQL 15 instance (durable commits; checkpoint_timeout 30min and
 * max_wal_size 8GB so that no checkpoint falls inside a measurement: each issuance row starts
 * right after an explicit CHECKPOINT, which makes WAL per issuance comparable between stages),
 * the compiled certmint (`node dist/src/main.js`), a P-256 root and intermediate, a TLS-client
 * profile issuing 365-day certificates (so the revoked ones stay on the CRL). Server and
 * PostgreSQL run on one core (BENCH_SERVER_CPU, default 0), ghz and this process on the other
 * (BENCH_LOAD_CPU, default 1); only the fill lets PostgreSQL use both.
 *
 * Each stage: the fill (bench/scale/fill.ts) up to the stage's size; IssueCertificate with CSRs
 * at 16 clients (ghz) and the WAL it wrote; then the reads (bench/scale/reads.ts). The first
 * stage issues into a table holding only the warm-up's certificates (3 s of issuance), then
 * revokes one in ten of what is stored over gRPC, and reads from that.
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { CertificateServiceClient } from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import {
  bearer,
  type CertmintServer,
  call,
  createClientProfile,
  startCertmint,
} from "../common/certmint";
import { clientCsrs } from "../common/csr";
import { ghzIssue, type LoadResult, writeGhzData } from "../common/load";
import { type PostgresInstance, startPostgres } from "../common/postgres";
import { coreBusySeconds, processCpuSeconds } from "../common/proc";
import { toolPath, toolVersion } from "../common/tools";
import { type FillResult, fill } from "./fill";
import {
  DEEP_PAGES,
  EXPIRY_FRACTION,
  type Latency,
  measureReads,
  PAGE_SIZE,
  type ReadFigures,
} from "./reads";
import { formatWalByRelation, type WalByRelation, walByRelation } from "./wal-detail";

const SECONDS = Number(process.argv[2] ?? 10);
const STAGES = (process.env.BENCH_SCALE_STAGES ?? "0,100000,1000000").split(",").map(Number);
/** Keep the database and server up after the table, until SIGINT (see main). */
const HOLD = process.env.BENCH_SCALE_HOLD === "1";
const SERVER_CPU = Number(process.env.BENCH_SERVER_CPU ?? 0);
const LOAD_CPU = Number(process.env.BENCH_LOAD_CPU ?? 1);
/** Node flags for the server after those of `make run` (e.g. "--max-semi-space-size=8"). */
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean);
const CLIENTS = 16;
const TTL_SECONDS = 365 * 24 * 3600;
const DATABASE = "certmint_scale";

interface Stage {
  target: number;
  /** Certificates stored when the reads ran. */
  stored: number;
  fill?: FillResult;
  issuance: IssuanceRow;
  reads: ReadFigures;
  /** Heap + TOAST + indexes of certificate, certificate_request, audit_record. */
  bytes: Record<string, number>;
}

const elapsed = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

async function one<T>(db: Client, sql: string, params: unknown[] = []): Promise<T> {
  return (await db.query(sql, params)).rows[0] as T;
}

interface IssuanceRow {
  issue: LoadResult;
  walPerIssuance: number;
  /** Where that WAL went, by relation (wal-detail.ts). */
  walByRelation: WalByRelation[];
  /** Server + PostgreSQL CPU seconds per stored issuance. */
  cpuPerIssuance: number;
  /** CPU of other processes on the server's core, as a share of the row's wall time. */
  otherShare: number;
}

/**
 * IssueCertificate at 16 clients right after a checkpoint: WAL bytes and server + PostgreSQL
 * CPU per stored issuance (the CPU figure holds better than the rate on a shared machine).
 */
async function issuanceRow(
  db: Client,
  pg: PostgresInstance,
  server: CertmintServer,
  token: string,
  ghzData: string,
): Promise<IssuanceRow> {
  await db.query("checkpoint");
  const before = await one<{ lsn: string }>(db, "select pg_current_wal_lsn()::text as lsn");
  const cpu = () => ({
    ours: processCpuSeconds(server.pid) + pg.cpuSeconds(),
    core: coreBusySeconds(SERVER_CPU),
    at: performance.now(),
  });
  const cpu0 = cpu();
  const issue = await ghzIssue({ address: server.address, token }, ghzData, {
    clients: CLIENTS,
    seconds: SECONDS,
    cpu: LOAD_CPU,
  });
  const cpu1 = cpu();
  const wal = await one<{ bytes: string }>(
    db,
    "select pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn) as bytes",
    [before.lsn],
  );
  const ours = cpu1.ours - cpu0.ours;
  const n = Math.max(1, issue.successes);
  const end = await one<{ lsn: string }>(db, "select pg_current_wal_lsn()::text as lsn");
  return {
    issue,
    walPerIssuance: Number(wal.bytes) / n,
    walByRelation: await walByRelation(db, before.lsn, end.lsn),
    cpuPerIssuance: ours / n,
    otherShare: Math.max(0, cpu1.core - cpu0.core - ours) / ((cpu1.at - cpu0.at) / 1000),
  };
}

/**
 * Waits until the server has numbered the events of the filled rows (certificate_event, one per
 * insert by trigger, numbered by the event pump a batch at a time). Without the wait that
 * backlog was numbered inside the next measurement and its updates counted as the WAL of the
 * issuances there (8.4 records per issuance in the event table at 10^5, 2.6 at the first
 * stage), which a real inventory,
 * numbered as it was issued, never has.
 */
async function eventsNumbered(db: Client): Promise<void> {
  const giveUpAt = Date.now() + 10 * 60_000;
  for (;;) {
    const { n } = await one<{ n: string }>(
      db,
      `select count(*) as n from certificate_event where "position" is null`,
    );
    if (Number(n) === 0) return;
    if (Date.now() > giveUpAt) throw new Error(`${n} events still unnumbered after 10 minutes`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Revokes one in ten of the stored certificates over gRPC, as an operator would, as superseded:
 * the issuance rows reuse a few hundred CSRs, and a keyCompromise revocation blocks its key
 * (README "key compromise") and revokes every certificate of it, so from 2026-12-05 (blocked
 * keys) that reason left the next stage's issuances mostly refused (KEY_BLOCKED: 1,458 of
 * 2,641 at 10^6 in the first run after it) and revoked far more than a tenth.
 */
async function revokeTenth(db: Client, server: CertmintServer): Promise<number> {
  const ids = (
    await db.query<{ id: string }>(
      "select id from certificate where revoked_at is null order by random() limit (select count(*) / 10 from certificate)",
    )
  ).rows;
  const certs = new CertificateServiceClient(server.address, server.credentials, {
    interceptors: [bearer(server.adminToken)],
  });
  try {
    for (const { id } of ids) {
      await call(certs, "revokeCertificate", {
        certificate: id,
        reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
      });
    }
  } finally {
    certs.close();
  }
  return ids.length;
}

async function sizes(db: Client): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ["certificate", "certificate_request", "audit_record"]) {
    out[t] = Number(
      (await one<{ b: string }>(db, "select pg_total_relation_size($1::regclass) as b", [t])).b,
    );
  }
  return out;
}

const ms = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? "-" : v >= 100 ? v.toFixed(0) : v.toFixed(1);
const pair = (l: Latency | undefined) => (l ? `${ms(l.p50)} / ${ms(l.p99)}` : "-");
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !b || Number.isNaN(a) ? "-" : `${(a / b).toFixed(1)}×`;
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;

function printTable(stages: Stage[]): void {
  const first = stages[0]!;
  const last = stages[stages.length - 1]!;
  const head = stages.map((s, i) =>
    i === 0 && s.target === 0 ? `0 (${s.stored} at the reads)` : s.stored.toLocaleString("en-US"),
  );
  console.log(
    `\n| stored certificates (10% revoked) | ${head.join(" | ")} | last / first |\n|---|${stages.map(() => "---|").join("")}---|`,
  );
  const row = (label: string, cell: (s: Stage) => string, r?: (s: Stage) => number | undefined) =>
    console.log(
      `| ${label} | ${stages.map(cell).join(" | ")} | ${r ? ratio(r(last), r(first)) : ""} |`,
    );
  const rate = (s: Stage) => s.issuance.issue.successes / s.issuance.issue.seconds;
  row(
    `IssueCertificate/s, CSR, ${CLIENTS} clients (p50 / p99 ms)`,
    (s) => `${rate(s).toFixed(0)} (${ms(s.issuance.issue.p50Ms)} / ${ms(s.issuance.issue.p99Ms)})`,
    rate,
  );
  row(
    "server + PostgreSQL CPU per issuance (other load on their core)",
    (s) =>
      `${(s.issuance.cpuPerIssuance * 1000).toFixed(2)} ms (${(100 * s.issuance.otherShare).toFixed(0)}%)`,
    (s) => s.issuance.cpuPerIssuance,
  );
  row(
    "WAL per issuance",
    (s) => `${(s.issuance.walPerIssuance / 1024).toFixed(1)} KiB`,
    (s) => s.issuance.walPerIssuance,
  );
  row(
    `ListCertificates expires_before (oldest ${EXPIRY_FRACTION * 100}%, at least ${PAGE_SIZE + 1}), p50 / p99 ms`,
    (s) => pair(s.reads.listExpiry),
    (s) => s.reads.listExpiry.p50,
  );
  row(
    "the same pages in the BASIC view (no PEMs), p50 / p99 ms",
    (s) => pair(s.reads.listExpiryBasic),
    (s) => s.reads.listExpiryBasic.p50,
  );
  row(
    "bytes of one such page, FULL / BASIC",
    (s) =>
      `${(s.reads.pageBytes.full / 1024).toFixed(1)} / ${(s.reads.pageBytes.basic / 1024).toFixed(1)} KiB`,
  );
  row(
    "GetCertificate by serial, p50 / p99 ms",
    (s) => pair(s.reads.getBySerial),
    (s) => s.reads.getBySerial.p50,
  );
  row(
    "CRL build: GetCertificateRevocationList after a revocation, alone / beside GetCertificate calls, ms",
    (s) =>
      `${ms(s.reads.crl.buildAlone)} / ${ms(s.reads.crl.build)} (${s.reads.crl.revokedEntries} entries, ${(s.reads.crl.derBytes / 1024).toFixed(0)} KiB)`,
    (s) => s.reads.crl.buildAlone,
  );
  row(
    "GetCertificateRevocationList from the cache, p50 / max ms",
    (s) => `${ms(s.reads.crl.calls.p50)} / ${ms(s.reads.crl.calls.max)}`,
    (s) => s.reads.crl.calls.p50,
  );
  row(
    "the same, the DER alone (encoding CRL_ENCODING_DER), p50 / max ms",
    (s) => `${ms(s.reads.crl.derOnly.p50)} / ${ms(s.reads.crl.derOnly.max)}`,
    (s) => s.reads.crl.derOnly.p50,
  );
  row(
    "the same, from a poller holding that CRL (known_crl_number: unchanged, no bytes), p50 / max ms",
    (s) => `${ms(s.reads.crl.unchanged.p50)} / ${ms(s.reads.crl.unchanged.max)}`,
    (s) => s.reads.crl.unchanged.p50,
  );
  row(
    "GetCertificate beside the CRL calls (build included), p50 / max ms (calls)",
    (s) =>
      `${ms(s.reads.crl.concurrentGet.p50)} / ${ms(s.reads.crl.concurrentGet.max)} (${s.reads.crl.concurrentGet.n})`,
    (s) => s.reads.crl.concurrentGet.max,
  );
  row(
    "server RSS after the CRL calls (peak)",
    (s) => `${s.reads.crl.rssAfter.toFixed(0)} MiB (${s.reads.crl.rssPeak.toFixed(0)})`,
    (s) => s.reads.crl.rssAfter,
  );
  row(
    "ListCertificates name contains, p50 / p99 ms",
    (s) => pair(s.reads.nameContains),
    (s) => s.reads.nameContains.p50,
  );
  row(
    "ListCertificates status REVOKED, p50 / p99 ms",
    (s) => pair(s.reads.statusRevoked),
    (s) => s.reads.statusRevoked.p50,
  );
  for (const page of DEEP_PAGES) {
    row(`ListCertificates page ${page} (${PAGE_SIZE} per page), p50 ms`, (s) =>
      ms(s.reads.deepPages.get(page)?.p50),
    );
  }
  row(
    "certificate / request / audit tables with indexes",
    (s) =>
      `${mib(s.bytes.certificate!)} / ${mib(s.bytes.certificate_request!)} / ${mib(s.bytes.audit_record!)}`,
  );
}

async function main(): Promise<void> {
  spawnSync("taskset", ["-a", "-p", "-c", String(LOAD_CPU), String(process.pid)], {
    stdio: "ignore",
  });
  toolPath("ghz");
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "certmint-bench-scale-"));
  running.dir = dir;
  let pg: PostgresInstance | undefined;
  let server: CertmintServer | undefined;
  let db: Client | undefined;
  try {
    console.log("certmint bench/scale: issuance and reads at growing table sizes");
    console.log(
      `${cpus().length} cores (${cpus()[0]?.model.trim()}), Linux ${release()}, node ${process.version}; ` +
        `load average ${loadavg()[0]!.toFixed(2)}; server + PostgreSQL on cpu ${SERVER_CPU}, ghz ${toolVersion("ghz")} on cpu ${LOAD_CPU}; ` +
        `stages ${STAGES.join(" / ")}; ${SECONDS} s of issuance per stage`,
    );
    pg = await startPostgres({
      cpu: SERVER_CPU,
      settings: { max_wal_size: "8GB", checkpoint_timeout: "30min" },
    });
    running.pg = pg;
    await pg.query(`create database ${DATABASE}`);
    server = await startCertmint({
      databaseUrl: pg.url(DATABASE),
      dir,
      cpu: SERVER_CPU,
      nodeFlags: NODE_FLAGS,
    });
    running.server = server;
    const { caId, issuerToken } = await createClientProfile(server, TTL_SECONDS);
    db = new Client({ connectionString: pg.url(DATABASE) });
    await db.connect();
    const ghzData = writeGhzData(
      dir,
      clientCsrs(1000).map((c) => c.pem),
    );
    const warm = await ghzIssue({ address: server.address, token: issuerToken }, ghzData, {
      clients: CLIENTS,
      seconds: 3,
      cpu: LOAD_CPU,
    });
    // The warm-up's certificates stay: "0" is a table holding only those.
    console.log(`warm-up: ${warm.successes} issued, ${warm.errors} errors\n`);
    const stages: Stage[] = [];
    let filled = 0;
    for (const target of STAGES) {
      const t0 = performance.now();
      const count = async () =>
        Number((await one<{ n: string }>(db!, "select count(*) as n from certificate")).n);
      let fillResult: FillResult | undefined;
      const missing = target - (await count());
      if (missing > 0) {
        pg.setAffinity(`${SERVER_CPU},${LOAD_CPU}`);
        fillResult = await fill(db, {
          from: filled,
          to: filled + missing,
          caId,
          stamp: new Date(),
          progress: (line) => console.log(line),
        });
        filled += missing;
        pg.setAffinity(String(SERVER_CPU));
        console.log(
          `filled ${fillResult.inserted} certificates (${fillResult.revoked} revoked) in ${fillResult.seconds.toFixed(0)} s ` +
            `(indexes ${fillResult.indexSeconds.toFixed(0)} s, vacuum analyze ${fillResult.vacuumSeconds.toFixed(0)} s)`,
        );
      }
      await eventsNumbered(db);
      const issuance = await issuanceRow(db, pg, server, issuerToken, ghzData);
      const { issue } = issuance;
      console.log(
        `stage ${target}: issued ${issue.successes} at ${(issue.successes / issue.seconds).toFixed(0)}/s, ` +
          `${issue.errors} errors${issue.topError ? ` (${issue.topError})` : ""}, ` +
          `${(issuance.cpuPerIssuance * 1000).toFixed(2)} ms of server + PostgreSQL CPU and ` +
          `${(issuance.walPerIssuance / 1024).toFixed(1)} KiB of WAL per issuance, the most by:\n` +
          formatWalByRelation(issuance.walByRelation, issue.successes),
      );
      // The fill revokes one in ten of its rows itself; only a first stage that was not filled
      // (BENCH_SCALE_STAGES starting at 1000000 revoked 100,000 over gRPC, one at a time).
      if (stages.length === 0 && !fillResult) {
        console.log(`revoked ${await revokeTenth(db, server)} over gRPC`);
      }
      const stored = await count();
      const reads = await measureReads({
        ...server,
        serverPid: server.pid,
        caId,
        db,
      });
      stages.push({
        target,
        stored,
        fill: fillResult,
        issuance,
        reads,
        bytes: await sizes(db),
      });
      console.log(
        `stage ${target} done in ${elapsed(t0)} (deep-page walk ${reads.deepWalkSeconds.toFixed(0)} s); ${stored} certificates stored`,
      );
    }
    printTable(stages);
    console.log(`\ntotal ${elapsed(started)}`);
    if (HOLD) {
      // For looking into a figure by hand (EXPLAIN on 10^6 rows): the filled database and the
      // server stay up until SIGINT, then are cleaned up as always.
      console.log(
        `\nholding (BENCH_SCALE_HOLD): psql ${pg.url(DATABASE)}; certmint at ${server.address}; Ctrl-C to clean up`,
      );
      await new Promise<void>((resolve) => {
        process.removeAllListeners("SIGINT");
        // Cleaned up below, as at the end of any run.
        process.once("SIGINT", () => resolve());
      });
    }
  } finally {
    await db?.end().catch(() => undefined);
    await server?.stop();
    pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A signal to this process alone (not its process group, as Ctrl-C sends) would leave the
 * server and PostgreSQL running: they are stopped first, and the server's data directory goes
 * as at the end of a run (PostgreSQL's goes with its stop).
 */
const running: { server?: CertmintServer; pg?: PostgresInstance; dir?: string } = {};
const stopChildren = () => {
  if (running.server) process.kill(running.server.pid, "SIGTERM");
  running.pg?.stop();
  if (running.dir) rmSync(running.dir, { recursive: true, force: true });
};
process.on("SIGINT", () => {
  stopChildren();
  process.exit(130);
});
process.on("SIGTERM", () => {
  stopChildren();
  process.exit(143);
});
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
