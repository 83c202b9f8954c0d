import { Migrator } from "@mikro-orm/migrations";
import { defineConfig, type Options } from "@mikro-orm/postgresql";
import { ALL_ENTITIES } from "./entities";
import { MIGRATIONS } from "./migrations";

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
