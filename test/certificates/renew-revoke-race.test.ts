/**
 * A renewal that loses to a revocation of the same certificate is told CERTIFICATE_REVOKED, as
 * a renewal started after the revocation is; until stop 40 of 2026-12-05 it was told
 * CERTIFICATE_ALREADY_RENEWED, and a client looked for a successor that does not exist (an
 * outside probe). Deterministic: the test holds the certificate's row as a revocation does,
 * waits until the renewal's store waits behind it, revokes it and commits.
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
  issue,
  renewRequest,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

describe("a renewal racing a revocation", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("is CERTIFICATE_REVOKED when the revocation commits first, and stores nothing", async () => {
    const original = await issue(
      h,
      attrRequest("web", { cn: "race.example.com", dns: ["race.example.com"] }),
    );
    const id = original.certificate!.certificateId;
    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("select id from certificate where id = $1 for update", [id]);
      let settled = false;
      const renewal = rpcError(
        call(h.certificates, "renewCertificate", renewRequest({ certificateId: id })),
      );
      void renewal.then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      await waitFor(
        "the renewal's store to wait for the certificate's row (or to finish)",
        async () => {
          if (settled) return true;
          const [w] = await h.db.query<{ n: string }>(
            `select count(*) as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`,
          );
          return Number(w!.n) > 0;
        },
      );
      await holder.query(
        "update certificate set revoked_at = now(), revocation_reason = 'SUPERSEDED' where id = $1",
        [id],
      );
      await holder.query("commit");
      const err = await renewal;
      expect(err).toMatchObject({ code: Code.FAILED_PRECONDITION, reason: "CERTIFICATE_REVOKED" });
    } finally {
      await holder.end();
    }
    const successors = await h.db.query("select id from certificate where renewed_from_id = $1", [
      id,
    ]);
    expect(successors).toEqual([]);
  });
});
