/**
 * Server-driven renewal of a certificate whose CA was revoked: the attempt is refused
 * FAILED_PRECONDITION CA_REVOKED (the CA signs nothing more) and recorded as any refused renewal
 * is, then waits CERTMINT_RENEWAL_RETRY_MAX_SECONDS at once, as for the other refusals only an
 * admin's decision undoes (auto-renewal/renewer.ts LONGEST_WAIT_REASONS): until stop 47 of
 * 2026-12-06 it was retried with the doubling backoff, a failure recorded at each attempt. The
 * admin's decision is pointing the profile at a CA in good standing: that update makes the
 * refused renewals due at once (profiles/update.ts), and the successor comes from the new CA.
 * On PostgreSQL, in-process, with a clock the test moves.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateIntermediateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { UpdateCertificateProfileRequest } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { CertificateRenewalState } from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  decodeStatus,
  getCert,
  ISSUED,
  KeyAlgorithm,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { waitFor } from "../support/wait";
import { autoRenew, MovableClock } from "./helpers";

const FAILED_STATE = CertificateRenewalState.CERTIFICATE_RENEWAL_STATE_FAILED;
const RETRY_MAX = 3600;
const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;

describe("server-driven renewal under a revoked CA", () => {
  let h: TestCertmint;
  const clock = new MovableClock();
  let profileId = "";
  let oldCaId = "";

  beforeAll(async () => {
    h = await startTestCertmint(
      {
        CERTMINT_RENEWAL_TICK_MS: "50",
        CERTMINT_RENEWAL_RETRY_SECONDS: "300",
        CERTMINT_RENEWAL_RETRY_MAX_SECONDS: String(RETRY_MAX),
      },
      { now: clock.now },
    );
    // A root cannot be revoked (no CRL lists a trust anchor): an intermediate under it is.
    const root = await createRoot(h, "root");
    oldCaId = (
      await call(
        h.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "old-ca",
          parentCertificateAuthority: root.id,
          subject: { commonName: "old CA" },
        }),
      )
    ).certificateAuthority!.id;
    ({ profileId } = await createProfileRows(h, { slug: "auto", caId: oldCaId }));
    // Two hours, renewed 7000 s before notAfter: due 200 s after issuance.
    await autoRenew(h.db, profileId, { renewBeforeSeconds: 7000 }, 7200);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("waits the longest retry after CA_REVOKED, and renews from the new CA once the profile names one", async () => {
    const owner = await createToken(h, "owner", Role.ROLE_ISSUER, [profileId]);
    const issued = await call(
      owner.clients.certificates,
      "issueCertificate",
      attrRequest("auto", { cn: "svc.example.com", dns: ["svc.example.com"], keyAlgorithm: EC }),
    );
    expect(issued.status).toBe(ISSUED);
    const id = issued.certificate!.certificateId;

    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: oldCaId,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    clock.advance(205);
    await waitFor("the renewal attempt to fail", async () => {
      const c = await getCert(h, id);
      return c.renewalState === FAILED_STATE || c.renewedByCertificateId !== "";
    });
    const failed = await getCert(h, id);
    expect(failed.renewedByCertificateId).toBe("");
    expect(decodeStatus(failed.lastRenewalError)).toMatchObject({ code: 9, reason: "CA_REVOKED" });
    expect(failed.renewalFailures).toBe(1);
    // The longest wait at once, not the 300 s backoff.
    expect(failed.nextRenewalAttemptTime!.getTime()).toBeGreaterThan(
      clock.now().getTime() + (RETRY_MAX - 60) * 1000,
    );
    const [row] = await h.db.query<{ renewal_retry_at: Date }>(
      "select renewal_retry_at from certificate where id = $1",
      [id],
    );
    expect(row!.renewal_retry_at.getTime()).toBeGreaterThan(
      clock.now().getTime() + (RETRY_MAX - 60) * 1000,
    );

    // The admin points the profile at a CA in good standing: the refused renewal is due at
    // once. The clock does not move from here: were it still an hour away, it never would come.
    const newCa = await createRoot(h, "new-root");
    await call(
      h.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "auto",
          issuer: { $case: "certificateAuthority", value: newCa.id },
        },
        updateMask: ["certificate_authority"],
      }),
    );
    await waitFor(
      "the retry to renew it from the new CA",
      async () => (await getCert(h, id)).renewedByCertificateId !== "",
    );
    const successor = await getCert(h, (await getCert(h, id)).renewedByCertificateId);
    expect(successor.ownerAccessTokenId).toBe(owner.id);
    expect(successor.certificateAuthorityId).toBe(newCa.id);
    // Signed by the new CA, by its key (not only named so).
    const leaf = new X509Certificate(successor.certificatePem);
    const ca = new X509Certificate(newCa.certificatePem);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    // One failure recorded, not one per backoff step.
    const events = await h.db.query<{ n: string }>(
      "select count(*) as n from certificate_event where certificate_id = $1 and type = 'RENEWAL_FAILED'",
      [id],
    );
    expect(Number(events[0]!.n)).toBe(1);
  });
});
