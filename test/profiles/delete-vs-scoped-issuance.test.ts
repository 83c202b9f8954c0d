/**
 * DeleteCertificateProfile (force) racing an issuance by a token scoped to that profile. The
 * issuance's storing statement holds its token's row (FOR SHARE: a revocation waits for it),
 * then its insert reads the profile FOR KEY SHARE (Migration20261206153000CertificateProfileGuard);
 * the deletion locks the profile and then takes the profile out of the token's list. Until stop
 * 46 of 2026-12-06 the deletion took the profile first, the two deadlocked, and PostgreSQL ended
 * one of them after its deadlock timeout: ABORTED for the deletion or the issuance (an outside
 * probe: 5 of 8 forced deletions of a busy profile). Now the deletion locks the tokens listing the
 * profile first: it waits for the issuance, which commits, and then deletes.
 *
 * Deterministic: the test holds an uncommitted request row with the issuance's request_id, so the
 * storing statement, having locked its token, waits on that key; the deletion starts and waits;
 * the test rolls back and both go on.
 */
import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  csrRequest,
  decodeFull,
  makeCsr,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { TempDir } from "../support/openssl";
import { waitsOnLock as lockWait } from "../support/table-lock";
import { waitFor } from "../support/wait";

describe("deleting a profile while a token scoped to it issues", () => {
  let h: TestCertmint;
  let caId = "";
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    caId = (await createRoot(h, "root")).id;
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const waitsOnLock = (pattern: string) => lockWait(h, pattern);
  const settle = <T>(p: Promise<T>) =>
    p.then(
      (res) => ({ res }),
      (err: unknown) => ({ err: decodeFull(err) }),
    );

  it("the deletion waits for the issuance, which stores its certificate; then the profile is gone", async () => {
    const { profileId } = await createProfileRows(h, { caId, slug: "busy" });
    const issuer = await createToken(h, "busy-issuer", Role.ROLE_ISSUER, [profileId]);
    const requestId = `race-${randomUUID()}`;
    const csr = makeCsr(tmp, "/CN=busy.example.com", ["DNS:busy.example.com"]);

    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    try {
      await holder.query("begin");
      // The issuance's idempotency key, taken by an uncommitted row: its insert waits on it.
      await holder.query(
        `insert into certificate_request (id, profile_id, caller, request_id, request_fingerprint,
           kind, status, subject, sans, params, created_at, updated_at)
         values ($1, $2, $3, $4, 'x', 'ISSUE', 'FAILED', '{}', '{}', '{}', now(), now())`,
        [randomUUID(), profileId, issuer.id, requestId],
      );
      const issuance = settle(
        call(
          issuer.clients.certificates,
          "issueCertificate",
          csrRequest("busy", csr.csrPem, { requestId }),
        ),
      );
      await waitFor("the issuance's store to wait on its request_id", () =>
        waitsOnLock("with%certificate_request%"),
      );
      const deletion = settle(
        call(h.profiles, "deleteCertificateProfile", {
          certificateProfile: "busy",
          etag: "",
          force: true,
        }),
      );
      // Waiting for the token's row the issuance holds: to lock it (the tokens listing the
      // profile, first) or, in the order before stop 46, to take the profile out of its list.
      await waitFor(
        "the deletion to wait for the issuance's token lock",
        async () =>
          (await waitsOnLock('%from "access_token" where "profile_ids" @>%')) ||
          (await waitsOnLock('update "access_token" set "profile_ids"%')),
      );
      await holder.query("rollback");

      const issued = await issuance;
      const deleted = await deletion;
      expect("err" in issued ? issued.err : undefined).toBeUndefined();
      expect("err" in deleted ? deleted.err : undefined).toBeUndefined();
    } finally {
      await holder.end();
    }
    // The certificate is stored under the profile's id; the profile and the token's scope are gone.
    expect(await countRows(h, "certificate", `profile_id = '${profileId}'`)).toBe(1);
    expect(await countRows(h, "certificate_profile", `id = '${profileId}'`)).toBe(0);
    const [token] = await h.db.query<{ profile_ids: string[] }>(
      "select profile_ids from access_token where id = $1",
      [issuer.id],
    );
    expect(token!.profile_ids).toEqual([]);
    // And the token can no longer issue on it.
    const after = await call(
      issuer.clients.certificates,
      "issueCertificate",
      csrRequest("busy", csr.csrPem),
    ).then(
      () => undefined,
      (err: unknown) => decodeFull(err),
    );
    expect(after?.code).toBe(status.PERMISSION_DENIED);
  });
});
