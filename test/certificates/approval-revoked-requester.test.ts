/**
 * RevokeAccessToken rejects the token's requests waiting for approval (since stop 46 of
 * 2026-12-06: before, they stayed in the approvers' queue until rejected by hand).
 * ApproveCertificateRequest of a request whose requester may no longer hold certificates: its
 * access token revoked since it asked (REQUESTER_REVOKED), or its ACME account deactivated
 * (REQUESTER_DEACTIVATED). FAILED_PRECONDITION with a PreconditionFailure, nothing signed (no
 * serial reserved, no certificate), and the request REJECTED by that approval, the refusal and
 * the change in one audit record (since stop 46 of 2026-12-06; before, it stayed
 * PENDING_APPROVAL for good unless rejected by hand). A requester whose token merely expired is
 * approved as before (tokens are rotated). On PostgreSQL, with a clock the test moves.
 */
import { randomUUID } from "node:crypto";
import { Client } from "pg";
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
    ).auditRecords.filter((r) => r.resourceId === id);

  it("RevokeAccessToken rejects the token's waiting requests, each audited; an approval is then refused as not waiting", async () => {
    const issuer = await createToken(h, "gated-issuer", Role.ROLE_ISSUER, [profileId]);
    const first = await pendingAs(issuer.clients, "revoked.example.com");
    const second = await pendingAs(issuer.clients, "revoked-2.example.com");
    // Another token's waiting request is not touched.
    const other = await createToken(h, "gated-bystander", Role.ROLE_ISSUER, [profileId]);
    const bystander = await pendingAs(other.clients, "bystander.example.com");
    const before = await rowCounts(h);
    await call(h.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: issuer.id,
    });

    for (const id of [first, second]) {
      const status = await requestStatus(h, id);
      expect(status.certificateRequest!.status).toBe(REJECTED);
      const [row] = await h.db.query<{
        status: string;
        reserved_serial: string | null;
        certificate_id: string | null;
        error: { code: string; reason: string; message: string };
      }>(
        "select status, reserved_serial, certificate_id, error from certificate_request where id = $1",
        [id],
      );
      expect(row).toMatchObject({
        status: "REJECTED",
        reserved_serial: null,
        certificate_id: null,
      });
      expect(row!.error).toMatchObject({ code: "failed_precondition", reason: "REQUEST_REJECTED" });
      expect(row!.error.message).toContain('access token "gated-issuer" was revoked');
      // Audited under the revoking admin, in the revocation's transaction.
      const [audit] = await h.db.query<{ n: string }>(
        `select count(*) as n from audit_record
          where method like '%RevokeAccessToken' and resource_type = 'certificate_request'
            and resource_id = $1 and status_code = 0`,
        [id],
      );
      expect(Number(audit!.n)).toBe(1);
      const err = await rpcError(approve(id));
      expect(err).toMatchObject({
        code: Code.FAILED_PRECONDITION,
        reason: "REQUEST_NOT_PENDING_APPROVAL",
      });
      // The refusal is recorded against the request it named (until stop 46 of 2026-12-06,
      // against no resource).
      expect(
        (await approvalAudits(id)).map((r) => [r.resourceType, r.resourceId, r.errorReason]),
      ).toEqual([["certificate_request", id, "REQUEST_NOT_PENDING_APPROVAL"]]);
    }
    expect((await requestRow(bystander)).status).toBe("PENDING_APPROVAL");
    // No certificate, no serial: only the two requests' statuses changed.
    expect(await rowCounts(h)).toEqual(before);
    expect((await approve(bystander)).certificateRequest!.status).toBe(ISSUED);
  });

  it("refuses REQUESTER_REVOKED for a request the revocation did not reject (an approval held it), signs nothing, and rejects it", async () => {
    const issuer = await createToken(h, "gated-issuer-held", Role.ROLE_ISSUER, [profileId]);
    const id = await pendingAs(issuer.clients, "held.example.com");
    // The revocation skips a waiting request another transaction holds (an approval deciding
    // it at that moment, which re-checks the requester under its lock): held here by the test.
    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("select id from certificate_request where id = $1 for share", [id]);
      await call(h.accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: issuer.id,
      });
      await holder.query("commit");
    } finally {
      await holder.end();
    }
    expect((await requestRow(id)).status).toBe("PENDING_APPROVAL");

    const before = await rowCounts(h);
    const events = await countRows(h, "certificate_event");
    const err = await rpcError(approve(id));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("REQUESTER_REVOKED");
    expect(err.message).toContain('"gated-issuer-held"');
    expect(err.message).toMatch(/is now REJECTED/);
    expect(err.preconditions).toEqual([
      {
        type: "REQUESTER_STATUS",
        subject: `certificate_requests/${id}`,
        description: 'the requesting access token "gated-issuer-held" is revoked',
      },
    ]);
    expect(err.metadata).toMatchObject({
      certificate_request_id: id,
      access_token: "gated-issuer-held",
    });
    // Nothing signed: no serial reserved, no certificate, no event; the request REJECTED.
    expect(await rowCounts(h)).toEqual(before);
    expect(await countRows(h, "certificate_event")).toBe(events);
    expect(await requestRow(id)).toMatchObject({
      status: "REJECTED",
      reserved_serial: null,
      certificate_id: null,
    });
    expect((await requestStatus(h, id)).certificateRequest!.status).toBe(REJECTED);
    // One record of the call: the refusal, with the change it made.
    const records = await approvalAudits(id);
    expect(records.map((r) => [r.actorSlug, r.statusCode, r.errorReason])).toEqual([
      ["gated-approver", 9, "REQUESTER_REVOKED"],
    ]);
    const [change] = await h.db.query<{ changes: unknown }>(
      `select changes from audit_record where resource_id = $1 and method like '%ApproveCertificateRequest'`,
      [id],
    );
    expect(JSON.stringify(change?.changes)).toContain("REJECTED");
    // No longer waiting: a second approval is refused as such.
    expect((await rpcError(approve(id))).reason).toBe("REQUEST_NOT_PENDING_APPROVAL");
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
    // Rejected by that approval, as a revoked token's request is.
    expect((await requestRow(id)).status).toBe("REJECTED");
  });
});
