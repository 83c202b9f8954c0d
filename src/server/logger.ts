import pino, { type Logger, type LoggerOptions } from "pino";
import type { Config } from "../config";
import { loggableError } from "./log-errors";
import { prettyDestination } from "./pretty-log";

/**
 * Logs on stdout: JSON, one object per line (or readable text, see createLogger). Errors (the `err` key) are logged by
 * loggableError: type, message, SQLSTATE and stack, never the values a failed statement
 * carried. Redaction is a second line of defence: code never passes keys or tokens to the
 * logger, and these paths blank them if it ever does.
 */
export function loggerOptions(level: Config["logLevel"]): LoggerOptions {
  return {
    level,
    base: { service: "certmint" },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: loggableError },
    redact: {
      paths: [
        "*.privateKeyPem",
        "*.private_key_pem",
        "*.token",
        "*.authorization",
        "databaseUrl",
        "*.databaseUrl",
      ],
      censor: "[redacted]",
    },
  };
}

/** What CERTMINT_LOG_FORMAT resolves to: `auto` is readable text on a terminal, JSON otherwise. */
export function resolveLogFormat(format: Config["logFormat"]): "json" | "pretty" {
  if (format !== "auto") return format;
  return process.stdout.isTTY ? "pretty" : "json";
}

/** How often dropped lines are reported once stdout is read again. */
const DROP_REPORT_MS = 5_000;

/**
 * pino's asynchronous stdout (sonic-boom: a line goes into a buffer, written off the event loop),
 * bounded. A log collector that stops reading (journald behind a full disk, a container runtime,
 * `| less`) must neither stall calls nor grow the server's memory without end: pino's default
 * buffer had no bound, so at 1,000 calls/s it grew ~300 KB/s for as long as the reader slept
 * (test/server/stalled-log-reader.test.ts). Past `bufferBytes` lines are dropped and counted,
 * and a warning says how many once a line gets through again. Lines still buffered at exit are
 * written before the process ends (pino flushes its destination on exit). Both formats go
 * this way: readable lines too may go to a pipe (CERTMINT_LOG_FORMAT=pretty under a service
 * manager).
 */
export function boundedStdoutLogger(
  options: LoggerOptions,
  bufferBytes: number,
  format: "json" | "pretty" = "json",
  fd = 1,
): Logger {
  const destination = pino.destination({ dest: fd, sync: false, maxLength: bufferBytes });
  let dropped = 0;
  let reported = 0;
  destination.on("drop", () => {
    dropped++;
  });
  const logger = pino(
    options,
    format === "json"
      ? destination
      : prettyDestination(destination, fd === 1 && process.stdout.isTTY === true),
  );
  const report = setInterval(() => {
    if (dropped === reported) return;
    const before = dropped;
    logger.warn(
      { droppedLines: before - reported, droppedLinesTotal: before },
      "log lines dropped: stdout was not read while they came (they exceeded CERTMINT_LOG_BUFFER_BYTES)",
    );
    // Dropped too (the reader still sleeps): report again at the next tick.
    if (dropped === before) reported = before;
  }, DROP_REPORT_MS);
  report.unref();
  return logger;
}

/** JSON lines on stdout, or readable lines (with colours on a terminal) in the pretty format. */
export function createLogger(
  level: Config["logLevel"],
  format: "json" | "pretty" = "json",
  bufferBytes = 8 * 1024 * 1024,
): Logger {
  return boundedStdoutLogger(loggerOptions(level), bufferBytes, format);
}

export type { Logger };
