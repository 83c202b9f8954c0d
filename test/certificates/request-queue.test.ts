/**
 * ListCertificateRequests: an approver's queue. Until 2026-12-05 no RPC listed the requests
 * that wait for approval: an approver had to be handed each request's id. Checked against the
 * rows in PostgreSQL: every request listed is one that did not end ISSUED, in the order it was
 * made, and each token sees exactly what it may act on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateRequest,
  ListCertificateRequestsRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import type { CertmintClients } from "../support/harness";
import {
  attrRequest,
  CertificateRequestStatus,
  Code,
  call,
  createProfileRows,
  createRoot,
  createToken,
  PENDING_APPROVAL,
  Role,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
} from "./helpers";

describe("the queue of certificate requests", () => {
  let h: TestCertmint;
  let issuerA: { id: string; clients: CertmintClients };
  let issuerB: { id: string; clients: CertmintClients };
  let approver: CertmintClients;
  const waitingA: string[] = [];
  const waitingB: string[] = [];
  const tmp = new TempDir();

  const list = (clients: CertmintClients, o: Partial<ListCertificateRequestsRequest> = {}) =>
    call(
      clients.certificates,
      "listCertificateRequests",
      ListCertificateRequestsRequest.fromPartial(o),
    );
  /** Every page, following the tokens. */
  async function all(clients: CertmintClients, o: Partial<ListCertificateRequestsRequest> = {}) {
    const seen: CertificateRequest[] = [];
    let pageToken = "";
    for (let pages = 0; pages < 100; pages++) {
      const page = await list(clients, { ...o, pageToken });
      seen.push(...page.certificateRequests);
      if (!page.nextPageToken) return seen;
      pageToken = page.nextPageToken;
    }
    throw new Error("more than 100 pages");
  }

  const issueAs = (clients: CertmintClients, req: ReturnType<typeof attrRequest>) =>
    call(clients.certificates, "issueCertificate", req);

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "gated-a", requireApproval: true });
    await createProfileRows(h, { caId: root.id, slug: "gated-b", requireApproval: true });
    await createProfileRows(h, { caId: root.id, slug: "open", requireApproval: false });
    issuerA = await createToken(h, "issuer-a", Role.ROLE_ISSUER, ["gated-a", "open"]);
    issuerB = await createToken(h, "issuer-b", Role.ROLE_ISSUER, ["gated-a", "gated-b"]);
    approver = (await createToken(h, "approver-a", Role.ROLE_APPROVER, ["gated-a"])).clients;
    for (let i = 0; i < 3; i++) {
      const byA = await issueAs(
        issuerA.clients,
        attrRequest("gated-a", { cn: `a${i}.example.com`, dns: [`a${i}.example.com`] }),
      );
      expect(byA.status).toBe(PENDING_APPROVAL);
      waitingA.push(byA.certificateRequestId);
      const byB = await issueAs(
        issuerB.clients,
        attrRequest(i === 0 ? "gated-a" : "gated-b", {
          cn: `b${i}.example.com`,
          dns: [`b${i}.example.com`],
        }),
      );
      // waitingA: a0, b0 (issuer B, on gated-a), a1, a2.
      (i === 0 ? waitingA : waitingB).push(byB.certificateRequestId);
    }
    // An issuance without approval: ISSUED, never in the queue.
    await issueAs(
      issuerA.clients,
      attrRequest("open", { cn: "o.example.com", dns: ["o.example.com"] }),
    );
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it("lists the waiting requests oldest first, page by page, as the rows say", async () => {
    const rows = await h.db.query<{ id: string }>(
      "select id from certificate_request where status = 'PENDING_APPROVAL' order by created_at, id",
    );
    const listed = await all(h, {
      status: CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL,
      pageSize: 2,
    });
    expect(listed.map((r) => r.id)).toEqual(rows.map((r) => r.id));
    expect(listed.map((r) => r.id).sort()).toEqual([...waitingA, ...waitingB].sort());
    const first = listed.find((r) => r.id === waitingA[0])!;
    expect(first.status).toBe(CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL);
    expect(first.requester).toBe(issuerA.id);
    expect(first.subjectAlternativeNames!.dnsNames).toEqual(["a0.example.com"]);
  });

  it("shows an approver its profiles' requests only, and an issuer its own", async () => {
    expect((await all(approver)).map((r) => r.id).sort()).toEqual([...waitingA].sort());
    const mine = await all(issuerB.clients);
    expect(mine.map((r) => r.id).sort()).toEqual([waitingA[1]!, ...waitingB].sort());
    expect(mine.every((r) => r.requester === issuerB.id)).toBe(true);
    // Naming a profile the token does not list is PERMISSION_DENIED, as IssueCertificate is.
    const denied = await rpcError(list(approver, { certificateProfile: "gated-b" }));
    expect([denied.code, denied.reason]).toEqual([
      7 /* PERMISSION_DENIED */,
      "PROFILE_NOT_GRANTED",
    ]);
    // A profile that does not exist gets the same answer: NOT_FOUND would tell which exist.
    const missing = await rpcError(list(approver, { certificateProfile: "no-such-profile" }));
    expect([missing.code, missing.reason]).toEqual([7, "PROFILE_NOT_GRANTED"]);
    // An admin is told it does not exist.
    expect((await rpcError(list(h, { certificateProfile: "no-such-profile" }))).code).toBe(5);
  });

  it("keeps a decided request listed with its new status, and never an issued one", async () => {
    const rejected = waitingA[1]!;
    await call(approver.certificates, "rejectCertificateRequest", {
      certificateRequestId: rejected,
      reason: "not this one",
    });
    const approved = waitingA[2]!;
    await call(approver.certificates, "approveCertificateRequest", {
      certificateRequestId: approved,
      comment: "ok",
    });
    const ids = (await all(h, { certificateProfile: "gated-a" })).map((r) => r.id);
    expect(ids).toContain(rejected);
    expect(ids).not.toContain(approved);
    const onlyRejected = await all(h, {
      status: CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_REJECTED,
    });
    expect(onlyRejected.map((r) => r.id)).toEqual([rejected]);
    const refused = await rpcError(
      list(h, { status: CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED }),
    );
    expect([refused.code, refused.reason]).toEqual([
      Code.INVALID_ARGUMENT,
      "REQUEST_STATUS_ISSUED",
    ]);
  });

  it("refuses a page token sent with other filters", async () => {
    const first = await list(h, { pageSize: 1 });
    expect(first.nextPageToken).not.toBe("");
    const err = await rpcError(
      list(h, { pageSize: 1, pageToken: first.nextPageToken, certificateProfile: "gated-a" }),
    );
    expect([err.code, err.reason]).toEqual([Code.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID"]);
  });

  // Found by an outside probe (2026-12-05): a profile deleted under waiting requests left them
  // to fail when approved (CERTIFICATE_PROFILE_NOT_FOUND).
  it("refuses to delete a profile while requests wait for approval on it; deletes it once they are decided", async () => {
    const deleteGatedA = (force = false) =>
      call(h.profiles, "deleteCertificateProfile", {
        certificateProfile: "gated-a",
        etag: "",
        force,
      });
    const refused = await rpcError(deleteGatedA());
    expect([refused.code, refused.reason]).toEqual([
      Code.FAILED_PRECONDITION,
      "PROFILE_HAS_WAITING_REQUESTS",
    ]);
    expect(refused.preconditions).toEqual([
      {
        type: "PROFILE_HAS_WAITING_REQUESTS",
        subject: "certificate_profiles/gated-a",
        description: "2 request(s) waiting for approval",
      },
    ]);
    expect(
      await h.db.query("select 1 from certificate_profile where slug = 'gated-a'"),
    ).toHaveLength(1);
    const waiting = await all(h, {
      certificateProfile: "gated-a",
      status: CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL,
    });
    expect(waiting.map((r) => r.id).sort()).toEqual([waitingA[0]!, waitingA[3]!].sort());
    for (const r of waiting) {
      await call(approver.certificates, "rejectCertificateRequest", {
        certificateRequestId: r.id,
        reason: "profile retired",
      });
    }
    // Its approved requests' certificates are still valid: only with force (stop 41).
    const valid = await rpcError(deleteGatedA());
    expect([valid.code, valid.reason]).toEqual([
      Code.FAILED_PRECONDITION,
      "PROFILE_HAS_CERTIFICATES",
    ]);
    await deleteGatedA(true);
    expect(
      await h.db.query("select 1 from certificate_profile where slug = 'gated-a'"),
    ).toHaveLength(0);
  });
});
