/**
 * A request that would wait for approval on a profile being deleted: either the deletion waits
 * for it and refuses (PROFILE_HAS_WAITING_REQUESTS), or the profile is gone and the request is
 * NOT_FOUND with nothing written. Until stop 40 of 2026-12-05 the waiting request was inserted
 * without any lock on the profile, so one recorded between the deletion's count and its commit
 * waited on a deleted profile (an outside probe: 40 in six rounds), counted against its
 * requester's cap, invisible to the profile's approvers, and FAILED when an admin approved it.
 *
 * Deterministic: the test takes the profile's row FOR UPDATE as DeleteCertificateProfile does,
 * waits until the issuance waits behind it, deletes the row and commits.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/wait";
import {
  attrRequest,
  Code,
  call,
  createProfileRows,
  createRoot,
  decodeFull,
  KeyAlgorithm,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

describe("a waiting request racing the deletion of its profile", () => {
  let h: TestCertmint;
  let profileId = "";

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    ({ profileId } = await createProfileRows(h, {
      caId: root.id,
      slug: "gated",
      requireApproval: true,
    }));
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("is refused NOT_FOUND when the profile is deleted first, and nothing waits on it", async () => {
    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("select id from certificate_profile where id = $1 for update", [
        profileId,
      ]);
      let settled = false;
      const issued = call(
        h.certificates,
        "issueCertificate",
        attrRequest("gated", {
          cn: "race.example.com",
          dns: ["race.example.com"],
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        }),
      ).then(
        (r) => ({ r }),
        (err: unknown) => ({ err }),
      );
      void issued.then(() => {
        settled = true;
      });
      await waitFor("the issuance to wait for the profile's row (or to finish)", async () => {
        if (settled) return true;
        const [w] = await h.db.query<{ n: string }>(
          `select count(*) as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`,
        );
        return Number(w!.n) > 0;
      });
      await holder.query("delete from certificate_profile where id = $1", [profileId]);
      await holder.query("commit");
      const outcome = await issued;
      expect("err" in outcome, JSON.stringify(outcome)).toBe(true);
      expect(decodeFull((outcome as { err: unknown }).err)).toMatchObject({
        code: Code.NOT_FOUND,
        reason: "CERTIFICATE_PROFILE_NOT_FOUND",
      });
    } finally {
      await holder.end();
    }
    const waiting = await h.db.query(
      "select id from certificate_request where profile_id = $1 and status in ('PENDING_APPROVAL', 'PENDING')",
      [profileId],
    );
    expect(waiting).toEqual([]);
  });
});
