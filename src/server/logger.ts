import pino, { type Logger } from "pino";
import type { Config } from "../config";

/**
 * JSON logs on stdout, one object per line. Redaction is a second line of defence: code never
 * passes keys or tokens to the logger, and these paths blank them if it ever does.
 */
export function createLogger(level: Config["logLevel"]): Logger {
  return pino({
    level,
    base: { service: "certmint" },
    timestamp: pino.stdTimeFunctions.isoTime,
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
  });
}

export type { Logger };
