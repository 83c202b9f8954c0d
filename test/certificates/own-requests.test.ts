/**
 * An issuer's own requests (src/issuance/certificates/request-list.ts ownRequestsOnly, the one
 * visibility rule), after an outside probe of stop 44 (2026-12-06):
 *  - F5 (t_approvals.sh case 7): an issuer could not withdraw its own waiting request
 *    (RejectCertificateRequest was ROLE_NOT_ALLOWED), though the README says "Rejecting one's
 *    own request is allowed", and each waiting request kept its place under
 *    CERTMINT_PENDING_APPROVALS_PER_TOKEN. Now the requester withdraws it (REJECTED, "withdrawn
 *    by its requester"), which frees the place; another issuer's request is NOT_FOUND.
 *  - F6 (t_coissuer_status.sh): a co-issuer of the profile read another issuer's request by id
 *    (GetRequestStatus) though ListCertificateRequests hid it. Now NOT_FOUND, exactly as a
 *    missing id.
 */
import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertmintClients } from "../support/harness";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  decodeStatus,
  expectRpcError,
  KeyAlgorithm,
  PENDING_APPROVAL,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;

describe("an issuer's own requests", () => {
  let h: TestCertmint;
  let issuer: { id: string; clients: CertmintClients };
  let coIssuer: { id: string; clients: CertmintClients };
  let approver: CertmintClients;

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_PENDING_APPROVALS_PER_TOKEN: "2" });
    const root = await createRoot(h, "root");
    const gated = await createProfileRows(h, {
      caId: root.id,
      slug: "gated",
      requireApproval: true,
    });
    issuer = await createToken(h, "gated-issuer", Role.ROLE_ISSUER, [gated.profileId]);
    coIssuer = await createToken(h, "gated-co-issuer", Role.ROLE_ISSUER, [gated.profileId]);
    approver = (await createToken(h, "gated-approver", Role.ROLE_APPROVER, [gated.profileId]))
      .clients;
  });
  afterAll(async () => {
    await h?.stop();
  });

  const ask = (clients: CertmintClients, name: string) =>
    call(
      clients.certificates,
      "issueCertificate",
      attrRequest("gated", { cn: name, dns: [name], keyAlgorithm: EC }),
    );
  const statusOf = async (id: string) =>
    (
      await h.db.query<{ status: string; error: unknown }>(
        "select status, error from certificate_request where id = $1",
        [id],
      )
    )[0]!;
  const status_ = (c: CertmintClients, id: string) =>
    call(c.certificates, "getRequestStatus", { certificateRequestId: id });
  const withdraw = (c: CertmintClients, id: string, reason = "") =>
    call(c.certificates, "rejectCertificateRequest", { certificateRequestId: id, reason });
  const list = (c: CertmintClients) =>
    call(c.certificates, "listCertificateRequests", {
      pageSize: 0,
      pageToken: "",
      status: 0,
      certificateProfile: "",
    });

  it("F6: a co-issuer reads another issuer's request by id NOT_FOUND, exactly as a missing id, as the list hides it", async () => {
    const mine = await ask(issuer.clients, "mine.example.com");
    expect(mine.status).toBe(PENDING_APPROVAL);
    const id = mine.certificateRequestId;
    // The requester, the approver and an admin read it.
    for (const c of [issuer.clients, approver, h]) {
      expect((await status_(c, id)).certificateRequest!.id).toBe(id);
    }
    expect((await list(coIssuer.clients)).certificateRequests.map((r) => r.id)).not.toContain(id);
    const hidden = await expectRpcError(status_(coIssuer.clients, id));
    // A missing id of the same shape (a UUIDv7 with the same time prefix).
    const missingId = `${id.slice(0, 14)}${randomUUID().slice(14)}`;
    const missing = await expectRpcError(status_(coIssuer.clients, missingId));
    expect(hidden).toMatchObject({
      code: status.NOT_FOUND,
      reason: "CERTIFICATE_REQUEST_NOT_FOUND",
    });
    expect({ ...hidden, message: hidden.message.replace(id, "ID") }).toEqual({
      ...missing,
      message: missing.message.replace(missingId, "ID"),
    });
  });

  it("F5: the requester withdraws its waiting request, which frees its place under the cap; a co-issuer cannot", async () => {
    // Two waiting (one from the test above): the cap of 2 is reached.
    const second = await ask(issuer.clients, "second.example.com");
    expect(second.status).toBe(PENDING_APPROVAL);
    const full = await expectRpcError(ask(issuer.clients, "third.example.com"));
    expect(full).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      reason: "PENDING_APPROVALS_EXHAUSTED",
    });

    // A co-issuer of the profile: NOT_FOUND, as for a missing id; nothing changes.
    const refused = await expectRpcError(withdraw(coIssuer.clients, second.certificateRequestId));
    expect(refused).toMatchObject({
      code: status.NOT_FOUND,
      reason: "CERTIFICATE_REQUEST_NOT_FOUND",
    });
    expect((await statusOf(second.certificateRequestId)).status).toBe("PENDING_APPROVAL");
    // The trail tells admins what the co-issuer was not told: the reason and the request named
    // (a mistyped id's record names none). Until stop 45 of 2026-12-06 both read alike.
    const missingId = `${second.certificateRequestId.slice(0, 14)}${randomUUID().slice(14)}`;
    const typo = await expectRpcError(withdraw(coIssuer.clients, missingId));
    expect({ ...typo, message: typo.message.replace(missingId, "ID") }).toEqual({
      ...refused,
      message: refused.message.replace(second.certificateRequestId, "ID"),
    });
    const attempts = await h.db.query<{ error_reason: string; resource_id: string | null }>(
      `select error_reason, resource_id from audit_record
        where actor_id = $1 and method like '%RejectCertificateRequest' order by created_at`,
      [coIssuer.id],
    );
    expect(attempts).toEqual([
      { error_reason: "REQUEST_NOT_OWN", resource_id: second.certificateRequestId },
      // The id the caller sent (since stop 46 of 2026-12-06; before, none).
      { error_reason: "CERTIFICATE_REQUEST_NOT_FOUND", resource_id: missingId },
    ]);

    // The requester withdraws it: REJECTED, saying who, with its reason.
    const res = await withdraw(issuer.clients, second.certificateRequestId, "wrong host name");
    expect(res.certificateRequest!.status).toBe(
      (await status_(h, second.certificateRequestId)).certificateRequest!.status,
    );
    expect((await statusOf(second.certificateRequestId)).status).toBe("REJECTED");
    const err = decodeStatus(res.certificateRequest!.error);
    expect(err.reason).toBe("REQUEST_REJECTED");
    expect(err.message).toBe("withdrawn by its requester: wrong host name");
    // Audited as the requester's.
    const audit = await h.db.query<{ actor_id: string; status_code: number }>(
      "select actor_id, status_code from audit_record where resource_id = $1 and method like '%RejectCertificateRequest'",
      [second.certificateRequestId],
    );
    expect(audit).toContainEqual(expect.objectContaining({ actor_id: issuer.id, status_code: 0 }));

    // Its place is free again.
    const third = await ask(issuer.clients, "third.example.com");
    expect(third.status).toBe(PENDING_APPROVAL);
    // An approver's rejection still says so.
    const rejected = await withdraw(approver, third.certificateRequestId, "no");
    expect(decodeStatus(rejected.certificateRequest!.error).message).toBe(
      "rejected by an approver: no",
    );
  });
});
