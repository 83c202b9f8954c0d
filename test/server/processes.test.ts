/**
 * Issue 14, "the second core": CERTMINT_PROCESSES=2 makes the started process a supervisor of
 * two worker processes sharing the gRPC port (and the metrics are the whole server's).
 *  - migrations, the key-encryption key and the first admin token happen once;
 *  - calls from several connections are served by both workers (their log lines carry their
 *    pid), every certificate is stored, and /metrics counts all of them, not one worker's share;
 *  - a worker killed with SIGKILL is replaced, while calls keep succeeding on the other;
 *  - SIGTERM stops both workers (each drains) and then the supervisor, exit code 0;
 *  - a worker that cannot start makes the whole start fail (exit 1, nothing left running);
 *  - the embedded database refuses more than one process (exit 2, nothing written).
 */
import { spawn } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IssueCertificateResponse } from "../../gen/ts/certmint/v1/certificate_service";
import { ConfigError, defaultKeyGenerationWorkers, loadConfig } from "../../src/config";
import { MIGRATIONS } from "../../src/store/migrations";
import { parseExposition } from "../metrics/prometheus";
import { createRootAndProfile } from "../support/fixtures";
import { generatedKeyRequest } from "../support/issue-request";
import { certificateClientOnOwnConnection } from "../support/own-connection";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  checkHealth,
  isAlive,
  logLines,
  type ServerProcess,
  START_LIMIT_MS,
  serverCommand,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../support/wait";

