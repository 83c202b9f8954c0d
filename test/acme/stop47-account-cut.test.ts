/**
 * Stop 47: an ACME finalize in flight when its account is deactivated (RFC 8555 7.3.6). Until
 * stop 47 of 2026-12-06 a finalize checked its account when the request arrived and never
 * again: an account deactivated while its certificate was being signed still got it stored and
 * handed out. The storing statement now holds the account's row FOR SHARE while its status is
 * still 'valid' (the lone statement, and the batched statement of concurrent issuances, which
 * locks each distinct account once): a deactivation that commits first leaves nothing stored,
 * the finalize answers 401 `unauthorized` and the order is invalid.
 *
 * Deterministic: a second session runs the deactivation's own UPDATE of the account row (as
 * acme/handlers/accounts.ts updateAccount does, the first statement of its transaction) and
 * keeps its transaction open; the test waits until the finalize's store waits for that row in
 * PostgreSQL (pg_locks, not granted), then commits. For the batched store, a third account's
 * lone finalize is held on its own row first, so that the other finalizes queue behind it (one
 * store statement at a time) and go as one batch once it is let go.
 *
 * Also (stop 47, task 2): a finalize that issued writes one "ACME certificate issued" line naming
 * the certificate as a gRPC call's line does (`issued`: serial, certificateId, ca, caId,
 * notAfter), never a key; a refused one writes none.
 */
import { Client } from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { OrmIssuanceRepository } from "../../src/store/repositories/issuance";
import { StatementBatches } from "../../src/store/statement-batches";
import { opensslCsr } from "../support/fixtures";
import { waitFor } from "../support/wait";
import { type AcmeServer, startAcmeServer } from "./helpers";
import { AcmeTestClient, b64u, type HttpResult } from "./jws-client";

const ACME = "urn:ietf:params:acme:error:";

type Finalize = { result: Promise<HttpResult>; done: () => boolean };

