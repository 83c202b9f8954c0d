/**
 * The embedded database is one PGlite session that every connection shares in turn
 * (src/store/embedded-wire.ts). Whatever a connection leaves behind must not reach the next
 * one, as on a real PostgreSQL where each connection is a new session (issue 11: a named
 * prepared statement left by a closed connection broke every issuance after 30 s idle).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EMBEDDED_SHARED_BUFFERS,
  type EmbeddedPostgres,
  startEmbeddedPostgres,
} from "../../src/store/embedded-postgres";

describe("embedded database sessions", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-embedded-"));
  let embedded: EmbeddedPostgres;
  const connect = async () => {
    const client = new Client({ user: "postgres", database: "postgres", stream: embedded.stream });
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    embedded = await startEmbeddedPostgres(dataDir);
    const setup = await connect();
    await setup.query("create table kept (x int)");
    await setup.end();
  });
  afterAll(async () => {
    await embedded?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("start each connection on a fresh session, whatever the last one left or how it ended", async () => {
    const first = await connect();
    await first.query({ name: "certmint_hot_1", text: "select 1 as n", values: [] });
    await first.query("set statement_timeout = 4321");
    await first.query("create temp table scratch (x int)");
    await first.query("select pg_advisory_lock(42)");
    await first.query("listen certmint_test");
    await first.query("begin");
    await first.query("insert into kept values (1)");
    await first.query("create table uncommitted (x int)");
    // Killed mid-transaction: the stream is destroyed without a Terminate message.
    const ended = new Promise((resolve) => first.once("end", resolve));
    first.on("error", () => undefined);
    (
      first as unknown as { connection: { stream: { destroy(): void } } }
    ).connection.stream.destroy();
    await ended;

    const second = await connect();
    try {
      // The same statement name parses again: no "prepared statement already exists".
      const prepared = await second.query({
        name: "certmint_hot_1",
        text: "select 2 as n",
        values: [],
      });
      expect(prepared.rows).toEqual([{ n: 2 }]);
      expect((await second.query("show statement_timeout")).rows).toEqual([
        { statement_timeout: "0" },
      ]);
      const leftovers = await second.query(
        `select to_regclass('pg_temp.scratch') as temp_table,
                to_regclass('public.uncommitted') as uncommitted,
                (select count(*)::int from kept) as kept_rows,
                (select count(*)::int from pg_locks where locktype = 'advisory') as advisory_locks,
                (select count(*)::int from pg_listening_channels()) as listening`,
      );
      expect(leftovers.rows).toEqual([
        { temp_table: null, uncommitted: null, kept_rows: 0, advisory_locks: 0, listening: 0 },
      ]);
    } finally {
      await second.end();
    }
    expect(embedded.sessionsOpened).toBe(3);
  });

  it("ends an extended-protocol batch that failed before its Sync when the next connection starts", async () => {
    const first = await connect();
    const connection = (
      first as unknown as {
        connection: {
          parse(q: { text: string }): void;
          flush(): void;
          stream: { destroy(): void };
        };
      }
    ).connection;
    first.on("error", () => undefined);
    const failed = new Promise((resolve) => first.once("error", resolve));
    // A Parse that fails, flushed but never followed by Sync: the server now skips every
    // message until a Sync arrives.
    connection.parse({ text: "selec 1" });
    connection.flush();
    await failed;
    const ended = new Promise((resolve) => first.once("end", resolve));
    connection.stream.destroy();
    await ended;

    const second = await connect();
    try {
      expect((await second.query("select 3 as n")).rows).toEqual([{ n: 3 }]);
    } finally {
      await second.end();
    }
  });

  it("run with a 16 MB buffer pool, not PostgreSQL's 128 MB (its memory never shrinks)", async () => {
    const client = await connect();
    try {
      const { rows } = await client.query("show shared_buffers");
      expect(rows[0].shared_buffers).toBe(EMBEDDED_SHARED_BUFFERS);
      expect(EMBEDDED_SHARED_BUFFERS).toBe("16MB");
    } finally {
      await client.end();
    }
  });
});
