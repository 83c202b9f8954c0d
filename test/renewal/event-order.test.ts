/**
 * Why a watch resumed from a cursor misses nothing: event cursors follow commit order, not
 * insertion order. Two transactions insert events; the one that inserted second commits
 * first. A reader that has read up to the first event's cursor must still get the other one
 * once it commits: with ids as cursors it would be behind the reader already and be lost.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStore } from "../../src/store/store";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";

describe("certificate event cursors", () => {
  let h: TestCertmint;
  const clients: Client[] = [];
  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_WATCH_POLL_MS: "20" });
  });
  afterAll(async () => {
    for (const c of clients) await c.end();
    await h?.stop();
  });

  const session = async () => {
    const c = new Client({ connectionString: h.db.url });
    await c.connect();
    clients.push(c);
    return c;
  };
  const insertEvent = (c: Client) =>
    c
      .query<{ id: string }>(
        `insert into certificate_event (type, certificate_id) values ('EXPIRING', gen_random_uuid()) returning id`,
      )
      .then((r) => r.rows[0]!.id);
  const positionOf = async (id: string) => {
    const [row] = await h.db.query<{ position: string | null }>(
      "select position from certificate_event where id = $1",
      [id],
    );
    return row?.position ?? null;
  };
  const readAfter = (cursor: number) =>
    createStore(h.running.database.orm).events.eventsAfter(cursor, {}, 100);

  it("numbers events in commit order, so a reader past one never skips another that commits later", async () => {
    const early = await session();
    const late = await session();
    await early.query("begin");
    const earlyId = await insertEvent(early); // the lower id, committed last
    await late.query("begin");
    const lateId = await insertEvent(late);
    expect(Number(earlyId)).toBeLessThan(Number(lateId));
    await late.query("commit");

    await waitFor("the committed event numbered", async () => (await positionOf(lateId)) !== null);
    const first = await readAfter(0);
    expect(first.map((e) => e.position)).toEqual([Number(await positionOf(lateId))]);
    const cursor = first[0]!.position;
    // The uncommitted one has no number yet, so the reader cannot have passed it.
    expect(await positionOf(earlyId)).toBeNull();

    await early.query("commit");
    await waitFor("the late commit numbered", async () => (await positionOf(earlyId)) !== null);
    const next = await readAfter(cursor);
    // Exactly the late commit, numbered after the cursor; the first event is not repeated.
    expect(next.map((e) => e.position)).toEqual([Number(await positionOf(earlyId))]);
    expect(next[0]!.position).toBeGreaterThan(cursor);
  });

  it("numbers the events of one round in the order of their ids, so an event written after another committed comes after it", async () => {
    // Written in one transaction, then half of them rewritten (their row versions move to
    // other pages of the table): the round that numbers them reads them in neither order.
    const c = await session();
    await c.query("begin");
    const { rows } = await c.query<{ id: string }>(
      `insert into certificate_event (type, certificate_id)
         select 'EXPIRING', gen_random_uuid() from generate_series(1, 1500) returning id`,
    );
    await c.query(
      `update certificate_event set error = '{"moved": true}'::jsonb where id = any($1::bigint[]) and id % 3 <> 0`,
      [rows.map((r) => r.id)],
    );
    await c.query("commit");
    const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    await waitFor("the 1,500 events numbered", async () => {
      const [row] = await h.db.query<{ n: string }>(
        "select count(*) as n from certificate_event where id = any($1::bigint[]) and position is null",
        [ids],
      );
      return Number(row!.n) === 0;
    });
    const numbered = await h.db.query<{ id: string; position: string }>(
      "select id, position from certificate_event where id = any($1::bigint[]) order by position",
      [ids],
    );
    expect(numbered.map((r) => Number(r.id))).toEqual(ids);
  });
});
