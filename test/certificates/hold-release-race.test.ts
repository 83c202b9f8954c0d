/**
 * A revocation racing a hold's release (a review of stop 42, 2026-12-06): the revocation's
 * conditional UPDATEs each read their own snapshot, and one that does not qualify in it skips the
 * row without waiting, so a release committing meanwhile left the certificate valid while
 * RevokeCertificate(SUPERSEDED) answered OK. The revocation now locks the row first
 * (CertificateRepository.lockRevocation) and sees the release: the certificate ends revoked.
 * The release's transaction is held open by hand (the UPDATE releaseHold makes), so the race
 * is forced, not hoped for.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateStatus } from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { waitFor } from "../support/wait";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  issue,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

describe("RevokeCertificate racing ReleaseCertificateHold", () => {
  let h: TestCertmint;
  beforeAll(async () => {
    h = await startTestCertmint({});
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("a revocation that waited for a release revokes the released certificate", async () => {
    const cert = (
      await issue(h, attrRequest("web", { cn: "race.example.com", dns: ["race.example.com"] }))
    ).certificate!;
    await call(h.certificates, "revokeCertificate", {
      certificate: cert.certificateId,
      reason: RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD,
    });
    // The release's transaction, held open after its UPDATE (what releaseHold's statement does).
    const release = new pg.Client({ connectionString: h.db.url });
    await release.connect();
    try {
      await release.query("begin");
      const updated = await release.query(
        `update certificate set revoked_at = null, revocation_reason = null where id = $1 and revocation_reason = 'CERTIFICATE_HOLD'`,
        [cert.certificateId],
      );
      expect(updated.rowCount).toBe(1);
      const releasePid = (await release.query<{ pid: number }>("select pg_backend_pid() as pid"))
        .rows[0]!.pid;
      const revoking = call(h.certificates, "revokeCertificate", {
        certificate: cert.certificateId,
        reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
      });
      await waitFor("the revocation to wait for the release's row lock", async () => {
        const [row] = await h.db.query<{ n: number }>(
          `select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where not l.granted and a.pid <> $1 and a.datname = current_database()`,
          [releasePid],
        );
        return row!.n > 0;
      });
      await release.query("commit");
      const res = await revoking;
      expect(res.certificate!.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    } finally {
      await release.end();
    }
    const [row] = await h.db.query<{ revoked: boolean; reason: string | null }>(
      "select revoked_at is not null as revoked, revocation_reason as reason from certificate where id = $1",
      [cert.certificateId],
    );
    expect(row).toEqual({ revoked: true, reason: "SUPERSEDED" });
  });
});
