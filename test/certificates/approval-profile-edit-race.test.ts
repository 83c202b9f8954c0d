/**
 * A request that would wait for approval while its profile is being edited. A waiting request
 * holds the profile's row FOR KEY SHARE (against the profile's deletion) with a 5 s lock
 * timeout. Until stop 41 of 2026-12-06 an edit took the row FOR UPDATE, which conflicts with
 * KEY SHARE, so behind an edit that took long (one that changes the renewal settings rewrites
 * the renewal times of every certificate of the profile in the same transaction) the request
 * failed ABORTED. An edit now takes FOR NO KEY UPDATE: it never changes the id the request
 * references.
 *
 * Deterministic: the test holds the profile's one certificate row locked, so the edit's trigger
 * waits on it while the edit holds the profile's row; once the edit is seen waiting, a request
 * that waits for approval is sent and must be recorded while the edit is still in progress.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UpdateCertificateProfileRequest } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { waitFor } from "../support/wait";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  KeyAlgorithm,
  PENDING_APPROVAL,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

describe("a waiting request racing an edit of its profile", () => {
  let h: TestCertmint;
  let profileId = "";

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    ({ profileId } = await createProfileRows(h, { caId: root.id, slug: "edited" }));
    // One certificate of the profile, issued before approval is switched on.
    await call(
      h.certificates,
      "issueCertificate",
      attrRequest("edited", {
        cn: "first.example.com",
        dns: ["first.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    await h.db.query("update certificate_profile set require_approval = true where id = $1", [
      profileId,
    ]);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const editWaits = async () => {
    const [w] = await h.db.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'
          and query ilike 'update "certificate_profile"%'`,
    );
    return Number(w!.n) > 0;
  };

  it("is recorded while an edit of the renewal settings is in progress", async () => {
    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    let edit: Promise<unknown> | undefined;
    try {
      await holder.query("begin");
      const locked = await holder.query(
        "select id from certificate where profile_id = $1 for update",
        [profileId],
      );
      expect(locked.rowCount).toBe(1);
      edit = call(
        h.profiles,
        "updateCertificateProfile",
        UpdateCertificateProfileRequest.fromPartial({
          certificateProfile: { slug: "edited", renewal: { autoRenew: true } },
          updateMask: ["renewal.auto_renew"],
        }),
      ).then(
        (r) => ({ r }),
        (err: unknown) => ({ err }),
      );
      await waitFor("the edit to hold the profile and wait on its certificate", editWaits);

      const waiting = await call(
        h.certificates,
        "issueCertificate",
        attrRequest("edited", {
          cn: "second.example.com",
          dns: ["second.example.com"],
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        }),
      );
      expect(waiting.status).toBe(PENDING_APPROVAL);
      // The edit is still in progress: the request did not wait for its commit.
      expect(await editWaits()).toBe(true);
      await holder.query("commit");
    } finally {
      await holder.end();
    }
    const outcome = (await edit) as { r?: unknown; err?: unknown };
    expect(outcome.err, String(outcome.err)).toBeUndefined();
    const [row] = await h.db.query<{ renewal: { autoRenew: boolean }; version: number }>(
      "select renewal, version from certificate_profile where id = $1",
      [profileId],
    );
    expect(row!.renewal.autoRenew).toBe(true);
    const [cert] = await h.db.query<{ auto_renew_at: Date | null }>(
      "select auto_renew_at from certificate where profile_id = $1",
      [profileId],
    );
    expect(cert!.auto_renew_at).not.toBeNull();
    const pending = await h.db.query(
      "select id from certificate_request where profile_id = $1 and status = 'PENDING_APPROVAL'",
      [profileId],
    );
    expect(pending).toHaveLength(1);
  });
});
