/**
 * Process faults of CERTMINT_PROCESSES=2 (a supervisor and two workers sharing the port)
 * under load, on PostgreSQL:
 *  - a worker killed with SIGKILL: the supervisor replaces it, the port keeps serving, every
 *    call of the clients on the other worker succeeds, and every request_id sent (those in
 *    flight on the dead worker too) resolves to one certificate on replay;
 *  - SIGTERM to the supervisor with calls in flight: each completes or fails UNAVAILABLE, the
 *    supervisor exits 0, nothing is half-written, and after a restart every request_id
 *    resolves;
 *  - SIGTERM to the supervisor and its workers at once, as systemd's default
 *    KillMode=control-group sends it (and as a terminal's Ctrl-C sends SIGINT): a worker that
 *    receives two stop signals still drains its calls instead of dying at the second.
 */
import { X509Certificate } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { describe, expect, it } from "vitest";
import { isAlive, logLines } from "../support/server-process";
import { waitFor } from "../support/wait";
import {
  codeName,
  type Deployment,
  deployForTests,
  expectCodesWithin,
  expectEveryRequestResolves,
  issueOnce,
  issueUnderLoad,
  newIssuer,
  newLedger,
  UNREACHABLE_LINE,
  waitForEveryProcessToLog,
} from "./outage-support";

/** The pids whose "call" lines show these request ids, by request id. */
function servedBy(d: Deployment, prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of logLines(d.server)) {
    const id = l.requestId as string | undefined;
    if (
      l.pid !== undefined &&
      id?.startsWith(prefix) &&
      (l.msg === "call" || l.msg === "call failed")
    )
      out.set(id, l.pid);
  }
  return out;
}

/** Holds every issuance where it stores its certificate, until released. */
async function holdCertificateInserts(d: Deployment): Promise<() => Promise<void>> {
  const blocker = new Client({ connectionString: d.db.url });
  await blocker.connect();
  await blocker.query("begin");
  await blocker.query("lock table certificate in share mode");
  return async () => {
    await blocker.query("rollback");
    await blocker.end();
  };
}

async function waitersOnLocks(d: Deployment): Promise<number> {
  const [row] = await d.db.query<{ n: string }>(
    "select count(*) as n from pg_locks l join pg_database dd on dd.oid = l.database where not l.granted and dd.datname = current_database()",
  );
  return Number(row!.n);
}

describe("a worker killed with SIGKILL under load", () => {
  const deployment = deployForTests(2);

  it("is replaced; the other worker's calls all succeed; every request_id resolves", async () => {
    const d = deployment();
    const load = issueUnderLoad(d, { clients: 8, tag: "kill", deadlineMs: 60_000 });
    const { ledger } = load;
    const [victim, survivor] = d.servingPids();
    // Both workers serve calls, so the kill meets calls in flight and spares others.
    await waitFor("calls served by both workers", () => {
      const pids = new Set(servedBy(d, "kill-").values());
      return pids.has(victim!) && pids.has(survivor!) && load.count("OK") >= 30;
    });
    // Which client (its own connection) is on which worker, from its calls so far.
    const clientWorker = new Map<string, number>();
    for (const [id, pid] of servedBy(d, "kill-")) clientWorker.set(id.split("-")[1]!, pid);
    const killedAt = ledger.sent.length;
    process.kill(victim!, "SIGKILL");
    await waitFor("a replacement worker to serve", () =>
      logLines(d.server).some((l) => l.msg === "worker replaced"),
    );
    await load.untilMoreOk("issuance to go on after the kill", 30);
    const codes = await load.stop();

    expectCodesWithin(codes, ["OK", "UNAVAILABLE"]);
    // The clients on the surviving worker never saw an error.
    const onSurvivor = [...clientWorker].filter(([, pid]) => pid === survivor).map(([c]) => c);
    expect(onSurvivor.length).toBeGreaterThan(0);
    for (const [id, o] of ledger.outcomes) {
      if (onSurvivor.includes(id.split("-")[1]!)) expect(codeName(o), id).toBe("OK");
    }
    expect(d.servingPids()).toHaveLength(2);
    expect(d.servingPids()).toContain(survivor);
    console.log(
      `kill: ${ledger.sent.length} calls ${JSON.stringify(codes)}, ${ledger.sent.length - killedAt} after the kill`,
    );
    await expectEveryRequestResolves(d, ledger);
  });
});

