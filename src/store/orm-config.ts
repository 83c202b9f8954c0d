import {
  DefaultLogger,
  type LogContext,
  type LoggerNamespace,
  type LoggerOptions,
} from "@mikro-orm/core";
import { Migrator } from "@mikro-orm/migrations";
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

/**
 * The MikroORM options certmint runs with. allowGlobalContext is off: every call works in its
 * own EntityManager fork (MikroORM "identity map" docs), so no state leaks between calls.
 */
export function ormOptions(clientUrl: string, poolMax: number): Options {
  return defineConfig({
    clientUrl,
    entities: ALL_ENTITIES,
    allowGlobalContext: false,
    debug: false,
    loggerFactory: (options: LoggerOptions) => new NoQueryLogger(options),
    // Entities are plain schemas (defineEntity): no reflection, no discovery on disk.
    discovery: { warnWhenNoEntities: true },
    pool: { min: 0, max: poolMax },
    extensions: [Migrator],
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
