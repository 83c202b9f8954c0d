/**
 * `certmint rotate-kek` (since stop 43 of 2026-12-06): re-seals every key certmint keeps under
 * a new key-encryption key, offline, in one transaction (rotate.ts). Run with the server's own
 * configuration (DATABASE_URL or CERTMINT_DATA_DIR; the current KEK from CERTMINT_KEK,
 * CERTMINT_KEK_FILE or <data dir>/kek.key, as a server finds it) and the new key:
 *
 *   node dist/src/kek-rotation/main.js --new-kek-file PATH
 *   node dist/src/kek-rotation/main.js --generate-new-kek-file PATH   (written 0600, never over a file)
 *
 * `make rotate-kek NEW_KEK_FILE=PATH` and `npm run rotate-kek -- ...` run it. Every certmint
 * process on the database must be stopped first; it refuses otherwise (embedded: the lock a
 * server holds; PostgreSQL: sessions named application_name 'certmint', best effort: a server of
 * a build before stop 43 does not name its sessions). Exit 0 when committed; 2 when only the
 * operator can fix it (wrong or unreadable key, a server running, bad arguments, a damaged
 * row); 1 for trouble that may pass (the database unreachable, a full disk) and for bugs.
 * Prints counts, never a key byte; the old key file is left as it is.
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Client } from "pg";
import pino from "pino";
import { type Config, ConfigError, ENV, loadConfig } from "../config";
import { secureDataDir } from "../data-dir";
import { CertmintError } from "../errors";
import { proveKek } from "../issuance/ca/keyring";
import { checkPath } from "../safe-path";
import { generateKekFile, kekOfFileContent, loadOrCreateKek } from "../signer/kek";
import { StartUpFailure, startUpFailureOf } from "../start-up-failure";
import { databaseTls } from "../store/database-tls";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../store/embedded-postgres";
import { MIGRATIONS } from "../store/migrations";
import { SERVER_PRESENCE_LOCK_KEY } from "../store/notifications";
import { NETWORK_CONNECTION_OPTIONS, SERVER_APPLICATION_NAME } from "../store/orm-config";
import { describeRotation, refuseSameKek, rotateInTransaction, type SqlSession } from "./rotate";

/** This tool's own sessions: never taken for a server's (SERVER_APPLICATION_NAME). */
export const ROTATION_APPLICATION_NAME = "certmint-kek-rotation";

const USAGE = `usage: rotate-kek (--new-kek-file PATH | --generate-new-kek-file PATH)
  Re-seals every key certmint keeps under a new key-encryption key, in one transaction.
  Stop every certmint process on the database first. The current key is found as the server
  finds it (${ENV.kek}, ${ENV.kekFile}, or <${ENV.dataDir}>/kek.key); the database from
  ${ENV.databaseUrl}, or the embedded one in ${ENV.dataDir}.
  --new-kek-file PATH           the new key: 32 raw bytes, or their base64 (44 characters)
  --generate-new-kek-file PATH  write a new random key there first (mode 0600; never overwrites)`;

/** An error the operator must fix: exit 2. */
const operatorError = (reason: string, message: string) =>
  new CertmintError("failed_precondition", reason, message);

interface Args {
  newKekFile: string;
  generate: boolean;
}

function parseArgs(argv: string[]): Args | "help" {
  let found: Args | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    const [flag, inline] = arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    if (flag !== "--new-kek-file" && flag !== "--generate-new-kek-file") {
      throw new CertmintError(
        "invalid_argument",
        "USAGE",
        `unknown argument "${arg}" (--help for usage)`,
      );
    }
    const value = inline ?? argv[++i];
    if (!value) {
      throw new CertmintError(
        "invalid_argument",
        "USAGE",
        `${flag} needs a path (--help for usage)`,
      );
    }
    if (found) {
      throw new CertmintError(
        "invalid_argument",
        "USAGE",
        "give one new key: --new-kek-file or --generate-new-kek-file, once",
      );
    }
    found = { newKekFile: resolve(value), generate: flag === "--generate-new-kek-file" };
  }
  if (!found) {
    throw new CertmintError(
      "invalid_argument",
      "USAGE",
      "no new key given: --new-kek-file PATH or --generate-new-kek-file PATH (--help for usage)",
    );
  }
  return found;
}

/** One connection, the embedded database's or PostgreSQL's, and how to close it. */
interface Opened {
  client: Client;
  embedded?: EmbeddedPostgres;
}

