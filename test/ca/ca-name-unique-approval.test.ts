/**
 * One name per CA under one issuer (RFC 5280 4.1.2.6) holds for CA certificates that wait for
 * approval too: the approval re-checks the name against what the issuer certified while the
 * request waited (another approved request of the same name, a CreateIntermediate), and a taken
 * name fails the request (FAILED, CA_SUBJECT_TAKEN) with nothing signed. Until a review of stop
 * 44 of 2026-12-06 both of two pending requests of one name (other keys) were approved and
 * signed, beside an intermediate of that name created meanwhile: three CAs of one name.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Code,
  createToken,
  csrRequest,
  FAILED,
  ISSUED,
  PENDING_APPROVAL,
  Role,
  rpcError,
} from "../certificates/helpers";
import { buildCsr } from "../support/der-csr";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { createNamedIntermediate, subCaSpec } from "./helpers";

describe("one name per CA under one issuer, at approval", () => {
  let h: TestCertmint;
  let approver: CertmintClients;
  let requester: CertmintClients;
  let intId = "";
  const caCertificates = async (name: string) =>
    Number(
      (
        await h.db.query<{ n: string }>(
          "select count(*) as n from certificate where ca_id = $1 and is_ca and common_name = $2",
          [intId, name],
        )
      )[0]!.n,
    );

  beforeAll(async () => {
    h = await startTestCertmint();
    await createRoot(h, "root");
    const int = await createNamedIntermediate(h, "int", "root", "Int CA");
    intId = int.id;
    const { profileId } = await createProfileRows(h, {
      slug: "subca",
      caId: intId,
      spec: subCaSpec(),
      requireApproval: true,
    });
    approver = (await createToken(h, "approver", Role.ROLE_APPROVER, [profileId])).clients;
    requester = (await createToken(h, "requester", Role.ROLE_ISSUER, [profileId])).clients;
  });
  afterAll(async () => {
    await h?.stop();
  });

  const request = (cn: string) =>
    call(
      requester.certificates,
      "issueCertificate",
      csrRequest("subca", buildCsr({ subject: [["CN", cn]], ca: {} }).csrPem),
    );
  const approve = (id: string) =>
    call(approver.certificates, "approveCertificateRequest", {
      certificateRequestId: id,
      comment: "ok",
    });

  it("approves the first of two pending requests of one name, fails the second (CA_SUBJECT_TAKEN)", async () => {
    const a = await request("Dup Sub");
    const b = await request("Dup Sub");
    expect([a.status, b.status]).toEqual([PENDING_APPROVAL, PENDING_APPROVAL]);
    expect((await approve(a.certificateRequestId)).certificateRequest!.status).toBe(ISSUED);
    const second = (await approve(b.certificateRequestId)).certificateRequest!;
    expect(second.status).toBe(FAILED);
    expect(second.error?.message).toMatch(/has this subject name already/);
    expect(await caCertificates("Dup Sub")).toBe(1);
    // And an intermediate of that name under the same issuer is refused (new-ca.ts).
    const created = await rpcError(createNamedIntermediate(h, "dup", "int", "Dup Sub"));
    expect([created.code, created.reason]).toEqual([Code.ALREADY_EXISTS, "CA_SUBJECT_TAKEN"]);
  });

  it("fails a pending request whose name an intermediate took while it waited", async () => {
    const waiting = await request("Later Sub");
    expect(waiting.status).toBe(PENDING_APPROVAL);
    await createNamedIntermediate(h, "later", "int", "Later Sub");
    const approved = (await approve(waiting.certificateRequestId)).certificateRequest!;
    expect(approved.status).toBe(FAILED);
    expect(approved.error?.message).toMatch(/certificate authority "later" has this subject name/);
    expect(await caCertificates("Later Sub")).toBe(0);
  });
});
