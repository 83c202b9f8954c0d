/**
 * Probe 51 (RENEWAL): certmint's own (server-driven) renewal against rules changed since the
 * certificate was issued, on the compiled server and its own PostgreSQL database: a key
 * algorithm the policy no longer allows, the profile moved to a CA that ends first, the profile
 * deleted, and the owner renewing by hand as the server does. Each attempt that cannot renew
 * must say so (renewal_state FAILED, last_renewal_error, a RENEWAL_FAILED event) and sign
 * nothing; what is signed is checked with openssl.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidityOverflow } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateEventType,
  CertificateRenewalState,
  CertificateRequestStatus,
  IssueCertificateRequest,
  ListCertificateRequestsRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { type LiveCertmint, Role, startLive, token } from "../../probe49/api/live";
import { opensslCsr } from "../../support/fixtures";
import { type CertmintClients, call, decodeError, expectRpcError } from "../../support/harness";
import { START_LIMIT_MS } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { WatchStream } from "../../support/watch-stream";
import {
  createPolicy,
  createProfile,
  createRoot,
  issue,
  opensslVerify,
  reasonOf,
  renew,
  seconds,
  updatePolicy,
  updateProfile,
  validity,
} from "./kit";

const T = CertificateEventType;
const S = CertificateRenewalState;

describe("probe51 RENEWAL: server-driven renewal against rules changed since issuance", {
  timeout: START_LIMIT_MS + 180_000,
}, () => {
  let live: LiveCertmint;
  let rootId: string;
  let rootPem: string;
  const watches: WatchStream[] = [];

  /** A policy and a profile (hour-long defaults, EC P-256, renewed 300 s before the end, auto off). */
  const setup = async (slug: string, more: Parameters<typeof createProfile>[4] = {}) => {
    await createPolicy(live, `${slug}-policy`);
    await createProfile(live, slug, `${slug}-policy`, rootId, {
      defaults: { ttl: seconds(3600), keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 },
      renewal: { autoRenew: false, renewBefore: seconds(300) },
      ...more,
    });
    return token(live, `${slug}-owner`, Role.ROLE_ISSUER, [slug]);
  };
  /** Certificates of 200 s are due as soon as their profile renews automatically. */
  const autoRenewOn = (slug: string) =>
    updateProfile(live, slug, { renewal: { autoRenew: true, renewBefore: seconds(300) } }, [
      "renewal.auto_renew",
    ]);
  const get = async (id: string) =>
    (await call(live.admin.certificates, "getCertificate", { certificate: id })).certificate!;
  const successors = (id: string) => live.count("certificate", "renewed_from_id = $1", [id]);
  const watchOf = (c: CertmintClients, id: string) => {
    const w = new WatchStream(c, { scope: { $case: "certificateId", value: id } });
    watches.push(w);
    return w;
  };

  beforeAll(async () => {
    live = await startLive({
      CERTMINT_RENEWAL_TICK_MS: "200",
      CERTMINT_RENEWAL_RETRY_SECONDS: "1",
      CERTMINT_RENEWAL_RETRY_MAX_SECONDS: "2",
      CERTMINT_WATCH_KEEPALIVE_MS: "500",
    });
    const root = await createRoot(live, "root");
    rootId = root.id;
    rootPem = root.certificatePem;
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await live?.stop();
  });

  it("a CSR key of an algorithm the policy no longer allows: FAILED with the policy's reason, RENEWAL_FAILED, retried, nothing signed", async () => {
    const owner = await setup("csralg");
    const { csrPem } = opensslCsr("/CN=csralg.example.com", ["DNS:csralg.example.com"]);
    const cert = (
      await call(
        owner.clients.certificates,
        "issueCertificate",
        IssueCertificateRequest.fromPartial({
          certificateProfile: "csralg",
          source: { $case: "csrPem", value: csrPem },
          ttl: seconds(200),
        }),
      )
    ).certificate!;
    const w = watchOf(owner.clients, cert.certificateId);
    await waitFor("the watch's CURRENT", () => w.of(T.CERTIFICATE_EVENT_TYPE_CURRENT).length > 0);
    // The profile first (its defaults must keep to its policy), then the policy: P-384 only.
    await updateProfile(
      live,
      "csralg",
      { defaults: { ttl: seconds(3600), keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P384 } },
      ["defaults.key_algorithm"],
    );
    await updatePolicy(
      live,
      "csralg-policy",
      { keyAlgorithms: { allowed: [KeyAlgorithm.KEY_ALGORITHM_EC_P384], minRsaBits: 0 } },
      ["key_algorithms"],
    );
    await autoRenewOn("csralg");
    await waitFor(
      "two failed attempts",
      async () => (await get(cert.certificateId)).renewalFailures >= 2,
    );
    const got = await get(cert.certificateId);
    expect(got.renewalState).toBe(S.CERTIFICATE_RENEWAL_STATE_FAILED);
    expect(reasonOf(got.lastRenewalError)).toBeTruthy();
    expect(got.lastRenewalError?.message).toMatch(/key|algorithm/i);
    await waitFor(
      "RENEWAL_FAILED on the watch",
      () => w.of(T.CERTIFICATE_EVENT_TYPE_RENEWAL_FAILED).length > 0,
    );
    expect(await successors(cert.certificateId)).toBe(0);
  });

  it("a generated EC key after the profile and policy moved to RSA: certmint's renewal generates the profile's RSA key, and the owner's watch gets it", async () => {
    const owner = await setup("ec2rsa");
    const cert = (await issue(owner.clients, "ec2rsa", "ec2rsa.example.com", { ttl: seconds(200) }))
      .certificate!;
    const w = watchOf(owner.clients, cert.certificateId);
    await waitFor("the watch's CURRENT", () => w.of(T.CERTIFICATE_EVENT_TYPE_CURRENT).length > 0);
    // The profile first (its defaults must keep to its policy), then the policy: RSA only.
    await updatePolicy(
      live,
      "ec2rsa-policy",
      {
        keyAlgorithms: {
          allowed: [KeyAlgorithm.KEY_ALGORITHM_EC_P256, KeyAlgorithm.KEY_ALGORITHM_RSA_2048],
          minRsaBits: 0,
        },
      },
      ["key_algorithms"],
    );
    await updateProfile(
      live,
      "ec2rsa",
      { defaults: { ttl: seconds(3600), keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048 } },
      ["defaults.key_algorithm"],
    );
    await updatePolicy(
      live,
      "ec2rsa-policy",
      { keyAlgorithms: { allowed: [KeyAlgorithm.KEY_ALGORITHM_RSA_2048], minRsaBits: 0 } },
      ["key_algorithms"],
    );
    await autoRenewOn("ec2rsa");
    await waitFor("RENEWED", () => w.of(T.CERTIFICATE_EVENT_TYPE_RENEWED).length > 0);
    const succ = w.of(T.CERTIFICATE_EVENT_TYPE_RENEWED)[0]!;
    const { x } = validity(succ.certificate!.certificatePem);
    // Before stop 51 the renewal kept EC P-256, which the policy refuses: RENEWAL_FAILED until expiry.
    expect(x.publicKey.asymmetricKeyType).toBe("rsa");
    expect(x.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(succ.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    expect(opensslVerify(succ.certificate!.certificatePem, [], rootPem).ok).toBe(true);
    expect(w.of(T.CERTIFICATE_EVENT_TYPE_RENEWAL_FAILED)).toEqual([]);
  });

  it("the profile moved to a CA ending first: FAIL records VALIDITY_EXCEEDS_ISSUER and signs nothing; TRUNCATE renews it once, cut to the CA's end, and openssl verifies it", async () => {
    const owner = await setup("ends", {
      defaults: { ttl: seconds(7200), keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 },
    });
    // 40 minutes: renewed with the profile's two hours, it would outlive a CA of an hour.
    const cert = (await issue(owner.clients, "ends", "ends.example.com", { ttl: seconds(2400) }))
      .certificate!;
    const shortRoot = await createRoot(live, "ends-root", 3600);
    await updateProfile(
      live,
      "ends",
      {
        issuer: { $case: "certificateAuthority", value: shortRoot.id },
        renewal: { autoRenew: true, renewBefore: seconds(2500) },
      },
      ["certificate_authority", "renewal.auto_renew", "renewal.renew_before"],
    );
    const w = watchOf(owner.clients, cert.certificateId);
    await waitFor(
      "a failed attempt",
      async () => (await get(cert.certificateId)).renewalFailures >= 1,
    );
    const failed = await get(cert.certificateId);
    expect(failed.renewalState).toBe(S.CERTIFICATE_RENEWAL_STATE_FAILED);
    expect(reasonOf(failed.lastRenewalError)).toBe("VALIDITY_EXCEEDS_ISSUER");
    expect(await successors(cert.certificateId)).toBe(0);

    await updateProfile(
      live,
      "ends",
      { validityOverflow: ValidityOverflow.VALIDITY_OVERFLOW_TRUNCATE },
      ["validity_overflow"],
    );
    await waitFor("the successor", async () => (await successors(cert.certificateId)) === 1);
    await waitFor("RENEWED", () => w.of(T.CERTIFICATE_EVENT_TYPE_RENEWED).length > 0);
    const succ = w.of(T.CERTIFICATE_EVENT_TYPE_RENEWED)[0]!;
    const pem = succ.certificate!.certificatePem;
    const { notAfter, x } = validity(pem);
    expect(notAfter.getTime()).toBeLessThanOrEqual(
      validity(shortRoot.certificatePem).notAfter.getTime(),
    );
    expect(notAfter.getTime()).toBeGreaterThan(validity(cert.certificatePem).notAfter.getTime());
    expect(x.checkIssued(validity(shortRoot.certificatePem).x)).toBe(true);
    expect(opensslVerify(pem, [], shortRoot.certificatePem).ok).toBe(true);
    expect(succ.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    expect(await successors(cert.certificateId)).toBe(1);
  });

  it("a profile deleted (force) with a certificate it would renew: the owner's watch is told (RENEWAL_FAILED or EXPIRING), nothing signed", async () => {
    const owner = await setup("deleted", {
      renewal: { autoRenew: true, renewBefore: seconds(300) },
    });
    const sentinel = await setup("sentinel");
    // Due 5 s after it is issued: the deletion comes first.
    const cert = (
      await issue(owner.clients, "deleted", "deleted.example.com", { ttl: seconds(305) })
    ).certificate!;
    const w = watchOf(live.admin, cert.certificateId);
    await waitFor("the watch's CURRENT", () => w.of(T.CERTIFICATE_EVENT_TYPE_CURRENT).length > 0);
    await call(live.admin.profiles, "deleteCertificateProfile", {
      certificateProfile: "deleted",
      force: true,
      etag: "",
    });
    const due = new Date(validity(cert.certificatePem).notAfter.getTime() - 300_000);
    await waitFor("its renewal time", () => Date.now() > due.getTime() + 1000);
    // The renewer has worked past that time: a certificate of another profile, due now, is
    // renewed (the same tick looks for certificates due that nothing renews: EXPIRING).
    const s = (
      await issue(sentinel.clients, "sentinel", "sentinel.example.com", { ttl: seconds(200) })
    ).certificate!;
    await autoRenewOn("sentinel");
    await waitFor(
      "the sentinel's successor",
      async () => (await successors(s.certificateId)) === 1,
    );
    await waitFor(
      "a word to the watch that the lineage stops",
      () =>
        w.of(T.CERTIFICATE_EVENT_TYPE_RENEWAL_FAILED).length +
          w.of(T.CERTIFICATE_EVENT_TYPE_EXPIRING).length >
        0,
      5_000,
    ).catch(() => undefined);
    const got = await get(cert.certificateId);
    expect(await successors(cert.certificateId)).toBe(0);
    expect({
      told:
        w.of(T.CERTIFICATE_EVENT_TYPE_RENEWAL_FAILED).length +
          w.of(T.CERTIFICATE_EVENT_TYPE_EXPIRING).length >
        0,
      state: got.renewalState,
    }).toEqual({ told: true, state: S.CERTIFICATE_RENEWAL_STATE_FAILED });
  });

  it("the owner renews by hand as the server renews: one successor; a refused one is CERTIFICATE_ALREADY_RENEWED naming it, and the server records no failure", async () => {
    const owner = await setup("both");
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push(
        (await issue(owner.clients, "both", `both-${i}.example.com`, { ttl: seconds(200) }))
          .certificate!.certificateId,
      );
    }
    await autoRenewOn("both");
    const manual = await Promise.all(
      ids.map((id) =>
        renew(owner.clients, id).then(
          (r) => ({ ok: r.certificate!.certificateId }),
          (e: unknown) => ({ err: e }),
        ),
      ),
    );
    for (const id of ids) {
      await waitFor(`${id} renewed`, async () => (await successors(id)) === 1);
    }
    for (const [i, m] of manual.entries()) {
      const [succ] = await live.db.query<{ id: string }>(
        "select id from certificate where renewed_from_id = $1",
        [ids[i]],
      );
      if ("ok" in m) {
        expect(m.ok).toBe(succ!.id);
      } else {
        const e = await expectRpcError(Promise.reject(m.err));
        expect([e.code, e.reason]).toEqual([
          status.FAILED_PRECONDITION,
          "CERTIFICATE_ALREADY_RENEWED",
        ]);
        expect(e.message).toContain(succ!.id);
      }
      const old = await get(ids[i]!);
      expect(old.renewalFailures).toBe(0);
      expect(old.renewedByCertificateId).toBe(succ!.id);
    }
    const failedEvents = await live.db.query<{ n: string }>(
      "select count(*) as n from certificate_event where type = 'RENEWAL_FAILED' and certificate_id = any($1::uuid[])",
      [ids],
    );
    expect(Number(failedEvents[0]!.n)).toBe(0);
    expect(opensslVerify((await get(ids[0]!)).certificatePem, [], rootPem).ok).toBe(true);
  });

  it("a certificate revoked while certmint's renewal of it waits for approval: the approval signs nothing, the renewal no longer waits, the certificate is not left AWAITING_APPROVAL", async () => {
    const owner = await setup("gate", { requireApproval: true });
    const approver = await token(live, "gate-approver", Role.ROLE_APPROVER, ["gate"]);
    const first = await issue(owner.clients, "gate", "gate.example.com", { ttl: seconds(200) });
    const approved = await call(approver.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: first.certificateRequestId,
      comment: "",
    });
    const id = approved.certificateRequest!.certificateId;
    await autoRenewOn("gate");
    await waitFor(
      "the server's renewal to wait for an approver",
      async () => (await get(id)).renewalState === S.CERTIFICATE_RENEWAL_STATE_AWAITING_APPROVAL,
    );
    const [waiting] = await live.db.query<{ id: string }>(
      "select id from certificate_request where renewal_of_certificate_id = $1 and status = 'PENDING_APPROVAL'",
      [id],
    );
    await call(live.admin.certificates, "revokeCertificate", {
      certificate: id,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    const outcome = await call(approver.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: waiting!.id,
      comment: "",
    }).then(
      (res) => ({
        status: res.certificateRequest!.status,
        reason: reasonOf(res.certificateRequest!.error),
      }),
      (err: unknown) => ({ status: undefined, reason: decodeError(err).reason }),
    );
    expect(outcome.status).not.toBe(CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED);
    expect(await successors(id)).toBe(0);
    const queue = await call(
      approver.clients.certificates,
      "listCertificateRequests",
      ListCertificateRequestsRequest.fromPartial({
        status: CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL,
      }),
    );
    expect(queue.certificateRequests.map((r) => r.id)).not.toContain(waiting!.id);
    const after = await get(id);
    expect(after.renewalState).not.toBe(S.CERTIFICATE_RENEWAL_STATE_AWAITING_APPROVAL);
    expect(outcome.reason).toBe("CERTIFICATE_REVOKED");
  });
});
