import { MikroORM } from "@mikro-orm/postgresql";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded-postgres";
import { ormOptions } from "./orm-config";

export interface DatabaseOptions {
  /** A real PostgreSQL; without it the embedded PGlite in dataDir is used. */
  databaseUrl?: string;
  dataDir: string;
  /** Connection pool size for a real PostgreSQL. */
  poolMax?: number;
}

/** An open database: the ORM (fork its em per call) and how it was reached. */
export interface Database {
  orm: MikroORM;
  embedded: boolean;
  close(): Promise<void>;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = opts.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres(opts.dataDir);
    url = embedded.url;
  }
  try {
    const orm = await MikroORM.init(ormOptions(url, embedded ? 1 : (opts.poolMax ?? 10)));
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
