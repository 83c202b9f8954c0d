/**
 * Stop 49, helper API: an attacker at the gRPC boundary of the compiled server
 * (dist/src/main.js) on its own PostgreSQL database. Every refusal is checked for its precise
 * status, its google.rpc reason and that nothing was written; every key that comes back is
 * checked to reach its owner only.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateAccessTokenRequest,
  ListAccessTokensRequest,
} from "../../../gen/ts/certmint/v1/access_token_service";
import { ListAuditRecordsRequest } from "../../../gen/ts/certmint/v1/audit_service";
import {
  DeleteCertificateAuthorityRequest,
  GetCertificateRevocationListRequest,
  UpdateCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  DeleteCertificatePolicyRequest,
  UpdateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CreateCertificateProfileRequest,
  DeleteCertificateProfileRequest,
  PrivateKeyRetention,
  UpdateCertificateProfileRequest,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  ApproveCertificateRequestRequest,
  CertificateRequestStatus,
  CertificateView,
  GetCertificateRequest,
  GetRequestStatusRequest,
  type IssueCertificateResponse,
  ListCertificateRequestsRequest,
  ListCertificatesRequest,
  RenewalKeySource,
  RenewCertificateRequest,
  RevokeCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { attrRequest, csrRequest } from "../../certificates/helpers";
import { opensslCsr } from "../../support/fixtures";
import { type CertmintClients, call, decodeError, expectRpcError } from "../../support/harness";
import { waitFor } from "../../support/wait";
import { WatchStream } from "../../support/watch-stream";
import {
  callWith,
  type LiveCertmint,
  Role,
  rawFormatCharacter,
  rootPolicyProfile,
  startLive,
  token,
} from "./live";

type Token = Awaited<ReturnType<typeof token>>;

/** ApproveCertificateRequest of `id` by the holder of `clients`. */
const approve = (clients: { certificates: CertmintClients["certificates"] }, id: string) =>
  call(
    clients.certificates,
    "approveCertificateRequest",
    ApproveCertificateRequestRequest.fromPartial({ certificateRequestId: id }),
  );

const keyOf = (certPem: string, keyPem: string) =>
  keyPem !== "" && new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));

