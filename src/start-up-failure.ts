/**
 * A start-up that failed for a reason outside certmint (the database cannot be reached, refuses
 * the login, or does not exist): one line that says what to fix, no stack trace (it would only
 * show certmint's own frames), and an exit code a service manager can act on: 2 when retrying
 * cannot help until someone changes the configuration (as for an invalid setting), 1 when it
 * may (the database is down or still starting).
 */
import { databaseOutage } from "./database-outage";

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
