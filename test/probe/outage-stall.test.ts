/**
 * The network to PostgreSQL stalls while clients issue: the proxy takes the server's bytes and
 * never answers (a partition that drops packets, a hung database host), on open connections
 * and new ones alike, and the connections it stalled stay dead after the network returns.
 * Every call ends, by its deadline (DEADLINE_EXCEEDED) or sooner (UNAVAILABLE), a call without
 * a deadline too; health turns NOT_SERVING in every process; once the network returns, the
 * pool gives up its dead connections, health is SERVING again and issuance resumes without a
 * restart; every request_id sent resolves on replay and none is left PENDING.
 */
import { describe, expect, it } from "vitest";
import { logLines } from "../support/server-process";
import { waitFor } from "../support/wait";
import {
  codeName,
  deployForTests,
  expectCodesWithin,
  expectEveryRequestResolves,
  expectOutageLeftNoTrace,
  issueOnce,
  newIssuer,
  UNREACHABLE_LINE,
  waitForDatabaseBack,
  waitForDatabaseDown,
  waitForEveryProcessToLog,
  warmUp,
} from "./outage-support";

describe.each([2, 1])("the network to PostgreSQL stalls, CERTMINT_PROCESSES=%i", (processes) => {
  // A grace period longer than any call may take here: the calls in flight at a stop must
  // end by themselves (UNAVAILABLE), not be cancelled when the grace period runs out.
  const deployment = deployForTests(processes, { CERTMINT_SHUTDOWN_GRACE_MS: "120000" });

  it("ends every call, turns NOT_SERVING, and recovers the pool when the network returns", async () => {
    const d = deployment();
    const { load, ledger, pids } = await warmUp(d, {
      clients: 6,
      tag: `stall${processes}`,
      deadlineMs: 15_000,
      ok: 20,
      what: "certificates issued before the stall",
    });

    const [{ now: stalledAt }] = (await d.db.query<{ now: Date }>("select now()")) as [
      { now: Date },
    ];
    d.proxy.stall();
    const stalledFrom = ledger.sent.length;
    // A client that sets no deadline: its call must still end.
    const noDeadline = newIssuer(d);
    const unbounded = issueOnce(noDeadline, d.profile, `stall${processes}-no-deadline`, Infinity);
    ledger.sent.push(`stall${processes}-no-deadline`);

    await waitForDatabaseDown(d, pids);
    // Calls sent after the stall began end (none hangs): every loop gets past two of them.
    await load.untilAnswered("calls sent during the stall to end", stalledFrom, 12, 120_000);
    const unboundedOutcome = await unbounded;
    noDeadline.close();
    expect(codeName(unboundedOutcome)).toBe("UNAVAILABLE");

    d.proxy.pass();
    await waitForDatabaseBack(d, pids);
    // Each process listens for other replicas' certificate events and credential changes
    // again, on new connections: the ones the stall left deaf were given up.
    await waitFor("two LISTEN sessions per process, each opened after the stall", async () => {
      const sessions = await d.db.query<{ backend_start: Date }>(
        "select backend_start from pg_stat_activity where datname = current_database() and query like 'LISTEN %'",
      );
      return (
        sessions.length === 2 * processes &&
        sessions.every((row) => row.backend_start.getTime() > stalledAt.getTime())
      );
    });
    await load.untilMoreOk("issuance to resume without a restart", 20, 120_000);
    const codes = await load.stop();

    expectCodesWithin(codes, ["OK", "UNAVAILABLE", "DEADLINE_EXCEEDED"]);
    await expectOutageLeftNoTrace(d, ledger, pids);
    console.log(
      `processes=${processes}: ${ledger.sent.length} calls ${JSON.stringify(codes)}; proxy connections open at the end ${d.proxy.open()}`,
    );
  });

  it("stops on SIGTERM while the network is stalled (exit 0), its calls ending", async () => {
    const d = deployment();
    const { load, pids } = await warmUp(d, {
      clients: 4,
      tag: `stallterm${processes}`,
      deadlineMs: 60_000,
      ok: 10,
      what: "certificates issued",
    });
    const marker = logLines(d.server).length;
    d.proxy.stall();
    await waitForEveryProcessToLog(d, pids, UNREACHABLE_LINE, {
      what: "every serving process to report the database unreachable",
      since: marker,
    });
    // Before, the pool's close waited for connections that never answered: no exit, ever.
    const code = await d.server.stop("SIGTERM");
    const codes = await load.stop();
    expect(code, d.server.output().split("\n").slice(-12).join("\n")).toBe(0);
    expectCodesWithin(codes, ["OK", "UNAVAILABLE", "DEADLINE_EXCEEDED"]);
    // The requests cut off by the stall and the stop resolve once the server is back.
    d.proxy.pass();
    await d.restart();
    await expectEveryRequestResolves(d, load.ledger);
  });
});
