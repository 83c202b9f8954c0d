/**
 * A statement the database itself refuses or cancels, for a reason that is the operator's (an
 * operator's pg_cancel_backend, a statement_timeout set on the role, a full disk, out of
 * memory), is an outage: UNAVAILABLE with RetryInfo and the SQLSTATE in ErrorInfo, never
 * INTERNAL (src/database-outage.ts). The cancel is real: the call's statement is made to wait
 * for a lock another session holds, and the test cancels that backend once pg_stat_activity
 * shows it waiting (a state, not a duration).
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, toServiceError } from "../../src/api/errors";
import { databaseOutage } from "../../src/database-outage";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, decodeError, startTestCertmint, type TestCertmint } from "../support/harness";
import { errorInfoMetadata, tableLockHolder } from "../support/table-lock";
import { waitFor } from "../support/wait";

/** The app's backends waiting for a lock (not the lock holder's, not this test's). */
async function appLockWaiters(h: TestCertmint, holderPid: number) {
  return h.db.query<{ pid: number; query: string }>(
    `select pid, query from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and pid <> $1
        and wait_event_type = 'Lock'`,
    [holderPid],
  );
}

/** A call's error, failing the test if the call succeeds. */
function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.fail("the call succeeded while its statement was cancelled"),
    (e: unknown) => e,
  );
}

describe("a statement the operator cancels (57014 query_canceled) reaches the client as UNAVAILABLE", () => {
  let h: TestCertmint;
  let holder: Awaited<ReturnType<typeof tableLockHolder>>;
  let holderPid: number;
  let canceller: Client;

  beforeAll(async () => {
    h = await startTestCertmint({
      // The renewer reads the certificate table: it would wait behind the lock too.
      CERTMINT_RENEWAL_ENABLED: "false",
    });
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
    holder = await tableLockHolder(h, "certificate");
    canceller = new Client({ connectionString: h.db.url });
    await canceller.connect();
  });
  afterAll(async () => {
    await holder?.release().catch(() => undefined);
    await holder?.end();
    await canceller?.end();
    await h?.stop();
  });

  /**
   * Runs `start` while the certificate table is locked, cancels the first of the app's
   * statements that waits on it, and returns the call's error and what the statement was.
   */
  async function cancelledWhileLocked(start: () => Promise<unknown>) {
    holderPid = (
      await h.db.query<{ pid: number }>(
        `select pid from pg_locks where relation = 'certificate'::regclass and mode = 'AccessExclusiveLock' and granted`,
      )
    )[0]?.pid as number;
    expect(holderPid).toBeGreaterThan(0);
    const outcome = failure(start());
    let waiting: Array<{ pid: number; query: string }> = [];
    await waitFor("the call's statement to wait on the lock", async () => {
      waiting = await appLockWaiters(h, holderPid);
      return waiting.length > 0;
    });
    await canceller.query("select pg_cancel_backend($1)", [waiting[0]!.pid]);
    return { err: await outcome, statement: waiting[0]!.query };
  }

  it("an issuance: UNAVAILABLE, RetryInfo, the SQLSTATE and no SQL; nothing stored; the retry with its request_id issues once", async () => {
    const request = attrRequest("web", {
      cn: "cancelled.example.com",
      dns: ["cancelled.example.com"],
      requestId: "cancel-1",
    });
    await holder.lock();
    let cancelled: Awaited<ReturnType<typeof cancelledWhileLocked>>;
    try {
      cancelled = await cancelledWhileLocked(() =>
        call(h.certificates, "issueCertificate", request),
      );
    } finally {
      await holder.release();
    }
    const { err, statement } = cancelled;
    const decoded = decodeError(err);
    expect({ code: decoded.code, reason: decoded.reason }).toEqual({
      code: status.UNAVAILABLE,
      reason: "DATABASE_UNAVAILABLE",
    });
    expect(decoded.message).toMatch(/could not run this call's statement right now/);
    expect(decoded.message).not.toMatch(/certificate"|insert|select|cancelled\.example/i);
    expect(errorInfoMetadata(err)).toEqual({ sqlstate: "57014" });
    const raw = (err as { metadata: { get(k: string): unknown[] } }).metadata.get(
      "grpc-status-details-bin",
    )[0] as Buffer;
    expect(raw.toString("latin1")).toContain("type.googleapis.com/google.rpc.RetryInfo");
    // The cancelled statement was the issuance's (it touches the certificate table).
    expect(statement).toMatch(/certificate/);
    // Nothing of the cancelled statement's transaction was kept.
    const stored = () =>
      h.db.query<{ n: string }>(
        `select count(*) as n from certificate c join certificate_request r on r.id = c.certificate_request_id where r.request_id = 'cancel-1'`,
      );
    expect(Number((await stored())[0]!.n)).toBe(0);
    // The log says what happened, by its cause, at warn (not a stack at error).
    await waitFor("the call's log line", async () =>
      h.logs.some((l) => l.msg === "database unavailable" && l.cause === "57014"),
    );
    expect(h.logs.some((l) => l.msg === "unhandled error in handler")).toBe(false);
    // The client's retry, as RetryInfo tells it: one certificate for the request_id.
    const issued = await call(h.certificates, "issueCertificate", request);
    const again = await call(h.certificates, "issueCertificate", request);
    expect(issued.certificate?.certificateId).toMatch(/^[0-9a-f-]{36}$/);
    expect(again.certificate?.certificateId).toBe(issued.certificate?.certificateId);
    expect(Number((await stored())[0]!.n)).toBe(1);
  });

  it("a read (GetCertificate): UNAVAILABLE, then served once the operator is done", async () => {
    const issued = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn: "read.example.com", dns: ["read.example.com"] }),
    );
    const id = issued.certificate!.certificateId;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await holder.lock();
    let cancelled: Awaited<ReturnType<typeof cancelledWhileLocked>>;
    try {
      cancelled = await cancelledWhileLocked(() =>
        call(h.certificates, "getCertificate", { certificate: id }),
      );
    } finally {
      await holder.release();
    }
    expect(decodeError(cancelled.err).code).toBe(status.UNAVAILABLE);
    expect(errorInfoMetadata(cancelled.err)).toEqual({ sqlstate: "57014" });
    const read = await call(h.certificates, "getCertificate", { certificate: id });
    expect(read.certificate?.id).toBe(id);
  });
});

