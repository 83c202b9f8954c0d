/**
 * An admin's IssueCertificate racing RevokeAccessToken of the admin. An admin may issue on every
 * profile, including a certificate an admin client-certificate binding accepts: a credential.
 * Until stop 45 of 2026-12-06 an admin's issuance in flight stored its certificate seconds
 * after the admin's revocation had been answered OK (an outside probe: a leaked admin token,
 * revoked on another replica). An admin's issuance now reads its token again, FOR SHARE, in
 * the transaction that stores the certificate: a revocation committed before is seen
 * (UNAUTHENTICATED TOKEN_REVOKED, nothing stored), one after waits for the commit. An issuer's
 * leaf keeps its one-statement store.
 *
 * Deterministic: the test holds the admin's token row (as the revocation's transaction does),
 * lets the issuance reach its read of it, revokes the token in that transaction, and commits.
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatedKeyRequest } from "../support/issue-request";
import { waitFor } from "../support/wait";
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
} from "./helpers";

describe("an admin's issuance racing the admin's revocation", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const waitsOnTokenRow = async () => {
    const [w] = await h.db.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'
          and query ilike '%from "access_token"%for share%'`,
    );
    return Number(w!.n) > 0;
  };

  it("stores nothing once the revocation committed; an admin in force still issues", async () => {
    const leaked = await createToken(h, "leaked-admin", Role.ROLE_ADMIN, []);
    const before = await countRows(h, "certificate");
    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    let outcome: { res?: { status?: number }; err?: unknown };
    try {
      await holder.query("begin");
      await holder.query("select id from access_token where id = $1 for update", [leaked.id]);
      let done = false;
      const issuance = call(
        leaked.clients.certificates,
        "issueCertificate",
        generatedKeyRequest("web", "admin-in-flight.example.com"),
      )
        .then(
          (res) => ({ res }),
          (err: unknown) => ({ err }),
        )
        .finally(() => {
          done = true;
        });
      await waitFor(
        "the issuance to read the admin's token, or to finish",
        async () => done || (await waitsOnTokenRow()),
      );
      await holder.query("update access_token set revoked_at = now() where id = $1", [leaked.id]);
      await holder.query("commit");
      outcome = await issuance;
    } finally {
      await holder.end();
    }
    expect("err" in outcome, "the revoked admin's issuance must be refused").toBe(true);
    expect(decodeFull(outcome.err)).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "TOKEN_REVOKED",
    });
    expect(await countRows(h, "certificate")).toBe(before);
    // The bootstrap admin, in force, issues as before.
    const issued = await call(
      h.certificates,
      "issueCertificate",
      generatedKeyRequest("web", "admin-after.example.com"),
    );
    expect(issued.status).toBe(ISSUED);
  });
});
