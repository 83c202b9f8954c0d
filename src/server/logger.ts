import pino, { type Logger, type LoggerOptions } from "pino";
import type { Config } from "../config";
import { loggableError } from "./log-errors";

/**
 * JSON logs on stdout, one object per line. Errors (the `err` key) are logged by
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

export function createLogger(level: Config["logLevel"]): Logger {
  return pino(loggerOptions(level));
}

export type { Logger };