async function openConnection(config: Config): Promise<Opened> {
  if (!config.databaseUrl) {
    // Never create a database here: the rotation of one that does not exist is a wrong
    // CERTMINT_DATA_DIR, and initdb would take a minute to say nothing.
    if (!existsSync(join(config.dataDir, "pglite", "PG_VERSION"))) {
      throw operatorError(
        "DATABASE_NOT_FOUND",
        `no embedded database in ${ENV.dataDir}=${config.dataDir} (and no ${ENV.databaseUrl}): nothing to rotate`,
      );
    }
    let embedded: EmbeddedPostgres;
    try {
      // Takes the embedded lock (store/embedded-lock.ts) before PGlite touches a file: a
      // running server holds it, and this start is refused naming its process.
      embedded = await startEmbeddedPostgres(config.dataDir);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (/in use by another certmint/.test(message)) {
        throw operatorError("DATABASE_IN_USE", `${message}; nothing was changed`);
      }
      throw err;
    }
    const client = new Client({
      connectionString: "postgresql://postgres@embedded/postgres",
      stream: embedded.stream,
    } as ConstructorParameters<typeof Client>[0]);
    try {
      await client.connect();
    } catch (err) {
      await embedded.stop();
      throw err;
    }
    return { client, embedded };
  }
  const ssl = databaseTls(config.databaseUrl);
  const client = new Client({
    connectionString: config.databaseUrl,
    ...NETWORK_CONNECTION_OPTIONS,
    application_name: ROTATION_APPLICATION_NAME,
    ...(ssl === undefined ? {} : { ssl }),
  });
  await client.connect();
  return { client };
}

async function closeConnection(opened: Opened): Promise<void> {
  await opened.client.end().catch(() => undefined);
  await opened.embedded?.stop().catch(() => undefined);
}

const session = (client: Client): SqlSession => ({
  async query<T>(sql: string, params?: unknown[]) {
    return (await client.query(sql, params)).rows as T[];
  },
});

/**
 * PostgreSQL: refuses while another session on this database calls itself a certmint server,
 * or holds or waits for the presence lock (store/notifications.ts: a server's LISTEN
 * connections hold it whatever their application_name). Run before the rotation's transaction
 * and again inside it once its tables are locked: a server that started in between (its
 * start-up read the old check value before the lock) is seen then, and nothing commits.
 * Best effort: a server of a build before stop 43 of 2026-12-06 does neither, nor does one
 * behind a pooler in transaction mode; such a server, idle, is not seen (the lock timeout in
 * rotate.ts only stops the rotation waiting on a table one holds), and would go on sealing
 * with the old key: stop them all. Names each session's pid and address.
 */
export async function refuseRunningServers(client: Client): Promise<void> {
  const { rows } = await client.query<{ pid: number; addr: string | null; port: number | null }>(
    `select "pid", host(client_addr) as "addr", client_port as "port" from pg_stat_activity
      where datname = current_database() and application_name = $1 and pid <> pg_backend_pid()
      order by pid`,
    [SERVER_APPLICATION_NAME],
  );
  if (rows.length === 0) {
    // Every LISTEN connection of a server holds this lock shared (store/notifications.ts),
    // whatever its sessions are called: held, or waited for (a server that started while this
    // rotation holds it exclusively), by any other session.
    const key = BigInt(SERVER_PRESENCE_LOCK_KEY);
    const { rows: others } = await client.query<{ n: string }>(
      `select count(*) as n from pg_locks where locktype = 'advisory' and objsubid = 1
         and classid = $1::bigint::oid and objid = $2::bigint::oid and pid <> pg_backend_pid()
         and database = (select oid from pg_database where datname = current_database())`,
      [String(key >> 32n), String(key & 0xffffffffn)],
    );
    // Taken for the rest of this session (the whole rotation; taking it again is harmless).
    const { rows: locked } = await client.query<{ locked: boolean }>(
      "select pg_try_advisory_lock($1::int8) as locked",
      [SERVER_PRESENCE_LOCK_KEY],
    );
    if (Number(others[0]?.n ?? 0) === 0 && locked[0]?.locked === true) return;
    throw operatorError(
      "DATABASE_IN_USE",
      "a certmint server is using this database (it holds certmint's presence lock; its sessions carry another application_name); stop every certmint process on it first; nothing was changed",
    );
  }
  const sessions = rows
    .map((r) => `pid ${r.pid} from ${r.addr ? `${r.addr}:${r.port}` : "a local socket"}`)
    .join(", ");
  throw operatorError(
    "DATABASE_IN_USE",
    `a certmint server is using this database (${rows.length} session(s): ${sessions}); stop every certmint process on it first; nothing was changed`,
  );
}

