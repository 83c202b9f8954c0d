import { type ServiceError, status } from "@grpc/grpc-js";
import { CliError, UsageError } from "./command";
import { PROGRAM } from "./help";
import type { Invocation } from "./invocation";
import { AnswerLostError } from "./issuing-call";
import { UsageWithHelp } from "./parse";
import { isServiceError } from "./rpc";
import { describeServiceError, errorReason, statusMessage } from "./rpc-error";

/** Prints why a command failed on stderr and returns the exit code. */
export function reportFailure(
  err: unknown,
  invocation: Invocation | undefined,
  stderr: (text: string) => void,
): number {
  if (err instanceof UsageWithHelp) {
    stderr(`${err.help}\n${PROGRAM}: ${err.message}\n`);
    return 2;
  }
  if (err instanceof UsageError) {
    stderr(`${PROGRAM}: ${err.message}\n`);
    return 2;
  }
  if (err instanceof CliError) {
    stderr(`${PROGRAM}: ${err.message}\n`);
    return 1;
  }
  if (err instanceof AnswerLostError) {
    return reportServiceError(err.failure, invocation, stderr, [`  ${err.recovery}`]);
  }
  if (isServiceError(err)) return reportServiceError(err, invocation, stderr, []);
  const detail = invocation?.env.CERTMINT_DEBUG ? (err as Error)?.stack : (err as Error)?.message;
  stderr(`${PROGRAM}: unexpected error: ${detail ?? String(err)}\n`);
  return 1;
}

/** A failed call: its code, message and details, a hint, then `more`; exit code 1. */
function reportServiceError(
  err: ServiceError,
  invocation: Invocation | undefined,
  stderr: (text: string) => void,
  more: readonly string[],
): number {
  const hint = invocation && hintFor(err, invocation);
  const lines = [...describeServiceError(err), ...(hint ? [`  hint: ${hint}`] : []), ...more];
  stderr(`${PROGRAM}: ${lines.join("\n")}\n`);
  return 1;
}

/** What to try next for the failures a person at the terminal can fix. */
function hintFor(err: ServiceError, invocation: Invocation): string | undefined {
  const { code } = err;
  const settings = invocation.settings;
  if (code === status.UNAUTHENTICATED && !settings.token) {
    return (
      "no access token was sent: set CERTMINT_TOKEN, pass --token-file FILE, or, on the " +
      "server's machine, --data-dir (the directory holding its admin-token)"
    );
  }
  if (code === status.UNAVAILABLE) {
    // certmint answered: it runs, and the connection works (until stop 43 of 2026-12-06 the
    // hint below sent the user to the TLS options; an outside probe).
    const reason = errorReason(err);
    if (reason === "SERVER_NOT_READY" || reason === "SERVER_STOPPING") {
      return `certmint at ${settings.server} is starting or stopping: retry in a moment`;
    }
    if (reason === "DATABASE_UNAVAILABLE") {
      return (
        `certmint at ${settings.server} answered, but cannot reach its database: retry once ` +
        "the database is back (the server's log and its health service say what it sees)"
      );
    }
    // Any other reason: certmint answered with why (the message above); the connection is
    // not the problem. Until stop 48 of 2026-12-06 a server that answered an outage was told
    // "is it running?" (an outside probe).
    if (reason) return undefined;
    // grpc-js: "Name resolution failed for target dns:HOST:PORT".
    if (/^Name resolution failed\b/.test(statusMessage(err))) {
      return `the host name of ${settings.server} does not resolve (DNS or /etc/hosts): check --server or CERTMINT_SERVER`;
    }
    const transport = settings.transport.kind === "tls" ? "TLS" : "plaintext";
    return (
      `could not talk to certmint at ${settings.server} over ${transport}: is it running ` +
      "(make run)? A server with TLS needs --ca-file (or --tls); one without needs --insecure " +
      "on a non-loopback address"
    );
  }
  return undefined;
}
