import { resolve } from "node:path";
import type { startCertmint } from "./app";
import { ConfigError, ENV, loadConfig, metricsExposureWarning } from "./config";
import { secureDataDir } from "./data-dir";
import { startBanner } from "./server/banner";
import { ignoreHangUp } from "./server/hang-up";
import { disableAsyncLocalStorageWhenIdle } from "./server/idle-async-context";
import { assertListenAddressesFree } from "./server/listen-check";
import { loggableError } from "./server/log-errors";
import { createLogger, exitAfterLogs, type Logger, resolveLogFormat } from "./server/logger";
import { readMetricsToken } from "./server/metrics-token";
import { certmintVersion } from "./server/paths";
import { runSupervisor } from "./server/supervisor";
import {
  isWorkerProcess,
  onSkipDrainDelay,
  reportServing,
  workerStartOptions,
} from "./server/worker-process";
import { StartInterrupted, StartUpFailure } from "./start-up-failure";

/**
 * Entry point: parse config, open the database, start the server, stop on SIGTERM/SIGINT.
 * With CERTMINT_PROCESSES above 1 this process becomes the supervisor of that many workers,
 * each of which runs this same file and serves (server/supervisor.ts).
 */
async function main(): Promise<void> {
  // Before the ORM runs anything: its AsyncLocalStorages keep Node's promise hooks on only
  // while one of its runs is in progress (server/idle-async-context.ts).
  disableAsyncLocalStorageWhenIdle();
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`certmint: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const format = resolveLogFormat(config.logFormat);
  const worker = isWorkerProcess();
  const base = createLogger(config.logLevel, format, config.logBufferBytes);
  // A worker's lines say which process wrote them (several share stdout).
  const logger = worker ? base.child({ pid: process.pid }) : base;
  // An error nothing caught is a bug: Node would end the process with a raw stack trace on
  // stderr, outside the log. It ends it the same way (state after an unknown failure is not
  // trusted), after one JSON line a collector keeps: type, message and stack (loggableError),
  // never a value. Until stop 52 of 2026-12-07 an ACME certificate reload did this (LOCAL F2).
  const stopOn = (kind: string) => (err: unknown) => {
    logger.fatal({ err }, `${kind}: certmint stops (a bug; please report it)`);
    void exitAfterLogs(1);
  };
  process.on("uncaughtException", stopOn("uncaught exception"));
  process.on("unhandledRejection", stopOn("unhandled promise rejection"));
  if (!worker && config.metricsTokenFile) {
    // A setting's file: checked with the settings, before anything is created or bound (the
    // data directory, the ports). Read again when /metrics starts (metrics-server.ts).
    try {
      readMetricsToken(config.metricsTokenFile);
    } catch (err) {
      process.stderr.write(
        `certmint: invalid configuration: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      process.exit(2);
    }
  }
  // Whether this start created the data directory (a new PKI): the banner says so too.
  let dataDirCreated = false;
  if (!worker) {
    try {
      dataDirCreated = secureDataDir(config, logger).created;
    } catch (err) {
      // An unsafe or unusable data directory: one line, as for a bad setting.
      process.stderr.write(`certmint: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    }
    if (dataDirCreated) {
      // A new data directory is a new root of trust (data-dir.ts createDataDir): never silent.
      const dataDir = resolve(config.dataDir);
      logger.warn(
        { dataDir },
        config.databaseUrl === undefined
          ? `created a new data directory ${dataDir}: a new, empty PKI (new key-encryption key, admin token and embedded database) starts in it; if certmint ran on this host before, ${ENV.dataDir} or the working directory is not the one it used`
          : `created a new data directory ${dataDir} (for the key-encryption key and the first admin token, unless set elsewhere); if certmint ran on this host before, ${ENV.dataDir} or the working directory is not the one it used`,
      );
    }
  }
  if (!worker) {
    try {
      await assertListenAddressesFree(config);
    } catch (err) {
      process.stderr.write(`certmint: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    }
    // /metrics has no authentication: on an address others reach, say so (the process that
    // serves it: this one, or the supervisor of the workers).
    const exposed = metricsExposureWarning(config);
    if (exposed) logger.warn({ host: config.metricsListen?.host }, exposed);
  }
  if (!worker && config.processes.count > 1) {
    runSupervisor(config, logger, format === "pretty");
    return;
  }
  if (config.processes.autoLimitedByEmbedded) {
    logger.info(
      `${ENV.processes}=auto: one process, since the embedded database lives in one process (set ${ENV.databaseUrl} to run one per core)`,
    );
  }
  await serve(config, logger, format, worker, dataDirCreated);
}