describe("CERTMINT_PROCESSES=2 on PostgreSQL", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let token = "";
  let rootPem = "";
  let metricsBase = "";
  const clients: Array<{ close(): void }> = [];
  let issued = 0;

  /** The pids of the workers serving now, from the supervisor's and the workers' lines. */
  const workerPids = (): number[] => {
    const lines = logLines(server);
    const exited = new Set(
      lines.filter((l) => l.msg === "worker process exited: starting a new one").map((l) => l.pid),
    );
    return [
      ...new Set(
        lines
          .filter((l) => l.msg === "serving" && l.pid !== undefined && !exited.has(l.pid))
          .map((l) => l.pid!),
      ),
    ];
  };
  /** The pids whose "call" lines show an IssueCertificate with these request ids. */
  const servedBy = (requestIds: string[]): Set<number> => {
    const wanted = new Set(requestIds);
    return new Set(
      logLines(server)
        .filter(
          (l) =>
            l.msg === "call" &&
            l.method === "/certmint.v1.CertificateService/IssueCertificate" &&
            l.code === "OK" &&
            wanted.has(l.requestId as string),
        )
        .map((l) => l.pid!),
    );
  };

  /** `connections` clients, each on its own connection, issuing `perClient` certificates at once. */
  const issueFrom = async (connections: number, perClient: number, tag: string) => {
    const all: Array<Promise<{ requestId: string; res: IssueCertificateResponse }>> = [];
    for (let c = 0; c < connections; c++) {
      const client = certificateClientOnOwnConnection(server.address, token);
      clients.push(client);
      for (let n = 0; n < perClient; n++) {
        const requestId = `${tag}-${c}-${n}`;
        const request = generatedKeyRequest("web", `${requestId}.example.com`, { requestId });
        const metadata = new Metadata();
        // The call log line carries it: which worker served which call.
        metadata.set("x-request-id", requestId);
        all.push(
          new Promise((resolve, reject) =>
            client.issueCertificate(
              request,
              metadata,
              { deadline: Date.now() + 90_000 },
              (err: ServiceError | null, res) => (err ? reject(err) : resolve({ requestId, res })),
            ),
          ),
        );
      }
    }
    const results = await Promise.all(all);
    const root = new X509Certificate(rootPem);
    for (const { res } of results) {
      const cert = new X509Certificate(res.certificate!.certificatePem);
      expect(cert.verify(root.publicKey)).toBe(true);
    }
    issued += results.length;
    const ids = results.map((r) => r.requestId);
    const stored = await db.query<{ n: string }>(
      "select count(*) as n from certificate_request r join certificate c on c.certificate_request_id = r.id where r.request_id = any($1) and r.status = 'ISSUED'",
      [ids],
    );
    expect(Number(stored[0]!.n)).toBe(ids.length);
    return ids;
  };

  const scrape = async () => {
    const res = await fetch(`${metricsBase}/metrics`);
    expect(res.status).toBe(200);
    return parseExposition(await res.text());
  };
  const total = (e: ReturnType<typeof parseExposition>, name: string) =>
    e.samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);

  beforeAll(async () => {
    // Empty: the first start migrates it, once.
    db = await createTestDatabase("certmint_procs");
    server = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_PROCESSES: "2",
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
      CERTMINT_LOG_LEVEL: "info",
      CERTMINT_LOG_FORMAT: "json",
      // Longer than the held call of the last test may wait on a busy machine.
      CERTMINT_SHUTDOWN_GRACE_MS: "300000",
    });
    await waitFor(
      "both workers to serve",
      () => server.output().includes('"msg":"all worker processes serving"'),
      START_LIMIT_MS,
    );
    const metricsLine = logLines(server).find(
      (l) => l.msg === "serving Prometheus metrics of all worker processes at /metrics",
    );
    metricsBase = `http://127.0.0.1:${metricsLine!.port}`;
    token = server.adminToken();
    const { root } = await createRootAndProfile(server, db, token, {
      root: "procs-root",
      profile: "web",
    });
    rootPem = root.certificatePem;
  }, START_LIMIT_MS * 2);
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.stop();
    await db?.drop();
  });

  it("starts two workers besides the supervisor, and initialises the database once", async () => {
    const pids = workerPids();
    expect(pids).toHaveLength(2);
    expect(pids).not.toContain(server.child.pid);
    const ready = logLines(server).filter((l) => l.msg === "database ready");
    expect(ready.map((l) => (l.applied as string[]).length).sort((a, b) => a - b)).toEqual([
      0,
      MIGRATIONS.length,
    ]);
    expect(await db.query("select id from kek_check")).toHaveLength(1);
    expect(await db.query("select id from access_token where role = 'ADMIN'")).toHaveLength(1);
    expect(
      logLines(server).filter((l) => l.msg?.startsWith("created an admin access token")),
    ).toHaveLength(1);
    expect(await checkHealth(server.address)).toBe("SERVING");
  });

  it("serves calls from several connections on both workers; /metrics counts all of them", async () => {
    const ids = await issueFrom(8, 3, "both");
    expect([...servedBy(ids)].sort()).toEqual(workerPids().sort());
    const metrics = await scrape();
    expect(total(metrics, "certmint_certificates_issued_total")).toBe(issued);
    expect(total(metrics, "certmint_worker_processes_serving")).toBe(2);
    // Counted once, not once per worker.
    expect(total(metrics, "certmint_build_info")).toBe(1);
  });

  it("replaces a worker killed with SIGKILL; calls succeed on the other meanwhile", async () => {
    const [victim, survivor] = workerPids();
    process.kill(victim!, "SIGKILL");
    await waitFor("the supervisor to see the worker die", () =>
      logLines(server).some(
        (l) => l.msg === "worker process exited: starting a new one" && l.pid === victim,
      ),
    );
    expect(await checkHealth(server.address)).toBe("SERVING");
    const meanwhile = await issueFrom(4, 1, "meanwhile");
    // Served while the replacement was maybe not serving yet: by the survivor at least.
    expect(servedBy(meanwhile).has(victim!)).toBe(false);
    // The supervisor's line and the worker's own may reach the output in either order.
    await waitFor(
      "a replacement worker to serve",
      () => logLines(server).some((l) => l.msg === "worker replaced") && workerPids().length === 2,
    );
    const now = workerPids();
    expect(now).toHaveLength(2);
    expect(now).toContain(survivor);
    const replacement = now.find((p) => p !== survivor)!;
    expect(replacement).not.toBe(victim);
    const after = await issueFrom(8, 1, "after");
    expect(servedBy(after).has(replacement)).toBe(true);
    const metrics = await scrape();
    expect(total(metrics, "certmint_worker_process_restarts_total")).toBe(1);
    expect(total(metrics, "certmint_worker_processes_serving")).toBe(2);
  });

  it("SIGTERM lets a call in flight finish, stops every worker, then the supervisor (exit 0)", async () => {
    const pids = workerPids();
    // Hold one issuance where it stores its certificate (inserts wait for this lock).
    const blocker = new Client({ connectionString: db.url });
    await blocker.connect();
    await blocker.query("begin");
    await blocker.query("lock table certificate in share mode");
    const held = issueFrom(1, 1, "held");
    await waitFor("the issuance to wait for the lock", async () => {
      const [row] = await db.query<{ n: string }>(
        "select count(*) as n from pg_locks l join pg_database d on d.oid = l.database where not l.granted and d.datname = current_database()",
      );
      return Number(row!.n) >= 1;
    });
    const exited = server.stop("SIGTERM");
    await waitFor("both workers to start shutting down", () =>
      pids.every((pid) => logLines(server).some((l) => l.msg === "shutting down" && l.pid === pid)),
    );
    await blocker.query("rollback");
    await blocker.end();
    expect(await held).toHaveLength(1);
    const code = await exited;
    expect(code, server.output().split("\n").slice(-12).join("\n")).toBe(0);
    for (const pid of pids) {
      expect(logLines(server).some((l) => l.msg === "stopped" && l.pid === pid)).toBe(true);
    }
    await waitFor("every worker process to be gone", () => pids.every((p) => !isAlive(p)));
  });
});

