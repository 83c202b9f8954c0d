import cluster, { type Worker } from "node:cluster";
import type { Server } from "node:http";
import type { Logger } from "pino";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { Config } from "../config";
import { StartUpFailure } from "../start-up-failure";
import { startBanner } from "./banner";
import { ClusterMetrics } from "./cluster-metrics";
import { SKIP_DRAIN_DELAY } from "./drain";
import { ignoreHangUp } from "./hang-up";
import { exitAfterLogs } from "./logger";
import { startMetricsServer } from "./metrics-server";
import { certmintVersion } from "./paths";
import { SharedLimitsAuthority } from "./shared-limits-authority";
import { isServingReport, type ServingReport } from "./worker-process";

/** A dead worker is replaced after this, doubling per death in a row, up to the maximum. */
export const RESTART_FIRST_DELAY_MS = 250;
export const RESTART_MAX_DELAY_MS = 30_000;
/** A worker that lived this long before it died was healthy: its replacement starts the backoff over. */
const RESTART_STABLE_MS = 60_000;
/** After the workers' own grace period, how long they may take to close before they are killed. */
const STOP_MARGIN_MS = 30_000;

/** One of the CERTMINT_PROCESSES places; its worker is replaced when it dies. */
interface Slot {
  worker?: Worker;
  startedAt: number;
  /** Deaths in a row (each before RESTART_STABLE_MS): the exponent of the restart delay. */
  deaths: number;
  serving?: ServingReport;
  restart?: NodeJS.Timeout;
}

/**
 * CERTMINT_PROCESSES > 1: this process serves nothing itself. It forks the workers (Node's
 * cluster module: each worker is a whole certmint, and the ports they listen on are shared,
 * this process accepting connections and handing them out in turn), replaces a worker that
 * dies (with backoff), serves /metrics summed over all of them, and on SIGTERM/SIGINT stops
 * them (each drains its calls) and exits once all have.
 *
 * The first worker starts alone; the others start once it serves. What the workers share is
 * coordinated as between replicas on one PostgreSQL (README: Running in production): start-up
 * initialisation under an advisory lock (migrations once, one first admin token), renewal
 * claims, certificate events (LISTEN/NOTIFY), CRL freshness. The limits on what one caller may
 * consume or hold (rates per token, address and ACME account, failed authentications, open
 * watches) are kept here for all workers (shared-limits-authority.ts); what protects a worker's
 * own event loop, memory and pool (calls in progress, queues, the RSA queue, the pool) is per
 * worker.
 *
 * A worker that fails before any worker ever served is a failed start (a bad database URL, a
 * port in use): the others are stopped and this process exits 1, as a single process would.
 */