/** One serving process: the only one, or a worker of the supervisor. */
async function serve(
  config: ReturnType<typeof loadConfig>,
  logger: Logger,
  format: "json" | "pretty",
  worker: boolean,
  dataDirCreated = false,
): Promise<void> {
  // The handlers are in place before anything starts: a signal that arrives while start-up is
  // under way (even right after "serving" is logged) is a graceful stop once start-up is done,
  // never the default action that kills the process mid-write.
  let running: Awaited<ReturnType<typeof startCertmint>> | undefined;
  let stopping = false;
  // A stop during start-up ends the start-up where nothing is left half made (app.ts
  // StartOptions.stop), instead of after it wrote new secrets and logged "serving".
  const startUp = new AbortController();
  const stop = (signal: string) => {
    if (stopping) {
      // A Ctrl-C during the drain delay (server/drain.ts) ends the delay: someone at a terminal
      // who does not want to wait for the routers. Not a second SIGTERM: that one is the same
      // wish delivered twice as often as not (a lone server under `npm start` and systemd gets
      // one from systemd and one forwarded by npm), and it ended the delay at once (a review of
      // stop 42). A worker's come from its supervisor as a message instead (below): it gets
      // every signal twice (see next), and the second one is not a wish.
      if (!worker && signal === "SIGINT" && running?.skipDrainDelay()) {
        logger.info(
          { signal },
          "second signal: drain delay ended; no longer accepting connections",
        );
        return;
      }
      // A second SIGTERM must not kill the drain under way: its calls would end INTERNAL or
      // UNAVAILABLE mid-write. A worker of a supervisor usually gets every signal twice: the
      // supervisor forwards its own, and a service manager signals every process of the
      // service (systemd's default KillMode=control-group), as Ctrl-C signals the whole
      // terminal group (test/probe/outage-processes.test.ts); it ignores the second, and a
      // worker that does not stop in time is killed by its supervisor. A second Ctrl-C to a
      // lone server is someone who does not want to wait: it exits at once, and says so.
      if (signal === "SIGINT" && !worker) {
        logger.warn({ signal }, "second interrupt: exiting without waiting for calls in flight");
        void exitAfterLogs(130);
        return;
      }
      logger.info({ signal }, "already shutting down");
      return;
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    if (running) shutdown(running);
    else startUp.abort();
    // Nothing is served any more: no drain delay (it ends before it starts).
    if (signal === "FATAL") running?.skipDrainDelay();
  };
  // Set when the server had to stop (StartOptions.onFatal): the exit code says it did not stop
  // of its own will, so a service manager starts it again.
  let fatal: Error | undefined;
  const shutdown = (certmint: NonNullable<typeof running>) =>
    certmint.shutdown().then(
      () => exitAfterLogs(fatal ? 1 : 0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        return exitAfterLogs(1);
      },
    );
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", () => ignoreHangUp(logger));
  if (worker) {
    onSkipDrainDelay(() => {
      if (running?.skipDrainDelay()) logger.info("drain delay ended by the supervisor");
    });
  }
  try {
    // Loaded here, not at the top: a supervisor never serves and does not need the server's
    // modules in its memory. (require: the build emits CommonJS files, and an import() of one
    // would go through Node's ESM loader.)
    const app = require("./app") as typeof import("./app");
    running = await app.startCertmint(config, logger, {
      ...(worker ? workerStartOptions(config.processes.count, logger) : {}),
      stop: startUp.signal,
      onFatal: (err) => {
        fatal = err;
        stop("FATAL");
      },
    });
  } catch (err) {
    if (err instanceof StartInterrupted) {
      // Asked to stop while starting: stopped where what is on disk is whole; the next start
      // goes on from there. Exit 1 when the stop was the embedded database's failure.
      logger.info("stopped before serving");
      await exitAfterLogs(fatal ? 1 : 0);
    }
    if (err instanceof StartUpFailure) {
      // Outside certmint (the database's address, login or name): one line to act on, without
      // certmint's stack frames; exit 2 when only a configuration change helps.
      logger.fatal(
        { reason: err.message, code: err.code, exitCode: err.exitCode },
        "start-up failed",
      );
      process.stderr.write(`certmint: start-up failed: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    // loggableError: a failed first write (the admin token) must not log its values.
    const { message } = loggableError(err);
    logger.fatal({ err }, "start-up failed");
    process.stderr.write(`certmint: start-up failed: ${message}\n`);
    process.exit(1);
  }
  if (worker) reportServing(running);
  else if (format === "pretty" && config.logLevel !== "silent") {
    // A new data directory is a new, empty PKI: said where the person who started it looks
    // (a mistyped CERTMINT_DATA_DIR, or ./data from another working directory; data-dir.ts).
    const created = dataDirCreated
      ? `  new data directory ${config.dataDir} (created now: a new PKI; not what you expected? check ${ENV.dataDir} and the working directory)\n`
      : "";
    process.stdout.write(`\n${startBanner(config, running, certmintVersion())}${created}\n`);
  }
  if (stopping) shutdown(running);
}

void main();
