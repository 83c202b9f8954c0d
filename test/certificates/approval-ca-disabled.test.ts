/**
 * ApproveCertificateRequest while the profile's CA is DISABLED (a reversible state): refused
 * with FAILED_PRECONDITION CA_DISABLED (a PreconditionFailure; the message says to enable the
 * CA and approve again), nothing written: the request stays PENDING_APPROVAL with no serial
 * reserved, the requester's replay of its request_id answers PENDING_APPROVAL, and once the CA
 * is ACTIVE again the same approval issues it and the requester's replay returns the
 * certificate and its key. Until stop 44 of 2026-12-06 the approval ended the request FAILED
 * for good and the replay kept answering "CA is disabled" (an outside probe, F2).
 * A revoked CA is final (RFC 5280: a revocation is not undone): the approval still ends the
 * request FAILED with CA_REVOKED. On PostgreSQL, in-process.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateAuthorityStatus,
  CreateIntermediateCertificateAuthorityRequest,
  UpdateCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import type { CertmintClients } from "../support/harness";
import {
  attrRequest,
  Code,
  call,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  decodeStatus,
  FAILED,
  ISSUED,
  KeyAlgorithm,
  PENDING_APPROVAL,
  Role,
  rowCounts,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;

describe("approval while the profile's CA cannot sign", () => {
  let h: TestCertmint;
  let requester: CertmintClients;
  let approver: CertmintClients;
  const cas: Record<string, string> = {};

  beforeAll(async () => {
    h = await startTestCertmint();
    const ids: string[] = [];
    cas.off = (await createRoot(h, "root-off")).id;
    // Only an intermediate CA can be revoked (RevokeCertificateAuthority).
    cas.gone = (
      await call(
        h.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "issuing-gone",
          parentCertificateAuthority: cas.off,
          subject: { commonName: "issuing-gone CA" },
        }),
      )
    ).certificateAuthority!.id;
    for (const slug of ["off", "gone"]) {
      ids.push(
        (
          await createProfileRows(h, {
            caId: cas[slug],
            slug: `gated-${slug}`,
            requireApproval: true,
          })
        ).profileId,
      );
    }
    requester = (await createToken(h, "requester", Role.ROLE_ISSUER, ids)).clients;
    approver = (await createToken(h, "approver", Role.ROLE_APPROVER, ids)).clients;
  });
  afterAll(async () => {
    await h?.stop();
  });

  const ask = (profile: string, requestId: string) =>
    call(
      requester.certificates,
      "issueCertificate",
      attrRequest(profile, {
        cn: `${profile}.example.com`,
        dns: [`${profile}.example.com`],
        keyAlgorithm: EC,
        requestId,
      }),
    );
  const approve = (id: string) =>
    call(approver.certificates, "approveCertificateRequest", {
      certificateRequestId: id,
      comment: "ok",
    });
  const setStatus = (id: string, status: CertificateAuthorityStatus) =>
    call(
      h.authorities,
      "updateCertificateAuthority",
      UpdateCertificateAuthorityRequest.fromPartial({
        certificateAuthority: { id, status },
        updateMask: ["status"],
      }),
    );
  const requestRow = async (id: string) =>
    (
      await h.db.query<{ status: string; reserved_serial: string | null; error: unknown }>(
        "select status, reserved_serial, error from certificate_request where id = $1",
        [id],
      )
    )[0]!;

  it("a disabled CA: refused, the request left waiting; approved once the CA is enabled", async () => {
    const asked = await ask("gated-off", "off-1");
    expect(asked.status).toBe(PENDING_APPROVAL);
    const id = asked.certificateRequestId;
    await setStatus(cas.off!, CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED);

    const before = await rowCounts(h);
    const events = await countRows(h, "certificate_event");
    const err = await rpcError(approve(id));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("CA_DISABLED");
    expect(err.message).toContain('certificate authority "root-off" is disabled');
    expect(err.message).toContain(`certificate request ${id} cannot be signed now`);
    expect(err.message).toMatch(/enable it .* and approve it again/);
    expect(err.preconditions).toEqual([
      {
        type: "CA_STATUS",
        subject: "certificate_authorities/root-off",
        description: "status is DISABLED",
      },
      {
        type: "REQUEST_STATUS",
        subject: `certificate_requests/${id}`,
        description: "still PENDING_APPROVAL",
      },
    ]);
    expect(err.metadata).toMatchObject({
      certificate_request_id: id,
      certificate_authority: "root-off",
    });
    // Nothing written: still waiting, no serial reserved, no certificate or event.
    expect(await rowCounts(h)).toEqual(before);
    expect(await countRows(h, "certificate_event")).toBe(events);
    expect(await requestRow(id)).toEqual({
      status: "PENDING_APPROVAL",
      reserved_serial: null,
      error: null,
    });
    // The refusal is in the audit trail, as the approver's.
    const audits = (
      await call(h.audit, "listAuditRecords", {
        pageSize: 100,
        pageToken: "",
        actor: "",
        method: "/certmint.v1.CertificateService/ApproveCertificateRequest",
        resourceType: "",
        resourceId: "",
        failuresOnly: true,
      })
    ).auditRecords.filter((r) => r.errorReason === "CA_DISABLED");
    expect(audits.map((r) => r.actorSlug)).toEqual(["approver"]);
    // The requester's replay: still waiting, not an error.
    expect((await ask("gated-off", "off-1")).status).toBe(PENDING_APPROVAL);

    await setStatus(cas.off!, CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_ACTIVE);
    const approved = await approve(id);
    expect(approved.certificateRequest!.status).toBe(ISSUED);
    // The requester's replay returns the certificate and its key.
    const replay = await ask("gated-off", "off-1");
    expect(replay.status).toBe(ISSUED);
    expect(replay.certificateRequestId).toBe(id);
    const cert = new X509Certificate(replay.certificate!.certificatePem);
    expect(cert.subject).toContain("CN=gated-off.example.com");
    expect(replay.privateKeyPem).toContain("PRIVATE KEY");
  });

  it("a revoked CA is final: the approval ends the request FAILED with CA_REVOKED", async () => {
    const asked = await ask("gated-gone", "gone-1");
    const id = asked.certificateRequestId;
    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: cas.gone!,
      reason: RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
    });
    const answer = (await approve(id)).certificateRequest!;
    expect(answer.status).toBe(FAILED);
    expect(decodeStatus(answer.error)).toMatchObject({
      code: Code.FAILED_PRECONDITION,
      reason: "CA_REVOKED",
    });
    expect((await requestRow(id)).status).toBe("FAILED");
    expect(await countRows(h, "certificate", `certificate_request_id = '${id}'`)).toBe(0);
  });
});
