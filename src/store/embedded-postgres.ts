import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/**
 * The embedded default: PGlite (PostgreSQL compiled to WebAssembly) keeping its files in the
 * data directory, served on a loopback port by pglite-socket so the ordinary postgresql
 * driver reaches it. PGlite serves one session at a time: the pool must be 1 (GUIDE 3).
 */
export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const pgDir = join(dataDir, "pglite");
  mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  // pg_trgm serves the name search index (see the NameSearch migration).
  const db = await PGlite.create(pgDir, { extensions: { pg_trgm } });
  // Port 0: the OS picks a free loopback port, so two servers never collide.
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 1 });
  await server.start();
  const address = server.getServerConn(); // "127.0.0.1:PORT"
  return {
    url: `postgresql://postgres:postgres@${address}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
