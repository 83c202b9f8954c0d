/**
 * Server-driven renewal (issue 13) on PostgreSQL, in-process with a clock the test moves: a
 * certificate of an auto_renew profile is renewed by the server once its renewal time
 * passes, with no client call: a CSR certificate keeps its public key, a generated one gets a
 * new key pair held sealed for its owner; a renewal the server cannot make (CA disabled) is
 * recorded FAILED on the certificate (GetCertificate shows it), audited, sent to watchers as
 * a RENEWAL_FAILED event row, and retried after its backoff.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateAuthorityStatus } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificateRenewalState } from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  csrRequest,
  getCert,
  ISSUED,
  issue,
  KeyAlgorithm,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { opensslCsr } from "../support/fixtures";
import { waitFor } from "../support/wait";
import { autoRenew, MovableClock, spkiOfCert } from "./helpers";

describe("server-driven renewal (PostgreSQL, moved clock)", () => {
  let h: TestCertmint;
  const clock = new MovableClock();
  let profileId = "";
  let rootId = "";

  beforeAll(async () => {
    h = await startTestCertmint(
      { CERTMINT_RENEWAL_TICK_MS: "50", CERTMINT_RENEWAL_RETRY_SECONDS: "300" },
      { now: clock.now },
    );
    rootId = (await createRoot(h, "auto-root")).id;
    ({ profileId } = await createProfileRows(h, { slug: "auto", caId: rootId }));
    // TTL 2 minutes, renewed 1 minute before notAfter.
    await autoRenew(h.db, profileId, { renewBeforeSeconds: 60 }, 120);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const successorOf = async (id: string) => {
    const [row] = await h.db.query<{ renewed_by_id: string | null }>(
      "select renewed_by_id from certificate where id = $1",
      [id],
    );
    return row?.renewed_by_id ?? null;
  };

  it("renews a CSR certificate (same key) and a generated one (new key, held sealed for its owner)", async () => {
    const { csrPem } = opensslCsr("/CN=csr.example.com", ["DNS:csr.example.com"]);
    const fromCsr = await issue(h, csrRequest("auto", csrPem));
    const generated = await issue(
      h,
      attrRequest("auto", {
        cn: "gen.example.com",
        dns: ["gen.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    expect(fromCsr.status).toBe(ISSUED);
    const ids = [fromCsr.certificate!.certificateId, generated.certificate!.certificateId];
    // Not due yet: a minute before its renewal time nothing happens.
    expect(await successorOf(ids[0]!)).toBeNull();

    clock.advance(65);
    await waitFor("both certificates renewed by the server", async () =>
      (await Promise.all(ids.map(successorOf))).every((s) => s !== null),
    );

    const [csrNext, genNext] = await Promise.all(
      ids.map(async (id) => getCert(h, (await successorOf(id))!)),
    );
    expect(csrNext!.renewedFromCertificateId).toBe(ids[0]);
    // CSR: the client holds the key; the successor certifies the same public key.
    expect(
      spkiOfCert(csrNext!.certificatePem).equals(spkiOfCert(fromCsr.certificate!.certificatePem)),
    ).toBe(true);
    // Generated: a new key pair.
    expect(
      spkiOfCert(genNext!.certificatePem).equals(spkiOfCert(generated.certificate!.certificatePem)),
    ).toBe(false);
    // Same subject and names, signed by the CA, with the profile's TTL (120 s + 60 s backdate).
    const x = new X509Certificate(genNext!.certificatePem);
    expect(x.subject).toContain("CN=gen.example.com");
    expect(x.subjectAltName).toBe("DNS:gen.example.com");
    expect((genNext!.notAfter!.getTime() - genNext!.notBefore!.getTime()) / 1000).toBe(180);
    // Owned by the owner of the original; the new key waits sealed on its request for it.
    const owner = (await getCert(h, ids[1]!)).ownerAccessTokenId;
    expect(genNext!.ownerAccessTokenId).toBe(owner);
    const [held] = await h.db.query<{ sealed: boolean; until: Date | null; caller: string }>(
      "select sealed_private_key is not null as sealed, key_held_until as until, caller from certificate_request where id = $1",
      [genNext!.certificateRequestId],
    );
    expect(held).toMatchObject({ sealed: true, caller: owner });
    // Exactly one successor each; the renewal was audited as the renewer.
    for (const id of ids) {
      const [n] = await h.db.query<{ n: string }>(
        "select count(*) as n from certificate where renewed_from_id = $1",
        [id],
      );
      expect(Number(n!.n)).toBe(1);
    }
    const audits = await h.db.query<{ n: string }>(
      "select count(*) as n from audit_record where actor_slug = 'certmint-auto-renewal' and status_code = 0 and method like '%RenewCertificate'",
    );
    expect(Number(audits[0]!.n)).toBeGreaterThanOrEqual(2);
    expect(csrNext!.renewalState).toBe(CertificateRenewalState.CERTIFICATE_RENEWAL_STATE_IDLE);
    expect((await getCert(h, ids[0]!)).renewalState).toBe(
      CertificateRenewalState.CERTIFICATE_RENEWAL_STATE_RENEWED,
    );
  });

  it("records a renewal the disabled CA refuses as FAILED, audits it, and retries after the backoff", async () => {
    const other = (await createRoot(h, "failing-root")).id;
    const { profileId: failingProfile } = await createProfileRows(h, {
      slug: "failing",
      caId: other,
    });
    // An hour, renewed 20 minutes before notAfter: its retry comes before it expires.
    await autoRenew(h.db, failingProfile, { renewBeforeSeconds: 1200 }, 3600);
    const issued = await issue(
      h,
      attrRequest("failing", { cn: "fail.example.com", dns: ["fail.example.com"] }),
    );
    const id = issued.certificate!.certificateId;
    const ca = (
      await call(h.authorities, "getCertificateAuthority", { certificateAuthority: other })
    ).certificateAuthority!;
    await call(h.authorities, "updateCertificateAuthority", {
      certificateAuthority: {
        ...ca,
        status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED,
      },
      updateMask: ["status"],
    });

    clock.advance(2405);
    await waitFor(
      "the failed attempt recorded",
      async () =>
        (await getCert(h, id)).renewalState ===
        CertificateRenewalState.CERTIFICATE_RENEWAL_STATE_FAILED,
    );
    const cert = await getCert(h, id);
    expect(cert.renewedByCertificateId).toBe("");
    expect(cert.renewalFailures).toBe(1);
    expect(cert.lastRenewalError?.code).toBe(9); // FAILED_PRECONDITION
    expect(cert.lastRenewalError?.message).toMatch(/disabled/i);
    expect(cert.nextRenewalAttemptTime!.getTime()).toBeGreaterThan(clock.now().getTime());
    const events = await h.db.query<{ type: string }>(
      "select type from certificate_event where certificate_id = $1 order by id",
      [id],
    );
    // The failure, and (nothing renews it now) that it nears expiry.
    expect(events.map((e) => e.type).slice(0, 2)).toEqual(["ISSUED", "RENEWAL_FAILED"]);
    const [audit] = await h.db.query<{ status_code: number; error_reason: string }>(
      "select status_code, error_reason from audit_record where actor_slug = 'certmint-auto-renewal' and resource_id in ($1::text, (select id::text from certificate_request where renewal_of_certificate_id = $1::uuid limit 1)) and status_code <> 0",
      [id],
    );
    expect(audit).toMatchObject({ status_code: 9 });

    // Enabled again and past the backoff (300 s): the retry renews it.
    await call(h.authorities, "updateCertificateAuthority", {
      certificateAuthority: {
        ...ca,
        status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_ACTIVE,
        etag: "",
      },
      updateMask: ["status"],
    });
    clock.advance(301);
    // Renewed (the successor linked), then settled (its failures cleared): two statements, so
    // waited for as one state, not read at once after the first (it failed so under a busy CI
    // run, stop 45).
    await waitFor("the retry after the backoff to renew it, and the renewal settled", async () => {
      const now = await getCert(h, id);
      return now.renewedByCertificateId !== "" && now.renewalFailures === 0;
    });
    const retried = await getCert(h, id);
    expect(retried.renewalState).toBe(CertificateRenewalState.CERTIFICATE_RENEWAL_STATE_RENEWED);
    expect(retried.renewalFailures).toBe(0);
    const requests = await h.db.query<{ request_id: string; status: string }>(
      "select request_id, status from certificate_request where renewal_of_certificate_id = $1 order by created_at",
      [id],
    );
    // One request per attempt, named by the attempt.
    expect(requests).toEqual([
      { request_id: `certmint-auto-renewal:${id}:0`, status: "FAILED" },
      { request_id: `certmint-auto-renewal:${id}:1`, status: "ISSUED" },
    ]);
  });

  it("a profile that requires approval: the renewal waits for an approver; a rejection counts as a failed attempt and is asked again", async () => {
    const { profileId: gated } = await createProfileRows(h, { slug: "gated", caId: rootId });
    await autoRenew(h.db, gated, { renewBeforeSeconds: 1200 }, 3600);
    const issued = await issue(
      h,
      attrRequest("gated", { cn: "gated.example.com", dns: ["gated.example.com"] }),
    );
    const id = issued.certificate!.certificateId;
    await h.db.query("update certificate_profile set require_approval = true where id = $1", [
      gated,
    ]);

    clock.advance(2405);
    await waitFor(
      "the renewal to wait for an approver",
      async () =>
        (await getCert(h, id)).renewalState ===
        CertificateRenewalState.CERTIFICATE_RENEWAL_STATE_AWAITING_APPROVAL,
    );
    const [pending] = await h.db.query<{ id: string; status: string }>(
      "select id, status from certificate_request where renewal_of_certificate_id = $1",
      [id],
    );
    expect(pending!.status).toBe("PENDING_APPROVAL");

    await call(h.certificates, "rejectCertificateRequest", {
      certificateRequestId: pending!.id,
      reason: "not now",
    });
    await waitFor(
      "the rejection recorded as a failed attempt",
      async () =>
        (await getCert(h, id)).renewalState ===
        CertificateRenewalState.CERTIFICATE_RENEWAL_STATE_FAILED,
    );
    const failed = await getCert(h, id);
    expect(failed.renewalFailures).toBe(1);
    expect(failed.lastRenewalError?.message).toContain("not now");
    // After the backoff it asks an approver again, under a new request_id.
    clock.advance(301);
    await waitFor("a second request for approval", async () => {
      const rows = await h.db.query<{ n: string }>(
        "select count(*) as n from certificate_request where renewal_of_certificate_id = $1 and status = 'PENDING_APPROVAL'",
        [id],
      );
      return Number(rows[0]!.n) === 1;
    });
    expect(
      (
        await h.db.query<{ request_id: string }>(
          "select request_id from certificate_request where renewal_of_certificate_id = $1 order by created_at",
          [id],
        )
      ).map((r) => r.request_id),
    ).toEqual([`certmint-auto-renewal:${id}:0`, `certmint-auto-renewal:${id}:1`]);
  });
});
