/**
 * Stop 46 (outside probe, F4): with CERTMINT_PROCESSES=2, /metrics answers while a worker is
 * starting and while a worker does not answer, with the supervisor's series and the other
 * worker's, and names the worker left out; never a 500 after a 10 s wait.
 *  - a worker held in start-up (the test holds the start-up advisory lock its database
 *    initialisation waits for) answers the supervisor's questions already;
 *  - a worker that does not answer (stopped with SIGSTOP) is left out of the scrape after a
 *    bounded wait: certmint_worker_metrics_missing{pid,reason="timeout"} 1, the rest served;
 *  - while a killed worker is being replaced, every scrape answers 200.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Exposition, parseExposition } from "../metrics/prometheus";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { isAlive, type LogLine, START_LIMIT_MS, serverCommand } from "../support/server-process";
import { waitFor } from "../support/wait";

/** src/store/database.ts STARTUP_LOCK_KEY: the bytes of "certmint" as an int8. */
const STARTUP_LOCK_KEY = "7162256626780040820";

describe("/metrics with CERTMINT_PROCESSES=2 while a worker starts or does not answer", () => {
  let db: TestDatabase;
  let lock: Client;
  let child: ChildProcess;
  let out = "";
  let exited: Promise<number | null>;
  let metricsBase = "";

  const lines = (): LogLine[] =>
    out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as LogLine);
  /** The pids of workers that logged "serving" and have not been reported dead. */
  const servingWorkers = (): number[] => {
    const all = lines();
    const exited = new Set(
      all.filter((l) => l.msg === "worker process exited: starting a new one").map((l) => l.pid),
    );
    return [
      ...new Set(all.filter((l) => l.msg === "serving" && !exited.has(l.pid)).map((l) => l.pid!)),
    ];
  };
  const scrape = async (): Promise<{ status: number; exposition?: Exposition }> => {
    const res = await fetch(`${metricsBase}/metrics`);
    const text = await res.text();
    return { status: res.status, exposition: res.ok ? parseExposition(text) : undefined };
  };
  const samples = (e: Exposition, name: string) => e.samples.filter((s) => s.name === name);
  const total = (e: Exposition, name: string) =>
    samples(e, name).reduce((sum, s) => sum + s.value, 0);

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    // Held by the test: the first worker's start-up initialisation waits for it
    // (withStartupLock), so the worker stays in start-up until the test lets it go.
    lock = new Client({ connectionString: db.url });
    await lock.connect();
    await lock.query("select pg_advisory_lock($1::int8)", [STARTUP_LOCK_KEY]);
    const { command, args } = serverCommand();
    child = spawn(command, args, {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        CERTMINT_PROCESSES: "2",
        CERTMINT_KEK: randomBytes(32).toString("base64"),
        CERTMINT_LISTEN: "127.0.0.1:0",
        CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
        CERTMINT_DATA_DIR: mkdtempSync(join(tmpdir(), "certmint-stop46h-")),
        CERTMINT_LOG_LEVEL: "info",
        CERTMINT_LOG_FORMAT: "json",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (d) => {
      out += d;
    });
    child.stderr?.on("data", (d) => {
      out += d;
    });
    exited = new Promise((resolve) => child.on("close", resolve));
    await waitFor(
      "the supervisor's metrics endpoint",
      () =>
        lines().some(
          (l) => l.msg === "serving Prometheus metrics of all worker processes at /metrics",
        ),
      START_LIMIT_MS,
    );
    const line = lines().find(
      (l) => l.msg === "serving Prometheus metrics of all worker processes at /metrics",
    );
    metricsBase = `http://127.0.0.1:${line!.port}`;
  }, START_LIMIT_MS);
  afterAll(async () => {
    await lock?.end().catch(() => undefined);
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    await db?.drop();
  });

  it("answers 200 while the first worker waits in start-up, with its series and the supervisor's", async () => {
    await waitFor(
      "the first worker to wait for the start-up lock",
      () =>
        lines().some(
          (l) => l.msg === "another certmint is initialising the database: waiting for it",
        ),
      START_LIMIT_MS,
    );
    const worker = lines().find(
      (l) => l.msg === "another certmint is initialising the database: waiting for it",
    )!.pid;
    try {
      // Every scrape answers; the worker's own series arrive once it has said it answers (its
      // word and its log line reach the supervisor and the test by different ways).
      let last: Exposition | undefined;
      await waitFor("the starting worker's series in a scrape", async () => {
        const { status, exposition } = await scrape();
        expect(status).toBe(200);
        last = exposition!;
        return total(last, "certmint_build_info") === 1;
      });
      // The supervisor's own series: no worker serves yet, none was replaced.
      expect(total(last!, "certmint_worker_processes_serving")).toBe(0);
      expect(samples(last!, "certmint_worker_process_restarts_total")).toHaveLength(1);
      expect(samples(last!, "certmint_worker_metrics_missing")).toEqual([]);
      // Still waiting: the scrape above was answered during start-up, not after it.
      expect(lines().some((l) => l.msg === "serving" && l.pid === worker)).toBe(false);
      const [row] = await db.query<{ n: string }>(
        "select count(*) as n from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())",
      );
      expect(Number(row!.n)).toBe(1);
    } finally {
      await lock.query("select pg_advisory_unlock($1::int8)", [STARTUP_LOCK_KEY]);
    }
    await waitFor(
      "both workers to serve",
      () => lines().some((l) => l.msg === "all worker processes serving"),
      START_LIMIT_MS,
    );
    const { status, exposition } = await scrape();
    expect(status).toBe(200);
    expect(total(exposition!, "certmint_worker_processes_serving")).toBe(2);
    // Each connected worker is in the sums or named here: both answered.
    expect(samples(exposition!, "certmint_worker_metrics_missing")).toEqual([]);
  });

  it("leaves out a worker that does not answer, and says which, serving the rest", async () => {
    await waitFor("both workers to serve", () => servingWorkers().length === 2, START_LIMIT_MS);
    const [stopped, other] = servingWorkers();
    expect(other).toBeDefined();
    process.kill(stopped!, "SIGSTOP");
    try {
      const { status, exposition } = await scrape();
      expect(status).toBe(200);
      expect(samples(exposition!, "certmint_worker_metrics_missing")).toEqual([
        {
          name: "certmint_worker_metrics_missing",
          labels: { pid: String(stopped), reason: "timeout" },
          value: 1,
        },
      ]);
      // The other worker's series (build info: only workers have it) and the supervisor's.
      expect(total(exposition!, "certmint_build_info")).toBe(1);
      expect(total(exposition!, "certmint_worker_processes_serving")).toBe(2);
    } finally {
      process.kill(stopped!, "SIGCONT");
    }
    await waitFor("the continued worker to answer again", async () => {
      const { status, exposition } = await scrape();
      expect(status).toBe(200);
      return samples(exposition!, "certmint_worker_metrics_missing").length === 0;
    });
    expect(
      lines().some(
        (l) =>
          l.level === 40 &&
          l.msg === "a worker did not answer the metrics question in time: left out" &&
          l.pid === stopped,
      ),
    ).toBe(true);
  });

  it("answers 200 at every scrape while a killed worker is replaced", async () => {
    const [victim] = servingWorkers();
    process.kill(victim!, "SIGKILL");
    await waitFor("the supervisor to see the worker die", () =>
      lines().some(
        (l) => l.msg === "worker process exited: starting a new one" && l.pid === victim,
      ),
    );
    // Scraped over and over from the death until the replacement serves: every state between.
    await waitFor(
      "a replacement worker to serve",
      async () => {
        const { status, exposition } = await scrape();
        expect(status).toBe(200);
        expect(total(exposition!, "certmint_worker_process_restarts_total")).toBe(1);
        return lines().some((l) => l.msg === "worker replaced");
      },
      START_LIMIT_MS,
    );
    expect(isAlive(victim!)).toBe(false);
    const { status, exposition } = await scrape();
    expect(status).toBe(200);
    expect(total(exposition!, "certmint_worker_processes_serving")).toBe(2);
    expect(samples(exposition!, "certmint_worker_metrics_missing")).toEqual([]);
  });
});
