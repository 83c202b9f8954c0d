import type { Duplex } from "node:stream";
import {
  DefaultLogger,
  type LogContext,
  type LoggerNamespace,
  type LoggerOptions,
} from "@mikro-orm/core";
import { defineConfig, type Options } from "@mikro-orm/postgresql";
import { ALL_ENTITIES } from "./entities";
import { MIGRATIONS } from "./migrations";

/**
 * MikroORM's logger without its query log. A query line carries the statement with the values
 * of its parameters: the sealed private key of every CA created, the hash of every access
 * token (issue 10 item 10). MikroORM turns that log on from the environment (MIKRO_ORM_DEBUG,
 * also read from a .env file, overriding these options) or per query (loggerContext), so
 * `debug: false` alone is not enough: these namespaces are off whatever asks for them.
 */
export class NoQueryLogger extends DefaultLogger {
  override isEnabled(namespace: LoggerNamespace, context?: LogContext): boolean {
    if (namespace === "query" || namespace === "query-params") return false;
    return super.isEnabled(namespace, context);
  }
}

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
    loggerFactory: (options: LoggerOptions) => new NoQueryLogger(options),
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
