import type { Duplex } from "node:stream";
import { defineConfig, type Options } from "@mikro-orm/postgresql";
import { ALL_ENTITIES } from "./entities";
import { MIGRATIONS } from "./migrations";

export interface PoolOptions {
  /** postgresql://… of a real PostgreSQL; the embedded database passes `stream` instead. */
  clientUrl: string;
  poolMax: number;
  /** A connection idle this long is closed (knex's pool, tarn: idleTimeoutMillis). */
  idleTimeoutMs: number;
  /** node-postgres's `stream` option: the embedded database's in-process connections. */
  stream?: () => Duplex;
}

/**
 * The MikroORM options certmint runs with. allowGlobalContext is off: every call works in its
 * own EntityManager fork (MikroORM "identity map" docs), so no state leaks between calls.
 */
export function ormOptions(pool: PoolOptions): Options {
  return defineConfig({
    clientUrl: pool.clientUrl,
    entities: ALL_ENTITIES,
    allowGlobalContext: false,
    debug: false,
    // Entities are plain schemas (defineEntity): no reflection, no discovery on disk.
    discovery: { warnWhenNoEntities: true },
    pool: { min: 0, max: pool.poolMax, idleTimeoutMillis: pool.idleTimeoutMs },
    // Merged into knex's connection settings, handed to each node-postgres Client.
    driverOptions: pool.stream ? { connection: { stream: pool.stream } } : {},
    // The Migrator is not registered as an extension: database.ts loads it (umzug and its
    // dependencies) only when a migration is pending.
    migrations: {
      migrationsList: MIGRATIONS,
      tableName: "mikro_orm_migrations",
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      // We log what was applied ourselves, as JSON.
      silent: true,
    },
  });
}
