import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ConnectionOptions } from "node:tls";
import {
  DefaultLogger,
  type LogContext,
  type LoggerNamespace,
  type LoggerOptions,
} from "@mikro-orm/core";
import { defineConfig, type Options } from "@mikro-orm/postgresql";
import type { Logger } from "pino";
import { clip } from "../errors";
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
  /**
   * For a real PostgreSQL: makes the socket of each new connection (node-postgres connects
   * it), so that database.ts knows every socket, connecting or connected, and can cut them
   * when the network stalls.
   */
  socket?: () => Socket;
  /** Receives knex's own messages (see knexLog); without it knex prints them to stdout. */
  logger?: Logger;
  /** TLS to a real PostgreSQL, from DATABASE_URL (database-tls.ts). */
  ssl?: boolean | ConnectionOptions;
}

/**
 * knex's messages through the server's log. knex prints them with console.log, in color: on a
 * database outage "Connection Error: Connection ended unexpectedly" once for every pooled
 * connection that died, plain text among the JSON lines on stdout that a log collector parses
 * (test/probe/outage-refused.test.ts). The outage itself is reported already (the health
 * probe's line, each call's code), so they are debug lines, clipped; errors are warnings.
 */
function knexLog(logger: Logger) {
  const line = (level: "debug" | "warn") => (message: unknown) =>
    logger[level]({ driverMessage: clip(String(message), 200) }, "database driver message");
  return {
    debug: line("debug"),
    warn: line("debug"),
    deprecate: line("debug"),
    error: line("warn"),
  };
}

/** pg_stat_activity.application_name of a certmint server's connections (below). */
export const SERVER_APPLICATION_NAME = "certmint";

/**
 * node-postgres options of every connection to a real PostgreSQL (pooled, the start-up lock's,
 * the health probe's, LISTEN). A connection attempt that gets no answer (a network that drops
 * packets, a hung host) fails after connectionTimeoutMillis (database.ts names that failure an
 * outage: UNAVAILABLE) instead of waiting forever: without it a call waited for the pool's 60 s
 * acquire timeout or its deadline, and the attempt itself never ended. TCP keepalive lets the
 * kernel find an idle connection whose peer vanished. A connection stalled in the middle of a
 * statement is cut when the health probe finds the network stalled (database.ts: severSockets).
 */
export const NETWORK_CONNECTION_OPTIONS = {
  /**
   * Every connection of a server names itself (pg_stat_activity.application_name), so that the
   * offline KEK rotation (src/kek-rotation) can refuse to run while a server still uses the
   * database. Since stop 43 of 2026-12-06; a server of an older build is not seen so.
   */
  application_name: SERVER_APPLICATION_NAME,
  connectionTimeoutMillis: 10_000,
  keepAlive: true,
  keepAliveInitialDelayMillis: 10_000,
};

/**
 * The MikroORM options certmint runs with. allowGlobalContext is off: every call works in its
 * own EntityManager fork (MikroORM "identity map" docs), so no state leaks between calls.
 */
export function ormOptions(pool: PoolOptions): Options {
  return defineConfig({
    clientUrl: pool.clientUrl,
    entities: ALL_ENTITIES,
    allowGlobalContext: false,
    // A database DATABASE_URL names must exist: MikroORM's default created a missing one, so a
    // typo in its name started a healthy replica with an empty PKI, a key-encryption key and an
    // admin token of its own (an outside probe, 2026-12-05). Start-up now fails, naming it.
    ensureDatabase: false,
    debug: false,
    loggerFactory: (options: LoggerOptions) => new NoQueryLogger(options),
    // Entities are plain schemas (defineEntity): no reflection, no discovery on disk.
    discovery: { warnWhenNoEntities: true },
    pool: { min: 0, max: pool.poolMax, idleTimeoutMillis: pool.idleTimeoutMs },
    // Merged into knex's connection settings, handed to each node-postgres Client.
    driverOptions: {
      connection: pool.stream
        ? { stream: pool.stream }
        : {
            ...NETWORK_CONNECTION_OPTIONS,
            ...(pool.socket ? { stream: pool.socket } : {}),
            ...(pool.ssl === undefined ? {} : { ssl: pool.ssl }),
          },
      ...(pool.logger ? { log: knexLog(pool.logger) } : {}),
    },
    // The Migrator is not registered as an extension: database.ts runs it only when a
    // migration is pending. Its package (with umzug) is loaded at every start all the same:
    // each migration class extends its Migration. Unloading it after start-up was measured at
    // 0.3-0.6 MiB of heap (2026-12-05) and not kept.
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