describe("a worker that cannot start", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it(
    "fails the whole start: exit code 1, no worker left running",
    async () => {
      // A database that does not exist: only the workers open the database (the supervisor
      // checks the listen addresses before it forks, so a port in use no longer reaches them).
      const missing = new URL(db.url);
      missing.pathname = `/${db.name}_missing`;
      const start = startServerProcess({
        DATABASE_URL: missing.toString(),
        CERTMINT_PROCESSES: "2",
        CERTMINT_KEK: randomBytes(32).toString("base64"),
        CERTMINT_LOG_FORMAT: "json",
      });
      const err = await start.then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/server exited during start-up/);
      expect(err?.message).toMatch(/certmint: start-up failed: worker process \d+ exited/);
      const pids = [...err!.message.matchAll(/"pid":(\d+)/g)].map((m) => Number(m[1]));
      expect(pids.length).toBeGreaterThan(0);
      await waitFor("every worker process to be gone", () => pids.every((p) => !isAlive(p)));
    },
    START_LIMIT_MS,
  );
});

describe("CERTMINT_PROCESSES with the embedded database", () => {
  it("refuses more than one process before anything is written (exit code 2)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "certmint-procs-embedded-"));
    const { command, args } = serverCommand();
    const child = spawn(command, args, {
      env: {
        ...process.env,
        DATABASE_URL: "",
        CERTMINT_PROCESSES: "2",
        CERTMINT_LISTEN: "127.0.0.1:0",
        CERTMINT_DATA_DIR: dataDir,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(2);
    expect(stderr).toContain(
      "CERTMINT_PROCESSES=2 needs DATABASE_URL: the embedded database lives in one process",
    );
    expect(existsSync(join(dataDir, "pglite"))).toBe(false);
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe("the start-up banner with CERTMINT_PROCESSES=2", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it(
    "is printed once, by the supervisor, once both workers serve",
    async () => {
      const { command, args } = serverCommand();
      const child = spawn(command, args, {
        env: {
          ...process.env,
          DATABASE_URL: db.url,
          CERTMINT_PROCESSES: "2",
          CERTMINT_LISTEN: "127.0.0.1:0",
          CERTMINT_DATA_DIR: mkdtempSync(join(tmpdir(), "certmint-procs-banner-")),
          CERTMINT_LOG_FORMAT: "pretty",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
      await waitFor("the banner", () => out.includes("is serving"), START_LIMIT_MS);
      await waitFor("the banner's last line", () => out.includes("next: npx certmint"));
      child.kill("SIGTERM");
      expect(await closed).toBe(0);
      // Everything every process wrote is in `out` now: one banner, naming the workers.
      expect(out.match(/is serving/g)).toHaveLength(1);
      expect(out).toMatch(/processes\s+2 workers sharing the ports \(CERTMINT_PROCESSES\)/);
      expect(out.match(/\(created now/g)).toHaveLength(1);
    },
    START_LIMIT_MS + 60_000,
  );
});

describe("CERTMINT_PROCESSES=auto with the embedded database", () => {
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it(
    "serves as one process and says why",
    async () => {
      server = await startServerProcess({
        DATABASE_URL: "",
        CERTMINT_PROCESSES: "auto",
        CERTMINT_LOG_FORMAT: "json",
      });
      expect(await checkHealth(server.address)).toBe("SERVING");
      const lines = logLines(server);
      expect(lines.some((l) => l.msg === "starting worker processes")).toBe(false);
      // The serving process is the one started, not a worker of it.
      expect(lines.find((l) => l.msg === "serving")?.pid).toBeUndefined();
      if (availableParallelism() > 1) {
        expect(
          lines.some((l) =>
            l.msg?.startsWith(
              "CERTMINT_PROCESSES=auto: one process, since the embedded database lives in one process",
            ),
          ),
        ).toBe(true);
      }
      expect(await server.stop()).toBe(0);
    },
    START_LIMIT_MS + 60_000,
  );
});

describe("CERTMINT_PROCESSES in the configuration", () => {
  const pg = { DATABASE_URL: "postgresql://u:p@127.0.0.1:5432/db" };

  it("defaults to 1; auto is one per core on PostgreSQL and one with the embedded database", () => {
    expect(loadConfig({}).processes).toEqual({ count: 1, autoLimitedByEmbedded: false });
    expect(loadConfig({ ...pg, CERTMINT_PROCESSES: "auto" }).processes.count).toBe(
      availableParallelism(),
    );
    expect(loadConfig({ CERTMINT_PROCESSES: "auto" }).processes).toEqual({
      count: 1,
      autoLimitedByEmbedded: availableParallelism() > 1,
    });
    expect(loadConfig({ ...pg, CERTMINT_PROCESSES: "3" }).processes.count).toBe(3);
  });

  it("refuses what is not auto or 1 to 64, and more than one on the embedded database", () => {
    for (const bad of ["0", "-1", "two", "65", "1.5"]) {
      expect(() => loadConfig({ ...pg, CERTMINT_PROCESSES: bad })).toThrow(
        /CERTMINT_PROCESSES must be auto or an integer from 1 to 64/,
      );
    }
    expect(() => loadConfig({ CERTMINT_PROCESSES: "2" })).toThrow(ConfigError);
    expect(loadConfig({ CERTMINT_PROCESSES: "1" }).processes.count).toBe(1);
  });

  it("shares the cores among the processes' RSA key-generation threads unless set", () => {
    expect(defaultKeyGenerationWorkers(2, 1)).toBe(1);
    expect(defaultKeyGenerationWorkers(2, 2)).toBe(1);
    expect(defaultKeyGenerationWorkers(8, 1)).toBe(7);
    expect(defaultKeyGenerationWorkers(8, 2)).toBe(3);
    expect(defaultKeyGenerationWorkers(8, 8)).toBe(1);
    expect(loadConfig({ ...pg, CERTMINT_PROCESSES: "2" }).keyGeneration.workers).toBe(
      defaultKeyGenerationWorkers(availableParallelism(), 2),
    );
    expect(
      loadConfig({ ...pg, CERTMINT_PROCESSES: "2", CERTMINT_KEY_GENERATION_WORKERS: "4" })
        .keyGeneration.workers,
    ).toBe(4);
  });
});