/** The schema must be exactly this build's: the rotation knows its tables and no others. */
async function refuseOtherSchema(client: Client): Promise<void> {
  const { rows: present } = await client.query<{ present: boolean }>(
    "select to_regclass('mikro_orm_migrations') is not null as present",
  );
  const done = present[0]?.present
    ? (await client.query<{ name: string }>("select name from mikro_orm_migrations")).rows.map(
        (r) => r.name,
      )
    : [];
  const known = new Set(MIGRATIONS.map((m) => m.name));
  const pending = [...known].filter((n) => !done.includes(n));
  const unknown = done.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw operatorError(
      "DATABASE_NEWER",
      `the database was migrated by a newer certmint (${unknown.length} migration(s) this build does not know): rotate with that version; nothing was changed`,
    );
  }
  if (pending.length > 0) {
    throw operatorError(
      "DATABASE_NOT_MIGRATED",
      `the database lacks ${pending.length} migration(s) of this build: start this version's server once (it migrates), stop it, then rotate; nothing was changed`,
    );
  }
}

async function loadCurrentKek(config: Config): Promise<Buffer> {
  try {
    return (await loadOrCreateKek({ ...config.kek, createIfMissing: false })).key;
  } catch (err) {
    throw operatorError(
      "KEK_UNAVAILABLE",
      `cannot load the current key-encryption key: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** Who may own the new key file and the directories above it: root, or this process's user. */
const ownUid = () => process.getuid?.() ?? 0;

/**
 * The new key file's place, as a server checks CERTMINT_KEK_FILE's (safe-path.ts checkPath):
 * no directory on the way another user owns, or may write to without the sticky bit. For
 * --generate-new-kek-file, before the file is written: the only copy of the key every CA key is
 * about to be sealed with must not be somewhere others can replace or delete it.
 */
function checkNewKekPlace(file: string): void {
  try {
    checkPath(
      file,
      `the new key-encryption key file ${file}`,
      ownUid(),
      quietLogger,
      "refusing to rotate",
    );
  } catch (err) {
    if (err instanceof ConfigError)
      throw operatorError("NEW_KEK_INVALID", `${err.message}; nothing was changed`);
    throw err;
  }
}

const quietLogger = { warn: () => undefined };

/** Distinct byte values below which a 32-byte key is not random (a random one has about 30). */
const MIN_DISTINCT_BYTES = 16;

/**
 * The new key, read through one descriptor opened without blocking (a FIFO or a device at the
 * path is refused, not waited on or read without end), from a regular file that belongs to
 * root or this user, that nobody else may read or write (a key others could read is leaked
 * before it is used, which is what a rotation is for; one they could write, theirs), and that
 * holds a key that looks random. Until a review of stop 43 of 2026-12-06 the mode alone was
 * checked, by path, and a key file of another user, an all-zero key and a FIFO were taken.
 */
function loadNewKek(file: string): Buffer {
  const invalid = (why: string) =>
    operatorError(
      "NEW_KEK_INVALID",
      `the new key-encryption key file ${file} ${why}; nothing was changed`,
    );
  checkNewKekPlace(file);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw invalid(`cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let content: Buffer;
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw invalid("is not a regular file");
    if (stats.uid !== 0 && stats.uid !== ownUid()) {
      throw invalid(`belongs to uid ${stats.uid}, who could replace the key`);
    }
    const mode = stats.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw invalid(
        `is readable or writable by other users (mode 0${mode.toString(8)}): make it 0600 or 0400 first`,
      );
    }
    if (stats.size > 128)
      throw invalid(`is ${stats.size} bytes: a key file holds 32 bytes or their base64`);
    content = readFileSync(fd);
  } finally {
    closeSync(fd);
  }
  let key: Buffer;
  try {
    key = kekOfFileContent(content, file);
  } catch (err) {
    throw invalid(`does not hold a key (${err instanceof Error ? err.message : String(err)})`);
  }
  if (new Set(key).size < MIN_DISTINCT_BYTES) {
    throw invalid("does not hold a random key (make one with openssl rand -base64 32)");
  }
  return key;
}

