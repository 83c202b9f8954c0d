/**
 * Approval: a profile that needs approval parks requests as PENDING_APPROVAL; approving signs
 * them (a generated key waits, sealed, for exactly one GetRequestStatus), rejecting records the
 * reason, and approval checks the request again against the policy as it is now. The token
 * that made a request never approves it (an admin neither) unless the profile allows it: the
 * requests here are the first admin's, approved by a second admin token.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  CertificateAuthorityStatus,
  UpdateCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import { UpdateCertificateProfileRequest } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { CLAIM_TAKEOVER_AFTER_MS } from "../../src/issuance/certificates/approval";
import { reserveSerial } from "../../src/issuance/certificates/intent";
import type { CertmintClients } from "../support/harness";
import {
  attrRequest,
  CertificateRequestStatus,
  Code,
  call,
  compilePolicy,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  csrRequest,
  decodeStatus,
  FAILED,
  getCert,
  ISSUED,
  issue,
  makeCsr,
  PENDING_APPROVAL,
  REJECTED,
  Role,
  renewRequest,
  requestStatus,
  rowCounts,
  rpcError,
  spkiOf,
  startTestCertmint,
  TempDir,
  type TestCertmint,
  tlsServerSpec,
  verifyLeaf,
} from "./helpers";

describe("approval of certificate requests", () => {
  let h: TestCertmint;
  let root: CertificateAuthority;
  /** A second admin token: the approver of the first admin's requests. */
  let approver: CertmintClients;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "gated", requireApproval: true });
    approver = (await createToken(h, "second-admin", Role.ROLE_ADMIN)).clients;
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const approveAs = (clients: CertmintClients, id: string) =>
    call(clients.certificates, "approveCertificateRequest", {
      certificateRequestId: id,
      comment: "ok",
    }).then((r) => r.certificateRequest!);
  const approve = (id: string) => approveAs(approver, id);
  const reject = (id: string, reason: string) =>
    call(h.certificates, "rejectCertificateRequest", { certificateRequestId: id, reason }).then(
      (r) => r.certificateRequest!,
    );
  const requestRow = async (id: string) =>
    (await h.db.query("select * from certificate_request where id = $1", [id]))[0]!;

  /** A PENDING_APPROVAL request for a generated key. */
  async function pending(name: string, profile = "gated", requestId = "") {
    const res = await issue(h, attrRequest(profile, { cn: name, dns: [name], requestId }));
    expect(res.status).toBe(PENDING_APPROVAL);
    return res.certificateRequestId;
  }

  it("parks the request as PENDING_APPROVAL and issues nothing", async () => {
    const before = await rowCounts(h);
    const res = await issue(
      h,
      attrRequest("gated", { cn: "wait.example.com", dns: ["wait.example.com"] }),
    );
    expect(res.status).toBe(PENDING_APPROVAL);
    expect(res.certificate).toBeUndefined();
    expect(res.privateKeyPem).toBe("");
    expect(res.certificateRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await rowCounts(h)).toEqual({
      requests: before.requests + 1,
      certificates: before.certificates,
    });
    const st = await requestStatus(h, res.certificateRequestId);
    expect(st.certificateRequest!.status).toBe(PENDING_APPROVAL);
    expect(st.certificate).toBeUndefined();
    expect(st.privateKeyPem).toBe("");
    expect(st.certificateRequest!.subjectAlternativeNames!.dnsNames).toEqual(["wait.example.com"]);
  });

  // Found by an outside probe (2026-12-05): an approval whose process was killed after it claimed
  // the request (PENDING, serial reserved) and before the certificate was stored left it PENDING
  // for good: Approve and Reject answered REQUEST_NOT_PENDING_APPROVAL. The claim is made here
  // as claimForSigning makes it, with no call left to finish it.
  it("an approval cut off after its claim is finished by the next Approve, under the reserved serial", async () => {
    const id = await pending("orphan.example.com");
    const serial = reserveSerial();
    const claim = (at: Date) =>
      h.db.query(
        "update certificate_request set status = 'PENDING', reserved_serial = $2, updated_at = $3 where id = $1",
        [id, serial, at],
      );
    // A fresh claim is an approval under way (its call may be about to sign): refused, saying when.
    await claim(new Date());
    const underWay = await rpcError(approve(id));
    expect(underWay.reason).toBe("REQUEST_NOT_PENDING_APPROVAL");
    expect(underWay.message).toContain("an approval of it is under way");
    // A claim older than CLAIM_TAKEOVER_AFTER_MS, whose call is gone.
    await claim(new Date(Date.now() - CLAIM_TAKEOVER_AFTER_MS - 60_000));
    expect((await requestStatus(h, id)).certificateRequest!.status).toBe(
      CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING,
    );
    // The requester still may not approve it.
    expect((await rpcError(approveAs(h, id))).reason).toBe("SELF_APPROVAL_NOT_ALLOWED");

    const finished = await approve(id);
    expect(finished.status).toBe(ISSUED);
    const [cert] = await h.db.query<{ serial_number: string }>(
      "select serial_number from certificate where id = $1",
      [finished.certificateId],
    );
    expect(cert!.serial_number).toBe(serial);
    // The generated key waits for the requester, as an approval's does, and fits the certificate.
    const st = await requestStatus(h, id);
    expect(st.certificate!.certificateId).toBe(finished.certificateId);
    const x = new X509Certificate(st.certificate!.certificatePem);
    expect(x.checkPrivateKey(createPrivateKey(st.privateKeyPem))).toBe(true);
    expect(verifyLeaf(tmp, root.certificatePem, st.certificate!.certificatePem).code).toBe(0);
    // Approving again changes nothing: the same approver's retry answers as its approval did
    // (its answer may have been lost), anyone else's is refused.
    const again = await approve(id);
    expect(again).toMatchObject({ status: ISSUED, certificateId: finished.certificateId });
    expect((await rpcError(approveAs(h, id))).reason).toBe("REQUEST_NOT_PENDING_APPROVAL");
    expect(await countRows(h, "certificate", `certificate_request_id = '${id}'`)).toBe(1);
  });

  it("approval issues it; GetRequestStatus returns the generated key to its requester through its replay window", async () => {
    const id = await pending("approved.example.com");
    const approved = await approve(id);
    expect(approved.id).toBe(id);
    expect(approved.status).toBe(ISSUED);
    expect(approved.certificateId).toMatch(/^[0-9a-f-]{36}$/);

    // The key waits sealed on the request row: not a key in the clear.
    const waiting = await requestRow(id);
    expect(Buffer.isBuffer(waiting.sealed_private_key)).toBe(true);
    expect(() =>
      createPrivateKey({
        key: waiting.sealed_private_key as Buffer,
        format: "der",
        type: "pkcs8",
      }),
    ).toThrow();

    const first = await requestStatus(h, id);
    expect(first.certificateRequest!.status).toBe(ISSUED);
    expect(first.certificate!.certificateId).toBe(approved.certificateId);
    expect(first.privateKeyPem).toContain("-----BEGIN PRIVATE KEY-----");
    const x = new X509Certificate(first.certificate!.certificatePem);
    expect(x.checkPrivateKey(createPrivateKey(first.privateKeyPem))).toBe(true);
    expect(x.subjectAltName).toBe("DNS:approved.example.com");
    expect(verifyLeaf(tmp, root.certificatePem, first.certificate!.certificatePem).code).toBe(0);

    // A lost answer loses nothing: the first hand-out started the key's replay window, and a
    // second fetch within it gets the same key (until stop 40 of 2026-12-05 it got none).
    const held = await requestRow(id);
    expect(held.key_held_until).toBeInstanceOf(Date);
    expect((held.key_held_until as Date).getTime()).toBeGreaterThan(Date.now());
    const second = await requestStatus(h, id);
    expect(second.certificate!.certificateId).toBe(approved.certificateId);
    expect(second.privateKeyPem).toBe(first.privateKeyPem);
    // Still sealed at rest, on the request only; each hand-out is audited.
    expect(Buffer.isBuffer((await requestRow(id)).sealed_private_key)).toBe(true);
    const [cert] = await h.db.query("select sealed_private_key from certificate where id = $1", [
      approved.certificateId,
    ]);
    expect(cert!.sealed_private_key).toBeNull();
    const handOuts = await h.db.query(
      "select 1 from audit_record where resource_id = $1 and method like '%GetRequestStatus'",
      [id],
    );
    expect(handOuts).toHaveLength(2);
  });

  it("the requester's replay of its request_id after approval returns the certificate and its key", async () => {
    const res = await issue(
      h,
      attrRequest("gated", {
        cn: "replayed.example.com",
        dns: ["replayed.example.com"],
        requestId: "gated-replay-key",
      }),
    );
    expect(res.status).toBe(PENDING_APPROVAL);
    const approved = await approve(res.certificateRequestId);
    const replay = await issue(
      h,
      attrRequest("gated", {
        cn: "replayed.example.com",
        dns: ["replayed.example.com"],
        requestId: "gated-replay-key",
      }),
    );
    expect(replay.status).toBe(ISSUED);
    expect(replay.certificate!.certificateId).toBe(approved.certificateId);
    const x = new X509Certificate(replay.certificate!.certificatePem);
    expect(x.checkPrivateKey(createPrivateKey(replay.privateKeyPem))).toBe(true);
    // The same key from GetRequestStatus afterwards.
    expect((await requestStatus(h, res.certificateRequestId)).privateKeyPem).toBe(
      replay.privateKeyPem,
    );
  });

  it("two concurrent GetRequestStatus calls of the requester get the same waiting key", async () => {
    const id = await pending("race.example.com");
    await approve(id);
    const results = await Promise.all([requestStatus(h, id), requestStatus(h, id)]);
    expect(results[0]!.privateKeyPem).toContain("PRIVATE KEY");
    expect(results[1]!.privateKeyPem).toBe(results[0]!.privateKeyPem);
    expect(results.every((r) => r.certificateRequest!.status === ISSUED)).toBe(true);
  });

  it("one approval wins when approvers race; one certificate is issued", async () => {
    const id = await pending("approvers.example.com");
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => approve(id)));
    // One approval; a call that reads the request once it is issued answers as that approval
    // did (the same approver's retry), one that finds it claimed is refused.
    expect(results.filter((r) => r.status === "fulfilled").length).toBeGreaterThanOrEqual(1);
    for (const r of results) {
      if (r.status === "fulfilled") expect(r.value.status).toBe(ISSUED);
      if (r.status === "rejected") {
        const err = await rpcError(Promise.reject(r.reason));
        expect(err.code).toBe(Code.FAILED_PRECONDITION);
        expect(err.reason).toBe("REQUEST_NOT_PENDING_APPROVAL");
      }
    }
    expect(await countRows(h, "certificate", `certificate_request_id = '${id}'`)).toBe(1);
  });

  it("a renewal under a gated profile waits for approval, then links both certificates", async () => {
    const id = await pending("renewed.example.com");
    const original = await approve(id);
    const renewal = await call(
      h.certificates,
      "renewCertificate",
      renewRequest({ certificateId: original.certificateId }),
    );
    expect(renewal.status).toBe(PENDING_APPROVAL);
    expect(renewal.certificate).toBeUndefined();
    const approved = await approve(renewal.certificateRequestId);
    expect(approved.status).toBe(ISSUED);
    expect(approved.renewalOfCertificateId).toBe(original.certificateId);
    const st = await requestStatus(h, renewal.certificateRequestId);
    expect(st.privateKeyPem).toContain("-----BEGIN PRIVATE KEY-----");
    const old = await call(h.certificates, "getCertificate", {
      certificate: original.certificateId,
    });
    expect(old.certificate!.renewedByCertificateId).toBe(approved.certificateId);
  });

  it("one renewal of a certificate waits at a time: a second is FAILED_PRECONDITION naming the first", async () => {
    const original = await approve(await pending("one-renewal.example.com"));
    const renew = (requestId: string) =>
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({ certificateId: original.certificateId, requestId }),
      );
    const first = await renew("renew-a");
    expect(first.status).toBe(PENDING_APPROVAL);
    const before = await rowCounts(h);
    const err = await rpcError(renew("renew-b"));
    expect(err).toMatchObject({
      code: Code.FAILED_PRECONDITION,
      reason: "RENEWAL_ALREADY_WAITING",
    });
    expect(err.metadata.certificate_request_id).toBe(first.certificateRequestId);
    expect(await rowCounts(h)).toEqual(before);
    // The first's replay is the first, not a second renewal.
    expect((await renew("renew-a")).certificateRequestId).toBe(first.certificateRequestId);
    // Once it is decided (rejected here), a renewal may wait again.
    await reject(first.certificateRequestId, "not now");
    expect((await renew("renew-c")).status).toBe(PENDING_APPROVAL);

    // Without request_ids: a renewal that names none is never another's replay (until the
    // review of stop 40 the second of two id-less renewals was let through).
    const other = await approve(await pending("one-renewal-idless.example.com"));
    const renewIdless = () =>
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({ certificateId: other.certificateId }),
      );
    expect((await renewIdless()).status).toBe(PENDING_APPROVAL);
    const idless = await rpcError(renewIdless());
    expect(idless.reason).toBe("RENEWAL_ALREADY_WAITING");
  });

  it("approves a CSR request without any private key to hand out", async () => {
    const { csrPem, keyPem } = makeCsr(tmp, "/CN=csr.example.com", ["DNS:csr.example.com"]);
    const res = await issue(h, csrRequest("gated", csrPem));
    expect(res.status).toBe(PENDING_APPROVAL);
    const approved = await approve(res.certificateRequestId);
    expect(approved.status).toBe(ISSUED);
    const st = await requestStatus(h, res.certificateRequestId);
    expect(st.privateKeyPem).toBe("");
    expect(spkiOf(st.certificate!.certificatePem).equals(spkiOf(keyPem))).toBe(true);
  });

  it("a replay of the request_id follows the request through approval", async () => {
    const req = attrRequest("gated", {
      cn: "replay.example.com",
      dns: ["replay.example.com"],
      requestId: "gated-replay",
    });
    const first = await issue(h, req);
    expect(first.status).toBe(PENDING_APPROVAL);
    const again = await issue(h, req);
    expect(again.status).toBe(PENDING_APPROVAL);
    expect(again.certificateRequestId).toBe(first.certificateRequestId);
    const approved = await approve(first.certificateRequestId);
    const after = await issue(h, req);
    expect(after.status).toBe(ISSUED);
    expect(after.certificate!.certificateId).toBe(approved.certificateId);
  });

  it("rejection records the reason and issues nothing", async () => {
    const id = await pending("rejected.example.com");
    const before = await rowCounts(h);
    const rejected = await reject(id, "not for production");
    expect(rejected.status).toBe(REJECTED);
    expect(rejected.certificateId).toBe("");
    const err = decodeStatus(rejected.error);
    expect(err.message).toContain("not for production");
    expect(err.reason).toBe("REQUEST_REJECTED");

    const st = await requestStatus(h, id);
    expect(st.certificateRequest!.status).toBe(REJECTED);
    expect(st.certificate).toBeUndefined();
    expect(decodeStatus(st.certificateRequest!.error).message).toContain("not for production");
    expect(await rowCounts(h)).toEqual(before);
  });

  it("refuses to approve or reject a request that is no longer PENDING_APPROVAL", async () => {
    const rejectedId = await pending("twice-rejected.example.com");
    await reject(rejectedId, "no");
    const issuedId = await pending("twice-issued.example.com");
    const issued = await approve(issuedId);
    const before = await rowCounts(h);

    for (const attempt of [
      () => approve(rejectedId),
      () => reject(issuedId, "too late"),
      () => reject(rejectedId, "again"),
    ]) {
      const err = await rpcError(attempt());
      expect(err.code).toBe(Code.FAILED_PRECONDITION);
      expect(err.reason).toBe("REQUEST_NOT_PENDING_APPROVAL");
    }
    // Its approver's retry (an answer lost after the commit) answers as the approval did, and
    // issues nothing more; until 2026-12-05 it was REQUEST_NOT_PENDING_APPROVAL (an outside probe).
    expect(await approve(issuedId)).toMatchObject({
      status: ISSUED,
      certificateId: issued.certificateId,
    });
    expect(await rowCounts(h)).toEqual(before);
    expect((await requestRow(rejectedId)).status).toBe("REJECTED");
    expect((await requestRow(issuedId)).status).toBe("ISSUED");
    expect((await requestRow(issuedId)).certificate_id).toBe(issued.certificateId);
  });

  it("answers NOT_FOUND for an unknown request and INVALID_ARGUMENT for a malformed id", async () => {
    const unknown = await rpcError(approve("00000000-0000-4000-8000-000000000000"));
    expect(unknown.code).toBe(Code.NOT_FOUND);
    expect(unknown.reason).toBe("CERTIFICATE_REQUEST_NOT_FOUND");
    const bad = await rpcError(approve("req-1"));
    expect(bad.code).toBe(Code.INVALID_ARGUMENT);
    expect(bad.reason).toBe("CERTIFICATE_REQUEST_ID_INVALID");
  });

  // Until stop 44 of 2026-12-06 this ended the request FAILED (CA_DISABLED) for good; a disabled
  // CA can be enabled again, so the approval is refused and the request keeps waiting
  // (approval-ca-disabled.test.ts). A CA disabled during the approval still ends it FAILED
  // (approval-ca-race.test.ts).
  it("approval under a CA disabled meanwhile is refused with CA_DISABLED; the request keeps waiting", async () => {
    const ca = await createRoot(h, "soon-off");
    await createProfileRows(h, { caId: ca.id, slug: "gated-off", requireApproval: true });
    const id = await pending("off.example.com", "gated-off");
    await call(
      h.authorities,
      "updateCertificateAuthority",
      UpdateCertificateAuthorityRequest.fromPartial({
        certificateAuthority: {
          id: ca.id,
          status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED,
        },
        updateMask: ["status"],
      }),
    );
    const err = await rpcError(approve(id));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("CA_DISABLED");
    expect((await requestRow(id)).status).toBe("PENDING_APPROVAL");
    expect(await countRows(h, "certificate", `certificate_request_id = '${id}'`)).toBe(0);
  });

  it("checks the request again against the policy as it is at approval", async () => {
    const { policyId } = await createProfileRows(h, {
      caId: root.id,
      slug: "gated-strict",
      requireApproval: true,
    });
    const id = await pending("shop.example.com", "gated-strict");

    // The policy changes while the request waits: shop.example.com is now denied. (As
    // UpdateCertificatePolicy does, the version is bumped: compiled policies are cached by it.)
    const spec = tlsServerSpec();
    spec.sans.dns!.denied.push("shop.example.com");
    await h.db.query(
      "update certificate_policy set spec = $2, version = version + 1, updated_at = now() where id = $1",
      [policyId, JSON.stringify(compilePolicy(spec).spec)],
    );

    const before = await rowCounts(h);
    const res = await approve(id);
    expect(res.status).toBe(FAILED);
    expect(res.certificateId).toBe("");
    const err = decodeStatus(res.error);
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("POLICY_VIOLATION");
    // The CN reads as a DNS name and meets the DNS rules too (issue 17).
    expect(err.violations.map((v) => `${v.field} ${v.reason}`)).toEqual([
      "attributes.subject.common_name SAN_DENIED",
      "attributes.subject_alternative_names.dns_names[0] SAN_DENIED",
    ]);
    expect(await rowCounts(h)).toEqual(before);
    expect(await countRows(h, "certificate", `certificate_request_id = '${id}'`)).toBe(0);

    const st = await requestStatus(h, id);
    expect(st.certificateRequest!.status).toBe(FAILED);
    expect(st.certificate).toBeUndefined();
    expect(st.privateKeyPem).toBe("");
    expect(decodeStatus(st.certificateRequest!.error).reason).toBe("POLICY_VIOLATION");
  });

  // An outside probe (stop 41 of 2026-12-06): a usage the policy came to require while the
  // request waited refused it at approval ("the policy requires CLIENT_AUTH"), where a fresh
  // request gets the required usages added.
  it("adds the usages the policy requires at approval, as a fresh request gets them", async () => {
    const spec = tlsServerSpec();
    spec.extendedKeyUsages = {
      allowed: ["SERVER_AUTH", "CLIENT_AUTH"],
      required: ["SERVER_AUTH"],
      denied: [],
    };
    const { policyId } = await createProfileRows(h, {
      caId: root.id,
      slug: "gated-usage",
      requireApproval: true,
      spec,
    });
    const id = await pending("usage.example.com", "gated-usage");
    spec.extendedKeyUsages.required.push("CLIENT_AUTH");
    await h.db.query(
      "update certificate_policy set spec = $2, version = version + 1, updated_at = now() where id = $1",
      [policyId, JSON.stringify(compilePolicy(spec).spec)],
    );
    const res = await approve(id);
    expect(res.status).toBe(ISSUED);
    const cert = await getCert(h, res.certificateId);
    const ekus = new X509Certificate(cert.certificatePem).keyUsage;
    expect([...ekus].sort()).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
  });

  describe("the requester does not approve its own request", () => {
    it("refuses the requester (an admin token) with PERMISSION_DENIED and writes nothing", async () => {
      const id = await pending("self.example.com");
      const before = await rowCounts(h);
      const err = await rpcError(approveAs(h, id));
      expect(err.code).toBe(7);
      expect(err.reason).toBe("SELF_APPROVAL_NOT_ALLOWED");
      expect(err.metadata.certificate_request_id).toBe(id);
      expect(await rowCounts(h)).toEqual(before);
      const row = await requestRow(id);
      expect(row.status).toBe("PENDING_APPROVAL");
      expect(row.reserved_serial).toBeNull();
      // The refusal is audited (status 7), with the request it was about.
      expect(
        await h.db.query(
          "select status_code, error_reason from audit_record where resource_id = $1 and method like '%ApproveCertificateRequest'",
          [id],
        ),
      ).toEqual([{ status_code: 7, error_reason: "SELF_APPROVAL_NOT_ALLOWED" }]);
      // Another approver (here the second admin) may.
      expect((await approve(id)).status).toBe(ISSUED);
    });

    // Found by an outside probe (2026-12-05): the requester of a request already finished was
    // told SELF_APPROVAL_NOT_ALLOWED and pointed at allow_self_approval, which would not help.
    it("a request that waits for no approval is REQUEST_NOT_PENDING_APPROVAL, for its requester too", async () => {
      const id = await pending("self-done.example.com");
      expect((await approve(id)).status).toBe(ISSUED);
      const err = await rpcError(approveAs(h, id));
      expect(err.code).toBe(Code.FAILED_PRECONDITION);
      expect(err.reason).toBe("REQUEST_NOT_PENDING_APPROVAL");
      expect(err.message).not.toContain("allow_self_approval");
    });

    it("a CSR request and a renewal are no exception", async () => {
      const { csrPem } = makeCsr(tmp, "/CN=self-csr.example.com", ["DNS:self-csr.example.com"]);
      const res = await issue(h, csrRequest("gated", csrPem));
      expect((await rpcError(approveAs(h, res.certificateRequestId))).reason).toBe(
        "SELF_APPROVAL_NOT_ALLOWED",
      );
      const original = await approve(res.certificateRequestId);
      const renewal = await call(
        h.certificates,
        "renewCertificate",
        renewRequest({ certificateId: original.certificateId }),
      );
      expect(renewal.status).toBe(PENDING_APPROVAL);
      expect((await rpcError(approveAs(h, renewal.certificateRequestId))).reason).toBe(
        "SELF_APPROVAL_NOT_ALLOWED",
      );
      expect((await requestRow(renewal.certificateRequestId)).status).toBe("PENDING_APPROVAL");
    });

    it("a profile with allow_self_approval lets the requester approve", async () => {
      await createProfileRows(h, { caId: root.id, slug: "gated-self", requireApproval: true });
      const updated = await call(
        h.profiles,
        "updateCertificateProfile",
        UpdateCertificateProfileRequest.fromPartial({
          certificateProfile: { slug: "gated-self", allowSelfApproval: true },
          updateMask: ["allow_self_approval"],
        }),
      );
      expect(updated.certificateProfile!.allowSelfApproval).toBe(true);
      expect(updated.certificateProfile!.requireApproval).toBe(true);
      const id = await pending("self-ok.example.com", "gated-self");
      const approved = await approveAs(h, id);
      expect(approved.status).toBe(ISSUED);
      const st = await requestStatus(h, id);
      expect(st.privateKeyPem).toContain("-----BEGIN PRIVATE KEY-----");
    });
  });
});
