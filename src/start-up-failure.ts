/**
 * A start-up that failed for a reason outside certmint (the database cannot be reached, refuses
 * the login, or does not exist): one line that says what to fix, no stack trace (it would only
 * show certmint's own frames), and an exit code a service manager can act on: 2 when retrying
 * cannot help until someone changes the configuration (as for an invalid setting), 1 when it
 * may (the database is down or still starting). A missing or wrong key-encryption key is
 * such a failure too (kekFailureOf).
 */
import { databaseOutage } from "./database-outage";
import { CertmintError } from "./errors";

export class StartUpFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
    /** The driver's code (SQLSTATE or errno), for the log line. */
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "StartUpFailure";
  }
}

/**
 * A stop (SIGTERM, Ctrl-C) asked for while the server was starting: start-up ended at the next
 * point where what is on disk is whole (the embedded database created, migrations applied),
 * before it wrote new secrets (the key-encryption key, the admin token) or said "serving".
 * Not a failure: main.ts exits 0. Until stop 43 of 2026-12-06 start-up went on to the end,
 * wrote both and logged "serving" before it stopped (an outside probe).
 */
export class StartInterrupted extends Error {
  constructor() {
    super("stopped before serving: a stop was asked for during start-up");
    this.name = "StartInterrupted";
  }
}

/**
 * PostgreSQL errors at connection time that no retry fixes (PostgreSQL's SQLSTATE classes 28,
 * invalid authorization, and 3D000, invalid catalog name; 42501 when the role may not connect
 * or create the schema).
 */
const CONFIGURATION_CODES: Record<string, (where: string, user: string) => string> = {
  "28P01": (where, user) =>
    `${where} refused the password of user "${user}": check the user and password in DATABASE_URL`,
  "28000": (where, user) =>
    `${where} refused the login of user "${user}" (pg_hba.conf or the role): check DATABASE_URL and the server's access rules`,
  "3D000": (where) =>
    `${where} has no such database: create it (createdb, owned by the DATABASE_URL user) or fix the name in DATABASE_URL`,
  "42501": (where, user) =>
    `${where}: user "${user}" lacks a privilege certmint needs (connect, or create its tables on first start): grant it, or use the owner of the database`,
};

/**
 * The error a failed start-up reports. Unknown errors pass through unchanged (their stack is
 * logged: they are certmint's bugs).
 */
export function startUpFailureOf(err: unknown, databaseUrl: string | undefined): unknown {
  if (err instanceof StartUpFailure || err instanceof StartInterrupted) return err;
  const kek = kekFailureOf(err);
  if (kek) return kek;
  if (!databaseUrl) return err;
  const { where, user } = describeDatabase(databaseUrl);
  const code = (err as { code?: unknown })?.code;
  const why = err instanceof Error ? err.message : String(err);
  if (typeof code === "string" && code in CONFIGURATION_CODES) {
    return new StartUpFailure(`${CONFIGURATION_CODES[code]!(where, user)} (${why})`, 2, code);
  }
  const outage = databaseOutage(err);
  if (outage === undefined) return err;
  return new StartUpFailure(
    `cannot reach ${where}: ${why}; check that it runs and accepts connections from here, and that DATABASE_URL names it`,
    1,
    typeof code === "string" ? code : undefined,
  );
}

/**
 * The key-encryption key is wrong (KEK_MISMATCH) or cannot be loaded (KEK_UNAVAILABLE: missing,
 * unreadable, malformed), src/issuance/ca/keyring.ts: only a change of configuration (the right
 * key, its file's name or mode) helps, so exit 2; a service manager that restarts on failure
 * used to retry a wrong key forever (exit 1, an outside probe). Its message is one line that
 * never holds the key; the stack would show only certmint's frames. A key file that could not be
 * read or created for want of room or resources (ENOSPC, EDQUOT, EIO, EMFILE...) may succeed on
 * a later start once the disk has room: exit 1, as for any other full disk.
 */
const KEK_REASONS = new Set(["KEK_MISMATCH", "KEK_UNAVAILABLE"]);
const PASSING_FILE_ERRORS =
  /cannot be (?:read|created) \((?:ENOSPC|EDQUOT|EIO|EMFILE|ENFILE|EAGAIN|EBUSY|ENOMEM)\b/;

function kekFailureOf(err: unknown): StartUpFailure | undefined {
  if (!(err instanceof CertmintError) || !KEK_REASONS.has(err.reason)) return undefined;
  const passing = err.reason === "KEK_UNAVAILABLE" && PASSING_FILE_ERRORS.test(err.message);
  return new StartUpFailure(err.message, passing ? 1 : 2, err.reason);
}

/** "PostgreSQL at host:port (database "x")" and the user, never the password. */
function describeDatabase(databaseUrl: string): { where: string; user: string } {
  try {
    const url = new URL(databaseUrl);
    return {
      where: `PostgreSQL at ${url.hostname}:${url.port || "5432"} (database "${decodeURIComponent(url.pathname.slice(1))}")`,
      user: decodeURIComponent(url.username) || "(the default)",
    };
  } catch {
    // config.ts checked the URL; keep plain words if it reads otherwise here.
    return { where: "the PostgreSQL of DATABASE_URL", user: "(as in DATABASE_URL)" };
  }
}
