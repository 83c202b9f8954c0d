import { logVerbosity, setLogger, setLogVerbosity } from "@grpc/grpc-js";
import type { Logger } from "pino";

/**
 * grpc-js's own log lines, through certmint's logger: JSON like every other line, at warn
 * (grpc-js logs only errors by default: GRPC_VERBOSITY), and never carrying a header's value.
 *
 * grpc-js's default logger writes `console.error` lines, and one of them quotes a metadata
 * entry it refuses, value and all: `authorization: Bearer<TAB>certmint_...` (a tab is legal
 * in an HTTP/2 header value, RFC 9113 8.2.1, and not in gRPC metadata) put the whole secret on
 * stderr twice, on a line that was not JSON. Until stop 46 of 2026-12-06 (an outside probe;
 * test/server/grpc-log-secrets.test.ts). Such a line now names the key only, and any other
 * grpc-js line has token-shaped strings and bearer credentials blanked.
 */
export function installGrpcLogger(logger: Logger): void {
  const at =
    (level: "warn" | "info" | "debug") =>
    (message?: unknown, ...rest: unknown[]) =>
      logger[level]({ grpc: grpcLine([message, ...rest].map(String).join(" ")) }, "grpc-js");
  // grpc-js's errors are a client's malformed call or a connection's failure, not the server's.
  setLogger({ error: at("warn"), info: at("info"), debug: at("debug") });
  // Only when GRPC_VERBOSITY / GRPC_NODE_VERBOSITY does not ask for more (a debugging operator).
  if (!process.env.GRPC_VERBOSITY && !process.env.GRPC_NODE_VERBOSITY) {
    setLogVerbosity(logVerbosity.ERROR);
  }
}

/** A refused metadata entry, as grpc-js's metadata.ts words it: the key, then the value. */
const REFUSED_ENTRY = /^Failed to add metadata entry (.*?): /s;
/** certmint's access tokens (auth/tokens). */
const TOKEN = /certmint_[A-Za-z0-9_-]{16,}/g;
/** Any bearer or basic credential. */
const CREDENTIAL = /\b(bearer|basic)(\s+)\S+/gi;
/** A line's length kept: grpc-js lines are short; a longer one is someone's input. */
const MAX_LINE = 512;

/** The line to log for grpc-js's `text`: no header value, no credential, bounded. */
export function grpcLine(text: string): string {
  const refused = REFUSED_ENTRY.exec(text);
  if (refused) {
    const key = (refused[1] ?? "").slice(0, 64);
    return `refused metadata entry "${key}": its value has characters gRPC metadata does not allow (value not logged)`;
  }
  const line = text.replace(TOKEN, "certmint_[redacted]").replace(CREDENTIAL, "$1$2[redacted]");
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}...` : line;
}
