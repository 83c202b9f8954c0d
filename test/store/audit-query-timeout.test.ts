/**
 * A ListAuditRecords page whose query cannot finish (a method or failures_only filter no index
 * serves walks the whole trail) is bounded as ListCertificates' is (list-query-timeout.test.ts):
 * PostgreSQL cancels it at CERTMINT_LIST_QUERY_TIMEOUT_MS and the caller gets RESOURCE_EXHAUSTED
 * with LIST_QUERY_TIMEOUT; a caller that cancels cancels its query. A query that cannot finish
 * is made deterministically: another session holds audit_record's ACCESS EXCLUSIVE lock (a lock
 * wait counts toward statement_timeout). Once released, the pages are the rows PostgreSQL holds,
 * newest first, as em.find read them. Over gRPC, on an in-process server.
 */
import { Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditRecord, ListAuditRecordsRequest } from "../../gen/ts/certmint/v1/audit_service";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  call,
  decodeError,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import {
  errorInfoMetadata,
  lockWaiters,
  onAppConnection,
  tableLockHolder,
} from "../support/table-lock";
import { waitFor } from "../support/wait";

const ISSUE = "/certmint.v1.CertificateService/IssueCertificate";

/** Filters no index serves: the trail is read newest first until a page is full. */
const UNINDEXED = ListAuditRecordsRequest.fromPartial({ method: ISSUE, failuresOnly: true });

/**
 * A server on a pool of one connection (every statement on it), with a few audit records: a
 * root CA created, three certificates issued, one issuance refused.
 */
async function startServer(listQueryTimeoutMs: string): Promise<TestCertmint> {
  const h = await startTestCertmint({
    CERTMINT_LIST_QUERY_TIMEOUT_MS: listQueryTimeoutMs,
    CERTMINT_DATABASE_POOL_SIZE: "1",
    CERTMINT_DATABASE_IDLE_TIMEOUT_MS: "3600000",
    CERTMINT_RENEWAL_ENABLED: "false",
  });
  const root = await createRoot(h, "root");
  await createProfileRows(h, { caId: root.id, slug: "web" });
  for (const host of ["lab-0", "lab-1", "lab-2"]) await issue(h, host);
  // Denied by the policy (*.evil.example.com): a refusal, audited with its status.
  await expectRpcError(issue(h, "x.evil"));
  return h;
}

const issue = (h: TestCertmint, host: string) =>
  call(
    h.certificates,
    "issueCertificate",
    attrRequest("web", { cn: `${host}.example.com`, dns: [`${host}.example.com`] }),
  );

const list = (h: TestCertmint, request: Partial<ListAuditRecordsRequest>) =>
  call(h.audit, "listAuditRecords", ListAuditRecordsRequest.fromPartial(request));

/** The records matching `where`, newest first, read from PostgreSQL, as the API shows them. */
async function expectedRecords(
  h: TestCertmint,
  where: string,
  params: unknown[] = [],
): Promise<AuditRecord[]> {
  const rows = await h.db.query<{
    id: string;
    created_at: Date;
    actor_id: string | null;
    actor_slug: string;
    method: string;
    resource_type: string;
    resource_id: string;
    status_code: number;
    error_reason: string;
    request_id: string;
    peer: string;
    changes: unknown[] | null;
  }>(`select * from audit_record where ${where} order by created_at desc, id desc`, params);
  return rows.map((r) => ({
    id: r.id,
    createTime: r.created_at,
    actor: r.actor_id ?? "",
    actorSlug: r.actor_slug,
    method: r.method,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    statusCode: r.status_code,
    errorReason: r.error_reason,
    requestId: r.request_id,
    peer: r.peer,
    changes: (r.changes ?? []) as AuditRecord["changes"],
  }));
}

