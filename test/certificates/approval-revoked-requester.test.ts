/**
 * ApproveCertificateRequest of a request whose requester may no longer hold certificates: its
 * access token revoked since it asked (REQUESTER_REVOKED), or its ACME account deactivated
 * (REQUESTER_DEACTIVATED). FAILED_PRECONDITION with a PreconditionFailure, nothing written
 * (the request stays PENDING_APPROVAL, no serial reserved, no certificate), the refusal in the
 * audit trail; an approver can still reject it. A requester whose token merely expired is
 * approved as before (tokens are rotated). On PostgreSQL, with a clock the test moves.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest } from "../../gen/ts/certmint/v1/access_token_service";
import { MovableClock } from "../renewal/helpers";
import type { CertmintClients } from "../support/harness";
import {
  attrRequest,
  Code,
  call,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  ISSUED,
  KeyAlgorithm,
  PENDING_APPROVAL,
  REJECTED,
  Role,
  requestStatus,
  rowCounts,
  rpcError,
  seconds,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;

describe("approval of a request whose requester was revoked", () => {
  let h: TestCertmint;
  const clock = new MovableClock();
  let profileId = "";
  /** An approver of the profile (not an admin: the requests below are issuers'). */
  let approver: CertmintClients;

  beforeAll(async () => {
    h = await startTestCertmint({}, { now: clock.now });
    const root = await createRoot(h, "root");
    ({ profileId } = await createProfileRows(h, {
      caId: root.id,
      slug: "gated",
      requireApproval: true,
    }));
    approver = (await createToken(h, "gated-approver", Role.ROLE_APPROVER, [profileId])).clients;
  });
  afterAll(async () => {
    await h?.stop();
  });

  const approve = (id: string) =>
    call(approver.certificates, "approveCertificateRequest", {
      certificateRequestId: id,
      comment: "ok",
    });
  const pendingAs = async (clients: CertmintClients, name: string) => {
    const res = await call(
      clients.certificates,
      "issueCertificate",
      attrRequest("gated", { cn: name, dns: [name], keyAlgorithm: EC }),
    );
    expect(res.status).toBe(PENDING_APPROVAL);
    return res.certificateRequestId;
  };
  const requestRow = async (id: string) =>
    (
      await h.db.query<{ status: string; reserved_serial: string | null; certificate_id: string }>(
        "select status, reserved_serial, certificate_id from certificate_request where id = $1",
        [id],
      )
    )[0]!;
  const approvalAudits = async (id: string) =>
    (
      await call(h.audit, "listAuditRecords", {
        pageSize: 100,
        pageToken: "",
        actor: "",
        method: "/certmint.v1.CertificateService/ApproveCertificateRequest",
        resourceType: "",
        resourceId: "",
        failuresOnly: false,
      })
    ).auditRecords.filter((r) => r.resourceId === id || r.resourceId === "");

  it("refuses REQUESTER_REVOKED, writes nothing, and leaves the request for an approver to reject", async () => {
    const issuer = await createToken(h, "gated-issuer", Role.ROLE_ISSUER, [profileId]);
    const id = await pendingAs(issuer.clients, "revoked.example.com");
    await call(h.accessTokens, "revokeAccessToken", { accessToken: issuer.id });

    const before = await rowCounts(h);
    const events = await countRows(h, "certificate_event");
    const err = await rpcError(approve(id));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("REQUESTER_REVOKED");
    expect(err.message).toContain('"gated-issuer"');
    expect(err.message).toMatch(/RejectCertificateRequest/);
    expect(err.preconditions).toEqual([
      {
        type: "REQUESTER_STATUS",
        subject: `certificate_requests/${id}`,
        description: 'the requesting access token "gated-issuer" is revoked',
      },
    ]);
    expect(err.metadata).toMatchObject({
      certificate_request_id: id,
      access_token: "gated-issuer",
    });
    // Nothing written: still waiting, no serial reserved, no certificate, no event.
    expect(await rowCounts(h)).toEqual(before);
    expect(await countRows(h, "certificate_event")).toBe(events);
    expect(await requestRow(id)).toMatchObject({
      status: "PENDING_APPROVAL",
      reserved_serial: null,
      certificate_id: null,
    });
    // The refusal is in the audit trail, as the approver's.
    const refused = (await approvalAudits(id)).filter((r) => r.statusCode !== 0);
    expect(refused.map((r) => [r.actorSlug, r.statusCode, r.errorReason])).toEqual([
      ["gated-approver", 9, "REQUESTER_REVOKED"],
    ]);

    // An approver rejects it, which records why.
    const rejected = await call(approver.certificates, "rejectCertificateRequest", {
      certificateRequestId: id,
      reason: "requester revoked",
    });
    expect(rejected.certificateRequest!.status).toBe(REJECTED);
    expect((await requestStatus(h, id)).certificateRequest!.status).toBe(REJECTED);
  });

  it("approves a request of another, active token of the same profile", async () => {
    const issuer = await createToken(h, "active-issuer", Role.ROLE_ISSUER, [profileId]);
    const id = await pendingAs(issuer.clients, "active.example.com");
    expect((await approve(id)).certificateRequest!.status).toBe(ISSUED);
  });

  it("approves a request whose requester's token has expired since (not revoked)", async () => {
    const res = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "short-issuer",
          role: Role.ROLE_ISSUER,
          certificateProfiles: [profileId],
        },
        ttl: seconds(120),
      }),
    );
    const id = await pendingAs(h.clientsAs(res.secret), "expired.example.com");
    clock.advance(600);
    const [token] = await h.db.query<{ expired: boolean }>(
      "select expires_at < $2 as expired from access_token where id = $1",
      [res.accessToken!.id, clock.now()],
    );
    expect(token!.expired).toBe(true);
    expect((await approve(id)).certificateRequest!.status).toBe(ISSUED);
  });

  it("refuses REQUESTER_DEACTIVATED for a request of an ACME account deactivated since", async () => {
    // A request as an ACME order makes it (its caller is the account's id), the account as
    // src/acme stores it once deactivated.
    const issuer = await createToken(h, "acme-stand-in", Role.ROLE_ISSUER, [profileId]);
    const id = await pendingAs(issuer.clients, "acme.example.com");
    const account = randomUUID();
    await h.db.query(
      `insert into acme_account (id, profile_id, key_thumbprint, jwk, status, contact, created_at, updated_at)
       values ($1, $2, $3, '{}'::jsonb, 'deactivated', '[]'::jsonb, now(), now())`,
      [account, profileId, `thumb-${account}`],
    );
    await h.db.query("update certificate_request set caller = $2 where id = $1", [id, account]);
    const err = await rpcError(approve(id));
    expect(err).toMatchObject({ code: Code.FAILED_PRECONDITION, reason: "REQUESTER_DEACTIVATED" });
    expect(err.preconditions[0]).toMatchObject({
      type: "REQUESTER_STATUS",
      description: "the requesting ACME account is deactivated",
    });
    expect((await requestRow(id)).status).toBe("PENDING_APPROVAL");
  });
});
