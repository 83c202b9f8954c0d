/**
 * PostgreSQL refuses connections while clients issue, on the compiled server as operators run
 * it: a supervisor with two workers, and one process. Through the outage every call answers
 * OK (before it) or UNAVAILABLE DATABASE_UNAVAILABLE, never INTERNAL and never past its
 * deadline; grpc.health.v1 turns NOT_SERVING in every process that serves, then SERVING when
 * the database returns; issuance resumes without a restart; every request_id sent ends with
 * one certificate when replayed, and no request is left PENDING. The log says so once per
 * outage per process, and never quotes the database URL or SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { START_LIMIT_MS } from "../support/server-process";
import { waitFor } from "../support/wait";
import {
  codeName,
  type Deployment,
  deploy,
  healthOverConnections,
  issuingLoops,
  logLines,
  newLedger,
  pidOf,
  replayAll,
  unresolved,
} from "./outage-support";

describe.each([2, 1])("PostgreSQL refuses connections, CERTMINT_PROCESSES=%i", (processes) => {
  let d: Deployment;

  beforeAll(async () => {
    d = await deploy(processes, { CERTMINT_METRICS_LISTEN: "127.0.0.1:0" });
  }, START_LIMIT_MS * 2);
  afterAll(async () => {
    await d?.stop();
  });

  it("answers UNAVAILABLE, turns NOT_SERVING in every process, recovers, and leaves every request resolvable", async () => {
    const ledger = newLedger();
    const count = (code: string) => ledger.codes.get(code) ?? 0;
    let stopped = false;
    // A 60 s deadline: an outage answered at once never reaches it; a hung call would.
    const loops = issuingLoops(d, ledger, {
      clients: 6,
      tag: `refused${processes}`,
      deadlineMs: 60_000,
      stopped: () => stopped,
    });
    const pids = d.servingPids();
    expect(pids).toHaveLength(processes);
    await waitFor("certificates issued before the outage", () => count("OK") >= 20);

    d.proxy.refuse();
    const refusedFrom = ledger.sent.length;
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
    await waitFor(
      "calls answered during the outage",
      () => ledger.sent.slice(refusedFrom).filter((id) => ledger.outcomes.has(id)).length >= 20,
    );
    const duringOutage = ledger.sent.slice(refusedFrom).filter((id) => ledger.outcomes.has(id));
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
    await waitFor("every serving process to report the database reachable", () => {
      const lines = logLines(d.server).filter(
        (l) => l.msg === "database reachable again: health SERVING",
      );
      return pids.every((pid) => lines.some((l) => pidOf(d, l) === pid));
    });
    await waitFor("health SERVING on every connection", async () =>
      (await healthOverConnections(d.server.address, 2 * processes)).every((s) => s === "SERVING"),
    );
    const okBefore = count("OK");
    await waitFor("issuance to resume without a restart", () => count("OK") >= okBefore + 20);
    stopped = true;
    await loops.done;
    loops.close();

    // Every call answered OK or UNAVAILABLE (the database's), nothing else.
    const codes = Object.fromEntries(ledger.codes);
    expect(Object.keys(codes).sort(), JSON.stringify(codes)).toEqual(["OK", "UNAVAILABLE"]);
    for (const [, o] of ledger.outcomes) {
      if ("ok" in o) continue;
      expect(o.reason, o.details).toBe("DATABASE_UNAVAILABLE");
    }
    expect(duringOutage.some((id) => codeName(ledger.outcomes.get(id)!) === "UNAVAILABLE")).toBe(
      true,
    );
    // The processes that served before still serve: none died of the outage.
    expect(d.servingPids().sort()).toEqual([...pids].sort());

    // Every request_id sent resolves: a replay answers one certificate, the one its call got.
    const ended = await replayAll(d, ledger.sent);
    for (const [id, o] of ledger.outcomes) {
      if ("ok" in o) expect(ended.get(id)).toBe(o.ok.certificate!.certificateId);
    }
    expect(await unresolved(d.db, ledger.sent)).toEqual({ notIssued: [], duplicates: 0 });

    // The log: one health line per process per outage; never the database URL or SQL.
    const lines = logLines(d.server);
    for (const pid of pids) {
      const mine = lines.filter((l) => pidOf(d, l) === pid);
      expect(mine.filter((l) => l.msg === "database unreachable: health NOT_SERVING")).toHaveLength(
        1,
      );
      expect(mine.filter((l) => l.msg === "database reachable again: health SERVING")).toHaveLength(
        1,
      );
    }
    const output = d.server.output();
    // Every line is a JSON log line (a log collector parses them): no driver's plain text.
    const plain = output.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("{"));
    expect(plain).toEqual([]);
    expect(output).not.toContain(`127.0.0.1:${d.proxy.port}/`);
    expect(output).not.toMatch(/\b(insert into|select .* from|update .* set)\b/i);
    expect(lines.some((l) => l.msg === "unhandled error in handler")).toBe(false);
    const byMessage = new Map<string, number>();
    for (const l of lines) byMessage.set(l.msg!, (byMessage.get(l.msg!) ?? 0) + 1);
    console.log(
      `processes=${processes}: ${ledger.sent.length} calls ${JSON.stringify(codes)}; log lines by message ${JSON.stringify(Object.fromEntries(byMessage))}`,
    );
  });
});
