/**
 * Server-driven renewal stops for a certificate whose owner may no longer hold certificates:
 * an access token revoked (OWNER_REVOKED), an ACME account deactivated (OWNER_DEACTIVATED).
 * The attempt is recorded as any refused renewal is (renewal_state FAILED, last_renewal_error,
 * a RENEWAL_FAILED event, an audit record of certmint-auto-renewal), nothing is issued and no
 * key is made, and it is not tried again before CERTMINT_RENEWAL_RETRY_MAX_SECONDS (not after
 * CERTMINT_RENEWAL_RETRY_SECONDS, as other failures are). An admin can still renew it with a
 * new key. On PostgreSQL, in-process, with a clock the test moves.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateRenewalState } from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  csrRequest,
  decodeStatus,
  getCert,
  ISSUED,
  issue,
  KeyAlgorithm,
  RenewalKeySource,
  Role,
  renewRequest,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { opensslCsr } from "../support/fixtures";
import type { CertmintClients } from "../support/harness";
import { waitFor } from "../support/wait";
import { autoRenew, MovableClock } from "./helpers";

const FAILED_STATE = CertificateRenewalState.CERTIFICATE_RENEWAL_STATE_FAILED;
const RETRY_MAX = 3600;
const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;

describe("server-driven renewal of a certificate whose owner is revoked", () => {
  let h: TestCertmint;
  const clock = new MovableClock();
  let profileId = "";
  let owner: { id: string; slug: string; clients: CertmintClients };

  beforeAll(async () => {
    h = await startTestCertmint(
      {
        CERTMINT_RENEWAL_TICK_MS: "50",
        CERTMINT_RENEWAL_RETRY_SECONDS: "300",
        CERTMINT_RENEWAL_RETRY_MAX_SECONDS: String(RETRY_MAX),
      },
      { now: clock.now },
    );
    const root = await createRoot(h, "owner-root");
    ({ profileId } = await createProfileRows(h, { slug: "auto", caId: root.id }));
    // Two hours, renewed 7000 s before notAfter: due 200 s after issuance, and still valid
    // long after the retries this test looks at.
    await autoRenew(h.db, profileId, { renewBeforeSeconds: 7000 }, 7200);
    owner = await createToken(h, "owner-issuer", Role.ROLE_ISSUER, [profileId]);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const renewalRow = async (id: string) =>
    (
      await h.db.query<{
        renewed_by_id: string | null;
        renewal_failures: number;
        renewal_lease_until: Date | null;
        renewal_state: string | null;
      }>(
        "select renewed_by_id, renewal_failures, renewal_lease_until, renewal_state from certificate where id = $1",
        [id],
      )
    )[0]!;
  const renewalRequests = async (id: string) =>
    Number(
      (
        await h.db.query<{ n: string }>(
          "select count(*) as n from certificate_request where renewal_of_certificate_id = $1",
          [id],
        )
      )[0]!.n,
    );
  const eventTypes = async (id: string) =>
    (
      await h.db.query<{ type: string; error: { reason?: string } | null }>(
        "select type, error from certificate_event where certificate_id = $1 order by id",
        [id],
      )
    ).map((e) => [e.type, e.error?.reason ?? ""]);
  const autoRenewalAudits = async (id: string) =>
    (
      await call(h.audit, "listAuditRecords", {
        pageSize: 100,
        pageToken: "",
        actor: "",
        method: "",
        resourceType: "certificate",
        resourceId: id,
        failuresOnly: true,
      })
    ).auditRecords.filter((r) => r.actorSlug === "certmint-auto-renewal");

  it("records OWNER_REVOKED once, issues and generates nothing, waits the longest backoff, and an admin can still renew it", async () => {
    const { csrPem } = opensslCsr("/CN=csr.example.com", ["DNS:csr.example.com"]);
    const fromCsr = await call(
      owner.clients.certificates,
      "issueCertificate",
      csrRequest("auto", csrPem),
    );
    const generated = await call(
      owner.clients.certificates,
      "issueCertificate",
      attrRequest("auto", {
        cn: "gen.example.com",
        dns: ["gen.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    expect(fromCsr.status).toBe(ISSUED);
    expect(generated.status).toBe(ISSUED);
    const ids = [fromCsr.certificate!.certificateId, generated.certificate!.certificateId];
    // A certificate of a token that stays active: renewed in the same ticks.
    const control = (
      await issue(
        h,
        attrRequest("auto", { cn: "ok.example.com", dns: ["ok.example.com"], keyAlgorithm: EC }),
      )
    ).certificate!.certificateId;

    await call(h.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: owner.id,
    });
    clock.advance(205);
    // Each either recorded FAILED or (what this test refuses) renewed.
    const settled = async (id: string) => {
      const c = await getCert(h, id);
      return c.renewalState === FAILED_STATE || c.renewedByCertificateId !== "";
    };
    await waitFor("the control renewed and both attempts settled", async () => {
      if ((await renewalRow(control)).renewed_by_id === null) return false;
      return (await Promise.all(ids.map(settled))).every(Boolean);
    });

    for (const id of ids) {
      const cert = await getCert(h, id);
      expect(cert.renewedByCertificateId).toBe("");
      expect(cert.renewalFailures).toBe(1);
      const error = decodeStatus(cert.lastRenewalError);
      expect(error.code).toBe(9); // FAILED_PRECONDITION
      expect(error.reason).toBe("OWNER_REVOKED");
      expect(error.message).toContain('"owner-issuer"');
      expect(error.message).toMatch(/revoked/);
      expect(error.message).toMatch(/RenewCertificate/);
      expect(error.message).toMatch(/RevokeCertificate/);
      // The longest wait at once, not CERTMINT_RENEWAL_RETRY_SECONDS.
      expect(cert.nextRenewalAttemptTime!.getTime()).toBeGreaterThan(
        clock.now().getTime() + (RETRY_MAX - 60) * 1000,
      );
      // No renewal request: no key generated, nothing signed.
      expect(await renewalRequests(id)).toBe(0);
      expect((await eventTypes(id)).slice(0, 2)).toEqual([
        ["ISSUED", ""],
        ["RENEWAL_FAILED", "OWNER_REVOKED"],
      ]);
      const audits = await autoRenewalAudits(id);
      expect(audits.map((a) => [a.method, a.statusCode, a.errorReason])).toEqual([
        ["/certmint.v1.CertificateService/RenewCertificate", 9, "OWNER_REVOKED"],
      ]);
    }

    // Past CERTMINT_RENEWAL_RETRY_SECONDS (where another failure would be tried again), before
    // the longest wait: not claimed again. A second control, due in this window, shows the
    // renewer ran at the moved time.
    const control2 = (
      await issue(
        h,
        attrRequest("auto", { cn: "ok2.example.com", dns: ["ok2.example.com"], keyAlgorithm: EC }),
      )
    ).certificate!.certificateId;
    clock.advance(301);
    await waitFor(
      "the second control renewed",
      async () => (await renewalRow(control2)).renewed_by_id !== null,
    );
    for (const id of ids) {
      // Claimed in that tick, it would hold a lease or have a second failure.
      expect(await renewalRow(id)).toMatchObject({
        renewed_by_id: null,
        renewal_failures: 1,
        renewal_lease_until: null,
        renewal_state: "FAILED",
      });
      expect(await autoRenewalAudits(id)).toHaveLength(1);
      // One failure event; and, nothing renewing it now, one EXPIRING (noteExpiring).
      expect(await eventTypes(id)).toEqual([
        ["ISSUED", ""],
        ["RENEWAL_FAILED", "OWNER_REVOKED"],
        ["EXPIRING", ""],
      ]);
    }

    // What the message says: an admin renews it with a new key, which is the admin's.
    const renewed = await call(
      h.certificates,
      "renewCertificate",
      renewRequest({
        certificateId: ids[1]!,
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
      }),
    );
    expect(renewed.status).toBe(ISSUED);
    expect(renewed.privateKeyPem).toContain("PRIVATE KEY");
    const successor = await getCert(h, renewed.certificate!.certificateId);
    expect(successor.ownerAccessTokenId).not.toBe(owner.id);
    expect(successor.renewedFromCertificateId).toBe(ids[1]);
  });

  it("stops for an ACME account that is deactivated (OWNER_DEACTIVATED) and keeps renewing for an active one", async () => {
    // Accounts as src/acme writes them; the certificates' owner set to them as an ACME order's
    // issuance sets it (the account's id).
    const account = async (status: string) => {
      const id = randomUUID();
      await h.db.query(
        `insert into acme_account (id, profile_id, key_thumbprint, jwk, status, contact, created_at, updated_at)
         values ($1, $2, $3, '{}'::jsonb, $4, '[]'::jsonb, now(), now())`,
        [id, profileId, `thumb-${id}`, status],
      );
      return id;
    };
    const [deactivated, valid] = [await account("deactivated"), await account("valid")];
    const certFor = async (accountId: string, name: string) => {
      const id = (await issue(h, attrRequest("auto", { cn: name, dns: [name], keyAlgorithm: EC })))
        .certificate!.certificateId;
      await h.db.query("update certificate set owner = $2 where id = $1", [id, accountId]);
      return id;
    };
    const gone = await certFor(deactivated, "acme-gone.example.com");
    const kept = await certFor(valid, "acme-kept.example.com");

    clock.advance(205);
    await waitFor("the active account's renewed, the deactivated one's settled", async () => {
      if ((await renewalRow(kept)).renewed_by_id === null) return false;
      const c = await getCert(h, gone);
      return c.renewalState === FAILED_STATE || c.renewedByCertificateId !== "";
    });
    const cert = await getCert(h, gone);
    expect(cert.renewedByCertificateId).toBe("");
    const error = decodeStatus(cert.lastRenewalError);
    expect(error).toMatchObject({ code: 9, reason: "OWNER_DEACTIVATED" });
    expect(error.message).toMatch(/ACME account that is deactivated/);
    expect(await renewalRequests(gone)).toBe(0);
    expect((await getCert(h, (await renewalRow(kept)).renewed_by_id!)).ownerAccessTokenId).toBe(
      valid,
    );
  });
});
