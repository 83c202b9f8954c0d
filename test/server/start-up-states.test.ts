/**
 * What a server that is still starting answers, and what a stop asked for then does (an outside
 * probe of stop 43 of 2026-12-06, findings F3, F4, F6 and F8). The start is held at a state,
 * not timed: the test takes the PostgreSQL advisory lock replicas take turns under
 * (src/store/database.ts withStartupLock), so the server waits, NOT_SERVING, until the test lets
 * it go.
 *
 * While it waits:
 *  - /metrics answers, with the process metrics (F6: it was connection-refused until the
 *    database was ready, 4-6 s on a first embedded start);
 *  - a certmint call is UNAVAILABLE SERVER_NOT_READY with a RetryInfo (F8: none, though the
 *    README promises one when a retry may succeed), and the CLI's hint says the server is
 *    starting, not "is it running? ... --ca-file";
 *  - grpc.health.v1 knows every certmint service, NOT_SERVING like the others (F3:
 *    AccessTokenService and AuditService were NOT_FOUND); once serving, all are SERVING.
 * A SIGTERM then ends the start once it may go on (F4): exit 0, no "serving", no admin token made.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListCertificateAuthoritiesRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { RetryInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { CERTMINT_SERVICES } from "../../src/api/services";
import { runCli } from "../cli/cli";
import { call, decodeError, makeClients } from "../support/harness";
import { HealthClient } from "../support/health-client";
import { unusedPort } from "../support/ports";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  ROOT,
  type ServerProcess,
  START_LIMIT_MS,
  serverCommand,
  startServerProcess,
} from "../support/server-process";

/** src/store/database.ts STARTUP_LOCK_KEY (not exported): the key replicas take turns under. */
const STARTUP_LOCK_KEY = "7162256626780040820";

const SERVICES = ["", ...CERTMINT_SERVICES.map(([name]) => name)];

/** A server process started by hand, so the test sees it before it serves. */
interface Starting {
  child: ChildProcess;
  output(): string;
  /** Resolves once the output matches; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

function spawnServer(env: Record<string, string>): Starting {
  const { command, args } = serverCommand();
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, CERTMINT_LISTEN: "127.0.0.1:0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const waiters = new Set<() => void>();
  const seen = (d: Buffer) => {
    out += d;
    for (const w of [...waiters]) w();
  };
  child.stdout?.on("data", seen);
  child.stderr?.on("data", seen);
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of [...waiters]) w();
  });
  return {
    child,
    output: () => out,
    exited,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out);
          if (m) {
            waiters.delete(check);
            resolve(m);
          } else if (done) {
            waiters.delete(check);
            reject(new Error(`exited before ${pattern}:\n${out}`));
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

function health(address: string, service: string): Promise<string> {
  const client = new HealthClient(address, credentials.createInsecure());
  return new Promise((resolve) => {
    client.check({ service }, { deadline: Date.now() + 60_000 }, (err, res) => {
      client.close();
      resolve(err ? `error ${err.code}: ${err.details}` : res.status);
    });
  });
}

describe("a server held in start-up", { timeout: 3 * START_LIMIT_MS }, () => {
  let db: TestDatabase;
  let holder: Client;
  let released = false;
  let env: Record<string, string>;
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-start-states-"));
  let starting: Starting | undefined;
  let served: ServerProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    holder = new Client({ connectionString: db.url });
    await holder.connect();
    await holder.query("select pg_advisory_lock($1::int8)", [STARTUP_LOCK_KEY]);
    env = {
      DATABASE_URL: db.url,
      CERTMINT_DATA_DIR: dataDir,
      CERTMINT_KEK: randomBytes(32).toString("base64"),
    };
  }, START_LIMIT_MS);
  afterAll(async () => {
    starting?.child.kill("SIGKILL");
    await starting?.exited;
    await served?.stop();
    if (!released) await holder?.end().catch(() => undefined);
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves /metrics, answers SERVER_NOT_READY with RetryInfo, knows every service's health; a SIGTERM stops it before it makes secrets", async () => {
    const metricsPort = await unusedPort();
    starting = spawnServer({ ...env, CERTMINT_METRICS_LISTEN: `127.0.0.1:${metricsPort}` });
    const address = (await starting.waitFor(/"address":"([^"]+)","msg":"listening"/))[1]!;
    await starting.waitFor(/another certmint is initialising the database: waiting for it/);

    // F6: the process metrics, before the database is ready.
    const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toMatch(/^process_resident_memory_bytes \d/m);

    // F8: UNAVAILABLE SERVER_NOT_READY, with a RetryInfo of 1 s.
    const clients = makeClients(address, "not-checked-before-ready");
    let failure: unknown;
    try {
      await call(
        clients.authorities,
        "listCertificateAuthorities",
        ListCertificateAuthoritiesRequest.fromPartial({}),
      );
    } catch (err) {
      failure = err;
    } finally {
      for (const c of Object.values(clients)) c.close();
    }
    const decoded = decodeError(failure);
    expect(decoded.code).toBe(14);
    expect(decoded.reason).toBe("SERVER_NOT_READY");
    const raw = (failure as { metadata: { get(k: string): unknown[] } }).metadata.get(
      "grpc-status-details-bin",
    )[0] as Buffer;
    const retry = Status.decode(raw).details.find((d) => d.typeUrl.endsWith("RetryInfo"));
    expect(retry, "a RetryInfo detail").toBeDefined();
    expect(RetryInfo.decode(retry!.value).retryDelay).toEqual({ seconds: "1", nanos: 0 });

    // F8, the CLI: the hint says the server is starting, not that it may not run.
    const cli = await runCli(["--server", address, "ca", "list"], {
      env: { CERTMINT_TOKEN: "not-checked-before-ready" },
    });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain("reason: SERVER_NOT_READY");
    expect(cli.stderr).toContain("retry after: 1s");
    expect(cli.stderr).toContain(
      `hint: certmint at ${address} is starting or stopping: retry in a moment`,
    );
    expect(cli.stderr).not.toContain("is it running");

    // F3: every service the server serves has a health status, the same as the server's.
    for (const service of SERVICES)
      expect(await health(address, service), service).toBe("NOT_SERVING");

    // F4: a stop while start-up waits; start-up goes on once the lock is free, and ends there.
    starting.child.kill("SIGTERM");
    await starting.waitFor(/"msg":"shutting down"/);
    await holder.query("select pg_advisory_unlock($1::int8)", [STARTUP_LOCK_KEY]);
    const code = await starting.exited;
    const out = starting.output();
    expect(code, out).toBe(0);
    expect(out).toContain('"msg":"stopped before serving"');
    expect(out).not.toContain('"msg":"serving"');
    expect(out).not.toContain("created an admin access token");
    expect(existsSync(join(dataDir, "admin-token"))).toBe(false);
    expect(await db.query("select id from access_token")).toEqual([]);
    starting = undefined;
  });

  it("the next start serves, and every service's health is SERVING", async () => {
    // Whatever the test above left (when it failed): no server still starting, no lock held.
    starting?.child.kill("SIGKILL");
    await starting?.exited;
    starting = undefined;
    released = true;
    await holder.end();
    served = await startServerProcess(env);
    expect(existsSync(join(dataDir, "admin-token"))).toBe(true);
    for (const service of SERVICES)
      expect(await health(served.address, service), service).toBe("SERVING");
  });
});
