/**
 * ApproveCertificateRequest racing RevokeAccessToken of the approver itself. Authentication
 * checks the token when the call arrives; until stop 45 of 2026-12-06 nothing looked again, so
 * an approval that then waited (here: on the request's row, which the test holds) signed its
 * certificate seconds after the approver's revocation had been answered OK (an outside probe:
 * a leaked admin token's approval of a certificate an admin binding accepts). The approver's
 * token is now read again under the request's lock, held FOR SHARE to the commit, as the
 * requester's is: the approval is refused UNAUTHENTICATED TOKEN_REVOKED, nothing is signed, and
 * the request waits for another approver.
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitsOnLock as lockWait } from "../support/table-lock";
import { waitFor } from "../support/wait";
import {
  attrRequest,
  call,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  decodeFull,
  ISSUED,
  KeyAlgorithm,
  PENDING_APPROVAL,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

describe("an approval racing the revocation of its approver", () => {
  let h: TestCertmint;
  let profileId = "";

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    ({ profileId } = await createProfileRows(h, {
      caId: root.id,
      slug: "gated",
      requireApproval: true,
    }));
  });
  afterAll(async () => {
    await h?.stop();
  });

  const waitsOnLock = (pattern: string) => lockWait(h, pattern);

  it("an approver revoked while its approval waits signs nothing; the request waits for another", async () => {
    const issuer = await createToken(h, "issuer", Role.ROLE_ISSUER, [profileId]);
    const leaked = await createToken(h, "leaked-approver", Role.ROLE_APPROVER, [profileId]);
    const other = await createToken(h, "other-approver", Role.ROLE_APPROVER, [profileId]);
    const asked = await call(
      issuer.clients.certificates,
      "issueCertificate",
      attrRequest("gated", {
        cn: "svc.example.com",
        dns: ["svc.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    expect(asked.status).toBe(PENDING_APPROVAL);
    const id = asked.certificateRequestId;

    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    let outcome: { res?: unknown; err?: unknown };
    try {
      await holder.query("begin");
      await holder.query("select id from certificate_request where id = $1 for update", [id]);
      const approval = call(leaked.clients.certificates, "approveCertificateRequest", {
        certificateRequestId: id,
        comment: "ok",
      }).then(
        (res) => ({ res }),
        (err: unknown) => ({ err }),
      );
      await waitFor("the approval's claim to wait on the request's row", () =>
        waitsOnLock('update "certificate_request"%'),
      );
      await call(h.accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: leaked.id,
      });
      await holder.query("commit");
      outcome = await approval;
    } finally {
      await holder.end();
    }
    expect("err" in outcome, "the revoked approver's approval must be refused").toBe(true);
    expect(decodeFull(outcome.err)).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "TOKEN_REVOKED",
    });
    const [row] = await h.db.query<{ status: string; reserved_serial: string | null }>(
      "select status, reserved_serial from certificate_request where id = $1",
      [id],
    );
    expect(row).toEqual({ status: "PENDING_APPROVAL", reserved_serial: null });
    expect(await countRows(h, "certificate", `certificate_request_id = '${id}'`)).toBe(0);
    // Another approver, in force, approves it.
    const approved = await call(other.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: id,
      comment: "ok",
    });
    expect(approved.certificateRequest?.status).toBe(ISSUED);
  });
});
