import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { lockEmbeddedDatabase } from "./embedded-lock";
import { EmbeddedSessions } from "./embedded-wire";

/**
 * The embedded default: PGlite (PostgreSQL compiled to WebAssembly) keeping its files in the
 * data directory, reached by MikroORM's postgresql driver through in-process connections
 * (embedded-wire.ts): no port, no socket file. PGlite is one session: the pool must be 1
 * (GUIDE 3), and connections take turns on a session reset for each.
 */
export interface EmbeddedPostgres {
  /** node-postgres's `stream` option: a new in-process connection per call. */
  stream(): Duplex;
  /** How many connections were opened so far (each on a reset session). */
  readonly sessionsOpened: number;
  stop(): Promise<void>;
}

/** The embedded database's buffer pool (PostgreSQL's default: 128MB). */
export const EMBEDDED_SHARED_BUFFERS = "16MB";

export async function startEmbeddedPostgres(
  dataDir: string,
  events: ConstructorParameters<typeof EmbeddedSessions>[1] = {},
): Promise<EmbeddedPostgres> {
  const pgDir = join(dataDir, "pglite");
  mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  // PGlite creates its files world-writable (0666, directories 0755): this directory, inside
  // the data directory (data-dir.ts), is what keeps other users out.
  chmodSync(pgDir, 0o700);
  // Before PGlite touches a file: a second server on these files would corrupt them.
  const lock = lockEmbeddedDatabase(dataDir);
  let db: PGlite;
  try {
    // pg_trgm serves the name search index (see the NameSearch migration). shared_buffers:
    // PostgreSQL's default 128 MB lives in PGlite's WebAssembly memory, which never shrinks;
    // one session on a small database needs far less, and the files are in the OS page cache
    // anyway. bench/embedded/memory.ts, on a restarted server: RSS 207 MiB after start and
    // 228-291 after 10 s of 16 clients issuing, instead of 332 and 410, at the same rate.
    db = await PGlite.create(pgDir, {
      extensions: { pg_trgm },
      postgresqlconf: `shared_buffers = ${EMBEDDED_SHARED_BUFFERS}`,
    });
  } catch (err) {
    lock.release();
    throw err;
  }
  const sessions = new EmbeddedSessions(db, events);
  return {
    stream: () => sessions.connect(),
    get sessionsOpened() {
      return sessions.sessionsOpened;
    },
    async stop() {
      try {
        await db.close();
      } finally {
        lock.release();
      }
    },
  };
}
