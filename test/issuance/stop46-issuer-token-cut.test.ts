/**
 * An issuer's IssueCertificate in flight when its token is revoked. An issuer's certificate is
 * a credential too (another service's mTLS client); until stop 46 of 2026-12-06 only an admin's
 * store read its token again (stop 45), and an issuer's issuance in flight stored its
 * certificate after RevokeAccessToken of it had answered OK. Every issuance by a token now
 * stores only while the token is not revoked, its row held FOR SHARE by the storing statement
 * to the commit: a lone call's statement, and the batched statement of concurrent calls
 * (statement-batches.ts), which locks each distinct caller's row once and stores nothing of a
 * revoked caller's calls while the other callers' are stored.
 *
 * Deterministic: the test holds the token's row FOR UPDATE (as the revocation's transaction
 * does), waits until the store waits for that row in PostgreSQL (pg_locks, not granted),
 * revokes the token in that transaction and commits. For the batched store, a third token's
 * lone call is held on its own row first, so that every other call queues behind it (one store
 * statement at a time) and they go as one batch once it is let go.
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { OrmIssuanceRepository } from "../../src/store/repositories/issuance";
import { StatementBatches } from "../../src/store/statement-batches";
import {
  call,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  decodeFull,
  ISSUED,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { generatedKeyRequest } from "../support/issue-request";
import { waitFor } from "../support/wait";

type Outcome = { res?: { status?: number }; err?: unknown };

describe("an issuer's issuance in flight when its token is revoked", () => {
  let h: TestCertmint;
  let profileId: string;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    profileId = (await createProfileRows(h, { caId: root.id, slug: "web" })).profileId;
  });
  afterAll(async () => {
    await h?.stop();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Statements of this database waiting in PostgreSQL for a lock on an access_token row. */
  /**
   * Backends of this database waiting for a lock a holder's session holds (pg_blocking_pids): by
   * who blocks them, not by their statement's text, which pg_stat_activity cuts at 1 KB (the
   * batched store's outgrew it in stop 50, and the token lock's words fell beyond the cut).
   */
  const waitingOn = async (holder: { pid: number }) => {
    const [w] = await h.db.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity
        where datname = current_database() and $1::int = any(pg_blocking_pids(pid))`,
      [holder.pid],
    );
    return Number(w!.n);
  };

  /**
   * A session holding a token's row as a revocation's transaction does: FOR UPDATE, or FOR NO
   * KEY UPDATE as RevokeAccessToken itself (lockForRevocation), whose UPDATE of revoked_at then
   * changes no key column either.
   */
  const holdToken = async (tokenId: string, lock = "for update") => {
    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    await holder.query("begin");
    await holder.query(`select id from access_token where id = $1 ${lock}`, [tokenId]);
    const [{ pid }] = (await holder.query<{ pid: number }>("select pg_backend_pid() as pid"))
      .rows as [{ pid: number }];
    return {
      pid,
      revokeAndCommit: async () => {
        await holder.query("update access_token set revoked_at = now() where id = $1", [tokenId]);
        await holder.query("commit");
      },
      release: () => holder.query("rollback"),
      end: () => holder.end(),
    };
  };

  const issue = (
    token: Awaited<ReturnType<typeof createToken>>,
    name: string,
  ): { outcome: Promise<Outcome>; done: () => boolean } => {
    let done = false;
    const outcome = call(
      token.clients.certificates,
      "issueCertificate",
      generatedKeyRequest("web", name),
    )
      .then(
        (res): Outcome => ({ res }),
        (err: unknown): Outcome => ({ err }),
      )
      .finally(() => {
        done = true;
      });
    return { outcome, done: () => done };
  };

  const expectRevoked = (outcome: Outcome) => {
    expect("err" in outcome, "the revoked issuer's issuance must be refused").toBe(true);
    expect(decodeFull(outcome.err)).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "TOKEN_REVOKED",
    });
  };

  /** Nothing of `tokenId`'s issuances is stored; its calls' audit records are refusals only. */
  const expectNothingStoredBy = async (tokenId: string) => {
    expect(await countRows(h, "certificate_request", `caller = '${tokenId}'`)).toBe(0);
    // The API layer records each refused call (UNAUTHENTICATED, TOKEN_REVOKED), never a change.
    expect(
      await countRows(
        h,
        "audit_record",
        `actor_id = '${tokenId}' and method like '%IssueCertificate' and (status_code <> ${status.UNAUTHENTICATED} or error_reason <> 'TOKEN_REVOKED')`,
      ),
    ).toBe(0);
  };

  it.each(["for update", "for no key update"])(
    "a lone issuance stores nothing once the revocation committed (its row held %s)",
    async (lock) => {
      const leaked = await createToken(
        h,
        `leaked-issuer-${lock.replace(/ /g, "-")}`,
        Role.ROLE_ISSUER,
        [profileId],
      );
      const certificatesBefore = await countRows(h, "certificate");
      const holder = await holdToken(leaked.id, lock);
      let outcome: Outcome;
      try {
        const inFlight = issue(leaked, "lone-in-flight.example.com");
        await waitFor(
          "the issuance's store to wait for the issuer's token row, or to finish",
          async () => inFlight.done() || (await waitingOn(holder)) > 0,
        );
        await holder.revokeAndCommit();
        outcome = await inFlight.outcome;
      } finally {
        await holder.end();
      }
      expectRevoked(outcome);
      expect(await countRows(h, "certificate")).toBe(certificatesBefore);
      await expectNothingStoredBy(leaked.id);
    },
  );

  it("in a batched store, a revoked issuer's calls store nothing and another issuer's are stored", async () => {
    const leaked = await createToken(h, "leaked-batch-issuer", Role.ROLE_ISSUER, [profileId]);
    const other = await createToken(h, "other-issuer", Role.ROLE_ISSUER, [profileId]);
    const first = await createToken(h, "first-issuer", Role.ROLE_ISSUER, [profileId]);
    const certificatesBefore = await countRows(h, "certificate");
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

    const leakedHolder = await holdToken(leaked.id);
    const firstHolder = await holdToken(first.id);
    const PER_TOKEN = 3;
    let leakedOutcomes: Outcome[];
    let otherOutcomes: Outcome[];
    let firstOutcome: Outcome;
    try {
      // A lone call of a third token holds the store (one statement at a time) on its row...
      const head = issue(first, "head.example.com");
      await waitFor(
        "the first issuance's store to wait for its token row, or to finish",
        async () => head.done() || (await waitingOn(firstHolder)) > 0,
      );
      // ...while the others are signed and queue behind it: they go as one batch.
      const calls = [
        ...Array.from({ length: PER_TOKEN }, (_, i) => issue(leaked, `leaked-${i}.example.com`)),
        ...Array.from({ length: PER_TOKEN }, (_, i) => issue(other, `other-${i}.example.com`)),
      ];
      await waitFor(
        "every call to queue its store behind the first, or to finish",
        () => stores >= 1 + 2 * PER_TOKEN || calls.every((c) => c.done()),
      );
      await firstHolder.release();
      firstOutcome = await head.outcome;
      // The batch waits for the leaked issuer's row (the revocation's transaction holds it).
      await waitFor(
        "the batched store to wait for the leaked issuer's token row, or to finish",
        async () => calls.every((c) => c.done()) || (await waitingOn(leakedHolder)) > 0,
      );
      await leakedHolder.revokeAndCommit();
      const outcomes = await Promise.all(calls.map((c) => c.outcome));
      leakedOutcomes = outcomes.slice(0, PER_TOKEN);
      otherOutcomes = outcomes.slice(PER_TOKEN);
    } finally {
      await leakedHolder.end();
      await firstHolder.end();
    }
    expect(firstOutcome.res?.status).toBe(ISSUED);
    for (const outcome of leakedOutcomes) expectRevoked(outcome);
    for (const outcome of otherOutcomes) {
      expect(outcome.err, "the other issuer's calls in the same batch are stored").toBeUndefined();
      expect(outcome.res?.status).toBe(ISSUED);
    }
    await expectNothingStoredBy(leaked.id);
    expect(await countRows(h, "certificate_request", `caller = '${other.id}'`)).toBe(PER_TOKEN);
    expect(await countRows(h, "certificate")).toBe(certificatesBefore + 1 + PER_TOKEN);
    // They went through the batched statement, all of them at once.
    expect(batches).toEqual([2 * PER_TOKEN]);
  });
});
