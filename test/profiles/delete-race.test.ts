/**
 * A delete that loses to a delete of the same profile is NOT_FOUND, as it would be had it come
 * second; until stop 40 of 2026-12-05 it was ABORTED (CONCURRENT_DELETE), whose retry then
 * answered NOT_FOUND (an outside probe). Deterministic: the test deletes the row in a transaction
 * it holds open, waits until the call waits for that row, then commits.
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";

let h: TestCertmint;
let profileId = "";

beforeAll(async () => {
  h = await startTestCertmint();
  const root = await createRoot(h, "root");
  ({ profileId } = await createProfileRows(h, { caId: root.id, slug: "doomed" }));
});
afterAll(async () => {
  await h?.stop();
});

it("a delete behind another delete of the same profile is NOT_FOUND", async () => {
  const holder = new Client({ connectionString: h.db.url });
  await holder.connect();
  try {
    await holder.query("begin");
    await holder.query("delete from certificate_profile where id = $1", [profileId]);
    let settled = false;
    const second = expectRpcError(
      call(h.profiles, "deleteCertificateProfile", {
        certificateProfile: "doomed",
        etag: "",
        force: false,
      }),
    );
    void second.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await waitFor("the delete to wait for the profile's row (or to finish)", async () => {
      if (settled) return true;
      const [w] = await h.db.query<{ n: string }>(
        `select count(*) as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`,
      );
      return Number(w!.n) > 0;
    });
    await holder.query("commit");
    const err = await second;
    expect(err).toMatchObject({
      code: status.NOT_FOUND,
      reason: "CERTIFICATE_PROFILE_NOT_FOUND",
    });
    expect(err.message).toContain('"doomed"');
  } finally {
    await holder.end();
  }
});