describe("the database refusing a statement for a reason of its own is an outage, by its SQLSTATE", () => {
  /** A driver error as MikroORM wraps it: the SQL in front of the message, the code copied. */
  const driverError = (code: string, message: string) =>
    Object.assign(new Error(`insert into "x" ("secret") values ('v') - ${message}`), {
      code,
      name: "DriverException",
    });

  it.each([
    ["57014", "canceling statement due to statement timeout"],
    ["57P04", "database dropped"],
    ["57P05", "terminating connection due to idle-session timeout"],
    ["25P03", "terminating connection due to idle-in-transaction timeout"],
    ["53100", "could not extend file: No space left on device"],
    ["53200", "out of memory"],
    ["53400", "out of shared memory"],
    ["58030", "could not read block"],
  ])("%s (%s): UNAVAILABLE with RetryInfo and the SQLSTATE, no SQL", (code, message) => {
    const err = new Error("wrapped", { cause: driverError(code, message) });
    expect(databaseOutage(err)).toBe(code);
    expect(codeOf(err)).toBe(status.UNAVAILABLE);
    const sent = toServiceError(err);
    expect(sent.code).toBe(status.UNAVAILABLE);
    expect(sent.details).not.toMatch(/secret|insert/);
    expect(errorInfoMetadata(sent)).toEqual({ sqlstate: code });
  });

  it("a session that could not connect keeps its own message, without a SQLSTATE", () => {
    const err = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
      code: "ECONNREFUSED",
    });
    const sent = toServiceError(err);
    expect(sent.code).toBe(status.UNAVAILABLE);
    expect(sent.details).toMatch(/cannot reach its database/);
    expect(errorInfoMetadata(sent)).toEqual({});
  });
});
