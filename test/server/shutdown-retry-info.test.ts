/**
 * SERVER_STOPPING at the end of a stop's grace period carries a RetryInfo, as the README's
 * Errors section promises when a retry may succeed (another replica, or this one restarted,
 * serves it; its request_id makes it safe). Until stop 43 of 2026-12-06 it came without one
 * (an outside probe, F8); SERVER_NOT_READY is in test/server/start-up-states.test.ts.
 *
 * The call is held as in test/server/shutdown-in-flight.test.ts: the test's own session holds
 * the advisory lock a request waiting for approval takes on its token.
 */
import { type ServiceError, status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RetryInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { waitFor } from "../support/wait";

const WAITING_LOCK_CLASS = 0x77616974;

describe("a call answered SERVER_STOPPING past the grace period", () => {
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

  it("carries a RetryInfo of 1 s", async () => {
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
    const held = call(
      issuer.clients.certificates,
      "issueCertificate",
      attrRequest("gated", { cn: "held.example.com", dns: ["held.example.com"] }),
    ).then(
      () => undefined,
      (err: ServiceError) => err,
    );
    await waitFor("the call to wait for the lock", async () => {
      const rows = await holder.query(
        "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'advisory'",
      );
      return rows.rowCount === 1;
    });

    await h.running.shutdown();
    await holder.query("select pg_advisory_unlock_all()");
    const err = await held;
    expect(err?.code).toBe(status.UNAVAILABLE);
    const details = Status.decode(
      err!.metadata.get("grpc-status-details-bin")[0] as Buffer,
    ).details;
    expect(details.map((d) => d.typeUrl.split(".").at(-1))).toEqual(["ErrorInfo", "RetryInfo"]);
    expect(RetryInfo.decode(details[1]!.value).retryDelay).toEqual({ seconds: "1", nanos: 0 });
  });
});
