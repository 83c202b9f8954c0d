/**
 * What of an error may reach the log (issue 10 item 10). A failed database write arrives as an
 * error whose message is the whole SQL statement with every value written into it (MikroORM and
 * knex put the query in front of PostgreSQL's message), and PostgreSQL adds the row again in
 * `detail` ("Failing row contains (...)"): for a CA that is its sealed private key, for an
 * access token the hash of its secret. pino's standard serializer logs all of that, as it logs
 * every enumerable property of an error.
 *
 * loggableError keeps a fixed list instead: the error's type, its message (for a database error
 * PostgreSQL's own message, never the statement), the SQLSTATE and the names PostgreSQL gives
 * (table, column, constraint: schema, never data), the stack frames (not the stack's first line,
 * which repeats the message), and the same of its cause. Everything else is dropped.
 */
import { clip } from "../errors";

/** PostgreSQL error fields that name schema objects; the others (detail, where, ...) may hold data. */
const DATABASE_NAMES = [
  "severity",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "routine",
];
const MESSAGE_MAX_CHARS = 300;
const MAX_CAUSES = 3;

export interface LoggableError {
  type: string;
  message: string;
  code?: string;
  stack?: string;
  cause?: LoggableError;
  [name: string]: unknown;
}

export function loggableError(err: unknown, depth = 0): LoggableError {
  if (!(err instanceof Error))
    return { type: typeof err, message: "(a thrown value that is not an Error)" };
  const fields = err as unknown as Record<string, unknown>;
  const sqlState = typeof fields.sqlState === "string" ? fields.sqlState : undefined;
  const database = sqlState !== undefined || typeof fields.severity === "string";
  const out: LoggableError = {
    type: err.constructor?.name || err.name,
    message: clip(database ? databaseMessage(err) : err.message, MESSAGE_MAX_CHARS),
  };
  const code = sqlState ?? fields.code;
  if (typeof code === "string" && code.length <= 32) out.code = code;
  if (database) {
    for (const name of DATABASE_NAMES) {
      const value = fields[name];
      if (typeof value === "string" && value.length <= 128) out[name] = value;
    }
  }
  const frames = err.stack
    ?.split("\n")
    .filter((line) => line.startsWith("    at "))
    .join("\n");
  if (frames) out.stack = frames;
  if (err.cause !== undefined && depth < MAX_CAUSES)
    out.cause = loggableError(err.cause, depth + 1);
  return out;
}

/**
 * PostgreSQL's message without the statement around it. MikroORM's errors read
 * "<statement, values written in> - <PostgreSQL's message>\n - detail: <row>\n - hint: ..."
 * (the driver's error, from pg, is PostgreSQL's message alone). The statement's values come
 * before the last " - " of what precedes " - detail", and bytea values (sealed keys, token
 * hashes) never contain one; a hex bytea literal that got through anyway is blanked.
 */
function databaseMessage(err: Error): string {
  let text = err.message;
  for (const marker of ["\n - detail: ", "\n - hint: "]) {
    const at = text.indexOf(marker);
    if (at >= 0) text = text.slice(0, at);
  }
  if (STATEMENT.test(text)) {
    const cut = text.lastIndexOf(" - ");
    text = cut >= 0 ? text.slice(cut + 3) : "(the statement failed)";
  }
  return text.replace(/\\x[0-9a-f]{16,}/gi, "\\x…");
}

const STATEMENT = /^\s*(select|insert|update|delete|with|merge|copy|call|create|alter|drop)\b/i;
