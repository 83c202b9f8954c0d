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

/** JSON lines on stdout, or readable lines (with colours on a terminal) in the pretty format. */
export function createLogger(
  level: Config["logLevel"],
  format: "json" | "pretty" = "json",
): Logger {
  if (format === "json") return pino(loggerOptions(level));
  return pino(
    loggerOptions(level),
    prettyDestination(process.stdout, process.stdout.isTTY === true),
  );
}

export type { Logger };
