import { randomBytes } from "node:crypto";
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

/** A fresh, empty database for one test file, so files run in parallel without sharing rows. */
export async function createTestDatabase(prefix = "certmint_t"): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  return {
    url: url.toString(),
    name,
    async query(sql, params) {
      const res = await client.query(sql, params as unknown[]);
      return res.rows;
    },
    async drop() {
      await client.end();
      const a = new Client({ connectionString: adminUrl() });
      await a.connect();
      try {
        // A session that starts in the database meanwhile (autovacuum) can make one attempt
        // fail; the next finds it ended.
        for (let attempt = 1; ; attempt++) {
          try {
            await a.query(`drop database if exists "${name}" with (force)`);
            break;
          } catch (err) {
            if (attempt >= 5) throw err;
            await new Promise((r) => setTimeout(r, 200 * attempt));
          }
        }
      } finally {
        await a.end();
      }
    },
  };
}
