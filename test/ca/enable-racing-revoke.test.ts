/**
 * Enabling a CA racing the revocation of a CA above it: the CA ends disabled (or the enable is
 * refused CA_REVOKED), never ACTIVE under a revoked CA. The enable reads the path again under
 * the signing locks the revocation takes on its way down. Until stop 45 of 2026-12-06 an enable
 * that had read the path just before the parent's revocation committed wrote ACTIVE just after
 * it, and the CA went on signing under a parent revoked for key compromise (an outside probe,
 * two replicas: 10 of 28 rounds).
 *
 * Made deterministic: the test holds the child's row, so the enable's write waits; the parent
 * is revoked meanwhile; then the row is let go.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateAuthority,
  CertificateAuthorityStatus,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { Code, rpcError } from "../certificates/helpers";
import { createProfileRows } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { generatedKeyRequest } from "../support/issue-request";
import { until } from "../support/wait";
import { createIntermediate, createRoot } from "./helpers";

describe("enabling a CA while a CA above it is revoked", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint();
    await createRoot(h, "root");
  });
  afterAll(async () => {
    await h?.stop();
  });

  const setStatus = (id: string, status: CertificateAuthorityStatus) =>
    call(h.authorities, "updateCertificateAuthority", {
      certificateAuthority: CertificateAuthority.fromPartial({ id, status }),
      updateMask: ["status"],
    });
  const statusOf = async (id: string) =>
    (
      await h.db.query<{ status: string }>(
        "select status from certificate_authority where id = $1",
        [id],
      )
    )[0]!.status;
  /** Sessions of the test database waiting for a lock. */
  const waiting = async () =>
    Number(
      (
        await h.db.query<{ n: string }>(
          `select count(*) as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where not l.granted and a.datname = current_database()`,
        )
      )[0]!.n,
    );

  it("the child ends DISABLED and signs nothing; the parent's revocation stands", async () => {
    const parent = await createIntermediate(h, "parent", "root");
    const child = await createIntermediate(h, "child", parent.id);
    await createProfileRows(h, { slug: "web", caId: child.id });
    await setStatus(child.id, CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED);

    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    let enable: Promise<unknown>;
    let revoke: Promise<unknown>;
    try {
      await holder.query("begin");
      await holder.query("select 1 from certificate_authority where id = $1 for update", [
        child.id,
      ]);
      // The enable has read the path (the parent not revoked) and waits to write.
      enable = setStatus(
        child.id,
        CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_ACTIVE,
      ).then(
        () => "enabled",
        (err) => err,
      );
      await until("the enable to wait for the child's row", async () => (await waiting()) >= 1);
      // The parent's revocation: it completes, or waits for the enable's lock on the child.
      let revoked = false;
      revoke = call(h.authorities, "revokeCertificateAuthority", {
        certificateAuthority: parent.id,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      }).finally(() => {
        revoked = true;
      });
      await until(
        "the revocation to commit or wait",
        async () => revoked || (await waiting()) >= 2,
      );
    } finally {
      await holder.query("rollback");
      await holder.end();
    }
    await revoke;
    const enabled = await enable;
    // Either order of the two commits is fine; a CA ACTIVE under a revoked parent is not.
    if (enabled !== "enabled") {
      expect((enabled as { code?: number }).code).toBe(Code.FAILED_PRECONDITION);
    }
    expect(await statusOf(parent.id)).toBe("DISABLED");
    expect(await statusOf(child.id)).toBe("DISABLED");
    const refused = await rpcError(
      call(h.certificates, "issueCertificate", generatedKeyRequest("web", "after.example.com")),
    );
    expect([refused.code, refused.reason]).toEqual([Code.FAILED_PRECONDITION, "CA_REVOKED"]);
  });
});
