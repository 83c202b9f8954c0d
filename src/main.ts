import { startCertmint } from "./app";
import { ConfigError, loadConfig } from "./config";
import { secureDataDir } from "./data-dir";
import { startBanner } from "./server/banner";
import { loggableError } from "./server/log-errors";
import { createLogger, resolveLogFormat } from "./server/logger";
import { certmintVersion } from "./server/paths";

/** Entry point: parse config, open the database, start the server, stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
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
  const logger = createLogger(config.logLevel, format);
  try {
    secureDataDir(config, logger);
  } catch (err) {
    // An unsafe or unusable data directory: one line, as for a bad setting.
    process.stderr.write(`certmint: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  // The handlers are in place before anything starts: a signal that arrives while start-up is
  // under way (even right after "serving" is logged) is a graceful stop once start-up is done,
  // never the default action that kills the process mid-write.
  let running: Awaited<ReturnType<typeof startCertmint>> | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    if (running) shutdown(running);
  };
  const shutdown = (certmint: NonNullable<typeof running>) =>
    certmint.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  try {
    running = await startCertmint(config, logger);
  } catch (err) {
    // loggableError: a failed first write (the admin token) must not log its values.
    const { message } = loggableError(err);
    logger.fatal({ err }, "start-up failed");
    process.stderr.write(`certmint: start-up failed: ${message}\n`);
    process.exit(1);
  }
  if (format === "pretty" && config.logLevel !== "silent") {
    process.stdout.write(`\n${startBanner(config, running, certmintVersion())}\n`);
  }
  if (stopping) shutdown(running);
}

void main();