export async function runRotation(argv: string[], out: (line: string) => void): Promise<void> {
  const args = parseArgs(argv);
  if (args === "help") {
    out(USAGE);
    return;
  }
  const config = loadConfig();
  // The same checks of the data directory and the KEK file as a server's start (data-dir.ts).
  secureDataDir(config, pino({ level: "warn" }, pino.destination(2)));
  const current = await loadCurrentKek(config);
  let next: Buffer | undefined;
  if (!args.generate) {
    next = loadNewKek(args.newKekFile);
    refuseSameKek(current, next);
  } else {
    checkNewKekPlace(args.newKekFile);
    if (existsSync(args.newKekFile)) {
      throw operatorError(
        "NEW_KEK_INVALID",
        `${args.newKekFile} already exists: --generate-new-kek-file never overwrites a file (give --new-kek-file to use it)`,
      );
    }
  }
  const opened = await openConnection(config).catch((err: unknown) => {
    throw startUpFailureOf(err, config.databaseUrl);
  });
  try {
    if (!opened.embedded) await refuseRunningServers(opened.client);
    await refuseOtherSchema(opened.client);
    // Proven before a new key file is written: a wrong current key leaves nothing behind.
    const [check] = (
      await opened.client.query<{ sealed: Buffer }>(
        `select "sealed" from "kek_check" where "id" = 1`,
      )
    ).rows;
    proveKek(current, check?.sealed ?? null, null, "refusing to rotate");
    if (!next) {
      try {
        next = await generateKekFile(args.newKekFile);
      } catch (err) {
        throw operatorError("NEW_KEK_INVALID", err instanceof Error ? err.message : String(err));
      }
      out(`certmint: generated a new key-encryption key in ${args.newKekFile} (mode 0600)`);
    }
    const sql = session(opened.client);
    let result: Awaited<ReturnType<typeof rotateInTransaction>>;
    try {
      await opened.client.query("begin");
      result = await rotateInTransaction(sql, current, next, () =>
        opened.embedded ? Promise.resolve() : refuseRunningServers(opened.client),
      );
    } catch (err) {
      await opened.client.query("rollback").catch(() => undefined);
      // A key file this run wrote holds a key nothing was sealed with: say so, so that the next
      // run does not meet "already exists" without knowing why.
      if (args.generate && err instanceof Error) {
        err.message += `; ${args.newKekFile} was generated by this run and seals nothing: delete it, or give it with --new-kek-file`;
      }
      throw err;
    }
    try {
      await opened.client.query("commit");
    } catch (err) {
      throw new CertmintError(
        "unavailable",
        "KEK_ROTATION_OUTCOME_UNKNOWN",
        `the commit did not answer (${err instanceof Error ? err.message : String(err)}): start one server with the NEW key; if it is refused KEK_MISMATCH, nothing was rotated and the old key is still the one`,
      );
    }
    for (const line of describeRotation(result, config.generatedKeyReplaySeconds)) out(line);
  } finally {
    await closeConnection(opened);
  }
}

/** The exit code and the one line of a failure; never a stack, never a key byte. */
export function failureOf(err: unknown): { code: 1 | 2; line: string } {
  if (err instanceof ConfigError) return { code: 2, line: `invalid configuration: ${err.message}` };
  if (err instanceof StartUpFailure) {
    return { code: err.exitCode, line: `${err.message}; nothing was changed` };
  }
  if (err instanceof CertmintError) {
    const operator =
      err.kind === "failed_precondition" ||
      err.kind === "invalid_argument" ||
      err.kind === "not_found";
    return { code: operator ? 2 : 1, line: `${err.message} (${err.reason})` };
  }
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  // lock_not_available (SET LOCAL lock_timeout in rotate.ts): a session holds a table we write.
  if (code === "55P03") {
    return {
      code: 2,
      line: `another session holds a table the rotation writes (${message}): a certmint server of an older build may be running; stop it; nothing was changed (DATABASE_IN_USE)`,
    };
  }
  return { code: 1, line: `${message}; nothing was changed` };
}

if (require.main === module) {
  runRotation(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
    () => process.exit(0),
    (err: unknown) => {
      const { code, line } = failureOf(err);
      process.stderr.write(`certmint rotate-kek: ${line.replace(/\s*\n\s*/g, " ")}\n`);
      process.exit(code);
    },
  );
}