describe("a worker that dies while PostgreSQL is down", () => {
  const deployment = deployForTests(2);

  it("is replaced once the database is back, without a restart of the supervisor", async () => {
    const d = deployment();
    const [victim, survivor] = d.servingPids();
    d.proxy.refuse();
    await waitForEveryProcessToLog(d, [victim!, survivor!], UNREACHABLE_LINE, {
      what: "both workers to report the database unreachable",
    });
    process.kill(victim!, "SIGKILL");
    // Its replacements cannot start without the database: they fail and are tried again.
    await waitFor("a replacement to fail its start", () =>
      logLines(d.server).some(
        (l) => l.msg === "start-up failed" && l.pid !== victim && l.pid !== survivor,
      ),
    );
    expect(logLines(d.server).some((l) => l.msg === "all worker processes serving")).toBe(true);
    d.proxy.pass();
    await waitFor("a replacement worker to serve", () =>
      logLines(d.server).some((l) => l.msg === "worker replaced"),
    );
    // The supervisor logs the replacement when it starts; it counts as serving once it says so.
    await waitFor("two workers serving", () => d.servingPids().length === 2);
    expect(d.servingPids()).toContain(survivor);
    const client = newIssuer(d);
    const outcome = await issueOnce(client, d.profile, "after-replacement", 60_000);
    client.close();
    expect(codeName(outcome)).toBe("OK");
  });
});

describe("SIGTERM to the supervisor with calls in flight", () => {
  const deployment = deployForTests(2, { CERTMINT_SHUTDOWN_GRACE_MS: "300000" });

  for (const whom of ["the supervisor", "the supervisor and its workers"] as const) {
    it(`${whom}: calls in flight complete or fail UNAVAILABLE; exit 0; every request_id resolves after a restart`, async () => {
      const d = deployment();
      const ledger = newLedger();
      const tag = whom === "the supervisor" ? "term" : "group";
      const warmup = issueUnderLoad(d, {
        clients: 6,
        tag: `${tag}-warm`,
        deadlineMs: 120_000,
        ledger,
      });
      await warmup.untilMoreOk("certificates issued", 20);
      await warmup.stop();
      // One call on each worker (the supervisor hands new connections to the workers in turn)
      // held where it stores its certificate: in flight at the stop. They are the only calls
      // then, so two statements waiting for the lock are theirs (each worker runs one
      // statement of new issuances at a time: statement-batches.ts).
      const release = await holdCertificateInserts(d);
      const held = [newIssuer(d), newIssuer(d)];
      const heldCalls = held.map((client, i) => {
        const id = `${tag}-held-${i}`;
        ledger.sent.push(id);
        return issueOnce(client, d.profile, id, 240_000).then((o) => {
          ledger.outcomes.set(id, o);
          return o;
        });
      });
      await waitFor(
        "the held calls to wait for the lock",
        async () => (await waitersOnLocks(d)) >= 2,
      );
      // Calls that keep coming while the stop is under way: OK or UNAVAILABLE.
      const load = issueUnderLoad(d, { clients: 6, tag, deadlineMs: 120_000, ledger });
      const workers = d.servingPids();
      if (whom === "the supervisor and its workers") {
        // systemd signals every process of the unit; the supervisor forwards its own signal,
        // so each worker gets a second one. The worst order, made certain here: the workers'
        // own first, then the supervisor's, once they are stopping.
        for (const pid of workers) process.kill(pid, "SIGTERM");
        await waitForEveryProcessToLog(d, workers, "shutting down", {
          what: "every worker to start shutting down on its own signal",
        });
      }
      const exited = d.server.stop("SIGTERM");
      await waitForEveryProcessToLog(d, workers, "shutting down", {
        what: "every worker to start shutting down",
      });
      await release();
      const heldOutcomes = await Promise.all(heldCalls);
      for (const c of held) c.close();
      const code = await exited;
      const codes = await load.stop();
      expect(code, d.server.output().split("\n").slice(-12).join("\n")).toBe(0);
      // A call in flight at the stop completes: it was admitted before the stop.
      expect(heldOutcomes.map(codeName)).toEqual(["OK", "OK"]);
      for (const o of heldOutcomes) {
        if ("ok" in o) new X509Certificate(o.ok.certificate!.certificatePem);
      }
      expectCodesWithin(codes, ["OK", "UNAVAILABLE"]);
      for (const [, o] of ledger.outcomes) {
        if (!("ok" in o)) expect(o.code).toBe(status.UNAVAILABLE);
      }
      for (const pid of workers) {
        expect(logLines(d.server).some((l) => l.msg === "stopped" && l.pid === pid)).toBe(true);
      }
      await waitFor("every worker process to be gone", () => workers.every((p) => !isAlive(p)));
      // Nothing half-written: no request waits PENDING, every ISSUED one has its certificate.
      const [pending] = await d.db.query<{ n: string }>(
        "select count(*) as n from certificate_request where status = 'PENDING'",
      );
      expect(Number(pending!.n)).toBe(0);
      const [orphan] = await d.db.query<{ n: string }>(
        "select count(*) as n from certificate_request r where r.status = 'ISSUED' and not exists (select 1 from certificate c where c.certificate_request_id = r.id)",
      );
      expect(Number(orphan!.n)).toBe(0);
      console.log(`${whom}: ${ledger.sent.length} calls ${JSON.stringify(codes)}`);
      await d.restart();
      await expectEveryRequestResolves(d, ledger);
    });
  }
});
