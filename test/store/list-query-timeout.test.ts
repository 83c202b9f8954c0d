/**
 * A ListCertificates page whose query cannot finish (a needle no index serves walks the whole
 * table) is bounded: PostgreSQL cancels it at CERTMINT_LIST_QUERY_TIMEOUT_MS (SET LOCAL
 * statement_timeout, store/bounded-read.ts) and the caller gets RESOURCE_EXHAUSTED with
 * LIST_QUERY_TIMEOUT; a caller that cancels cancels its query. A query that cannot finish is
 * made deterministically: another session holds the certificate table's ACCESS EXCLUSIVE lock
 * (a lock wait counts toward statement_timeout). Over gRPC, on an in-process server.
 */
import { Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListCertificatesRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { listReadBound } from "../../src/issuance/certificates/queries";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, decodeError, startTestCertmint, type TestCertmint } from "../support/harness";
import {
  errorInfoMetadata,
  lockWaiters,
  onAppConnection,
  tableLockHolder,
} from "../support/table-lock";
import { waitFor } from "../support/wait";

/** A needle of 2 characters: no trigram, so the name index cannot serve it. */
const SHORT_NEEDLE = ListCertificatesRequest.fromPartial({ nameContains: "ab" });

/** A server on a pool of one connection (every statement on it), with one certificate (lab.example.com). */
async function startServer(listQueryTimeoutMs: string): Promise<TestCertmint> {
  const h = await startTestCertmint({
    CERTMINT_LIST_QUERY_TIMEOUT_MS: listQueryTimeoutMs,
    CERTMINT_DATABASE_POOL_SIZE: "1",
    CERTMINT_DATABASE_IDLE_TIMEOUT_MS: "3600000",
    // The renewer reads the certificate table: it would queue behind the lock on the only connection.
    CERTMINT_RENEWAL_ENABLED: "false",
  });
  const root = await createRoot(h, "root");
  await createProfileRows(h, { caId: root.id, slug: "web" });
  await issue(h, "lab");
  return h;
}

const issue = (h: TestCertmint, host: string) =>
  call(
    h.certificates,
    "issueCertificate",
    attrRequest("web", { cn: `${host}.example.com`, dns: [`${host}.example.com`] }),
  );

describe("ListCertificates with CERTMINT_LIST_QUERY_TIMEOUT_MS=200", () => {
  let h: TestCertmint;
  let holder: Awaited<ReturnType<typeof tableLockHolder>>;

  beforeAll(async () => {
    h = await startServer("200");
    holder = await tableLockHolder(h, "certificate");
  });
  afterAll(async () => {
    await holder?.release().catch(() => undefined);
    await holder?.end();
    await h?.stop();
  });

  it("a query that cannot finish: RESOURCE_EXHAUSTED (LIST_QUERY_TIMEOUT); then the same pooled connection serves, without the timeout", async () => {
    const pidBefore = await onAppConnection(h, "select pg_backend_pid() as v");
    await holder.lock();
    let settled = false;
    let waiting: Array<{ pid: number; query: string }> = [];
    try {
      const listed = call(h.certificates, "listCertificates", SHORT_NEEDLE);
      listed.then(
        () => (settled = true),
        () => (settled = true),
      );
      // Either the call ends, or its statement is seen waiting for the lock: then it must carry
      // its bound (without it, it would wait for as long as the lock is held).
      await waitFor("the list call to end or its query to wait on the lock", async () => {
        if (settled) return true;
        waiting = await lockWaiters(h, "certificate");
        return waiting.length > 0;
      });
      for (const w of waiting) expect(w.query).toMatch(/^set local statement_timeout = 200; /);
      const err: unknown = await listed.then(
        () => expect.fail("the list call succeeded while the lock was held"),
        (e: unknown) => e,
      );
      const decoded = decodeError(err);
      expect({ code: decoded.code, reason: decoded.reason }).toEqual({
        code: 8, // RESOURCE_EXHAUSTED
        reason: "LIST_QUERY_TIMEOUT",
      });
      expect(decoded.message).toContain("200 ms (CERTMINT_LIST_QUERY_TIMEOUT_MS)");
      expect(decoded.message).toContain('name_contains "ab" has fewer than 3 characters');
      expect(decoded.message).toContain("at least 3 characters");
      expect(errorInfoMetadata(err)).toEqual({
        setting: "CERTMINT_LIST_QUERY_TIMEOUT_MS",
        timeout_ms: "200",
      });
      // Cancelled while the lock is still held: nothing of it is left waiting.
      expect(await lockWaiters(h, "certificate")).toEqual([]);
    } finally {
      await holder.release();
    }
    // The same call, an issuance and the connection itself: healthy, and the timeout ended
    // with the statement (the session keeps the server's default).
    const page = await call(h.certificates, "listCertificates", SHORT_NEEDLE);
    expect(page.certificates.map((c) => c.subject?.commonName)).toEqual(["lab.example.com"]);
    expect((await issue(h, "after")).certificate?.certificateId).toBeTruthy();
    expect(await onAppConnection(h, "select pg_backend_pid() as v")).toBe(pidBefore);
    expect(await onAppConnection(h, "select current_setting('statement_timeout') as v")).toBe(
      await holder.defaultTimeout(),
    );
  });
});

