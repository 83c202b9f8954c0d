/**
 * The network to PostgreSQL stalls while clients issue: the proxy takes the server's bytes and
 * never answers (a partition that drops packets, a hung database host), on open connections
 * and new ones alike, and the connections it stalled stay dead after the network returns.
 * Every call ends, by its deadline (DEADLINE_EXCEEDED) or sooner (UNAVAILABLE), a call without
 * a deadline too; health turns NOT_SERVING in every process; once the network returns, the
 * pool gives up its dead connections, health is SERVING again and issuance resumes without a
 * restart; every request_id sent resolves on replay and none is left PENDING.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { START_LIMIT_MS } from "../support/server-process";
import { waitFor } from "../support/wait";
import {
  codeName,
  type Deployment,
  deploy,
  healthOverConnections,
  issueOnce,
  issuingLoops,
  logLines,
  newIssuer,
  newLedger,
  pidOf,
  replayAll,
  unresolved,
} from "./outage-support";

describe.each([2, 1])("the network to PostgreSQL stalls, CERTMINT_PROCESSES=%i", (processes) => {
  let d: Deployment;

  beforeAll(async () => {
    // A grace period longer than any call may take here: the calls in flight at a stop must
    // end by themselves (UNAVAILABLE), not be cancelled when the grace period runs out.
    d = await deploy(processes, { CERTMINT_SHUTDOWN_GRACE_MS: "120000" });
  }, START_LIMIT_MS * 2);
  afterAll(async () => {
    await d?.stop();
  });

  it("ends every call, turns NOT_SERVING, and recovers the pool when the network returns", async () => {
    const ledger = newLedger();
    const count = (code: string) => ledger.codes.get(code) ?? 0;
    let stopped = false;
    const loops = issuingLoops(d, ledger, {
      clients: 6,
      tag: `stall${processes}`,
      deadlineMs: 15_000,
      stopped: () => stopped,
    });
    const pids = d.servingPids();
    expect(pids).toHaveLength(processes);
    await waitFor("certificates issued before the stall", () => count("OK") >= 20);

    const [{ now: stalledAt }] = (await d.db.query<{ now: Date }>("select now()")) as [
      { now: Date },
    ];
    d.proxy.stall();
    const stalledFrom = ledger.sent.length;
    // A client that sets no deadline: its call must still end.
    const noDeadline = newIssuer(d);
    const unbounded = issueOnce(noDeadline, d.profile, `stall${processes}-no-deadline`, Infinity);
    ledger.sent.push(`stall${processes}-no-deadline`);

    await waitFor("every serving process to report the database unreachable", () => {
      const lines = logLines(d.server).filter(
        (l) => l.msg === "database unreachable: health NOT_SERVING",
      );
      return pids.every((pid) => lines.some((l) => pidOf(d, l) === pid));
    });
    await waitFor("health NOT_SERVING on every connection", async () =>
      (await healthOverConnections(d.server.address, 2 * processes)).every(
        (s) => s === "NOT_SERVING",
      ),
    );
    // Calls sent after the stall began end (none hangs): every loop gets past two of them.
    await waitFor(
      "calls sent during the stall to end",
      () => ledger.sent.slice(stalledFrom).filter((id) => ledger.outcomes.has(id)).length >= 12,
      120_000,
    );
    const unboundedOutcome = await unbounded;
    noDeadline.close();
    expect(codeName(unboundedOutcome)).toBe("UNAVAILABLE");

    d.proxy.pass();
    await waitFor("every serving process to report the database reachable", () => {
      const lines = logLines(d.server).filter(
        (l) => l.msg === "database reachable again: health SERVING",
      );
      return pids.every((pid) => lines.some((l) => pidOf(d, l) === pid));
    });
    await waitFor("health SERVING on every connection", async () =>
      (await healthOverConnections(d.server.address, 2 * processes)).every((s) => s === "SERVING"),
    );
    // Each process listens for other replicas' certificate events again, on a new connection:
    // the one the stall left deaf was given up.
    await waitFor("one LISTEN session per process, each opened after the stall", async () => {
      const sessions = await d.db.query<{ backend_start: Date }>(
        "select backend_start from pg_stat_activity where datname = current_database() and query like 'LISTEN %'",
      );
      return (
        sessions.length === processes &&
        sessions.every((row) => row.backend_start.getTime() > stalledAt.getTime())
      );
    });
    const okBefore = count("OK");
    await waitFor(
      "issuance to resume without a restart",
      () => count("OK") >= okBefore + 20,
      120_000,
    );
    stopped = true;
    await loops.done;
    loops.close();

    const codes = Object.fromEntries(ledger.codes);
    for (const code of Object.keys(codes)) {
      expect(["OK", "UNAVAILABLE", "DEADLINE_EXCEEDED"], JSON.stringify(codes)).toContain(code);
    }
    for (const [, o] of ledger.outcomes) {
      if (!("ok" in o) && o.code === status.UNAVAILABLE) {
        expect(o.reason, o.details).toBe("DATABASE_UNAVAILABLE");
      }
    }
    expect(d.servingPids().sort()).toEqual([...pids].sort());

    const ended = await replayAll(d, ledger.sent);
    for (const [id, o] of ledger.outcomes) {
      if ("ok" in o) expect(ended.get(id)).toBe(o.ok.certificate!.certificateId);
    }
    expect(await unresolved(d.db, ledger.sent)).toEqual({ notIssued: [], duplicates: 0 });
    const lines = logLines(d.server);
    expect(lines.some((l) => l.msg === "unhandled error in handler")).toBe(false);
    // Every line is a JSON log line: no driver's plain text among them.
    const plain = d.server
      .output()
      .split("\n")
      .filter((l) => l.trim() !== "" && !l.startsWith("{"));
    expect(plain).toEqual([]);
    console.log(
      `processes=${processes}: ${ledger.sent.length} calls ${JSON.stringify(codes)}; proxy connections open at the end ${d.proxy.open()}`,
    );
  });

  it("stops on SIGTERM while the network is stalled (exit 0), its calls ending", async () => {
    const ledger = newLedger();
    let stopped = false;
    const loops = issuingLoops(d, ledger, {
      clients: 4,
      tag: `stallterm${processes}`,
      deadlineMs: 60_000,
      stopped: () => stopped,
    });
    await waitFor("certificates issued", () => (ledger.codes.get("OK") ?? 0) >= 10);
    const pids = d.servingPids();
    const marker = logLines(d.server).length;
    d.proxy.stall();
    await waitFor("every serving process to report the database unreachable", () => {
      const lines = logLines(d.server)
        .slice(marker)
        .filter((l) => l.msg === "database unreachable: health NOT_SERVING");
      return pids.every((pid) => lines.some((l) => pidOf(d, l) === pid));
    });
    // Before, the pool's close waited for connections that never answered: no exit, ever.
    const code = await d.server.stop("SIGTERM");
    stopped = true;
    await loops.done;
    loops.close();
    expect(code, d.server.output().split("\n").slice(-12).join("\n")).toBe(0);
    for (const name of ledger.codes.keys()) {
      expect(["OK", "UNAVAILABLE", "DEADLINE_EXCEEDED"]).toContain(name);
    }
    // The requests cut off by the stall and the stop resolve once the server is back.
    d.proxy.pass();
    await d.restart();
    await replayAll(d, ledger.sent);
    expect(await unresolved(d.db, ledger.sent)).toEqual({ notIssued: [], duplicates: 0 });
  });
});
