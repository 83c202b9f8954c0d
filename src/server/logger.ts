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
 * written before the process ends, within LOG_SETTLE_MS of a stop (settleLogOutput). Both formats go
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
  destinations.add(destination);
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

type Destination = ReturnType<typeof pino.destination>;

/** How long a stopping process waits for its log lines to be written before it drops them. */
export const LOG_SETTLE_MS = 5_000;

/** Every bounded stdout destination of this process (one, unless tests make more). */
const destinations = new Set<Destination>();

/** sonic-boom's own state (4.x): a write under way, and the bytes buffered behind it. */
function unwritten(destination: Destination): boolean {
  const state = destination as unknown as {
    destroyed?: boolean;
    _writing?: boolean;
    _len?: number;
  };
  return state.destroyed !== true && (state._writing === true || (state._len ?? 0) > 0);
}

/**
 * Waits up to `timeoutMs` for the lines buffered for stdout to be written, then drops what is
 * left. Called before the process exits: pino writes what is left synchronously at exit, and
 * a write to a pipe nobody reads (a log collector that stopped) blocks for good, so a stopped
 * server would never exit (test/server/stalled-log-reader.test.ts). A destroyed destination is
 * skipped by pino's exit handler. Returns whether every line was written.
 */
export async function settleLogOutput(timeoutMs: number): Promise<boolean> {
  // The monotonic clock: a wall clock stepped back would hold a stopping server that long.
  const until = performance.now() + timeoutMs;
  for (;;) {
    const pending = [...destinations].filter(unwritten);
    if (pending.length === 0) return true;
    if (performance.now() >= until) {
      for (const d of pending) d.destroy();
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Exits once the buffered log lines are written, or after LOG_SETTLE_MS without them: a log
 * reader that stopped must not keep a stopped server from exiting.
 */
export async function exitAfterLogs(code: number): Promise<never> {
  await settleLogOutput(LOG_SETTLE_MS);
  process.exit(code);
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
