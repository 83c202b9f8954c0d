/**
 * The compiled server (dist/src/main.js) as an operator runs it, on a PostgreSQL database of its
 * own (a clone of the migrated template), on an ephemeral port; the CLI talks to it as a child
 * process (test/cli/cli.ts).
 */
import { randomBytes } from "node:crypto";
import { type CliSession, cliSession } from "../../cli/cli";
import { makeClients } from "../../support/harness";
import { createTestDatabase, type TestDatabase } from "../../support/postgres";
import { type ServerProcess, startServerProcess } from "../../support/server-process";

export interface LiveCli {
  db: TestDatabase;
  server: ServerProcess;
  cli: CliSession;
  api: ReturnType<typeof makeClients>;
  stop(): Promise<void>;
}

export async function startLiveCli(env: Record<string, string> = {}): Promise<LiveCli> {
  const db = await createTestDatabase({ migrated: true });
  const server = await startServerProcess({
    DATABASE_URL: db.url,
    CERTMINT_KEK: randomBytes(32).toString("base64"),
    CERTMINT_LOG_FORMAT: "json",
    CERTMINT_SHUTDOWN_GRACE_MS: "2000",
    ...env,
  });
  const cli = cliSession(server.address, server.dataDir);
  const api = makeClients(server.address, server.adminToken());
  return {
    db,
    server,
    cli,
    api,
    async stop() {
      for (const c of Object.values(api)) c.close();
      cli.remove();
      await server.stop();
      await db.drop();
    },
  };
}

/** Polls `check` until it returns a value other than undefined: a state, never a duration. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  limitMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
