/**
 * Probe 49 (RENEW): server-driven renewal seen from outside, with two replicas of the compiled
 * server on one PostgreSQL database (every renewal below runs under both). A policy that now
 * refuses the certificates' names: FAILED with a reason, RENEWAL_FAILED to watchers, retried,
 * nothing signed; once the policy allows them again, exactly one successor each, its key to the
 * owner's watch only. A disabled CA: FAILED with CA_DISABLED, nothing signed.
 */
import { X509Certificate } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UpdateCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { UpdateCertificatePolicyRequest } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CreateCertificateProfileRequest,
  UpdateCertificateProfileRequest,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateEventType,
  CertificateRenewalState,
  CertificateRequestStatus,
  IssueCertificateRequest,
  ListCertificateRequestsRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { opensslCsr } from "../../support/fixtures";
import { type CertmintClients, call, expectRpcError } from "../../support/harness";
import {
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { WatchStream } from "../../support/watch-stream";
import { type LiveCertmint, Role, rootPolicyProfile, startLive, token } from "../api/live";

const T = CertificateEventType;
const S = CertificateRenewalState;
const seconds = (n: number) => ({ seconds: String(n), nanos: 0 });
const N = 6;
const RENEWAL_ENV = {
  CERTMINT_RENEWAL_TICK_MS: "200",
  CERTMINT_RENEWAL_RETRY_SECONDS: "1",
  CERTMINT_RENEWAL_RETRY_MAX_SECONDS: "2",
  CERTMINT_WATCH_KEEPALIVE_MS: "500",
};

describe("probe49 RENEW: server-driven renewal under two replicas", {
  timeout: 2 * START_LIMIT_MS + 180_000,
}, () => {
  let live: LiveCertmint;
  let replica: ServerProcess;
  let owner: Awaited<ReturnType<typeof token>>;
  let sibling: Awaited<ReturnType<typeof token>>;
  const watches: WatchStream[] = [];

  /** A profile on `policy` and `root`, renewed 300 s before notAfter, auto_renew off for now. */
  const profile = (slug: string, policy: string, root: string, requireApproval = false) =>
    call(
      live.admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug,
          certificatePolicy: policy,
          issuer: { $case: "certificateAuthority", value: root },
          requireApproval,
          defaults: { ttl: seconds(3600), keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 },
          renewal: { autoRenew: false, renewBefore: seconds(300) },
        },
      }),
    );
  const autoRenewOn = (slug: string) =>
    call(
      live.admin.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: { slug, renewal: { autoRenew: true, renewBefore: seconds(300) } },
        updateMask: ["renewal.auto_renew"],
      }),
    );
  /** Certificates of 200 s: due at once when auto_renew is switched on. */
  const issueDue = async (c: CertmintClients, slug: string, n: number, prefix = slug) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = `${prefix}-${i}.example.com`;
      const res = await call(
        c.certificates,
        "issueCertificate",
        IssueCertificateRequest.fromPartial({
          certificateProfile: slug,
          source: {
            $case: "attributes",
            value: { subject: { commonName: name }, subjectAlternativeNames: { dnsNames: [name] } },
          },
          ttl: seconds(200),
        }),
      );
      ids.push(res.certificate!.certificateId);
    }
    return ids;
  };
  const get = async (id: string) =>
    (await call(live.admin.certificates, "getCertificate", { certificate: id })).certificate!;
  const watch = (c: CertmintClients, slug: string) => {
    const w = new WatchStream(c, { scope: { $case: "certificateProfile", value: slug } });
    watches.push(w);
    return w;
  };

  beforeAll(async () => {
    live = await startLive(RENEWAL_ENV);
    replica = await startServerProcess({
      DATABASE_URL: live.db.url,
      CERTMINT_KEK: live.kek,
      CERTMINT_LOG_FORMAT: "json",
      ...RENEWAL_ENV,
    });
    await rootPolicyProfile(live, "seed");
    owner = await token(live, "owner", Role.ROLE_ISSUER, ["seed"]);
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await replica?.stop();
    await live?.stop();
  });

  it("a policy that now refuses the names: FAILED with a reason, retried, nothing signed; allowed again: one successor each, key to the owner only", async () => {
    const root = (await live.db.query<{ id: string }>("select id from certificate_authority"))[0]!
      .id;
    await profile("auto", "seed-policy", root);
    owner = await token(live, "auto-owner", Role.ROLE_ISSUER, ["auto"]);
    sibling = await token(live, "auto-sibling", Role.ROLE_ISSUER, ["auto"]);
    const ids = await issueDue(owner.clients, "auto", N);
    const mine = watch(owner.clients, "auto");
    const theirs = watch(sibling.clients, "auto");
    await waitFor(
      "both watches to start",
      () => mine.events.length > 0 && theirs.events.length > 0,
    );

    const setDns = (allowed: string[]) =>
      call(
        live.admin.policies,
        "updateCertificatePolicy",
        UpdateCertificatePolicyRequest.fromPartial({
          certificatePolicy: { slug: "seed-policy", sanRules: { dns: { allowed } } },
          updateMask: ["san_rules.dns"],
        }),
      );
    await setDns(["**.example.org"]);
    await autoRenewOn("auto");

    await waitFor("every certificate to have failed twice", async () => {
      for (const id of ids) if ((await get(id)).renewalFailures < 2) return false;
      return true;
    });
    for (const id of ids) {
      const c = await get(id);
      expect(c.renewalState).toBe(S.CERTIFICATE_RENEWAL_STATE_FAILED);
      expect(c.lastRenewalError?.code).toBe(status.INVALID_ARGUMENT);
      expect(c.lastRenewalError?.message).toMatch(/auto-\d\.example\.com/);
      expect(c.lastRenewalError?.details.length).toBeGreaterThan(0);
      expect(c.nextRenewalAttemptTime).toBeDefined();
    }
    expect(await live.count("certificate", "renewed_from_id = any($1::uuid[])", [ids])).toBe(0);
    expect(
      await live.count(
        "certificate_request",
        "renewal_of_certificate_id = any($1::uuid[]) and status <> 'FAILED'",
        [ids],
      ),
    ).toBe(0);
    await waitFor("RENEWAL_FAILED for each, to both watches", () =>
      ids.every(
        (id) =>
          mine.certificateIds(T.CERTIFICATE_EVENT_TYPE_RENEWAL_FAILED).includes(id) &&
          theirs.certificateIds(T.CERTIFICATE_EVENT_TYPE_RENEWAL_FAILED).includes(id),
      ),
    );

    await setDns(["**.example.com"]);
    await waitFor(
      "a successor for each",
      async () =>
        (await live.count("certificate", "renewed_from_id = any($1::uuid[])", [ids])) >= N,
    );
    await waitFor(
      "RENEWED for each, to both watches",
      () =>
        mine.of(T.CERTIFICATE_EVENT_TYPE_RENEWED).length >= N &&
        theirs.of(T.CERTIFICATE_EVENT_TYPE_RENEWED).length >= N,
    );
    const doubles = await live.db.query(
      "select renewed_from_id from certificate where renewed_from_id is not null group by 1 having count(*) > 1",
    );
    expect(doubles).toEqual([]);
    expect(await live.count("certificate_request", "status = 'PENDING'")).toBe(0);
    for (const e of mine.of(T.CERTIFICATE_EVENT_TYPE_RENEWED)) {
      expect(ids).toContain(e.previousCertificateId);
      expect(e.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    }
    for (const e of theirs.of(T.CERTIFICATE_EVENT_TYPE_RENEWED)) expect(e.privateKeyPem).toBe("");
    // Each lineage's successor appears once on each stream.
    const renewedOnce = (w: WatchStream) =>
      new Set(w.certificateIds(T.CERTIFICATE_EVENT_TYPE_RENEWED)).size ===
      w.of(T.CERTIFICATE_EVENT_TYPE_RENEWED).length;
    expect(renewedOnce(mine) && renewedOnce(theirs)).toBe(true);
    for (const id of ids) {
      const c = await get(id);
      expect(c.renewalState).toBe(S.CERTIFICATE_RENEWAL_STATE_RENEWED);
    }
  });

  it("a disabled CA: FAILED with CA_DISABLED and RENEWAL_FAILED, nothing signed", async () => {
    const { rootId } = await rootPolicyProfile(live, "dis");
    await profile("dis-auto", "dis-policy", rootId);
    const t = await token(live, "dis-owner", Role.ROLE_ISSUER, ["dis-auto"]);
    const ids = await issueDue(t.clients, "dis-auto", 2);
    const w = watch(t.clients, "dis-auto");
    await waitFor("the watch to start", () => w.events.length > 0);
    await call(
      live.admin.authorities,
      "updateCertificateAuthority",
      UpdateCertificateAuthorityRequest.fromPartial({
        certificateAuthority: { id: rootId, status: 2 },
        updateMask: ["status"],
      }),
    );
    await autoRenewOn("dis-auto");
    await waitFor("both to fail", async () => {
      for (const id of ids) if ((await get(id)).renewalFailures < 1) return false;
      return true;
    });
    for (const id of ids) {
      const c = await get(id);
      expect(c.renewalState).toBe(S.CERTIFICATE_RENEWAL_STATE_FAILED);
      expect(c.lastRenewalError?.code).toBe(status.FAILED_PRECONDITION);
      expect(JSON.stringify(c.lastRenewalError)).toMatch(/CA_DISABLED|disabled/i);
    }
    await waitFor("RENEWAL_FAILED for both", () =>
      ids.every((id) => w.certificateIds(T.CERTIFICATE_EVENT_TYPE_RENEWAL_FAILED).includes(id)),
    );
    expect(await live.count("certificate", "renewed_from_id = any($1::uuid[])", [ids])).toBe(0);
    expect(
      await live.count(
        "certificate_request",
        "renewal_of_certificate_id = any($1::uuid[]) and status in ('PENDING', 'ISSUED')",
        [ids],
      ),
    ).toBe(0);
  });
  it("a certificate on hold is not renewed by the server; released, it is (one successor)", async () => {
    const { rootId } = await rootPolicyProfile(live, "hold");
    await profile("hold-auto", "hold-policy", rootId);
    const t = await token(live, "hold-owner", Role.ROLE_ISSUER, ["hold-auto"]);
    // The held one first: its renewal time is the earlier, so it is claimed no later than the witness.
    const [held, witness] = await issueDue(t.clients, "hold-auto", 2);
    await call(live.admin.certificates, "revokeCertificate", {
      certificate: held!,
      reason: RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD,
    });
    await autoRenewOn("hold-auto");
    await waitFor(
      "the witness's successor",
      async () => (await live.count("certificate", "renewed_from_id = $1", [witness])) === 1,
    );
    expect(await live.count("certificate", "renewed_from_id = $1", [held])).toBe(0);
    expect(
      await live.count(
        "certificate_request",
        "renewal_of_certificate_id = $1 and status <> 'FAILED'",
        [held],
      ),
    ).toBe(0);
    await call(live.admin.certificates, "releaseCertificateHold", { certificate: held! });
    await expectRenewedLikeALaterWitness(t.clients, "hold-auto", held!);
  });

  it("a certificate on hold while its profile's renew_before grows: released, it is due as its profile now says", async () => {
    const { rootId } = await rootPolicyProfile(live, "grow");
    // auto_renew on from the start, 100 s before notAfter: a 200 s certificate is not due yet.
    await profile("grow-auto", "grow-policy", rootId);
    await call(
      live.admin.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "grow-auto",
          renewal: { autoRenew: true, renewBefore: seconds(100) },
        },
        updateMask: ["renewal"],
      }),
    );
    const t = await token(live, "grow-owner", Role.ROLE_ISSUER, ["grow-auto"]);
    const [held] = await issueDue(t.clients, "grow-auto", 1);
    await call(live.admin.certificates, "revokeCertificate", {
      certificate: held!,
      reason: RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD,
    });
    // 300 s before notAfter: every 200 s certificate of the profile is due now.
    await call(
      live.admin.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "grow-auto",
          renewal: { autoRenew: true, renewBefore: seconds(300) },
        },
        updateMask: ["renewal"],
      }),
    );
    await call(live.admin.certificates, "releaseCertificateHold", { certificate: held! });
    await expectRenewedLikeALaterWitness(t.clients, "grow-auto", held!);
  });

  /**
   * A certificate released from hold is an active certificate of its profile again: once a
   * certificate issued after the release, due no earlier, has been renewed (the renewer claims
   * a profile's due certificates earliest renewal time first), the released one is being
   * renewed or renewed, with one successor.
   */
  const expectRenewedLikeALaterWitness = async (
    c: CertmintClients,
    slug: string,
    released: string,
  ) => {
    const [later] = await issueDue(c, slug, 1, `${slug}-later`);
    await waitFor(
      "the later certificate's successor",
      async () => (await live.count("certificate", "renewed_from_id = $1", [later])) === 1,
    );
    expect([S.CERTIFICATE_RENEWAL_STATE_RENEWING, S.CERTIFICATE_RENEWAL_STATE_RENEWED]).toContain(
      (await get(released)).renewalState,
    );
    await waitFor(
      "the released certificate's successor",
      async () => (await live.count("certificate", "renewed_from_id = $1", [released])) === 1,
    );
  };

  it("an automatic renewal that waits for approval: the owner (an admin) may not approve it; an approver's approval sends the key to the owner's watch only", async () => {
    const { rootId } = await rootPolicyProfile(live, "gate");
    await profile("gate-auto", "gate-policy", rootId, true);
    const t = await token(live, "gate-owner", Role.ROLE_ISSUER, ["gate-auto"]);
    const approver = await token(live, "gate-approver", Role.ROLE_APPROVER, ["gate-auto"]);
    const pendingIssue = async (c: CertmintClients, name: string) => {
      const res = await call(
        c.certificates,
        "issueCertificate",
        IssueCertificateRequest.fromPartial({
          certificateProfile: "gate-auto",
          source: {
            $case: "attributes",
            value: { subject: { commonName: name }, subjectAlternativeNames: { dnsNames: [name] } },
          },
          ttl: seconds(200),
        }),
      );
      await call(approver.clients.certificates, "approveCertificateRequest", {
        certificateRequestId: res.certificateRequestId,
        comment: "first",
      });
      const got = await call(c.certificates, "getRequestStatus", {
        certificateRequestId: res.certificateRequestId,
      });
      return got.certificate!.certificateId;
    };
    const adminOwned = await pendingIssue(live.admin, "gate-admin.example.com");
    const issuerOwned = await pendingIssue(t.clients, "gate-issuer.example.com");
    const ownerWatch = watch(t.clients, "gate-auto");
    const approverWatch = watch(approver.clients, "gate-auto");
    await waitFor(
      "the watches to start",
      () => ownerWatch.events.length > 0 && approverWatch.events.length > 0,
    );
    await autoRenewOn("gate-auto");
    await waitFor("both renewals to wait for approval", async () => {
      for (const id of [adminOwned, issuerOwned])
        if ((await get(id)).renewalState !== S.CERTIFICATE_RENEWAL_STATE_AWAITING_APPROVAL)
          return false;
      return true;
    });
    const queue = await call(
      approver.clients.certificates,
      "listCertificateRequests",
      ListCertificateRequestsRequest.fromPartial({
        status: CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL,
        certificateProfile: "gate-auto",
      }),
    );
    const renewalOf = (id: string) =>
      queue.certificateRequests.find((r) => r.renewalOfCertificateId === id);
    expect(renewalOf(adminOwned)).toBeDefined();
    expect(renewalOf(issuerOwned)).toBeDefined();

    // The admin owns the certificate this renewal is made for (in its name): approving it is
    // approving its own request.
    const self = await expectRpcError(
      call(live.admin.certificates, "approveCertificateRequest", {
        certificateRequestId: renewalOf(adminOwned)!.id,
        comment: "my own",
      }),
    );
    expect([self.code, self.reason]).toEqual([
      status.PERMISSION_DENIED,
      "SELF_APPROVAL_NOT_ALLOWED",
    ]);
    expect(await live.count("certificate", "renewed_from_id = $1", [adminOwned])).toBe(0);

    await call(approver.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: renewalOf(issuerOwned)!.id,
      comment: "renewal",
    });
    await waitFor("RENEWED on both watches", () =>
      [ownerWatch, approverWatch].every((w) =>
        w.of(T.CERTIFICATE_EVENT_TYPE_RENEWED).some((e) => e.previousCertificateId === issuerOwned),
      ),
    );
    const toOwner = ownerWatch
      .of(T.CERTIFICATE_EVENT_TYPE_RENEWED)
      .find((e) => e.previousCertificateId === issuerOwned)!;
    const toApprover = approverWatch
      .of(T.CERTIFICATE_EVENT_TYPE_RENEWED)
      .find((e) => e.previousCertificateId === issuerOwned)!;
    expect(toOwner.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    // The renewal's request: the approver reads it without the key; another issuer not at all.
    const byApprover = await call(approver.clients.certificates, "getRequestStatus", {
      certificateRequestId: renewalOf(issuerOwned)!.id,
    });
    expect(byApprover.privateKeyPem).toBe("");
    const other = await token(live, "gate-other", Role.ROLE_ISSUER, ["gate-auto"]);
    const hidden = await expectRpcError(
      call(other.clients.certificates, "getRequestStatus", {
        certificateRequestId: renewalOf(issuerOwned)!.id,
      }),
    );
    expect(hidden.code).toBe(status.NOT_FOUND);
    expect(toApprover.privateKeyPem).toBe("");
    expect(await live.count("certificate", "renewed_from_id = $1", [issuerOwned])).toBe(1);
  });
  it("a certificate issued from a CSR is renewed with the same public key, and no private key goes out", async () => {
    const { rootId } = await rootPolicyProfile(live, "csr");
    await profile("csr-auto", "csr-policy", rootId);
    const t = await token(live, "csr-owner", Role.ROLE_ISSUER, ["csr-auto"]);
    const { csrPem } = opensslCsr("/CN=csr-0.example.com", ["DNS:csr-0.example.com"]);
    const res = await call(
      t.clients.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "csr-auto",
        source: { $case: "csrPem", value: csrPem },
        ttl: seconds(200),
      }),
    );
    const id = res.certificate!.certificateId;
    const w = watch(t.clients, "csr-auto");
    await waitFor("the watch to start", () => w.events.length > 0);
    await autoRenewOn("csr-auto");
    await waitFor("RENEWED", () => w.of(T.CERTIFICATE_EVENT_TYPE_RENEWED).length === 1);
    const e = w.of(T.CERTIFICATE_EVENT_TYPE_RENEWED)[0]!;
    expect(e.previousCertificateId).toBe(id);
    expect(e.privateKeyPem).toBe("");
    const spki = (pem: string) =>
      new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" }).toString("hex");
    expect(spki(e.certificate!.certificatePem)).toBe(spki(res.certificate!.certificatePem));
  });
});
