/**
 * PostgreSQL refuses connections while clients issue, on the compiled server as operators run
 * it: a supervisor with two workers, and one process. Through the outage every call answers
 * OK (before it) or UNAVAILABLE DATABASE_UNAVAILABLE, never INTERNAL and never past its
 * deadline; grpc.health.v1 turns NOT_SERVING in every process that serves, then SERVING when
 * the database returns; issuance resumes without a restart; every request_id sent ends with
 * one certificate when replayed, and no request is left PENDING. The log says so once per
 * outage per process, and never quotes the database URL or SQL.
 */
import { describe, expect, it } from "vitest";
import { logLines } from "../support/server-process";
import {
  codeName,
  deployForTests,
  expectOutageLeftNoTrace,
  pidOf,
  REACHABLE_LINE,
  UNREACHABLE_LINE,
  waitForDatabaseBack,
  waitForDatabaseDown,
  warmUp,
} from "./outage-support";

describe.each([2, 1])("PostgreSQL refuses connections, CERTMINT_PROCESSES=%i", (processes) => {
  const deployment = deployForTests(processes, { CERTMINT_METRICS_LISTEN: "127.0.0.1:0" });

  it("answers UNAVAILABLE, turns NOT_SERVING in every process, recovers, and leaves every request resolvable", async () => {
    const d = deployment();
    // A 60 s deadline: an outage answered at once never reaches it; a hung call would.
    const { load, ledger, pids } = await warmUp(d, {
      clients: 6,
      tag: `refused${processes}`,
      deadlineMs: 60_000,
      ok: 20,
      what: "certificates issued before the outage",
    });

    d.proxy.refuse();
    const refusedFrom = ledger.sent.length;
    await waitForDatabaseDown(d, pids);
    await load.untilAnswered("calls answered during the outage", refusedFrom, 20);
    const duringOutage = load.answeredSince(refusedFrom);
    // /metrics answers during the outage (with workers: the supervisor's sum of them all).
    const metricsLine = logLines(d.server).find((l) => /^serving Prometheus metrics/.test(l.msg!));
    const scraped = await fetch(`http://127.0.0.1:${metricsLine!.port}/metrics`);
    expect(scraped.status).toBe(200);
    const exposition = await scraped.text();
    expect(exposition).toMatch(
      /certmint_grpc_requests_total\{[^}]*code="UNAVAILABLE"[^}]*\} [1-9]/,
    );
    if (processes > 1) expect(exposition).toMatch(/^certmint_worker_processes_serving 2$/m);

    d.proxy.pass();
    await waitForDatabaseBack(d, pids);
    await load.untilMoreOk("issuance to resume without a restart", 20);
    const codes = await load.stop();

    // Every call answered OK or UNAVAILABLE (the database's), nothing else.
    expect(Object.keys(codes).sort(), JSON.stringify(codes)).toEqual(["OK", "UNAVAILABLE"]);
    expect(duringOutage.some((id) => codeName(ledger.outcomes.get(id)!) === "UNAVAILABLE")).toBe(
      true,
    );
    await expectOutageLeftNoTrace(d, ledger, pids);

    // The log: one health line per process per outage; never the database URL or SQL.
    const lines = logLines(d.server);
    for (const pid of pids) {
      const mine = lines.filter((l) => pidOf(d, l) === pid);
      expect(mine.filter((l) => l.msg === UNREACHABLE_LINE)).toHaveLength(1);
      expect(mine.filter((l) => l.msg === REACHABLE_LINE)).toHaveLength(1);
    }
    const output = d.server.output();
    expect(output).not.toContain(`127.0.0.1:${d.proxy.port}/`);
    expect(output).not.toMatch(/\b(insert into|select .* from|update .* set)\b/i);
    const byMessage = new Map<string, number>();
    for (const l of lines) byMessage.set(l.msg!, (byMessage.get(l.msg!) ?? 0) + 1);
    console.log(
      `processes=${processes}: ${ledger.sent.length} calls ${JSON.stringify(codes)}; log lines by message ${JSON.stringify(Object.fromEntries(byMessage))}`,
    );
  });
});