describe("probe49 API: the gRPC boundary of a live server", () => {
  let live: LiveCertmint;
  let issuer: Token;
  let coIssuer: Token;
  let approver: Token;
  let auditor: Token;
  let otherIssuer: Token;
  let gatedIssuer: Token;

  /** Rows a refused call must not have added. */
  const snapshot = async () => ({
    tokens: await live.count("access_token"),
    requests: await live.count("certificate_request"),
    certificates: await live.count("certificate"),
    policies: await live.count("certificate_policy"),
    profiles: await live.count("certificate_profile"),
    cas: await live.count("certificate_authority"),
  });

  beforeAll(async () => {
    live = await startLive();
    const web = await rootPolicyProfile(live, "web");
    await rootPolicyProfile(live, "other", { root: web.rootId });
    await rootPolicyProfile(live, "gated", { root: web.rootId, requireApproval: true });
    issuer = await token(live, "web-issuer", Role.ROLE_ISSUER, ["web"]);
    coIssuer = await token(live, "web-co-issuer", Role.ROLE_ISSUER, ["web"]);
    approver = await token(live, "gated-approver", Role.ROLE_APPROVER, ["gated", "web"]);
    auditor = await token(live, "auditor", Role.ROLE_AUDITOR);
    otherIssuer = await token(live, "other-issuer", Role.ROLE_ISSUER, ["other"]);
    gatedIssuer = await token(live, "gated-issuer", Role.ROLE_ISSUER, ["gated"]);
  });
  afterAll(async () => {
    await live?.stop();
  });

  describe("authorization: what each role's token may do", () => {
    it("no non-admin token creates a token, an admin one least of all, and nothing is written", async () => {
      const before = await snapshot();
      for (const t of [issuer, approver, auditor]) {
        const err = await expectRpcError(
          call(
            t.clients.accessTokens,
            "createAccessToken",
            CreateAccessTokenRequest.fromPartial({
              accessToken: { slug: "escalated", role: Role.ROLE_ADMIN },
            }),
          ),
        );
        expect(err).toMatchObject({ code: status.PERMISSION_DENIED, reason: "ROLE_NOT_ALLOWED" });
      }
      expect(await snapshot()).toEqual(before);
      expect(await live.count("access_token", "slug = 'escalated'")).toBe(0);
    });

    it("no non-admin token edits a policy, a profile or a CA, or revokes a certificate", async () => {
      const issued = await call(
        issuer.clients.certificates,
        "issueCertificate",
        attrRequest("web", { dns: ["authz.example.com"] }),
      );
      const before = await snapshot();
      const profileBefore = await live.db.query("select * from certificate_profile order by id");
      for (const t of [issuer, approver, auditor]) {
        const attempts: Array<() => Promise<unknown>> = [
          () =>
            call(
              t.clients.profiles,
              "updateCertificateProfile",
              UpdateCertificateProfileRequest.fromPartial({
                certificateProfile: { id: "web", requireApproval: false, allowSelfApproval: true },
                updateMask: ["allow_self_approval"],
              }),
            ),
          () =>
            call(
              t.clients.policies,
              "updateCertificatePolicy",
              UpdateCertificatePolicyRequest.fromPartial({
                certificatePolicy: { id: "web-policy", sanRules: { dns: { allowed: ["**"] } } },
                updateMask: ["san_rules"],
              }),
            ),
          () =>
            call(
              t.clients.policies,
              "deleteCertificatePolicy",
              DeleteCertificatePolicyRequest.fromPartial({ certificatePolicy: "web-policy" }),
            ),
          () =>
            call(
              t.clients.authorities,
              "updateCertificateAuthority",
              UpdateCertificateAuthorityRequest.fromPartial({
                certificateAuthority: { id: "web-root", description: "owned" },
                updateMask: ["description"],
              }),
            ),
          () =>
            call(
              t.clients.authorities,
              "deleteCertificateAuthority",
              DeleteCertificateAuthorityRequest.fromPartial({ certificateAuthority: "web-root" }),
            ),
          () =>
            call(
              t.clients.certificates,
              "revokeCertificate",
              RevokeCertificateRequest.fromPartial({
                certificate: issued.certificate!.certificateId,
                reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
              }),
            ),
        ];
        for (const attempt of attempts) {
          const err = await expectRpcError(attempt());
          expect(err).toMatchObject({
            code: status.PERMISSION_DENIED,
            reason: "ROLE_NOT_ALLOWED",
          });
        }
      }
      expect(await snapshot()).toEqual(before);
      expect(await live.db.query("select * from certificate_profile order by id")).toEqual(
        profileBefore,
      );
      const [cert] = await live.db.query<{ revoked_at: Date | null }>(
        "select revoked_at from certificate where id = $1",
        [issued.certificate!.certificateId],
      );
      expect(cert!.revoked_at).toBeNull();
    });

    it("an issuer reads neither the certificate list nor another issuer's request, and renews nothing it does not own", async () => {
      const mine = await call(
        issuer.clients.certificates,
        "issueCertificate",
        attrRequest("web", { dns: ["mine.example.com"] }),
      );
      expect(
        await expectRpcError(
          call(
            issuer.clients.certificates,
            "listCertificates",
            ListCertificatesRequest.fromPartial({}),
          ),
        ),
      ).toMatchObject({ code: status.PERMISSION_DENIED, reason: "ROLE_NOT_ALLOWED" });
      const peek = await expectRpcError(
        call(
          coIssuer.clients.certificates,
          "getRequestStatus",
          GetRequestStatusRequest.fromPartial({ certificateRequestId: mine.certificateRequestId }),
        ),
      );
      expect(peek).toMatchObject({
        code: status.NOT_FOUND,
        reason: "CERTIFICATE_REQUEST_NOT_FOUND",
      });
      const before = await snapshot();
      for (const t of [coIssuer, otherIssuer]) {
        const err = await expectRpcError(
          call(
            t.clients.certificates,
            "renewCertificate",
            RenewCertificateRequest.fromPartial({ certificateId: mine.certificate!.certificateId }),
          ),
        );
        expect([status.PERMISSION_DENIED, status.NOT_FOUND]).toContain(err.code);
        expect(["CERTIFICATE_NOT_OWNED", "CERTIFICATE_NOT_FOUND"]).toContain(err.reason);
      }
      expect(await snapshot()).toEqual(before);
    });

    it("an issuer of another profile learns nothing of web's certificates: NOT_FOUND as a missing id", async () => {
      const mine = await call(
        issuer.clients.certificates,
        "issueCertificate",
        attrRequest("web", { dns: ["hidden.example.com"] }),
      );
      const there = await expectRpcError(
        call(otherIssuer.clients.certificates, "getCurrentCertificate", {
          certificate: mine.certificate!.certificateId,
        }),
      );
      const missing = await expectRpcError(
        call(otherIssuer.clients.certificates, "getCurrentCertificate", {
          certificate: "01a24d15-0000-7000-8000-000000000000",
        }),
      );
      expect(there).toMatchObject({ code: status.NOT_FOUND, reason: "CERTIFICATE_NOT_FOUND" });
      expect(missing).toMatchObject({ code: status.NOT_FOUND, reason: "CERTIFICATE_NOT_FOUND" });
      const watch = new WatchStream(otherIssuer.clients, {
        scope: { $case: "certificateProfile", value: "web" },
      });
      await waitFor("the watch of another profile to end", () => watch.error !== undefined);
      expect(decodeError(watch.error)).toMatchObject({
        code: status.PERMISSION_DENIED,
        reason: "PROFILE_NOT_GRANTED",
      });
    });

    it("nobody approves a request of its own token, and an approver gets no key", async () => {
      const asked = await call(
        gatedIssuer.clients.certificates,
        "issueCertificate",
        attrRequest("gated", { dns: ["gated.example.com"], requestId: "gated-1" }),
      );
      expect(asked.status).toBe(
        CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL,
      );
      // An issuer has no Approve in its role.
      expect(
        await expectRpcError(approve(gatedIssuer.clients, asked.certificateRequestId)),
      ).toMatchObject({ code: status.PERMISSION_DENIED, reason: "ROLE_NOT_ALLOWED" });
      // The admin's own request waits for someone else too.
      const adminAsked = await call(
        live.admin.certificates,
        "issueCertificate",
        attrRequest("gated", { dns: ["admin-gated.example.com"] }),
      );
      expect(
        await expectRpcError(approve(live.admin, adminAsked.certificateRequestId)),
      ).toMatchObject({ code: status.PERMISSION_DENIED, reason: "SELF_APPROVAL_NOT_ALLOWED" });
      const approved = await approve(approver.clients, asked.certificateRequestId);
      expect(approved.certificateRequest!.status).toBe(
        CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED,
      );
      const seenByApprover = await call(
        approver.clients.certificates,
        "getRequestStatus",
        GetRequestStatusRequest.fromPartial({ certificateRequestId: asked.certificateRequestId }),
      );
      expect(seenByApprover.privateKeyPem).toBe("");
      const seenByAuditor = await call(
        auditor.clients.certificates,
        "getRequestStatus",
        GetRequestStatusRequest.fromPartial({ certificateRequestId: asked.certificateRequestId }),
      );
      expect(seenByAuditor.privateKeyPem).toBe("");
      // The requester's replay hands it the key of its certificate.
      const replay = await call(
        gatedIssuer.clients.certificates,
        "issueCertificate",
        attrRequest("gated", { dns: ["gated.example.com"], requestId: "gated-1" }),
      );
      expect(keyOf(replay.certificate!.certificatePem, replay.privateKeyPem)).toBe(true);
    });

    it("a replay of another token's request_id makes a request of its own, with a key of its own", async () => {
      const first = await call(
        issuer.clients.certificates,
        "issueCertificate",
        attrRequest("web", { dns: ["replay.example.com"], requestId: "shared-id" }),
      );
      const second = await call(
        coIssuer.clients.certificates,
        "issueCertificate",
        attrRequest("web", { dns: ["replay.example.com"], requestId: "shared-id" }),
      );
      expect(second.certificate!.certificateId).not.toBe(first.certificate!.certificateId);
      expect(second.privateKeyPem).not.toBe(first.privateKeyPem);
      expect(keyOf(first.certificate!.certificatePem, second.privateKeyPem)).toBe(false);
      // The same id on RenewCertificate is the same key space: refused, not a renewal of the first.
      const err = await expectRpcError(
        call(
          issuer.clients.certificates,
          "renewCertificate",
          RenewCertificateRequest.fromPartial({
            certificateId: first.certificate!.certificateId,
            requestId: "shared-id",
          }),
        ),
      );
      expect(err).toMatchObject({ code: status.ALREADY_EXISTS, reason: "REQUEST_ID_REUSED" });
    });

    it("a key certmint stores (STORE_ENCRYPTED) reaches its owner only: not an admin, an auditor, a co-issuer or their renewals", async () => {
      const vault = await rootPolicyProfile(live, "vault", {
        root: "web-root",
        allowSharedRenewal: true,
        retention: PrivateKeyRetention.PRIVATE_KEY_RETENTION_STORE_ENCRYPTED,
      });
      expect(vault.profileId).not.toBe("");
      const owner = await token(live, "vault-owner", Role.ROLE_ISSUER, ["vault"]);
      const co = await token(live, "vault-co", Role.ROLE_ISSUER, ["vault"]);
      const first = await call(
        owner.clients.certificates,
        "issueCertificate",
        attrRequest("vault", { dns: ["vault.example.com"], requestId: "vault-1" }),
      );
      const certPem = first.certificate!.certificatePem;
      const id = first.certificate!.certificateId;
      expect(keyOf(certPem, first.privateKeyPem)).toBe(true);
      const keys: string[] = [];
      // Everyone else who may read the request or the certificate.
      for (const c of [live.admin, auditor.clients]) {
        const st = await call(
          c.certificates,
          "getRequestStatus",
          GetRequestStatusRequest.fromPartial({ certificateRequestId: first.certificateRequestId }),
        );
        keys.push(st.privateKeyPem);
        const listed = await call(
          c.certificates,
          "listCertificates",
          ListCertificatesRequest.fromPartial({
            certificateProfile: "vault",
            view: CertificateView.CERTIFICATE_VIEW_FULL,
          }),
        );
        expect(JSON.stringify(listed)).not.toContain("PRIVATE KEY");
        const got = await call(c.certificates, "getCertificate", { certificate: id });
        expect(JSON.stringify(got)).not.toContain("PRIVATE KEY");
      }
      const coReplay = await call(
        co.clients.certificates,
        "issueCertificate",
        attrRequest("vault", { dns: ["vault.example.com"], requestId: "vault-1" }),
      );
      expect(coReplay.certificate!.certificateId).not.toBe(id);
      keys.push(coReplay.privateKeyPem);
      // A sharing co-issuer's REUSE renewal certifies the owner's key: it gets the certificate alone,
      // when it is sent and when it is replayed.
      for (let sent = 0; sent < 2; sent++) {
        const shared = await call(
          co.clients.certificates,
          "renewCertificate",
          RenewCertificateRequest.fromPartial({
            certificateId: id,
            keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
            requestId: "vault-co-renew",
          }),
        );
        keys.push(shared.privateKeyPem);
      }
      for (const k of keys) expect(keyOf(certPem, k)).toBe(false);
      expect(keys.filter((k) => k === first.privateKeyPem)).toEqual([]);
      // The owner's replay still has it.
      const again = await call(
        owner.clients.certificates,
        "issueCertificate",
        attrRequest("vault", { dns: ["vault.example.com"], requestId: "vault-1" }),
      );
      expect(again.privateKeyPem).toBe(first.privateKeyPem);
    });

    it("a grant names a profile, not a slug: a profile deleted and made again under its slug is not granted", async () => {
      const temp = await rootPolicyProfile(live, "temp", { root: "web-root" });
      const tempIssuer = await token(live, "temp-issuer", Role.ROLE_ISSUER, ["temp"]);
      await call(
        live.admin.profiles,
        "deleteCertificateProfile",
        DeleteCertificateProfileRequest.fromPartial({ certificateProfile: "temp" }),
      );
      const again = await call(
        live.admin.profiles,
        "createCertificateProfile",
        CreateCertificateProfileRequest.fromPartial({
          certificateProfile: {
            slug: "temp",
            certificatePolicy: "temp-policy",
            issuer: { $case: "certificateAuthority", value: "web-root" },
          },
        }),
      );
      expect(again.certificateProfile!.id).not.toBe(temp.profileId);
      const before = await snapshot();
      const err = await expectRpcError(
        call(
          tempIssuer.clients.certificates,
          "issueCertificate",
          attrRequest("temp", { dns: ["temp.example.com"] }),
        ),
      );
      expect(err).toMatchObject({ code: status.PERMISSION_DENIED, reason: "PROFILE_NOT_GRANTED" });
      expect(await snapshot()).toEqual(before);
    });

    it("a validate_only call does not take its request_id: the real call with it issues", async () => {
      const dry = await call(issuer.clients.certificates, "issueCertificate", {
        ...attrRequest("web", { dns: ["dry.example.com"], requestId: "dry-1" }),
        validateOnly: true,
      });
      expect(dry.certificate).toBeUndefined();
      const real = await call(
        issuer.clients.certificates,
        "issueCertificate",
        attrRequest("web", { dns: ["dry.example.com"], requestId: "dry-1" }),
      );
      expect(real.status).toBe(CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED);
      expect(keyOf(real.certificate!.certificatePem, real.privateKeyPem)).toBe(true);
    });

    it("the audit trail and the token list an auditor reads hold no secret and no key", async () => {
      const records = await call(
        auditor.clients.audit,
        "listAuditRecords",
        ListAuditRecordsRequest.fromPartial({ pageSize: 1000 }),
      );
      const tokens = await call(
        auditor.clients.accessTokens,
        "listAccessTokens",
        ListAccessTokensRequest.fromPartial({ pageSize: 1000 }),
      );
      const text = JSON.stringify([records, tokens]);
      for (const t of [issuer, coIssuer, approver, auditor, otherIssuer, gatedIssuer]) {
        expect(text).not.toContain(t.secret.slice("certmint_".length));
      }
      expect(text).not.toContain(live.adminToken.slice("certmint_".length));
      expect(text).not.toContain("PRIVATE KEY");
    });
  });

  describe("renewal racing revocation", () => {
    it("no renewal is signed after the revocation of the certificate it renews was answered", async () => {
      const late: Array<{ id: string; revokeAnswered: number; successorCreated: number }> = [];
      let renewedFirst = 0;
      let refused = 0;
      for (let i = 0; i < 8; i++) {
        const issued = await call(
          issuer.clients.certificates,
          "issueCertificate",
          attrRequest("web", { dns: [`race${i}.example.com`] }),
        );
        const id = issued.certificate!.certificateId;
        let revokeAnswered = 0;
        const [renewed, revoked] = await Promise.allSettled([
          call(
            issuer.clients.certificates,
            "renewCertificate",
            RenewCertificateRequest.fromPartial({ certificateId: id }),
          ),
          call(
            live.admin.certificates,
            "revokeCertificate",
            RevokeCertificateRequest.fromPartial({
              certificate: id,
              reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
            }),
          ).then((r) => {
            revokeAnswered = Date.now();
            return r;
          }),
        ]);
        expect(revoked.status).toBe("fulfilled");
        if (renewed.status === "rejected") {
          refused += 1;
          expect(decodeError(renewed.reason)).toMatchObject({
            code: status.FAILED_PRECONDITION,
            reason: "CERTIFICATE_REVOKED",
          });
          expect(await live.count("certificate", "renewed_from_id = $1", [id])).toBe(0);
          continue;
        }
        renewedFirst += 1;
        // Written after the revocation had committed and been answered: the renewal's check
        // ("refused if it was renewed or revoked meanwhile") missed it.
        const [row] = await live.db.query<{ created_at: Date }>(
          "select created_at from certificate where renewed_from_id = $1",
          [id],
        );
        const successorCreated = row!.created_at.getTime();
        if (successorCreated > revokeAnswered) late.push({ id, revokeAnswered, successorCreated });
      }
      console.log(`renewal vs revocation: ${renewedFirst} renewed first, ${refused} refused`);
      expect(renewedFirst + refused).toBe(8);
      expect(late).toEqual([]);
    });
  });

  describe("bad input: precise refusals, nothing written", () => {
    it("a CSR over 65,536 characters, one with two blocks, text around it or another label is INVALID_ARGUMENT", async () => {
      const { csrPem } = opensslCsr("/CN=x.example.com", ["DNS:x.example.com"]);
      const before = await snapshot();
      const cases: Array<[string, string]> = [
        [csrPem + " ".repeat(65_537 - csrPem.length), "REQUEST_FIELD_INVALID"],
        [csrPem + opensslCsr("/CN=y", ["DNS:evil.com"]).csrPem, "CSR_MALFORMED"],
        [`junk\n${csrPem}`, "CSR_MALFORMED"],
        [csrPem.replace(/CERTIFICATE REQUEST/g, "CERTIFICATE"), "CSR_MALFORMED"],
        [csrPem.replace(/\n/g, "\u0000\n"), "REQUEST_FIELD_INVALID"],
        ["", "CSR_MALFORMED"],
      ];
      for (const [pem, reason] of cases) {
        const err = await expectRpcError(
          call(issuer.clients.certificates, "issueCertificate", csrRequest("web", pem)),
        );
        expect({ code: err.code, reason: err.reason }, JSON.stringify(pem.slice(0, 40))).toEqual({
          code: status.INVALID_ARGUMENT,
          reason,
        });
      }
      expect(await snapshot()).toEqual(before);
    });

    it("page sizes and page tokens: negative refused, huge clamped to 1000, a token of another list refused", async () => {
      expect(
        await expectRpcError(
          call(
            live.admin.certificates,
            "listCertificates",
            ListCertificatesRequest.fromPartial({ pageSize: -1 }),
          ),
        ),
      ).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "PAGE_SIZE_INVALID" });
      const huge = await call(
        live.admin.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ pageSize: 2_147_483_647 }),
      );
      expect(huge.certificates.length).toBeLessThanOrEqual(1000);
      const page = await call(
        live.admin.accessTokens,
        "listAccessTokens",
        ListAccessTokensRequest.fromPartial({ pageSize: 1 }),
      );
      expect(page.nextPageToken).not.toBe("");
      const err = await expectRpcError(
        call(
          live.admin.certificates,
          "listCertificateRequests",
          ListCertificateRequestsRequest.fromPartial({
            pageSize: 1,
            pageToken: page.nextPageToken,
          }),
        ),
      );
      expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "PAGE_TOKEN_INVALID" });
    });

    it("a page token of one caller's requests is refused to another caller (another list)", async () => {
      const coGated = await token(live, "gated-co-issuer", Role.ROLE_ISSUER, ["gated"]);
      for (let i = 0; i < 2; i++) {
        for (const t of [gatedIssuer, coGated]) {
          await call(
            t.clients.certificates,
            "issueCertificate",
            attrRequest("gated", { dns: [`page${i}.example.com`] }),
          );
        }
      }
      const pending = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL;
      const mine = await call(
        gatedIssuer.clients.certificates,
        "listCertificateRequests",
        ListCertificateRequestsRequest.fromPartial({ pageSize: 1, status: pending }),
      );
      expect(mine.nextPageToken).not.toBe("");
      const err = await expectRpcError(
        call(
          coGated.clients.certificates,
          "listCertificateRequests",
          ListCertificateRequestsRequest.fromPartial({
            pageSize: 1,
            status: pending,
            pageToken: mine.nextPageToken,
          }),
        ),
      );
      expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "PAGE_TOKEN_INVALID" });
    });

    it("an etag is quoted in its refusal as any input is: no raw bidi, escape or line break in the message", async () => {
      const before = await live.db.query("select * from certificate_profile order by id");
      for (const etag of ['"1"\u202e"3" won', "\u001b[2J\u001b[31mowned", "x\nERROR forged line"]) {
        const update = await expectRpcError(
          call(
            live.admin.profiles,
            "updateCertificateProfile",
            UpdateCertificateProfileRequest.fromPartial({
              certificateProfile: { id: "web", description: "etag probe", etag },
              updateMask: ["description"],
            }),
          ),
        );
        const remove = await expectRpcError(
          call(
            live.admin.profiles,
            "deleteCertificateProfile",
            DeleteCertificateProfileRequest.fromPartial({ certificateProfile: "web", etag }),
          ),
        );
        for (const err of [update, remove]) {
          expect(err).toMatchObject({ code: status.ABORTED, reason: "ETAG_MISMATCH" });
          expect(rawFormatCharacter(err.message), JSON.stringify(err.message)).toBeUndefined();
        }
      }
      expect(await live.db.query("select * from certificate_profile order by id")).toEqual(before);
    });

    it("known_crl_number that is not decimal is INVALID_ARGUMENT naming the field", async () => {
      for (const n of ["-1", "1e3", "0x10", " 1"]) {
        const err = await expectRpcError(
          call(
            auditor.clients.authorities,
            "getCertificateRevocationList",
            GetCertificateRevocationListRequest.fromPartial({
              certificateAuthority: "web-root",
              knownCrlNumber: n,
            }),
          ),
        );
        expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "CRL_NUMBER_INVALID" });
        expect(err.violations.map((v) => v.field)).toEqual(["known_crl_number"]);
      }
    });
  });

  describe("metadata abuse", () => {
    const bare = () => live.clientsAs(undefined);
    const withHeaders = (headers: Record<string, string>) => {
      const m = new Metadata();
      for (const [k, v] of Object.entries(headers)) m.set(k, v);
      return m;
    };

    it("calls without a usable credential write no audit record and no row", async () => {
      const before = { ...(await snapshot()), audit: await live.count("audit_record") };
      const headers: Array<Record<string, string>> = [
        {},
        { authorization: "Bearer nonsense" },
        { authorization: `Bearer certmint_${"A".repeat(43)}` },
        { authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}` },
      ];
      for (const h of headers) {
        for (let i = 0; i < 5; i++) {
          const { err } = await callWith(
            bare().accessTokens,
            "createAccessToken",
            CreateAccessTokenRequest.fromPartial({
              accessToken: { slug: "anonymous-admin", role: Role.ROLE_ADMIN },
            }),
            withHeaders(h),
          );
          expect([status.UNAUTHENTICATED, status.RESOURCE_EXHAUSTED]).toContain(err?.code);
          expect(decodeError(err).reason).toBeTruthy();
        }
      }
      expect({ ...(await snapshot()), audit: await live.count("audit_record") }).toEqual(before);
    });

    it("an oversized authorization header is UNAUTHENTICATED TOKEN_MALFORMED and not echoed", async () => {
      const big = `Bearer certmint_${"A".repeat(7000)}`;
      const { err } = await callWith(
        bare().certificates,
        "getCertificate",
        GetCertificateRequest.fromPartial({ certificate: "00" }),
        withHeaders({ authorization: big }),
      );
      expect(decodeError(err)).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "TOKEN_MALFORMED",
      });
      expect(err!.details).not.toContain("AAAAAAAA");
    });

    it("an x-request-id with log-forging characters is replaced, never echoed nor logged as sent", async () => {
      const forged = 'abc","level":60,"msg":"forged';
      const { err } = await callWith(
        bare().certificates,
        "getCertificate",
        GetCertificateRequest.fromPartial({ certificate: "00" }),
        withHeaders({ authorization: `Bearer ${live.adminToken}`, "x-request-id": forged }),
      );
      expect(decodeError(err)).toMatchObject({ code: status.NOT_FOUND });
      const echoed = String((err as ServiceError).metadata.get("x-request-id")[0] ?? "");
      expect(echoed).not.toBe("");
      expect(echoed).not.toContain('"');
      await waitFor("the call's log line", () => live.server.output().includes(echoed));
      expect(live.server.output()).not.toContain('"msg":"forged"');
    });

    it("more metadata entries than HTTP/2 lets through (over 128) is RESOURCE_EXHAUSTED, and the next call is served", async () => {
      const m = new Metadata();
      m.set("authorization", `Bearer ${live.adminToken}`);
      for (let i = 0; i < 150; i++) m.set(`x-pad-${i}`, "v".repeat(100));
      const flood = await callWith(
        bare().certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ pageSize: 1 }),
        m,
      );
      // node's HTTP/2 server resets the stream (maxHeaderListPairs, 128) before grpc-js or
      // certmint sees the call: no google.rpc.Status can be sent (see the report).
      expect(flood.err?.code).toBe(status.RESOURCE_EXHAUSTED);
      const next = await callWith(
        live.admin.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ pageSize: 1 }),
        new Metadata(),
      );
      expect(next.err).toBeUndefined();
    });

    it("a call whose deadline passes mid-issuance loses nothing: its request_id's retry returns one certificate and its key", async () => {
      for (let i = 0; i < 5; i++) {
        const requestId = `deadline-${i}`;
        const request = attrRequest("web", { dns: [`deadline${i}.example.com`], requestId });
        const hurried = await callWith<IssueCertificateResponse>(
          issuer.clients.certificates,
          "issueCertificate",
          request,
          new Metadata(),
          1 + i,
        );
        if (hurried.err) expect(hurried.err.code).toBe(status.DEADLINE_EXCEEDED);
        const retry = await call(issuer.clients.certificates, "issueCertificate", request);
        expect(retry.status).toBe(CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED);
        expect(keyOf(retry.certificate!.certificatePem, retry.privateKeyPem)).toBe(true);
        if (hurried.res) expect(retry.privateKeyPem).toBe(hurried.res.privateKeyPem);
        expect(
          await live.count(
            "certificate c join certificate_request r on c.certificate_request_id = r.id",
            "r.request_id = $1",
            [requestId],
          ),
        ).toBe(1);
      }
    });

    it("an absurd deadline (a century) and one already past are served or DEADLINE_EXCEEDED, the server unharmed", async () => {
      const far = await callWith(
        live.admin.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ pageSize: 1 }),
        new Metadata(),
        100 * 365 * 86_400_000,
      );
      expect(far.err).toBeUndefined();
      const past = await callWith(
        live.admin.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ pageSize: 1 }),
        new Metadata(),
        -1000,
      );
      expect(past.err?.code).toBe(status.DEADLINE_EXCEEDED);
      expect(live.server.child.exitCode).toBeNull();
    });
  });
});
