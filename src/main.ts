import { startCertmint } from "./app";
import { ConfigError, loadConfig } from "./config";
import { loggableError } from "./server/log-errors";
import { createLogger } from "./server/logger";

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
  const logger = createLogger(config.logLevel);
  let running: Awaited<ReturnType<typeof startCertmint>>;
  try {
    running = await startCertmint(config, logger);
  } catch (err) {
    // loggableError: a failed first write (the admin token) must not log its values.
    const { message } = loggableError(err);
    logger.fatal({ err }, "start-up failed");
    process.stderr.write(`certmint: start-up failed: ${message}\n`);
    process.exit(1);
  }
  const stop = (signal: string) => {
    logger.info({ signal }, "shutting down");
    running.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

void main();
