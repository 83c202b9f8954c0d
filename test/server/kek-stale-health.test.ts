/**
 * A server that missed a KEK rotation stops saying SERVING (since stop 45 of 2026-12-06). The
 * rotation is offline and looks for running servers, but one it does not see (README "Rotating
 * the key-encryption key": a pooler in transaction mode) keeps the old KEK: it opens none of
 * the re-sealed keys, the store refuses what it seals (KEK_ROTATED), and what it derives from
 * the KEK (page tokens, EAB keys) is not the other servers'. Until stop 45 it went on saying
 * SERVING, so load balancers kept sending it calls. Now the health probe reads the KEK id the
 * database names (kek_check.kek_id) and says NOT_SERVING, with an error naming both ids, while
 * it is not this server's; the read never waits on a rotation's lock (a rotation in progress
 * is not an outage).
 *
 * The rotation a server missed is made here by writing another id into kek_check, as the
 * rotation's transaction does (src/kek-rotation/rotate.ts).
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { checkHealth } from "../support/server-process";
import { until } from "../support/wait";

describe("the health of a server whose KEK the database no longer names (probe every 200 ms)", () => {
  let h: TestCertmint;
  let ownId: Buffer;

  const kekId = async () =>
    (await h.db.query<{ kek_id: Buffer }>("select kek_id from kek_check where id = 1"))[0]!.kek_id;
  const setKekId = (id: Buffer) =>
    h.db.query("update kek_check set kek_id = $1 where id = 1", [id]);
  const staleLines = () =>
    h.logs.filter(
      (l) => l.msg === "key-encryption key rotated while this server ran: health NOT_SERVING",
    );

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_DATABASE_PROBE_INTERVAL_MS: "200" });
    ownId = await kekId();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("says NOT_SERVING naming both KEK ids while the database names another KEK, SERVING again after", async () => {
    expect(ownId).toHaveLength(8);
    expect(await checkHealth(h.address)).toBe("SERVING");
    const rotated = Buffer.from("0102030405060708", "hex");
    await setKekId(rotated);
    await until("health NOT_SERVING", async () => (await checkHealth(h.address)) === "NOT_SERVING");
    await until("the error logged", async () => staleLines().length > 0);
    const line = staleLines()[0]!;
    expect(line.level).toBe(50); // pino's error
    expect(String(line.cause)).toContain(`names key-encryption key ${rotated.toString("hex")}`);
    expect(String(line.cause)).toContain(`this server holds ${ownId.toString("hex")}`);
    expect(String(line.cause)).toContain("restart it with the new CERTMINT_KEK_FILE");
    // The KEK's id only: no line carries more of it than the 8 octets the database holds.
    await setKekId(ownId);
    await until("health SERVING", async () => (await checkHealth(h.address)) === "SERVING");
  });

  it("a rotation holding kek_check (ACCESS EXCLUSIVE) is not an outage: the probe does not wait on it", async () => {
    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("lock table kek_check in access exclusive mode");
      // Probes meet the lock: each one's read waits, then gives up. Three waits seen to start
      // (a wait seen after none was) mean two ended in between, while the lock was held;
      // unbounded, the first would have waited out the probe's 3 s timeout (NOT_SERVING).
      let starts = 0;
      let wasWaiting = false;
      await until("three probe reads to meet the lock", async () => {
        const [waiting] = await h.db.query<{ n: number }>(
          `select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation
            where c.relname = 'kek_check' and not l.granted`,
        );
        const now = waiting!.n > 0;
        if (now && !wasWaiting) starts++;
        wasWaiting = now;
        return starts >= 3;
      });
      expect(await checkHealth(h.address)).toBe("SERVING");
    } finally {
      await holder.query("rollback");
      await holder.end();
    }
    expect(h.logs.filter((l) => String(l.msg).includes("health NOT_SERVING")).length).toBe(
      staleLines().length,
    );
  });
});