describe("an ACME finalize in flight when its account is deactivated", () => {
  let s: AcmeServer;
  let rootId = "";

  beforeAll(async () => {
    s = await startAcmeServer({ CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0" });
    rootId = (
      await s.h.db.query<{ id: string }>("select id from certificate_authority where slug = 'root'")
    )[0]!.id;
  });
  afterAll(async () => {
    await s?.h.stop();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const count = async (table: string, where = "true", params: unknown[] = []) =>
    Number(
      (
        await s.h.db.query<{ n: string }>(
          `select count(*) as n from ${table} where ${where}`,
          params,
        )
      )[0]!.n,
    );

  /** A registered client and its account id. */
  const account = async () => {
    const c = new AcmeTestClient(s.directory(), s.tlsCaFile);
    const r = await c.register();
    expect(r.status).toBe(201);
    return { c, id: c.kid!.split("/").at(-1)! };
  };

  /**
   * An order of `c` for `name`, made ready in PostgreSQL (its authorization valid, as a
   * validated challenge leaves it): this test is about the finalize, not the challenge.
   */
  const readyOrder = async (c: AcmeTestClient, name: string) => {
    const order = await c.newOrder([name]);
    expect(order.status, order.text).toBe(201);
    const url = order.headers.location as string;
    const id = url.split("/").at(-1)!;
    await s.h.db.query("update acme_authorization set status = 'valid' where order_id = $1", [id]);
    await s.h.db.query("update acme_order set status = 'ready' where id = $1", [id]);
    return { url, id, finalize: order.json.finalize as string, name };
  };

  const finalize = (c: AcmeTestClient, order: { finalize: string; name: string }): Finalize => {
    let done = false;
    const csr = opensslCsr(`/CN=${order.name}`, [`DNS:${order.name}`]);
    const result = c.post(order.finalize, { csr: b64u(pemToDer(csr.csrPem)) }).finally(() => {
      done = true;
    });
    return { result, done: () => done };
  };

  /**
   * Statements of this database waiting in PostgreSQL for a lock `holder`'s session holds: its
   * only lock is the account row's (pg_blocking_pids; pg_stat_activity's text of the batched
   * statement is cut before its acme_account guard, track_activity_query_size).
   */
  const waitingOn = async (holder: { pid: number }) => {
    const [w] = await s.h.db.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity
        where datname = current_database() and $1::int = any(pg_blocking_pids(pid))`,
      [holder.pid],
    );
    return Number(w!.n);
  };

  /**
   * A session in the middle of a change of the account's row, its transaction left open: the
   * deactivation's own UPDATE (updateAccount's statement: status, contact, updated_at; no key
   * column, so FOR NO KEY UPDATE), the same with status 'revoked' (the schema allows it; nothing
   * in certmint sets it yet), or a key rollover's (replaceAccountKey: key_thumbprint has a
   * unique index, so FOR UPDATE). `commit` ends it as the handler's transaction does;
   * `rollback` as one that failed.
   */
  const changeAccount = async (
    accountId: string,
    change: "deactivate" | "revoke" | "contact" | "rollover",
  ) => {
    const session = new Client({ connectionString: s.h.db.url });
    await session.connect();
    const pid = (await session.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!
      .pid;
    await session.query("begin");
    if (change === "rollover") {
      await session.query(
        `update acme_account set key_thumbprint = $1, updated_at = now() where id = $2`,
        [`rolled-${accountId}`, accountId],
      );
    } else {
      await session.query(
        `update acme_account set status = coalesce($1, status), contact = coalesce($2::jsonb, contact), updated_at = now()
          where id = $3`,
        change === "contact"
          ? [null, JSON.stringify(["mailto:new@example.com"]), accountId]
          : [change === "revoke" ? "revoked" : "deactivated", null, accountId],
      );
    }
    return {
      pid,
      commit: () => session.query("commit"),
      rollback: () => session.query("rollback"),
      end: () => session.end(),
    };
  };

  /** A finalize refused as RFC 8555 7.3.6 says, its order invalid with that problem. */
  const expectRefused = async (
    order: { url: string; id: string },
    res: HttpResult,
    status = "deactivated",
  ) => {
    expect(res.status, res.text).toBe(401);
    expect(res.json.type).toBe(`${ACME}unauthorized`);
    expect(res.json.detail).toContain(`the account is ${status}`);
    const [row] = await s.h.db.query<{
      status: string;
      certificate_id: string | null;
      certificate_request_id: string | null;
      error: { type: string } | null;
    }>(
      "select status, certificate_id, certificate_request_id, error from acme_order where id = $1",
      [order.id],
    );
    expect(row).toMatchObject({
      status: "invalid",
      certificate_id: null,
      certificate_request_id: null,
      error: { type: `${ACME}unauthorized` },
    });
  };

  /** Nothing of the account's finalizes is stored: no request, no change record, no log line. */
  const expectNothingStoredBy = async (accountId: string) => {
    expect(await count("certificate_request", "caller = $1", [accountId])).toBe(0);
    expect(
      await count(
        "audit_record",
        "actor_id = $1 and resource_type = 'certificate_request' and status_code = 0",
        [accountId],
      ),
    ).toBe(0);
    expect(issuedLines().filter((l) => l.account === accountId)).toEqual([]);
  };

  const issuedLines = () => s.h.logs.filter((l) => l.msg === "ACME certificate issued");

  /** The finalize issued: the order valid, and one log line naming its certificate. */
  const expectIssued = async (order: { id: string }, res: HttpResult, accountId: string) => {
    expect(res.status, res.text).toBe(200);
    expect(res.json.status).toBe("valid");
    const [row] = await s.h.db.query<{
      certificate_id: string;
      serial_number: string;
      not_after: Date;
    }>(
      `select o.certificate_id, c.serial_number, c.not_after from acme_order o
         join certificate c on c.id = o.certificate_id where o.id = $1`,
      [order.id],
    );
    expect(row, "the order's certificate is stored").toBeDefined();
    const lines = issuedLines().filter((l) => l.order === order.id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      method: "/acme/finalize",
      profile: "web-acme",
      account: accountId,
      issued: {
        certificateId: row!.certificate_id,
        serial: row!.serial_number.toLowerCase(),
        ca: "root",
        caId: rootId,
        notAfter: row!.not_after.toISOString(),
      },
    });
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain("BEGIN");
    expect(text).not.toContain("PRIVATE");
  };

  it.each(["deactivated", "revoked"] as const)(
    "a lone finalize stores nothing once the account's change to %s committed: 401 unauthorized, the order invalid",
    async (status) => {
      const { c, id: accountId } = await account();
      const order = await readyOrder(c, `cut-${status}.acme.localhost`);
      const certificatesBefore = await count("certificate");
      const deactivation = await changeAccount(
        accountId,
        status === "revoked" ? "revoke" : "deactivate",
      );
      let res: HttpResult;
      try {
        const inFlight = finalize(c, order);
        await waitFor(
          "the finalize's store to wait for the account's row, or to finish",
          async () => inFlight.done() || (await waitingOn(deactivation)) > 0,
        );
        expect(inFlight.done(), "the finalize's store waits for the account's row").toBe(false);
        await deactivation.commit();
        res = await inFlight.result;
      } finally {
        await deactivation.end();
      }
      await expectRefused(order, res, status);
      expect(await count("certificate")).toBe(certificatesBefore);
      await expectNothingStoredBy(accountId);
      // The account is no longer valid for good: its next request is refused as well.
      const again = await c.post(order.url, "");
      expect(again.status).toBe(401);
      expect(again.json.type).toBe(`${ACME}unauthorized`);
    },
  );

  it.each([
    ["contact change committed", "contact"],
    ["key rollover committed", "rollover"],
    ["deactivation rolled back", "deactivate"],
  ] as const)(
    "a finalize that waited for a change of its account that left it valid (%s) is issued",
    async (what, change_) => {
      const { c, id: accountId } = await account();
      const order = await readyOrder(c, `kept-${change_}.acme.localhost`);
      const change = await changeAccount(accountId, change_);
      let res: HttpResult;
      try {
        const inFlight = finalize(c, order);
        await waitFor(
          "the finalize's store to wait for the account's row, or to finish",
          async () => inFlight.done() || (await waitingOn(change)) > 0,
        );
        expect(inFlight.done(), "the finalize's store waits for the account's row").toBe(false);
        await (what.endsWith("rolled back") ? change.rollback() : change.commit());
        res = await inFlight.result;
      } finally {
        await change.end();
      }
      await expectIssued(order, res, accountId);
    },
  );

  it("in a batched store, a deactivated account's finalizes store nothing and another account's are issued", async () => {
    const head = await account();
    const leaked = await account();
    const other = await account();
    const PER_ACCOUNT = 3;
    const headOrder = await readyOrder(head.c, "head.acme.localhost");
    const leakedOrders = await Promise.all(
      Array.from({ length: PER_ACCOUNT }, (_, i) =>
        readyOrder(leaked.c, `leaked-${i}.acme.localhost`),
      ),
    );
    const otherOrders = await Promise.all(
      Array.from({ length: PER_ACCOUNT }, (_, i) =>
        readyOrder(other.c, `other-${i}.acme.localhost`),
      ),
    );
    const certificatesBefore = await count("certificate");
    // Stores submitted (the store queue's items carry a certificate; reads do not), and the
    // sizes of the batched statements run.
    let stores = 0;
    const run = StatementBatches.prototype.run;
    vi.spyOn(StatementBatches.prototype, "run").mockImplementation(function (
      this: StatementBatches<unknown, unknown>,
      item: unknown,
    ) {
      if (item && typeof item === "object" && "certificate" in item) stores++;
      return run.call(this, item);
    });
    const batches: number[] = [];
    const repository = OrmIssuanceRepository.prototype as unknown as {
      storeMany: (items: unknown[]) => Promise<unknown>;
    };
    const storeMany = repository.storeMany;
    vi.spyOn(repository, "storeMany").mockImplementation(function (
      this: unknown,
      items: unknown[],
    ) {
      batches.push(items.length);
      return storeMany.call(this, items);
    });

    const deactivation = await changeAccount(leaked.id, "deactivate");
    // The head account's row held by a change that leaves it valid (rolled back below).
    const headHolder = await changeAccount(head.id, "contact");
    let headRes: HttpResult;
    let leakedRes: HttpResult[];
    let otherRes: HttpResult[];
    try {
      // A lone finalize of a third account holds the store (one statement at a time) on its row...
      const first = finalize(head.c, headOrder);
      await waitFor(
        "the first finalize's store to wait for its account's row, or to finish",
        async () => first.done() || (await waitingOn(headHolder)) > 0,
      );
      // ...while the others are signed and queue behind it: they go as one batch.
      const leakedCalls = leakedOrders.map((o) => finalize(leaked.c, o));
      const otherCalls = otherOrders.map((o) => finalize(other.c, o));
      const calls = [...leakedCalls, ...otherCalls];
      await waitFor(
        "every finalize to queue its store behind the first, or to finish",
        () => stores >= 1 + 2 * PER_ACCOUNT || calls.every((x) => x.done()),
      );
      await headHolder.rollback();
      headRes = await first.result;
      // The batch waits for the leaked account's row (the deactivation's transaction holds it).
      await waitFor(
        "the batched store to wait for the deactivated account's row, or to finish",
        async () => calls.every((x) => x.done()) || (await waitingOn(deactivation)) > 0,
      );
      await deactivation.commit();
      leakedRes = await Promise.all(leakedCalls.map((x) => x.result));
      otherRes = await Promise.all(otherCalls.map((x) => x.result));
    } finally {
      await deactivation.end();
      await headHolder.end();
    }
    await expectIssued(headOrder, headRes, head.id);
    for (const [i, res] of leakedRes.entries()) await expectRefused(leakedOrders[i]!, res);
    await expectNothingStoredBy(leaked.id);
    for (const [i, res] of otherRes.entries()) await expectIssued(otherOrders[i]!, res, other.id);
    expect(await count("certificate_request", "caller = $1", [other.id])).toBe(PER_ACCOUNT);
    expect(await count("certificate")).toBe(certificatesBefore + 1 + PER_ACCOUNT);
    // They went through the batched statement, all of them at once.
    expect(batches).toEqual([2 * PER_ACCOUNT]);
  });
});

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}
