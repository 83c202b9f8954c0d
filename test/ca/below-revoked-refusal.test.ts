/**
 * A CA below a revoked CA is disabled for good (RevokeCertificateAuthority disables the tree;
 * enabling it is refused CA_REVOKED). Every issuance path under it says so: FAILED_PRECONDITION
 * CA_REVOKED naming the revoked CA above (message and PreconditionFailure subject), as the
 * enable refusal does, and nothing is stored. Until stop 44 of 2026-12-06 they answered
 * CA_DISABLED "is disabled; enable it with UpdateCertificateAuthority", advice that was then
 * refused (an outside probe, E F4).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attrRequest,
  createToken,
  decodeStatus,
  FAILED,
  PENDING_APPROVAL,
  RenewalKeySource,
  RevocationReason,
  Role,
  renewRequest,
} from "../certificates/helpers";
import { createProfileRows } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { createIntermediate, createRoot, subject } from "./helpers";

const FAILED_PRECONDITION = 9;

describe("issuance under a CA below a revoked CA", () => {
  let h: TestCertmint;
  let approver: CertmintClients;
  let requester: CertmintClients;
  let issuedBefore = "";
  let pendingId = "";

  beforeAll(async () => {
    h = await startTestCertmint();
    await createRoot(h, "br-root");
    const mid = await createIntermediate(h, "br-mid", "br-root");
    const below = await createIntermediate(h, "br-below", mid.id);
    await createProfileRows(h, { slug: "br-web", caId: below.id });
    const { profileId } = await createProfileRows(h, {
      slug: "br-gated",
      caId: below.id,
      requireApproval: true,
    });
    approver = (await createToken(h, "br-approver", Role.ROLE_APPROVER, [profileId])).clients;
    requester = (await createToken(h, "br-requester", Role.ROLE_ISSUER, [profileId])).clients;
    // Before the revocation: a certificate to renew, and a request waiting for approval.
    issuedBefore = (
      await call(
        h.certificates,
        "issueCertificate",
        attrRequest("br-web", { cn: "a.br.example.com", dns: ["a.br.example.com"] }),
      )
    ).certificate!.certificateId;
    const asked = await call(
      requester.certificates,
      "issueCertificate",
      attrRequest("br-gated", { cn: "g.br.example.com", dns: ["g.br.example.com"] }),
    );
    expect(asked.status).toBe(PENDING_APPROVAL);
    pendingId = asked.certificateRequestId;
    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: "br-mid",
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const counts = async () =>
    (
      await h.db.query<{ certs: string; cas: string }>(
        "select (select count(*) from certificate) as certs, (select count(*) from certificate_authority) as cas",
      )
    )[0]!;
  const expectRevokedAbove = (err: {
    code: number;
    reason?: string;
    message: string;
    preconditions: { subject: string }[];
  }) => {
    expect(err.code).toBe(FAILED_PRECONDITION);
    expect(err.reason).toBe("CA_REVOKED");
    expect(err.message).toContain('"br-below" is below the revoked CA "br-mid"');
    expect(err.message).not.toMatch(/enable it/);
    expect(err.preconditions[0]!.subject).toBe("certificate_authorities/br-mid");
  };

  it("IssueCertificate", async () => {
    const before = await counts();
    const err = await expectRpcError(
      call(
        h.certificates,
        "issueCertificate",
        attrRequest("br-web", { cn: "b.br.example.com", dns: ["b.br.example.com"] }),
      ),
    );
    expectRevokedAbove(err);
    expect(await counts()).toEqual(before);
  });

  it("RenewCertificate", async () => {
    const before = await counts();
    const err = await expectRpcError(
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({
          certificateId: issuedBefore,
          keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
        }),
      ),
    );
    expectRevokedAbove(err);
    expect(await counts()).toEqual(before);
  });

  it("ApproveCertificateRequest: the request is FAILED with that reason", async () => {
    const before = await counts();
    const answer = await call(approver.certificates, "approveCertificateRequest", {
      certificateRequestId: pendingId,
      comment: "ok",
    }).then(
      (r) => ({
        status: r.certificateRequest!.status,
        error: decodeStatus(r.certificateRequest!.error),
      }),
      (e) => ({ status: FAILED, error: e as never }),
    );
    const [row] = await h.db.query<{
      status: string;
      error: { reason?: string; message?: string };
    }>("select status, error from certificate_request where id = $1", [pendingId]);
    expect(answer.status).toBe(FAILED);
    expect(row!.status).toBe("FAILED");
    expect(row!.error.reason).toBe("CA_REVOKED");
    expect(JSON.stringify(row!.error)).toContain('below the revoked CA \\"br-mid\\"');
    expect(await counts()).toEqual(before);
  });

  it("CreateIntermediateCertificateAuthority with it as parent", async () => {
    const before = await counts();
    const err = await expectRpcError(
      call(h.authorities, "createIntermediateCertificateAuthority", {
        slug: "br-child",
        description: "",
        parentCertificateAuthority: "br-below",
        subject: subject("BR Child"),
        keyAlgorithm: 0,
        signatureAlgorithm: 0,
      }),
    );
    expectRevokedAbove(err);
    expect(await counts()).toEqual(before);
  });
});
