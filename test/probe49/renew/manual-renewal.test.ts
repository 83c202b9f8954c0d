/**
 * Probe 49 (RENEW): RenewCertificate, GetCurrentCertificate, approvals and watch access against
 * the compiled server on its own PostgreSQL database, from outside. Each refusal must carry a
 * precise status and reason, and leave no row behind (certificate, certificate_request).
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevokeAccessTokenRequest } from "../../../gen/ts/certmint/v1/access_token_service";
import { UpdateCertificatePolicyRequest } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { PrivateKeyRetention } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateEventType,
  CertificateRequestStatus,
  IssueCertificateRequest,
  ListCertificateRequestsRequest,
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { opensslCsr } from "../../support/fixtures";
import { type CertmintClients, call, decodeError, expectRpcError } from "../../support/harness";
import { START_LIMIT_MS } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { WatchStream } from "../../support/watch-stream";
import { type LiveCertmint, Role, rootPolicyProfile, startLive, token } from "../api/live";

const T = CertificateEventType;
const seconds = (n: number) => ({ seconds: String(n), nanos: 0 });

const issue = (c: CertmintClients, profile: string, name: string) =>
  call(
    c.certificates,
    "issueCertificate",
    IssueCertificateRequest.fromPartial({
      certificateProfile: profile,
      source: {
        $case: "attributes",
        value: {
          subject: { commonName: name },
          subjectAlternativeNames: { dnsNames: [name] },
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        },
      },
      ttl: seconds(3600),
    }),
  );

const renew = (c: CertmintClients, id: string, more: Partial<RenewCertificateRequest> = {}) =>
  call(
    c.certificates,
    "renewCertificate",
    RenewCertificateRequest.fromPartial({ certificateId: id, ...more }),
  );

describe("probe49 RENEW: who may renew, approve, watch", {
  timeout: START_LIMIT_MS + 120_000,
}, () => {
  let live: LiveCertmint;
  let owner: Awaited<ReturnType<typeof token>>;
  let sibling: Awaited<ReturnType<typeof token>>;
  let stranger: Awaited<ReturnType<typeof token>>;
  let approver: Awaited<ReturnType<typeof token>>;
  const watches: WatchStream[] = [];

  /** Rows a refused call must not add. */
  const rows = async () => ({
    certificates: await live.count("certificate"),
    requests: await live.count("certificate_request"),
  });

  beforeAll(async () => {
    live = await startLive({
      CERTMINT_WATCH_KEEPALIVE_MS: "500",
      CERTMINT_RENEWAL_ENABLED: "false",
    });
    await rootPolicyProfile(live, "alpha");
    await rootPolicyProfile(live, "beta");
    await rootPolicyProfile(live, "gated", {
      requireApproval: true,
      retention: PrivateKeyRetention.PRIVATE_KEY_RETENTION_RETURN_ONCE,
    });
    owner = await token(live, "owner", Role.ROLE_ISSUER, ["alpha", "gated"]);
    sibling = await token(live, "sibling", Role.ROLE_ISSUER, ["alpha", "gated"]);
    stranger = await token(live, "stranger", Role.ROLE_ISSUER, ["beta"]);
    approver = await token(live, "approver", Role.ROLE_APPROVER, ["gated"]);
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await live?.stop();
  });

  it("another issuer of the profile (no shared renewal) and an issuer of another profile cannot renew; nothing stored", async () => {
    const cert = (await issue(owner.clients, "alpha", "a1.example.com")).certificate!;
    const before = await rows();
    const e1 = await expectRpcError(
      renew(sibling.clients, cert.certificateId, {
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
      }),
    );
    expect([e1.code, e1.reason]).toEqual([status.PERMISSION_DENIED, "CERTIFICATE_NOT_OWNED"]);
    const e2 = await expectRpcError(renew(stranger.clients, cert.certificateId));
    expect(e2.code).toBe(status.NOT_FOUND);
    const e3 = await expectRpcError(
      call(stranger.clients.certificates, "getCurrentCertificate", {
        certificate: cert.certificateId,
      }),
    );
    expect(e3.code).toBe(status.NOT_FOUND);
    expect(await rows()).toEqual(before);
  });

  it("a renewal the policy now forbids (SAN no longer allowed) is refused with a reason, nothing stored", async () => {
    await rootPolicyProfile(live, "shrink");
    const t = await token(live, "shrink-owner", Role.ROLE_ISSUER, ["shrink"]);
    const cert = (await issue(t.clients, "shrink", "old.example.com")).certificate!;
    await call(
      live.admin.policies,
      "updateCertificatePolicy",
      UpdateCertificatePolicyRequest.fromPartial({
        certificatePolicy: {
          slug: "shrink-policy",
          sanRules: { dns: { allowed: ["**.example.org"] } },
        },
        updateMask: ["san_rules.dns"],
      }),
    );
    const before = await rows();
    for (const keySource of [
      RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
      RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    ]) {
      const e = await expectRpcError(renew(t.clients, cert.certificateId, { keySource }));
      expect(e.code).toBe(status.INVALID_ARGUMENT);
      expect(e.reason).toBeTruthy();
      expect(e.message).toMatch(/old\.example\.com/);
    }
    // A TTL the policy's max does not allow.
    const e = await expectRpcError(
      renew(t.clients, cert.certificateId, { ttl: seconds(400 * 86_400) }),
    );
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    // A policy refusal is recorded as a FAILED request (README), never a certificate, and the
    // certificate stays renewable.
    expect((await rows()).certificates).toBe(before.certificates);
    const renewals = await live.db.query<{ status: string }>(
      "select status from certificate_request where renewal_of_certificate_id = $1",
      [cert.certificateId],
    );
    expect(renewals.every((r) => r.status === "FAILED")).toBe(true);
    expect(await live.count("certificate", "renewed_from_id = $1", [cert.certificateId])).toBe(0);
  });

  it("renewing a renewed, a revoked and an on-hold certificate: FAILED_PRECONDITION, nothing stored", async () => {
    const a = (await issue(owner.clients, "alpha", "a2.example.com")).certificate!;
    const succ = await renew(owner.clients, a.certificateId);
    expect(succ.status).toBe(CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED);
    const cur = await call(owner.clients.certificates, "getCurrentCertificate", {
      certificate: a.certificateId,
    });
    expect(cur.certificate?.id).toBe(succ.certificate!.certificateId);

    const b = (await issue(owner.clients, "alpha", "a3.example.com")).certificate!;
    await call(live.admin.certificates, "revokeCertificate", {
      certificate: b.certificateId,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const c = (await issue(owner.clients, "alpha", "a4.example.com")).certificate!;
    await call(live.admin.certificates, "revokeCertificate", {
      certificate: c.certificateId,
      reason: RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD,
    });
    const before = await rows();
    const renewed = await expectRpcError(renew(owner.clients, a.certificateId));
    expect([renewed.code, renewed.reason]).toEqual([
      status.FAILED_PRECONDITION,
      "CERTIFICATE_ALREADY_RENEWED",
    ]);
    const revoked = await expectRpcError(renew(owner.clients, b.certificateId));
    expect([revoked.code, revoked.reason]).toEqual([
      status.FAILED_PRECONDITION,
      "CERTIFICATE_REVOKED",
    ]);
    const held = await expectRpcError(renew(owner.clients, c.certificateId));
    expect(held.code).toBe(status.FAILED_PRECONDITION);
    expect(await rows()).toEqual(before);
  });

  it("an admin's REUSE renewal gets no key; a NEW renewal's key and certificate are the admin's", async () => {
    const a = (await issue(owner.clients, "alpha", "a5.example.com")).certificate!;
    const reuse = await renew(live.admin, a.certificateId, {
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
    });
    expect(reuse.privateKeyPem).toBe("");
    const got = await call(live.admin.certificates, "getCertificate", {
      certificate: reuse.certificate!.certificateId,
    });
    expect(got.certificate!.ownerAccessTokenId).toBe(owner.id);
    const fresh = await renew(live.admin, reuse.certificate!.certificateId, {
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    });
    expect(fresh.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    // The former owner no longer owns the lineage's head: it may not renew it.
    const e = await expectRpcError(renew(owner.clients, fresh.certificate!.certificateId));
    expect([e.code, e.reason]).toEqual([status.PERMISSION_DENIED, "CERTIFICATE_NOT_OWNED"]);
  });

  it("approvals: no self-approval (admin included), another issuer sees no request, the key goes to the requester only", async () => {
    const req = await issue(owner.clients, "gated", "g1.example.com");
    expect(req.status).toBe(CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL);
    const id = req.certificateRequestId;
    const self = await expectRpcError(
      call(owner.clients.certificates, "approveCertificateRequest", {
        certificateRequestId: id,
        comment: "",
      }),
    );
    expect(self.code).toBe(status.PERMISSION_DENIED);
    const adminReq = await issue(live.admin, "gated", "g2.example.com");
    const adminSelf = await expectRpcError(
      call(live.admin.certificates, "approveCertificateRequest", {
        certificateRequestId: adminReq.certificateRequestId,
        comment: "",
      }),
    );
    expect([adminSelf.code, adminSelf.reason]).toEqual([
      status.PERMISSION_DENIED,
      "SELF_APPROVAL_NOT_ALLOWED",
    ]);
    const other = await expectRpcError(
      call(sibling.clients.certificates, "getRequestStatus", { certificateRequestId: id }),
    );
    expect(other.code).toBe(status.NOT_FOUND);
    const strangerList = await call(
      stranger.clients.certificates,
      "listCertificateRequests",
      ListCertificateRequestsRequest.fromPartial({}),
    );
    expect(strangerList.certificateRequests.map((r) => r.id)).not.toContain(id);

    const approved = await call(approver.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: id,
      comment: "ok",
    });
    expect(JSON.stringify(approved)).not.toMatch(/PRIVATE KEY/);
    const asApprover = await call(approver.clients.certificates, "getRequestStatus", {
      certificateRequestId: id,
    });
    expect(asApprover.privateKeyPem).toBe("");
    const asOwner = await call(owner.clients.certificates, "getRequestStatus", {
      certificateRequestId: id,
    });
    expect(asOwner.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    // Approving it again answers what was stored: not a second certificate.
    const again = await call(approver.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: id,
      comment: "",
    });
    expect(JSON.stringify(again)).not.toMatch(/PRIVATE KEY/);
    expect(await live.count("certificate", "certificate_request_id = $1", [id])).toBe(1);
  });

  it("watch: tampered and future cursors, another profile's certificate and profile are refused precisely", async () => {
    const cert = (await issue(owner.clients, "alpha", "w1.example.com")).certificate!;
    const cases: Array<[Record<string, unknown>, number]> = [
      [{ afterCursor: "abc" }, status.INVALID_ARGUMENT],
      [{ afterCursor: "-1" }, status.INVALID_ARGUMENT],
      [{ afterCursor: "1.5" }, status.INVALID_ARGUMENT],
      [{ afterCursor: "99999999999999999999" }, status.INVALID_ARGUMENT],
      [{ afterCursor: "999999999" }, status.INVALID_ARGUMENT],
      [{ scope: { $case: "certificateId", value: cert.certificateId } }, status.NOT_FOUND],
      [{ scope: { $case: "certificateProfile", value: "alpha" } }, status.PERMISSION_DENIED],
    ];
    const streams = cases.map(([req]) => {
      const w = new WatchStream(stranger.clients, req);
      watches.push(w);
      return w;
    });
    await waitFor("every refused watch to end", () => streams.every((w) => w.error));
    const got = streams.map((w) => w.error!.code);
    expect(got).toEqual(cases.map(([, code]) => code));
    for (const w of streams) expect(w.events).toEqual([]);
  });

  it("a watcher whose token is revoked mid-stream ends UNAUTHENTICATED TOKEN_REVOKED and gets nothing after", async () => {
    const doomed = await token(live, "doomed", Role.ROLE_ISSUER, ["alpha"]);
    const cert = (await issue(doomed.clients, "alpha", "d1.example.com")).certificate!;
    const w = new WatchStream(doomed.clients, {
      scope: { $case: "certificateId", value: cert.certificateId },
    });
    watches.push(w);
    await waitFor("CURRENT", () => w.of(T.CERTIFICATE_EVENT_TYPE_CURRENT).length === 1);
    await call(
      live.admin.accessTokens,
      "revokeAccessToken",
      RevokeAccessTokenRequest.fromPartial({ accessToken: doomed.id }),
    );
    await waitFor("the stream to end", () => w.error !== undefined);
    const ended = decodeError(w.error);
    expect([ended.code, ended.reason]).toEqual([status.UNAUTHENTICATED, "TOKEN_REVOKED"]);
    const n = w.events.length;
    await renew(live.admin, cert.certificateId);
    // The admin's watch sees the renewal: by then the revoked watcher would have seen it too.
    const aw = new WatchStream(live.admin, {
      scope: { $case: "certificateId", value: cert.certificateId },
    });
    watches.push(aw);
    await waitFor("the admin's CURRENT", () => aw.events.length > 0);
    expect(w.events.length).toBe(n);
  });
  it("a CSR renewal that changes the names and a validate_only renewal store no certificate", async () => {
    const a = (await issue(owner.clients, "alpha", "c1.example.com")).certificate!;
    const before = await rows();
    const { csrPem } = opensslCsr("/CN=c1.example.com", [
      "DNS:c1.example.com",
      "DNS:extra.example.com",
    ]);
    const e = await expectRpcError(
      renew(owner.clients, a.certificateId, {
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_CSR,
        csrPem,
      }),
    );
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.reason).toBeTruthy();
    expect((await rows()).certificates).toBe(before.certificates);
    const dry = await renew(owner.clients, a.certificateId, { validateOnly: true });
    expect(dry.certificate).toBeUndefined();
    expect(dry.privateKeyPem).toBe("");
    expect((await rows()).certificates).toBe(before.certificates);
    expect(await live.count("certificate", "renewed_from_id = $1", [a.certificateId])).toBe(0);
  });

  it("two renewals of one certificate at once: one successor; the other refused CERTIFICATE_ALREADY_RENEWED", async () => {
    const a = (await issue(owner.clients, "alpha", "r1.example.com")).certificate!;
    const results = await Promise.allSettled([
      renew(owner.clients, a.certificateId, { requestId: "race-1" }),
      renew(owner.clients, a.certificateId, { requestId: "race-2" }),
      renew(live.admin, a.certificateId, { keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE }),
    ]);
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.flatMap((r) =>
      r.status === "rejected" ? [decodeError(r.reason)] : [],
    );
    expect(ok).toHaveLength(1);
    for (const e of refused)
      expect([e.code, e.reason]).toEqual([
        status.FAILED_PRECONDITION,
        "CERTIFICATE_ALREADY_RENEWED",
      ]);
    expect(await live.count("certificate", "renewed_from_id = $1", [a.certificateId])).toBe(1);
    expect(await live.count("certificate_request", "status = 'PENDING'")).toBe(0);
  });

  it("a renewal racing a revocation: never a successor of a certificate revoked before the renewal committed", async () => {
    const a = (await issue(owner.clients, "alpha", "r2.example.com")).certificate!;
    const [renewal, revocation] = await Promise.allSettled([
      renew(owner.clients, a.certificateId),
      call(live.admin.certificates, "revokeCertificate", {
        certificate: a.certificateId,
        reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
      }),
    ]);
    expect(revocation.status).toBe("fulfilled");
    const successors = await live.count("certificate", "renewed_from_id = $1", [a.certificateId]);
    if (renewal.status === "rejected") {
      const e = decodeError(renewal.reason);
      expect([e.code, e.reason]).toEqual([status.FAILED_PRECONDITION, "CERTIFICATE_REVOKED"]);
      expect(successors).toBe(0);
    } else {
      expect(successors).toBe(1);
    }
  });

  it("a lineage watch: RENEWED then REVOKED in order; the former owner's watch gets no key of an admin's NEW renewal; a resume repeats nothing", async () => {
    const a = (await issue(owner.clients, "alpha", "l1.example.com")).certificate!;
    const w = new WatchStream(owner.clients, {
      scope: { $case: "certificateId", value: a.certificateId },
    });
    watches.push(w);
    await waitFor("CURRENT", () => w.of(T.CERTIFICATE_EVENT_TYPE_CURRENT).length === 1);
    const s1 = await renew(live.admin, a.certificateId, {
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    });
    await call(live.admin.certificates, "revokeCertificate", {
      certificate: s1.certificate!.certificateId,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    await waitFor("RENEWED and REVOKED", () => w.of(T.CERTIFICATE_EVENT_TYPE_REVOKED).length === 1);
    const seen = w.seen();
    expect(seen).toEqual([
      [T.CERTIFICATE_EVENT_TYPE_CURRENT, a.certificateId],
      [T.CERTIFICATE_EVENT_TYPE_RENEWED, s1.certificate!.certificateId],
      [T.CERTIFICATE_EVENT_TYPE_REVOKED, s1.certificate!.certificateId],
    ]);
    expect(w.of(T.CERTIFICATE_EVENT_TYPE_RENEWED)[0]!.privateKeyPem).toBe("");
    const cursors = w.eventCursors();
    expect([...cursors].sort((x, y) => x - y)).toEqual(cursors);

    // The last cursor received before the renewal (CURRENT's, or the KEEPALIVE that stands in
    // for the certificate's own ISSUED event numbered after CURRENT: README, "Watching").
    const renewedAt = w.events.findIndex((e) => e.type === T.CERTIFICATE_EVENT_TYPE_RENEWED);
    const start = w.events[renewedAt - 1]!.cursor;
    const resumed = new WatchStream(owner.clients, {
      scope: { $case: "certificateId", value: a.certificateId },
      afterCursor: start,
    });
    watches.push(resumed);
    await waitFor(
      "the resumed watch to replay both",
      () => resumed.of(T.CERTIFICATE_EVENT_TYPE_REVOKED).length === 1,
    );
    expect(resumed.seen()).toEqual(seen.slice(1));
    expect(resumed.of(T.CERTIFICATE_EVENT_TYPE_RENEWED)[0]!.privateKeyPem).toBe("");
  });
  it("a renewal waiting for approval that the policy no longer allows: the approval fails it, nothing signed", async () => {
    await rootPolicyProfile(live, "wait", { requireApproval: true });
    const t = await token(live, "wait-owner", Role.ROLE_ISSUER, ["wait"]);
    const a = await token(live, "wait-approver", Role.ROLE_APPROVER, ["wait"]);
    const first = await issue(t.clients, "wait", "q1.example.com");
    await call(a.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: first.certificateRequestId,
      comment: "",
    });
    const issued = await call(t.clients.certificates, "getRequestStatus", {
      certificateRequestId: first.certificateRequestId,
    });
    const certId = issued.certificate!.certificateId;
    const pending = await renew(t.clients, certId);
    expect(pending.status).toBe(
      CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL,
    );
    await call(
      live.admin.policies,
      "updateCertificatePolicy",
      UpdateCertificatePolicyRequest.fromPartial({
        certificatePolicy: {
          slug: "wait-policy",
          sanRules: { dns: { allowed: ["**.example.org"] } },
        },
        updateMask: ["san_rules.dns"],
      }),
    );
    const outcome = await call(a.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: pending.certificateRequestId,
      comment: "",
    }).then(
      (r) => r.certificateRequest?.status,
      (err: unknown) => decodeError(err).code,
    );
    expect([
      CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_FAILED,
      status.INVALID_ARGUMENT,
    ]).toContain(outcome);
    expect(await live.count("certificate", "renewed_from_id = $1", [certId])).toBe(0);
    const [row] = await live.db.query<{ status: string }>(
      "select status from certificate_request where id = $1",
      [pending.certificateRequestId],
    );
    expect(row!.status).toBe("FAILED");
  });
});
