import { randomBytes } from "node:crypto";
import { dropDatabasesOfRun, ensureTemplateDatabase, RUN_TAG_ENV } from "./postgres";

/**
 * vitest globalSetup: builds the migrated template database once, before any test file asks
 * for a clone of it (createTestDatabase with `{ migrated: true }`), so the workers do not
 * build it side by side; and drops the run's test databases at the end. Without
 * TEST_DATABASE_URL there is nothing to prepare: the tests that need PostgreSQL say so themselves.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (!process.env.TEST_DATABASE_URL) return undefined;
  await ensureTemplateDatabase();
  // The workers inherit it: their databases carry it in their names, so the teardown below
  // drops the ones whose drop had not finished when their test file was done (TestDatabase.drop
  // does not wait for it).
  process.env[RUN_TAG_ENV] = randomBytes(4).toString("hex");
  return async () => {
    await dropDatabasesOfRun();
  };
}
