/**
 * A request that would wait for approval is recorded only while its requester holds: the access
 * token not revoked (and, for ACME, the account valid: test/acme/stop48-acme-admin-e2e.test.ts),
 * read FOR SHARE in the transaction that records it (store/repositories/issuance.ts
 * recordWaitingRequest). An IssueCertificate that passed authentication, then waited while its
 * token was revoked, is refused TOKEN_REVOKED with nothing recorded; until stop 48 of 2026-12-06
 * its request was left waiting for an approver (an outside probe, F1, found it for ACME).
 * The call is held deterministically: the test's session holds the advisory lock the record
 * takes first, and lets it go once the revocation has committed.
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

/** store/repositories/issuance.ts WAITING_LOCK_CLASS ("wait"). */
const WAITING_LOCK_CLASS = 0x77616974;

describe("a request waiting for approval, its token revoked meanwhile", () => {
  let h: TestCertmint;
  let holder: Client;

  beforeAll(async () => {
    h = await startTestCertmint();
    holder = new Client({ connectionString: h.db.url });
    await holder.connect();
  });
  afterAll(async () => {
    await holder?.end();
    await h?.stop();
  });

  it("is refused TOKEN_REVOKED and records nothing", async () => {
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
    let held: ReturnType<typeof rpcError> | undefined;
    try {
      held = rpcError(
        call(
          issuer.clients.certificates,
          "issueCertificate",
          attrRequest("gated", { cn: "held.example.com", dns: ["held.example.com"] }),
        ),
      );
      await waitFor("the call to wait for the advisory lock", async () => {
        const rows = await holder.query(
          "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'advisory'",
        );
        return rows.rowCount === 1;
      });
      await call(h.accessTokens, "revokeAccessToken", {
        accessToken: issuer.id,
        revokeCreatedTokens: false,
      });
    } finally {
      await holder.query("select pg_advisory_unlock_all()");
    }
    const err = await held!;
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(err.reason).toBe("TOKEN_REVOKED");
    expect(err.message).toContain("nothing was recorded");
    const rows = await holder.query(
      "select status from certificate_request where caller = $1 and status = 'PENDING_APPROVAL'",
      [issuer.id],
    );
    expect(rows.rows).toEqual([]);
  });
});
