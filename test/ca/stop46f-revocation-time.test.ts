/**
 * A CA's revocation time is read once its locks are held (ca/revoke.ts): every certificate the
 * CA signed and stored before the revocation took effect is dated at or before its revoked_at,
 * the time its parent's CRL, OCSP and the audit record give. Until stop 46 of 2026-12-06 the
 * time was read before the admin set's lock and the signing lock, and certificates stored while
 * the revocation waited for them were dated after it (an outside probe, F3: up to 240 ms).
 * Each step waits for a state (a lock waited on in pg_locks, a call's answer), never a duration.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";
import { createIntermediate, createRoot, DISABLED } from "./helpers";

/** The CA signing lock's class ("CASG", Migration20261205300000CaSigningGuard). */
const SIGNING_LOCK_CLASS = 1128354631;
/** The admin set's lock class ("admn", store/repositories/access-tokens.ts). */
const ADMIN_SET_LOCK_CLASS = 0x61646d6e;

describe("a CA's revocation time (stop 46, F3)", () => {
  let h: TestCertmint;
  let other: Client;

  beforeAll(async () => {
    h = await startTestCertmint();
    other = new Client({ connectionString: h.db.url });
    await other.connect();
  });
  afterAll(async () => {
    await other?.end();
    await h?.stop();
  });

  const waitingOn = async (classId: number) =>
    Number(
      (
        await h.db.query<{ n: string }>(
          `select count(*) as n from pg_locks where locktype = 'advisory' and classid = $1 and not granted`,
          [classId],
        )
      )[0]!.n,
    );

  const issue = (profile: string, cn: string) =>
    call(h.certificates, "issueCertificate", attrRequest(profile, { cn, dns: [cn] }));

  /** Every certificate of the CA dated at or before its revocation, and the record's time. */
  async function expectDatedBeforeRevocation(caId: string, childId: string) {
    const [ca] = await h.db.query<{ revoked_at: Date }>(
      "select revoked_at from certificate_authority where id = $1",
      [caId],
    );
    const revokedAt = ca!.revoked_at.getTime();
    const certificates = await h.db.query<{ created_at: Date }>(
      "select created_at from certificate where ca_id = $1",
      [caId],
    );
    expect(certificates.length).toBeGreaterThanOrEqual(2);
    const later = certificates.filter((c) => c.created_at.getTime() > revokedAt);
    expect(later.map((c) => c.created_at.toISOString())).toEqual([]);
    // The same instant for the audit record of the revocation and the CA disabled below it.
    const [record] = await h.db.query<{ created_at: Date }>(
      `select created_at from audit_record where resource_type = 'certificate_authority'
          and resource_id = $1 and method like '%RevokeCertificateAuthority' and status_code = 0`,
      [caId],
    );
    expect(record!.created_at.getTime()).toBe(revokedAt);
    const [child] = await h.db.query<{ status: string; updated_at: Date }>(
      "select status, updated_at from certificate_authority where id = $1",
      [childId],
    );
    expect(child!.status).toBe("DISABLED");
    expect(child!.updated_at.getTime()).toBe(revokedAt);
  }

  it("a certificate stored while the revocation waits for the CA's signing lock is dated before it", async () => {
    await createRoot(h, "rt1-root", { maxPathLength: 2 });
    const ca = await createIntermediate(h, "rt1-issuing", "rt1-root", { maxPathLength: 1 });
    const child = await createIntermediate(h, "rt1-child", "rt1-issuing");
    await createProfileRows(h, { slug: "rt1-web", caId: ca.id });
    await issue("rt1-web", "early.example.com");
    // An insert in flight: the CA's lock held shared, as certmint_ca_signs holds it to commit.
    await other.query("begin");
    await other.query("select certmint_ca_signs($1)", [ca.id]);
    const revoking = call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: ca.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    await waitFor(
      "the revocation to wait for the signing lock",
      async () => (await waitingOn(SIGNING_LOCK_CLASS)) > 0,
    );
    // The in-flight insert stores its certificate now (a copy of the first, as a row for
    // brevity), dated by the database's clock at the insert.
    await other
      .query(
        `insert into certificate
           select (jsonb_populate_record(null::certificate, to_jsonb(c) || jsonb_build_object(
             'id', gen_random_uuid(), 'serial_number', md5(random()::text),
             'fingerprint_sha256', md5(random()::text), 'created_at', clock_timestamp()))).*
             from certificate c where c.ca_id = $1 limit 1`,
        [ca.id],
      )
      .catch(async (err) => {
        await other.query("rollback");
        throw err;
      });
    await other.query("commit");
    const revoked = await revoking;
    expect(revoked.certificateAuthority!.status).toBe(DISABLED);
    await expectDatedBeforeRevocation(ca.id, child.id);
  });

  it("a certificate issued while the revocation waits for the admin set's lock is dated before it", async () => {
    await createRoot(h, "rt2-root", { maxPathLength: 2 });
    const ca = await createIntermediate(h, "rt2-issuing", "rt2-root", { maxPathLength: 1 });
    const child = await createIntermediate(h, "rt2-child", "rt2-issuing");
    await createProfileRows(h, { slug: "rt2-web", caId: ca.id });
    await issue("rt2-web", "early.example.com");
    // Another change judged by the last-admin guard holds the admin set's lock.
    await other.query("begin");
    await other.query("select pg_advisory_xact_lock($1, 0)", [ADMIN_SET_LOCK_CLASS]);
    const revoking = call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: ca.id,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    await waitFor(
      "the revocation to wait for the admin set's lock",
      async () => (await waitingOn(ADMIN_SET_LOCK_CLASS)) > 0,
    );
    // The CA still signs: its revocation has taken no lock of it yet.
    await issue("rt2-web", "meanwhile.example.com");
    await other.query("commit");
    await revoking;
    await expectDatedBeforeRevocation(ca.id, child.id);
  });
});
