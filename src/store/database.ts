import { MikroORM } from "@mikro-orm/postgresql";
import type { Logger } from "pino";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded-postgres";
import { ormOptions } from "./orm-config";

export interface DatabaseOptions {
  /** A real PostgreSQL; without it the embedded PGlite in dataDir is used. */
  databaseUrl?: string;
  dataDir: string;
  /** Connection pool size for a real PostgreSQL. */
  poolMax?: number;
  /** How long a pooled connection may stay idle before it is closed (default 30 s). */
  idleTimeoutMs?: number;
  /** Receives the embedded database's session changes (debug level). */
  logger?: Logger;
}

/** An open database: the ORM (fork its em per call) and how it was reached. */
export interface Database {
  orm: MikroORM;
  embedded: boolean;
  close(): Promise<void>;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  if (!opts.databaseUrl) {
    embedded = await startEmbeddedPostgres(opts.dataDir, {
      opened: (session) => opts.logger?.debug({ session }, "embedded database session opened"),
      closed: (session) => opts.logger?.debug({ session }, "embedded database session closed"),
    });
  }
  try {
    const orm = await MikroORM.init(
      ormOptions({
        // The embedded database is reached through `stream`; the URL only names user and database.
        clientUrl: opts.databaseUrl ?? "postgresql://postgres@embedded/postgres",
        poolMax: embedded ? 1 : (opts.poolMax ?? 10),
        idleTimeoutMs: opts.idleTimeoutMs ?? 30_000,
        stream: embedded?.stream,
      }),
    );
    return {
      orm,
      embedded: embedded !== undefined,
      async close() {
        await orm.close(true);
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

/** Applies every pending migration; returns the names applied (none when up to date). */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}