export function runSupervisor(config: Config, logger: Logger, pretty: boolean): void {
  const count = config.processes.count;
  const slots: Slot[] = Array.from({ length: count }, () => ({ startedAt: 0, deaths: 0 }));
  const own = supervisorMetrics();
  let metricsEndpoint: { server: Server; port: number } | undefined;
  let everServed = false;
  let announced = false;
  let stopping = false;
  let failedWorker = false;
  // The limits on what one caller may consume, for all workers together.
  const limits = new SharedLimitsAuthority();

  const live = () => slots.flatMap((s) => (s.worker ? [s.worker] : []));
  const finish = (code: number) => {
    const close = metricsEndpoint
      ? new Promise((resolve) => metricsEndpoint!.server.close(resolve))
      : Promise.resolve();
    void close.then(() => {
      logger.info({ code }, "stopped");
      return exitAfterLogs(code);
    });
  };
  // Until when the workers serve on with health NOT_SERVING (server/drain.ts), once stopping.
  let drainDelayUntil = 0;
  const stop = (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    if (code === 0) drainDelayUntil = performance.now() + config.shutdownDrainDelayMs;
    if (code !== 0) failedWorker = true;
    logger.info({ reason, workers: live().map((w) => w.process.pid) }, "shutting down");
    for (const slot of slots) clearTimeout(slot.restart);
    const workers = live();
    if (workers.length === 0) return finish(code);
    for (const worker of workers) worker.process.kill("SIGTERM");
    // A worker that has not closed long after its grace period is hung: it is killed.
    setTimeout(
      () => {
        for (const worker of live()) {
          logger.warn({ pid: worker.process.pid }, "worker did not stop in time: killing it");
          worker.process.kill("SIGKILL");
        }
      },
      config.shutdownDrainDelayMs + config.shutdownGraceMs + STOP_MARGIN_MS,
    ).unref();
  };
  // A SIGINT during the drain delay ends the workers' delays, by a message (a worker ignores a
  // second signal: main.ts); a second SIGTERM is the same wish delivered twice (npm and systemd
  // both send one) and is ignored there (main.ts says why). After the delay a second signal
  // ends this process at once, as before (the default action of the signal).
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopping) return stop(signal, 0);
    if (performance.now() < drainDelayUntil && signal !== "SIGINT") {
      logger.info({ signal }, "already shutting down: the drain delay goes on (SIGINT ends it)");
      return;
    }
    if (performance.now() < drainDelayUntil) {
      drainDelayUntil = 0;
      logger.info({ signal }, "second signal: drain delay ended; workers stop accepting");
      for (const worker of live())
        if (worker.isConnected()) worker.send({ type: SKIP_DRAIN_DELAY });
      return;
    }
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    process.kill(process.pid, signal);
  };

  const fork = (slot: Slot) => {
    slot.restart = undefined;
    slot.serving = undefined;
    slot.startedAt = performance.now();
    const worker = cluster.fork();
    slot.worker = worker;
    limits.attach(worker);
    worker.on("message", (message: unknown) => {
      if (!isServingReport(message)) return;
      slot.serving = message;
      own.serving.set(slots.filter((s) => s.serving).length);
      if (everServed && announced) logger.info({ pid: message.pid }, "worker replaced");
      if (!everServed) {
        everServed = true;
        // The first worker has created the database if needed, migrated it, made the
        // key-encryption key and the first admin token: the others find all of it done.
        for (const other of slots) if (!other.worker && !stopping) fork(other);
      }
      if (!announced && slots.every((s) => s.serving)) {
        announced = true;
        announce(config, logger, slots, metricsEndpoint?.port, pretty);
      }
    });
    worker.on("exit", (code, signal) => {
      slot.worker = undefined;
      slot.serving = undefined;
      own.serving.set(slots.filter((s) => s.serving).length);
      const pid = worker.process.pid;
      if (stopping) {
        // SIGTERM itself ends a worker still loading, before its handlers are in place.
        if (code !== 0 && signal !== "SIGTERM") failedWorker = true;
        logger.info({ pid, code, signal }, "worker process stopped");
        if (live().length === 0) finish(failedWorker ? 1 : 0);
        return;
      }
      if (!everServed) {
        logger.fatal({ pid, code, signal }, "a worker process failed to start");
        process.stderr.write(
          `certmint: start-up failed: worker process ${pid} exited (${signal ?? `code ${code}`}) before serving; its log is above\n`,
        );
        // Exit 2 (only a configuration change helps: server/start-up-failure.ts) passes through.
        stop("start-up failed", code === 2 ? 2 : 1);
        return;
      }
      if (performance.now() - slot.startedAt >= RESTART_STABLE_MS) slot.deaths = 0;
      const delayMs = Math.min(RESTART_MAX_DELAY_MS, RESTART_FIRST_DELAY_MS * 2 ** slot.deaths);
      slot.deaths++;
      own.restarts.inc();
      logger.error(
        { pid, code, signal, restartInMs: delayMs },
        "worker process exited: starting a new one",
      );
      slot.restart = setTimeout(() => fork(slot), delayMs);
    });
  };

  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  process.on("SIGHUP", () => ignoreHangUp(logger));
  logger.info(
    { processes: count, keyGenerationWorkersEach: config.keyGeneration.workers },
    "starting worker processes",
  );
  const start = async () => {
    if (config.metricsListen) {
      const metrics = new ClusterMetrics(own.registry, logger);
      metricsEndpoint = await startMetricsServer(
        config.metricsListen,
        metrics,
        logger,
        config.connections,
        config.metricsTokenFile,
      );
      logger.info(
        { port: metricsEndpoint.port },
        "serving Prometheus metrics of all worker processes at /metrics",
      );
    }
    // One worker first, the others once it serves (above): workers starting together on a
    // database that does not exist yet would race to create it, and would queue behind one
    // another's migrations anyway.
    if (!stopping) fork(slots[0]!);
  };
  start().catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    // A refused setting's file (the metrics token) is a configuration failure: exit 2, no stack.
    if (err instanceof StartUpFailure) {
      logger.fatal({ reason: message, exitCode: err.exitCode }, "start-up failed");
    } else {
      logger.fatal({ err }, "start-up failed");
    }
    process.stderr.write(`certmint: start-up failed: ${message}\n`);
    process.exit(err instanceof StartUpFailure ? err.exitCode : 1);
  });
}

/** The first time every worker serves: one log line (and the banner, once, in a terminal). */
function announce(
  config: Config,
  logger: Logger,
  slots: Slot[],
  metricsPort: number | undefined,
  pretty: boolean,
): void {
  const reports = slots.flatMap((s) => (s.serving ? [s.serving] : []));
  const first = reports[0]!;
  logger.info(
    { address: first.address, processes: reports.length, pids: reports.map((r) => r.pid) },
    "all worker processes serving",
  );
  if (pretty && config.logLevel !== "silent") {
    const running = {
      address: first.address,
      publicationPort: first.publicationPort,
      metricsPort,
      adminTokenCreated: reports.some((r) => r.adminTokenCreated),
    };
    process.stdout.write(`\n${startBanner(config, running, certmintVersion())}\n`);
  }
}

/** The supervisor's own metrics, summed with the workers' (its process_* figures included). */
function supervisorMetrics(): { registry: Registry; serving: Gauge; restarts: Counter } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    serving: new Gauge({
      name: "certmint_worker_processes_serving",
      help: "Worker processes serving now (CERTMINT_PROCESSES sets how many there should be)",
      registers,
    }),
    restarts: new Counter({
      name: "certmint_worker_process_restarts_total",
      help: "Worker processes that exited unexpectedly and were replaced",
      registers,
    }),
  };
}
