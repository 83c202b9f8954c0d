import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Client } from "pg";

/** The PostgreSQL the tests use (make test sets it; see scripts/ensure-test-postgres.sh). */
export function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error("TEST_DATABASE_URL is not set: run the tests with `make test`");
  return url;
}

export interface TestDatabase {
  url: string;
  name: string;
  /** Runs SQL in the test database (for asserting on rows). */
  query<T extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<T[]>;
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** The start of the database's name (default `certmint_t`); a random suffix follows. */
  prefix?: string;
  /**
   * true: a clone of the template database that already holds every migration (see
   * ensureTemplateDatabase), so a server starting on it applies none: much cheaper than
   * migrating. false (the default): an empty database, for tests of the migrations themselves
   * and of a first start on an empty PostgreSQL.
   */
  migrated?: boolean;
}

/**
 * A fresh database for one test file, so files run in parallel without sharing rows: empty, or
 * with `{ migrated: true }` already migrated. A string argument is the name prefix.
 */
export async function createTestDatabase(
  options: string | TestDatabaseOptions = {},
): Promise<TestDatabase> {
  const { prefix = "certmint_t", migrated = false } =
    typeof options === "string" ? { prefix: options } : options;
  const name = `${prefix}_${runTag()}${randomBytes(6).toString("hex")}`;
  const template = migrated ? await ensureTemplateDatabase() : undefined;
  await withAdmin(async (admin) => {
    if (template) {
      await whileDatabaseInUse(() =>
        admin.query(`create database "${name}" template "${template}"`),
      );
    } else {
      await admin.query(`create database "${name}"`);
    }
  });
  const url = databaseUrl(name);
  const client = new Client({ connectionString: url });
  await client.connect();
  return {
    url,
    name,
    async query(sql, params) {
      const res = await client.query(sql, params as unknown[]);
      return res.rows;
    },
    async drop() {
      await client.end();
      // Not awaited: DROP DATABASE waits for a checkpoint (up to a second on a busy disk) and
      // nothing after a test needs its database gone, so the next test file starts meanwhile.
      // The run's global teardown drops whatever is still there (dropDatabasesOfRun).
      void dropDatabase(name).catch(() => undefined);
    },
  };
}

/**
 * The name of the template database for the migrations in this tree: it changes with any
 * migration file, with how they are run (database.ts, orm-config.ts) and with the migrator's
 * version (it owns the bookkeeping table), so worktrees with different migrations sharing one
 * PostgreSQL each get their own.
 */
export function templateDatabaseName(): string {
  const root = join(__dirname, "..", "..");
  const store = join(root, "src", "store");
  const migrations = join(store, "migrations");
  const files = [
    join(root, "node_modules", "@mikro-orm", "migrations", "package.json"),
    join(store, "database.ts"),
    join(store, "orm-config.ts"),
    ...readdirSync(migrations)
      .sort()
      .map((file) => join(migrations, file)),
  ];
  const hash = createHash("sha256");
  for (const file of files) hash.update(`\0${relative(root, file)}\0`).update(readFileSync(file));
  return `certmint_template_${hash.digest("hex").slice(0, 16)}`;
}

/**
 * Makes sure the template database exists (created once per set of migrations, by running them
 * as the server does at start-up) and returns its name. Safe to call from any number of
 * processes at once: each builds under its own name and renames it into place; the first
 * rename wins and the others drop theirs. No connection to the template stays open (it does
 * not even accept connections), since CREATE DATABASE ... TEMPLATE refuses a template that has
 * sessions.
 */
export async function ensureTemplateDatabase(): Promise<string> {
  const name = templateDatabaseName();
  return withAdmin(async (admin) => {
    if (await databaseExists(admin, name)) return name;
    const building = `${name}_build_${randomBytes(4).toString("hex")}`;
    await admin.query(`create database "${building}"`);
    try {
      const { migrate, openDatabase } = await import("../../src/store/database");
      const database = await openDatabase({
        databaseUrl: databaseUrl(building),
        dataDir: "/nonexistent",
        poolMax: 1,
      });
      try {
        await migrate(database.orm);
      } finally {
        await database.close();
      }
      await admin.query(`alter database "${building}" with allow_connections false`);
      // The pool's backend may still be ending: the rename waits for it.
      await whileDatabaseInUse(() =>
        admin.query(`alter database "${building}" rename to "${name}"`),
      );
      return name;
    } catch (err) {
      await admin.query(`drop database if exists "${building}" with (force)`);
      // Another process renamed its build into place first: use that one.
      if (pgCode(err) === DUPLICATE_DATABASE) return name;
      throw err;
    }
  });
}

const DUPLICATE_DATABASE = "42P04";
/** "database ... is being accessed by other users" (CREATE ... TEMPLATE, RENAME, DROP). */
const OBJECT_IN_USE = "55006";

const pgCode = (err: unknown) => (err as { code?: string }).code;

/**
 * Runs `statement` until no other session holds the database it needs: a session that just
 * disconnected can take a moment to end, and autovacuum may visit. Other errors throw at once.
 */
async function whileDatabaseInUse<T>(statement: () => Promise<T>): Promise<T> {
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      return await statement();
    } catch (err) {
      if (pgCode(err) !== OBJECT_IN_USE || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** DROP DATABASE, retried while a session that just ended (or autovacuum) still holds it. */
function dropDatabase(name: string): Promise<void> {
  return withAdmin(async (admin) => {
    await whileDatabaseInUse(() => admin.query(`drop database if exists "${name}" with (force)`));
  });
}

/**
 * The run's tag in the names of the databases it creates (`<prefix>_<tag>_<random>`): set by
 * the global setup (test/support/global-template-database.ts) for every worker, so its
 * teardown drops this run's databases and never those of another run on the same PostgreSQL.
 */
export const RUN_TAG_ENV = "CERTMINT_TEST_RUN";
function runTag(): string {
  const tag = process.env[RUN_TAG_ENV];
  return tag && /^[0-9a-f]{8}$/.test(tag) ? `r${tag}_` : "";
}

/** Drops every database this run created that is still there (the global teardown). */
export async function dropDatabasesOfRun(): Promise<number> {
  const tag = runTag();
  if (!tag) return 0;
  const names = await withAdmin(async (admin) => {
    const res = await admin.query<{ datname: string }>(
      "select datname from pg_database where strpos(datname, $1) > 0",
      [`_${tag}`],
    );
    return res.rows.map((r) => r.datname);
  });
  for (const name of names) await dropDatabase(name);
  return names.length;
}

async function withAdmin<T>(use: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.end();
  }
}

async function databaseExists(admin: Client, name: string): Promise<boolean> {
  const res = await admin.query("select 1 from pg_database where datname = $1", [name]);
  return res.rowCount === 1;
}

function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}