describe("ListCertificates with CERTMINT_LIST_QUERY_TIMEOUT_MS=0 (off)", () => {
  let h: TestCertmint;
  let holder: Awaited<ReturnType<typeof tableLockHolder>>;

  beforeAll(async () => {
    h = await startServer("0");
    holder = await tableLockHolder(h, "certificate");
  });
  afterAll(async () => {
    await holder?.release().catch(() => undefined);
    await holder?.end();
    await h?.stop();
  });

  it("waits for the lock and completes once it is released", async () => {
    await holder.lock();
    let settled = false;
    const listed = call(h.certificates, "listCertificates", SHORT_NEEDLE);
    listed.then(
      () => (settled = true),
      () => (settled = true),
    );
    try {
      await waitFor("the list query to wait on the lock", async () => {
        const waiting = await lockWaiters(h, "certificate");
        return waiting.length === 1 && !waiting[0]!.query.includes("statement_timeout");
      });
      expect(settled).toBe(false);
    } finally {
      await holder.release();
    }
    const page = await listed;
    expect(page.certificates.map((c) => c.subject?.commonName)).toEqual(["lab.example.com"]);
  });

  it("a caller that cancels cancels its query, while the lock is still held; the connection serves on", async () => {
    const pidBefore = await onAppConnection(h, "select pg_backend_pid() as v");
    await holder.lock();
    try {
      // With a deadline the statement carries the time left (here the setting is off).
      const pending = h.certificates.listCertificates(
        SHORT_NEEDLE,
        new Metadata(),
        { deadline: Date.now() + 600_000 },
        () => undefined,
      );
      await waitFor("the list query to wait on the lock", async () => {
        const waiting = await lockWaiters(h, "certificate");
        return (
          waiting.length === 1 && /^set local statement_timeout = \d+; /.test(waiting[0]!.query)
        );
      });
      const [{ query }] = await lockWaiters(h, "certificate");
      const ms = Number(/statement_timeout = (\d+);/.exec(query!)![1]);
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(600_000);
      pending.cancel();
      await waitFor("the cancelled query to stop waiting", async () => {
        return (await lockWaiters(h, "certificate")).length === 0;
      });
      // Still held: the query ended because it was cancelled, not because the lock went.
      const [held] = await h.db.query<{ n: number }>(
        `select count(*)::int as n from pg_locks
          where relation = 'certificate'::regclass and mode = 'AccessExclusiveLock' and granted`,
      );
      expect(held!.n).toBe(1);
    } finally {
      await holder.release();
    }
    const page = await call(h.certificates, "listCertificates", SHORT_NEEDLE);
    expect(page.certificates.map((c) => c.subject?.commonName)).toEqual(["lab.example.com"]);
    expect((await issue(h, "after-cancel")).certificate?.certificateId).toBeTruthy();
    expect(await onAppConnection(h, "select pg_backend_pid() as v")).toBe(pidBefore);
  });
});

describe("listReadBound: the setting, or the call's time left when that is shorter", () => {
  const now = 1_000_000;
  const at = (ms: number) => ({ deadlineAt: now + ms });
  it.each([
    ["setting, no deadline", 3000, {}, 3000, false],
    ["setting before the deadline", 3000, at(5000), 3000, false],
    ["deadline before the setting", 3000, at(1000), 1000, true],
    ["off, no deadline", 0, {}, 0, false],
    ["off, with a deadline", 0, at(700), 700, true],
    ["a deadline already past", 3000, at(-5), 1, true],
  ])("%s", (_, setting, callish, timeoutMs, byDeadline) => {
    const { bound, byDeadline: by } = listReadBound(setting as number, callish, now);
    expect({ timeoutMs: bound.timeoutMs, byDeadline: by }).toEqual({ timeoutMs, byDeadline });
  });
});
