/**
 * The embedded database runs on a thread of its own (src/store/embedded-thread.ts): while a
 * statement runs, the event loop serves everything else. Until stop 60 of 2026-12-08 PGlite ran
 * on the event loop, and one auditor's list queries on a large embedded inventory stalled every
 * other call, health checks included, for 0.5-0.95 s each (an outside probe, stop 59).
 *
 * Causal, not timed: the statement below writes a file that says it runs, then runs until
 * another file appears in the data directory, which only the event loop writes, once it has seen
 * the first. On the event loop, the statement would have held it until its own bound (60 s) and
 * answered "gave up".
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../src/store/embedded-postgres";
import { waitFor } from "../support/wait";

describe("the embedded database's own thread", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-embedded-thread-"));
  let embedded: EmbeddedPostgres;
  const connect = async () => {
    const client = new Client({ user: "postgres", database: "postgres", stream: embedded.stream });
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    embedded = await startEmbeddedPostgres(dataDir);
  });
  afterAll(async () => {
    await embedded?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a running statement leaves the event loop free", async () => {
    const client = await connect();
    await client.query(`
      create function wait_for_release() returns text language plpgsql as $$
      declare started timestamptz := clock_timestamp();
      begin
        -- A file that says the statement runs, in the data directory.
        execute format('copy (select 1) to %L', current_setting('data_directory') || '/running');
        loop
          if (pg_stat_file('released', true)).size is not null then return 'released'; end if;
          if clock_timestamp() > started + interval '60 seconds' then return 'gave up'; end if;
        end loop;
      end $$`);
    let answered = false;
    const running = client.query("select wait_for_release() as outcome").then((r) => {
      answered = true;
      return r.rows[0].outcome as string;
    });
    // The event loop sees the statement running (its timers fire meanwhile).
    await waitFor("the statement to run", () => existsSync(join(dataDir, "pglite", "running")));
    expect(answered).toBe(false);
    writeFileSync(join(dataDir, "pglite", "released"), "x");
    expect(await running).toBe("released");
    await client.end();
  });
});
