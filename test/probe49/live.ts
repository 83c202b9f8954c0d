/**
 * What the probe49 folders share to meet a live certmint from outside: the compiled server
 * (dist/src/main.js) started as a process on its own fresh, migrated PostgreSQL database, and
 * its stop. Black-box: nothing of src/ is imported.
 */
import { randomBytes } from "node:crypto";
import type { Client } from "@grpc/grpc-js";
import type { CertmintClients } from "../support/harness";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { type ServerProcess, startServerProcess } from "../support/server-process";

export interface ServerOnDatabase {
  server: ServerProcess;
  db: TestDatabase;
  /** The key-encryption key (a second server on the same database needs it). */
  kek: string;
}

/**
 * The compiled server on a fresh database (named with `prefix` when given), a new KEK and JSON
 * logs; `env` adds to and overrides that environment.
 */
export async function startOnFreshDatabase(
  env: Record<string, string> = {},
  prefix?: string,
): Promise<ServerOnDatabase> {
  const db = await createTestDatabase(prefix ? { prefix, migrated: true } : { migrated: true });
  const kek = randomBytes(32).toString("base64");
  const server = await startServerProcess({
    DATABASE_URL: db.url,
    CERTMINT_KEK: kek,
    CERTMINT_LOG_FORMAT: "json",
    ...env,
  });
  return { server, db, kek };
}

/** Closes every client of `clientSets`, then stops the server and drops its database. */
export async function stopOnDatabase(
  clientSets: CertmintClients[],
  { server, db }: { server: ServerProcess; db: TestDatabase },
): Promise<void> {
  for (const set of clientSets) for (const c of Object.values(set)) (c as Client).close();
  await server.stop();
  await db.drop();
}
