/**
 * A stop whose grace period (CERTMINT_SHUTDOWN_GRACE_MS) runs out with a unary call still at
 * work answers that call UNAVAILABLE (SERVER_STOPPING), a code clients retry, before it closes
 * the connections. Until 2026-12-04 the connections were closed under it and the client saw
 * CANCELLED, which it has no reason to retry (found by the outage review,
 * test/probe/outage-processes.test.ts).
 *
 * The call is held deterministically: the test's own session holds the advisory lock that a
 * request waiting for approval takes on its token (store/repositories/issuance.ts,
 * recordWaitingRequest), so the call waits in PostgreSQL until the lock is given back.
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  Role,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { waitFor } from "../support/wait";

const WAITING_LOCK_CLASS = 0x77616974;

describe("a stop past its grace period", () => {
  let h: TestCertmint;
  let holder: Client;

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_SHUTDOWN_GRACE_MS: "300" });
    holder = new Client({ connectionString: h.db.url });
    await holder.connect();
  });
  afterAll(async () => {
    await holder?.end();
    await h?.db.drop();
  });

  it("answers a call still at work UNAVAILABLE (SERVER_STOPPING), not CANCELLED", async () => {
    const root = await createRoot(h, "root");
    const gated = await createProfileRows(h, {
      caId: root.id,
      slug: "gated",
      requireApproval: true,
    });
    const issuer = await createToken(h, "gated-issuer", Role.ROLE_ISSUER, [gated.profileId]);
    await holder.query("select pg_advisory_lock($1::int4, hashtext($2))", [
      WAITING_LOCK_CLASS,
      issuer.id,
    ]);
    const held = rpcError(
      call(
        issuer.clients.certificates,
        "issueCertificate",
        attrRequest("gated", { cn: "held.example.com", dns: ["held.example.com"] }),
      ),
    );
    await waitFor("the call to wait for the lock", async () => {
      const rows = await holder.query(
        "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'advisory'",
      );
      return rows.rowCount === 1;
    });

    await h.running.shutdown();
    const err = await held;
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.reason).toBe("SERVER_STOPPING");
    expect(err.message).toContain("request_id");
    expect(
      h.logs.some(
        (l) =>
          l.msg === "grace period over: calls still in flight answered UNAVAILABLE" &&
          l.answered === 1,
      ),
    ).toBe(true);

    // The call's transaction was rolled back when the server's connections closed: nothing of
    // it is stored.
    await holder.query("select pg_advisory_unlock_all()");
    const rows = await holder.query("select 1 from certificate_request where caller = $1", [
      issuer.id,
    ]);
    expect(rows.rowCount).toBe(0);
  });
});
