/**
 * What the outage probes (test/probe/outage-*.test.ts) share: a fault proxy
 * (test/support/fault-proxy.ts) between the server and PostgreSQL, the compiled
 * server started as a process on a database reached through it (one process, or a supervisor
 * and workers), issuing clients that remember every request_id they sent and how each call
 * ended, the waits of an outage's phases (warm-up, the database down, back) and what every
 * outage must leave behind (every request_id resolves on replay, a clean log).
 */
import { randomBytes } from "node:crypto";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect } from "vitest";
import type {
  CertificateServiceClient,
  IssueCertificateResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import { type FaultProxy, startFaultProxy } from "../support/fault-proxy";
import { createRootAndProfile } from "../support/fixtures";
import { decodeError } from "../support/harness";
import { HealthClient } from "../support/health-client";
import { generatedKeyRequest } from "../support/issue-request";
import { certificateClientOnOwnConnection } from "../support/own-connection";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  type LaunchOptions,
  type LogLine,
  logLines,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../support/wait";

export interface Deployment {
  db: TestDatabase;
  proxy: FaultProxy;
  server: ServerProcess;
  token: string;
  profile: string;
  processes: number;
  /** Pids of the processes that serve calls (the workers, or the one process). */
  servingPids(): number[];
  /** Starts the server again (after it stopped) on the same database, data directory and KEK. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The compiled server as operators run it, on its own migrated database reached through a
 * fault proxy: `processes` 1 (one process) or more (a supervisor and that many workers).
 */
export async function deploy(
  processes: number,
  env: Record<string, string> = {},
  launch: LaunchOptions = {},
) {
  const db = await createTestDatabase({ migrated: true });
  const direct = new URL(db.url);
  const proxy = await startFaultProxy({
    host: direct.hostname,
    port: Number(direct.port || 5432),
  });
  const viaProxy = new URL(db.url);
  viaProxy.hostname = "127.0.0.1";
  viaProxy.port = String(proxy.port);
  const serverEnv: Record<string, string> = {
    DATABASE_URL: viaProxy.toString(),
    CERTMINT_PROCESSES: String(processes),
    CERTMINT_KEK: randomBytes(32).toString("base64"),
    CERTMINT_LOG_FORMAT: "json",
    CERTMINT_LOG_LEVEL: "info",
    CERTMINT_DATABASE_PROBE_INTERVAL_MS: "200",
    CERTMINT_RENEWAL_ENABLED: "false",
    ...env,
  };
  const start = async (extra: Record<string, string> = {}) => {
    const started = await startServerProcess({ ...serverEnv, ...extra }, launch);
    if (processes > 1) {
      await waitFor(
        "every worker to serve",
        () => started.output().includes('"msg":"all worker processes serving"'),
        START_LIMIT_MS,
      );
    }
    return started;
  };
  const server = await start();
  const token = server.adminToken();
  const { profile } = await createRootAndProfile(server, db, token, {
    root: "probe-root",
    profile: "probe-web",
  });
  const servingPids = () => {
    const server = deployment.server;
    const lines = logLines(server);
    const gone = new Set(
      lines
        .filter(
          (l) =>
            l.msg === "worker process exited: starting a new one" ||
            l.msg === "worker process stopped",
        )
        .map((l) => l.pid),
    );
    if (processes === 1) return [server.child.pid!];
    return [
      ...new Set(
        lines
          .filter((l) => l.msg === "serving" && l.pid !== undefined && !gone.has(l.pid))
          .map((l) => l.pid!),
      ),
    ];
  };
  const deployment: Deployment = {
    db,
    proxy,
    server,
    token,
    profile,
    processes,
    servingPids,
    async restart() {
      // The same database, data directory (admin token) and key-encryption key.
      deployment.server = await start({ CERTMINT_DATA_DIR: deployment.server.dataDir });
    },
    async stop() {
      proxy.pass();
      await deployment.server.stop();
      await proxy.close();
      await db.drop();
    },
  };
  return deployment;
}

/** The pid a line was written by: a worker's lines carry theirs, one process's carry none. */
export const pidOf = (d: Deployment, line: LogLine): number => line.pid ?? d.server.child.pid ?? 0;

/** Each client on a connection of its own, so the supervisor hands them to every worker. */
export const newIssuer = (d: Deployment): CertificateServiceClient =>
  certificateClientOnOwnConnection(d.server.address, d.token);

export type Outcome =
  | { ok: IssueCertificateResponse }
  | { code: number; reason?: string; details: string };

/** One IssueCertificate with a deadline; resolves with its answer or its error, never throws. */
export function issueOnce(
  client: CertificateServiceClient,
  profile: string,
  requestId: string,
  deadlineMs: number,
): Promise<Outcome> {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  return new Promise((resolve) => {
    client.issueCertificate(
      generatedKeyRequest(profile, `${requestId}.example.com`, { requestId }),
      metadata,
      // Infinity: no deadline at all (grpc-js sends none).
      { deadline: Number.isFinite(deadlineMs) ? Date.now() + deadlineMs : Infinity },
      (err: ServiceError | null, res) => {
        if (!err) resolve({ ok: res });
        else resolve({ code: err.code, reason: decodeError(err).reason, details: err.details });
      },
    );
  });
}

/** Every request_id sent and how its call ended, by gRPC code name. */
export interface Ledger {
  sent: string[];
  outcomes: Map<string, Outcome>;
  /** Calls answered with each code (OK, UNAVAILABLE, ...), counted as they end. */
  codes: Map<string, number>;
}

export const newLedger = (): Ledger => ({ sent: [], outcomes: new Map(), codes: new Map() });

export const codeName = (o: Outcome): string => ("ok" in o ? "OK" : status[o.code]);

/** Clients issuing under load (see `issueUnderLoad`), and waits on what they have seen. */
export interface Load {
  /** The calls of these clients (shared with other loads when one was passed in). */
  readonly ledger: Ledger;
  /** Calls of the ledger answered with this code (OK, UNAVAILABLE, ...) so far. */
  count(code: string): number;
  /** Waits until `more` calls more than now have been answered OK. */
  untilMoreOk(what: string, more: number, timeoutMs?: number): Promise<void>;
  /** Request_ids sent since the ledger held `from` of them that have been answered. */
  answeredSince(from: number): string[];
  /** Waits until at least `atLeast` calls sent since `from` have been answered. */
  untilAnswered(what: string, from: number, atLeast: number, timeoutMs?: number): Promise<void>;
  /** Ends the loops (each after its call in flight) and closes their clients; the codes seen. */
  stop(): Promise<Record<string, number>>;
}

/**
 * `clients` loops issuing one certificate after another (a fresh request_id per call,
 * `<tag>-<client>-<n>`) until `stop()`; each call's request_id is recorded in the ledger
 * before it is sent, and its outcome when it ends.
 */
export function issueUnderLoad(
  d: Deployment,
  opts: { clients: number; tag: string; deadlineMs: number; ledger?: Ledger },
): Load {
  const ledger = opts.ledger ?? newLedger();
  let stopped = false;
  const clients = Array.from({ length: opts.clients }, () => newIssuer(d));
  const done = Promise.all(
    clients.map(async (client, c) => {
      for (let n = 0; !stopped; n++) {
        const requestId = `${opts.tag}-${c}-${n}`;
        ledger.sent.push(requestId);
        const outcome = await issueOnce(client, d.profile, requestId, opts.deadlineMs);
        ledger.outcomes.set(requestId, outcome);
        const name = codeName(outcome);
        ledger.codes.set(name, (ledger.codes.get(name) ?? 0) + 1);
        // A refused call is retried by a real client after its RetryInfo; here the next
        // request_id follows at once, so an outage meets many calls. Yield, though, so a
        // loop of instant refusals does not starve the event loop of the test.
        if (!("ok" in outcome)) await new Promise((r) => setTimeout(r, 10));
      }
    }),
  );
  const count = (code: string) => ledger.codes.get(code) ?? 0;
  const codes = () => JSON.stringify(Object.fromEntries(ledger.codes));
  const answeredSince = (from: number) =>
    ledger.sent.slice(from).filter((id) => ledger.outcomes.has(id));
  return {
    ledger,
    count,
    answeredSince,
    untilMoreOk(what, more, timeoutMs) {
      const target = count("OK") + more;
      return waitSaying(
        what,
        () => count("OK") >= target,
        timeoutMs,
        () => {
          return `${count("OK")} of ${target} OK; calls by code ${codes()}`;
        },
      );
    },
    untilAnswered(what, from, atLeast, timeoutMs) {
      return waitSaying(
        what,
        () => answeredSince(from).length >= atLeast,
        timeoutMs,
        () => {
          const sent = ledger.sent.length - from;
          return `${answeredSince(from).length} of ${sent} sent answered (${atLeast} wanted); calls by code ${codes()}`;
        },
      );
    },
    async stop() {
      stopped = true;
      await done;
      for (const c of clients) c.close();
      return Object.fromEntries(ledger.codes);
    },
  };
}

/**
 * Starts `issueUnderLoad` and waits for `ok` certificates issued (`what`, in a timeout's
 * message); the pids that serve calls then, asserted one per process of the deployment.
 */
export async function warmUp(
  d: Deployment,
  opts: { clients: number; tag: string; deadlineMs: number; ok: number; what: string },
): Promise<{ load: Load; ledger: Ledger; pids: number[] }> {
  const load = issueUnderLoad(d, opts);
  const pids = d.servingPids();
  expect(pids, "the pids that serve calls").toHaveLength(d.processes);
  await load.untilMoreOk(opts.what, opts.ok);
  return { load, ledger: load.ledger, pids };
}

/** `waitFor`, its timeout error naming also `state()` at the end (what was seen instead). */
async function waitSaying(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number | undefined,
  state: () => string,
): Promise<void> {
  try {
    await waitFor(what, probe, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${state()}`, { cause: e });
  }
}

/**
 * grpc.health.v1 of the whole server over `connections` fresh connections (the supervisor
 * hands new connections to the workers in turn, so several reach every worker); the statuses
 * seen. A connection that fails (a worker stopping) counts as its error's code name.
 */
export async function healthOverConnections(
  address: string,
  connections: number,
): Promise<string[]> {
  const statuses: string[] = [];
  for (let i = 0; i < connections; i++) {
    const client = new HealthClient(address, credentials.createInsecure());
    statuses.push(
      await new Promise<string>((resolve) => {
        client.check({ service: "" }, { deadline: Date.now() + 60_000 }, (err, res) =>
          resolve(err ? status[err.code] : res.status),
        );
      }),
    );
    client.close();
  }
  return statuses;
}

/**
 * Replays every request_id of the ledger (as a client would after a lost answer) until each
 * is answered with a certificate; a replay refused as an outage or an in-progress request is
 * retried. Returns the certificate id each request_id ended with.
 */
export async function replayAll(d: Deployment, requestIds: string[]): Promise<Map<string, string>> {
  const client = newIssuer(d);
  const ended = new Map<string, string>();
  const queue = [...requestIds];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      let answer: Outcome | undefined;
      await waitFor(`a replay of ${id} to answer with a certificate`, async () => {
        answer = await issueOnce(client, d.profile, id, 30_000);
        if ("ok" in answer) return true;
        // Refused for now (the outage is still ending, a request still in progress): again.
        if (
          answer.code === status.UNAVAILABLE ||
          answer.code === status.ABORTED ||
          answer.code === status.DEADLINE_EXCEEDED
        )
          return false;
        throw new Error(`replay of ${id} failed: ${codeName(answer)} ${answer.details}`);
      });
      ended.set(id, (answer as { ok: IssueCertificateResponse }).ok.certificate!.certificateId);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  client.close();
  return ended;
}

/** Requests of these request_ids left in a state other than ISSUED, and request_ids with two rows. */
export async function unresolved(
  db: TestDatabase,
  requestIds: string[],
): Promise<{ notIssued: Array<{ request_id: string; status: string }>; duplicates: number }> {
  const notIssued = await db.query<{ request_id: string; status: string }>(
    "select request_id, status from certificate_request where request_id = any($1) and status <> 'ISSUED'",
    [requestIds],
  );
  const [dup] = await db.query<{ n: string }>(
    "select count(*) as n from (select request_id from certificate_request where request_id = any($1) group by request_id having count(*) > 1) d",
    [requestIds],
  );
  return { notIssued, duplicates: Number(dup!.n) };
}

/**
 * Deploys (`deploy`) before the tests of the enclosing describe and stops the deployment
 * after them. The function returned gives a test the deployment.
 */
export function deployForTests(
  processes: number,
  env: Record<string, string> = {},
): () => Deployment {
  let d: Deployment | undefined;
  beforeAll(async () => {
    d = await deploy(processes, env);
  }, START_LIMIT_MS * 2);
  afterAll(async () => {
    await d?.stop();
  });
  return () => {
    if (!d) throw new Error(`no deployment: deploy(${processes}) did not complete`);
    return d;
  };
}

export const UNREACHABLE_LINE = "database unreachable: health NOT_SERVING";
export const REACHABLE_LINE = "database reachable again: health SERVING";

/**
 * Waits until every process of `pids` has written a log line `msg` (among the lines after the
 * first `since` of the log, when given).
 */
export function waitForEveryProcessToLog(
  d: Deployment,
  pids: number[],
  msg: string,
  opts: { what: string; since?: number },
): Promise<void> {
  const missing = () => {
    const lines = logLines(d.server)
      .slice(opts.since ?? 0)
      .filter((l) => l.msg === msg);
    return pids.filter((pid) => !lines.some((l) => pidOf(d, l) === pid));
  };
  return waitSaying(
    opts.what,
    () => missing().length === 0,
    undefined,
    () => `no "${msg}" yet from pid ${missing().join(", ")}`,
  );
}

/** Waits until grpc.health.v1 answers `expected` on each of two connections per process. */
export async function waitForHealth(
  d: Deployment,
  expected: "SERVING" | "NOT_SERVING",
): Promise<void> {
  let seen: string[] = [];
  await waitSaying(
    `health ${expected} on every connection`,
    async () => {
      seen = await healthOverConnections(d.server.address, 2 * d.processes);
      return seen.every((s) => s === expected);
    },
    undefined,
    () => `last seen ${seen.join(", ")}`,
  );
}

/**
 * After the proxy refused or stalled: waits until every process of `pids` has reported the
 * database unreachable and health answers NOT_SERVING on every connection.
 */
export async function waitForDatabaseDown(d: Deployment, pids: number[]): Promise<void> {
  await waitForEveryProcessToLog(d, pids, UNREACHABLE_LINE, {
    what: "every serving process to report the database unreachable",
  });
  await waitForHealth(d, "NOT_SERVING");
}

/**
 * After the proxy passes again: waits until every process of `pids` has reported the database
 * reachable and health answers SERVING on every connection.
 */
export async function waitForDatabaseBack(d: Deployment, pids: number[]): Promise<void> {
  await waitForEveryProcessToLog(d, pids, REACHABLE_LINE, {
    what: "every serving process to report the database reachable",
  });
  await waitForHealth(d, "SERVING");
}

/** Every call of the ledger ended with one of the `allowed` codes (`codes`: by code name). */
export function expectCodesWithin(codes: Record<string, number>, allowed: string[]): void {
  for (const code of Object.keys(codes)) expect(allowed, JSON.stringify(codes)).toContain(code);
}

/**
 * Every request_id of the ledger resolves: a replay answers one certificate, the one its call
 * got when it got one; no request is left other than ISSUED, none has two rows.
 */
export async function expectEveryRequestResolves(d: Deployment, ledger: Ledger): Promise<void> {
  const ended = await replayAll(d, ledger.sent);
  for (const [id, o] of ledger.outcomes) {
    if ("ok" in o) {
      expect(ended.get(id), `the certificate a replay of ${id} answers`).toBe(
        o.ok.certificate!.certificateId,
      );
    }
  }
  expect(await unresolved(d.db, ledger.sent)).toEqual({ notIssued: [], duplicates: 0 });
}

/**
 * What a database outage must leave once it is over: every call answered UNAVAILABLE was
 * refused as the database's (DATABASE_UNAVAILABLE); the processes `pids` that served before
 * still serve (none died of it); every request_id sent resolves on replay; the log holds no
 * unhandled error and only JSON lines (a log collector parses them: no driver's plain text).
 */
export async function expectOutageLeftNoTrace(
  d: Deployment,
  ledger: Ledger,
  pids: number[],
): Promise<void> {
  for (const [id, o] of ledger.outcomes) {
    if (!("ok" in o) && o.code === status.UNAVAILABLE) {
      expect(o.reason, `${id}: ${o.details}`).toBe("DATABASE_UNAVAILABLE");
    }
  }
  expect(d.servingPids().sort()).toEqual([...pids].sort());
  await expectEveryRequestResolves(d, ledger);
  const unhandled = logLines(d.server).filter((l) => l.msg === "unhandled error in handler");
  expect(unhandled).toEqual([]);
  const plain = d.server
    .output()
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("{"));
  expect(plain).toEqual([]);
}
