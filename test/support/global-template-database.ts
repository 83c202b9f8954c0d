import { ensureTemplateDatabase } from "./postgres";

/**
 * vitest globalSetup: builds the migrated template database once, before any test file asks
 * for a clone of it (createTestDatabase with `{ migrated: true }`), so the workers do not
 * build it side by side. Without TEST_DATABASE_URL there is nothing to prepare: the tests
 * that need PostgreSQL say so themselves.
 */
export default async function setup(): Promise<void> {
  if (process.env.TEST_DATABASE_URL) await ensureTemplateDatabase();
}
