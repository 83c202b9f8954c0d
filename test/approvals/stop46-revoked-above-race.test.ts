/**
 * An issuance racing the revocation of a CA above its issuing CA: RevokeCertificateAuthority
 * revokes that CA and disables every CA below it (ca/revoke.ts), so the store's guard
 * (certmint_ca_signs) refuses the certificate of the issuing CA, now DISABLED. The caller must be
 * told FAILED_PRECONDITION CA_REVOKED naming the revoked CA, as a call that starts after the
 * revocation is (test/ca/below-revoked-refusal.test.ts), never "is disabled; enable it": a CA
 * below a revoked CA cannot be enabled again (RFC 5280 5.3.1: a CA's revocation is final).
 * Until stop 46 of 2026-12-06 the loser of the race was told CA_DISABLED "enable it"
 * (sign-then-store.ts issuerRefusal read the CA without looking above it).
 *
 * Deterministic, as test/ca/signing-guard.test.ts: the test holds the issuing CA's signing lock
 * as the revocation does, waits until the certificate's insert waits for it, revokes the CA above
 * and disables the tree in that transaction, then commits.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIntermediate, createRoot } from "../ca/helpers";
import { attrRequest, countRows, KeyAlgorithm } from "../certificates/helpers";
import { createProfileRows } from "../support/fixtures";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";

const FAILED_PRECONDITION = 9;
/** The advisory lock class of certmint_ca_signs (Migration20261205300000CaSigningGuard). */
const CA_SIGNING_LOCK_CLASS = 1128354631;

describe("an issuance racing the revocation of a CA above its CA", () => {
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

  it("is refused CA_REVOKED naming the revoked CA above, not CA_DISABLED; nothing is stored", async () => {
    await createRoot(h, "ra-root", { maxPathLength: 2 });
    const mid = await createIntermediate(h, "ra-mid", "ra-root", { maxPathLength: 1 });
    const issuing = await createIntermediate(h, "ra-issuing", mid.id);
    const { profileId } = await createProfileRows(h, { slug: "ra-web", caId: issuing.id });

    await holder.query("begin");
    await holder.query("select pg_advisory_xact_lock($1, hashtext($2::text))", [
      CA_SIGNING_LOCK_CLASS,
      issuing.id,
    ]);
    // The issuing CA reads ACTIVE for this call (nothing committed yet): it signs, and its
    // insert waits for the lock.
    const issuance = expectRpcError(
      call(
        h.certificates,
        "issueCertificate",
        attrRequest("ra-web", {
          cn: "late.ra.example.com",
          dns: ["late.ra.example.com"],
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        }),
      ),
    );
    await waitFor("the certificate's insert to wait for its CA's signing lock", async () => {
      const [w] = await h.db.query<{ n: string }>(
        "select count(*) as n from pg_locks where locktype = 'advisory' and not granted and classid = $1",
        [CA_SIGNING_LOCK_CLASS],
      );
      return Number(w!.n) > 0;
    });
    // As RevokeCertificateAuthority of ra-mid: revoked, and every CA below it disabled.
    await holder.query(
      `update certificate_authority set status = 'DISABLED', revoked_at = now(), revocation_reason = 'KEY_COMPROMISE' where id = $1`,
      [mid.id],
    );
    await holder.query(`update certificate_authority set status = 'DISABLED' where id = $1`, [
      issuing.id,
    ]);
    await holder.query("commit");

    const err = await issuance;
    expect(err.code).toBe(FAILED_PRECONDITION);
    expect(err.reason).toBe("CA_REVOKED");
    expect(err.message).toContain('"ra-issuing" is below the revoked CA "ra-mid"');
    expect(err.message).not.toMatch(/enable it/);
    expect(err.preconditions[0]!.subject).toBe("certificate_authorities/ra-mid");
    expect(await countRows(h, "certificate", `ca_id = '${issuing.id}'`)).toBe(0);
    // The refusal is recorded on the request, as the same refusal while planning is.
    const [request] = await h.db.query<{ status: string; error: { reason?: string } | null }>(
      "select status, error from certificate_request where profile_id = $1",
      [profileId],
    );
    expect([request!.status, request!.error?.reason]).toEqual(["FAILED", "CA_REVOKED"]);
  });
});