/** Every page of a list of `pageSize`, following the page tokens. */
async function pages(
  h: TestCertmint,
  request: Partial<ListAuditRecordsRequest>,
  pageSize: number,
): Promise<AuditRecord[][]> {
  const out: AuditRecord[][] = [];
  let pageToken = "";
  do {
    const page = await list(h, { ...request, pageSize, pageToken });
    out.push(page.auditRecords);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

/** `records` cut into pages of `size`. */
const chunks = <T>(records: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(records.length / size) }, (_, i) =>
    records.slice(i * size, (i + 1) * size),
  );

/** Whether another session still holds audit_record's ACCESS EXCLUSIVE lock. */
async function lockHeld(h: TestCertmint): Promise<boolean> {
  const [held] = await h.db.query<{ n: number }>(
    `select count(*)::int as n from pg_locks
      where relation = 'audit_record'::regclass and mode = 'AccessExclusiveLock' and granted`,
  );
  return held!.n === 1;
}

describe("ListAuditRecords with CERTMINT_LIST_QUERY_TIMEOUT_MS=200", () => {
  let h: TestCertmint;
  let holder: Awaited<ReturnType<typeof tableLockHolder>>;

  beforeAll(async () => {
    h = await startServer("200");
    holder = await tableLockHolder(h, "audit_record");
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
      const listed = list(h, UNINDEXED);
      listed.then(
        () => (settled = true),
        () => (settled = true),
      );
      // Either the call ends, or its statement is seen waiting for the lock: then it must carry
      // its bound (without it, it would wait for as long as the lock is held).
      await waitFor("the list call to end or its query to wait on the lock", async () => {
        if (settled) return true;
        waiting = await lockWaiters(h, "audit_record");
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
      expect(decoded.message).toContain(
        "the audit query ran longer than 200 ms (CERTMINT_LIST_QUERY_TIMEOUT_MS)",
      );
      expect(decoded.message).toContain("No index serves method, failures_only");
      expect(decoded.message).toContain(
        "Narrow it: a resource_id, an actor that names an access token",
      );
      expect(errorInfoMetadata(err)).toEqual({
        setting: "CERTMINT_LIST_QUERY_TIMEOUT_MS",
        timeout_ms: "200",
      });
      // Cancelled while the lock is still held: nothing of it is left waiting.
      expect(await lockHeld(h)).toBe(true);
      expect(await lockWaiters(h, "audit_record")).toEqual([]);
    } finally {
      await holder.release();
    }
    // The connection: the same one, and the timeout ended with the statement.
    expect(await onAppConnection(h, "select pg_backend_pid() as v")).toBe(pidBefore);
    expect(await onAppConnection(h, "select current_setting('statement_timeout') as v")).toBe(
      await holder.defaultTimeout(),
    );
  });

  it("released: the pages are the records PostgreSQL holds, newest first, through the page token, with filters", async () => {
    const all = await expectedRecords(h, "true");
    expect(all.length).toBeGreaterThanOrEqual(5);
    // Every record, two to a page: the second page and those after come through the token.
    expect(await pages(h, {}, 2)).toEqual(chunks(all, 2));
    expect(await pages(h, {}, 0)).toEqual([all]);
    // Filters no index serves (the call that timed out above).
    const refused = await expectedRecords(h, "method = $1 and status_code <> 0", [ISSUE]);
    expect(refused).toHaveLength(1);
    expect(await pages(h, UNINDEXED, 2)).toEqual([refused]);
    const issued = await expectedRecords(h, "method = $1", [ISSUE]);
    expect(issued).toHaveLength(4);
    expect(await pages(h, { method: ISSUE }, 3)).toEqual(chunks(issued, 3));
    // By resource (its index) and by actor (its index).
    const ofCa = all.find((r) => r.resourceType === "certificate_authority")!;
    expect(await pages(h, { resourceId: ofCa.resourceId }, 1)).toEqual(
      chunks(await expectedRecords(h, "resource_id = $1", [ofCa.resourceId]), 1),
    );
    expect(await pages(h, { actor: ofCa.actor }, 3)).toEqual(
      chunks(await expectedRecords(h, "actor_id = $1", [ofCa.actor]), 3),
    );
    // A time range: from the third newest record (inclusive) to the newest (exclusive).
    const range = { startTime: all[2]!.createTime, endTime: all[0]!.createTime };
    expect(await pages(h, range, 1)).toEqual(
      chunks(
        await expectedRecords(h, "created_at >= $1 and created_at < $2", [
          range.startTime,
          range.endTime,
        ]),
        1,
      ),
    );
    // An issuance still writes its record.
    await issue(h, "after");
    expect((await list(h, { pageSize: 1 })).auditRecords).toEqual(
      (await expectedRecords(h, "true")).slice(0, 1),
    );
  });
});

describe("ListAuditRecords with CERTMINT_LIST_QUERY_TIMEOUT_MS=0 (off)", () => {
  let h: TestCertmint;
  let holder: Awaited<ReturnType<typeof tableLockHolder>>;

  beforeAll(async () => {
    h = await startServer("0");
    holder = await tableLockHolder(h, "audit_record");
  });
  afterAll(async () => {
    await holder?.release().catch(() => undefined);
    await holder?.end();
    await h?.stop();
  });

  it("waits for the lock and completes once it is released", async () => {
    await holder.lock();
    let settled = false;
    const listed = list(h, UNINDEXED);
    listed.then(
      () => (settled = true),
      () => (settled = true),
    );
    try {
      await waitFor("the list query to wait on the lock", async () => {
        const waiting = await lockWaiters(h, "audit_record");
        return waiting.length === 1 && !waiting[0]!.query.includes("statement_timeout");
      });
      expect(settled).toBe(false);
    } finally {
      await holder.release();
    }
    expect((await listed).auditRecords).toEqual(
      await expectedRecords(h, "method = $1 and status_code <> 0", [ISSUE]),
    );
  });

  it("a caller that cancels cancels its query, while the lock is still held; the connection serves on", async () => {
    const pidBefore = await onAppConnection(h, "select pg_backend_pid() as v");
    await holder.lock();
    try {
      // With a deadline the statement carries the time left (here the setting is off).
      const pending = h.audit.listAuditRecords(
        UNINDEXED,
        new Metadata(),
        { deadline: Date.now() + 600_000 },
        () => undefined,
      );
      await waitFor("the list query to wait on the lock", async () => {
        const waiting = await lockWaiters(h, "audit_record");
        return (
          waiting.length === 1 && /^set local statement_timeout = \d+; /.test(waiting[0]!.query)
        );
      });
      const [{ query }] = await lockWaiters(h, "audit_record");
      const ms = Number(/statement_timeout = (\d+);/.exec(query!)![1]);
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(600_000);
      pending.cancel();
      await waitFor("the cancelled query to stop waiting", async () => {
        return (await lockWaiters(h, "audit_record")).length === 0;
      });
      // Still held: the query ended because it was cancelled, not because the lock went.
      expect(await lockHeld(h)).toBe(true);
    } finally {
      await holder.release();
    }
    expect((await list(h, { pageSize: 2 })).auditRecords).toEqual(
      (await expectedRecords(h, "true")).slice(0, 2),
    );
    await issue(h, "after-cancel");
    expect(await onAppConnection(h, "select pg_backend_pid() as v")).toBe(pidBefore);
  });
});
