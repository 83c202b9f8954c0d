import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import { ListAuditRecordsRequest } from "../../gen/ts/certmint/v1/audit_service";
import { CreateIntermediateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";

describe("DeleteCertificateAuthority", () => {
  let h: TestCertmint;
  const caCount = async () =>
    Number(
      (await h.db.query<{ n: string }>("select count(*) as n from certificate_authority"))[0]!.n,
    );

  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("deletes an unused CA and its sealed key", async () => {
    const ca = await createRoot(h, "lonely");
    await call(h.authorities, "deleteCertificateAuthority", {
      certificateAuthority: "lonely",
      etag: ca.etag,
    });
    expect(await h.db.query("select id from certificate_authority where id = $1", [ca.id])).toEqual(
      [],
    );
    const err = await expectRpcError(
      call(h.authorities, "getCertificateAuthority", { certificateAuthority: ca.id }),
    );
    expect(err.code).toBe(status.NOT_FOUND);
  });

  it("refuses while a profile uses it, a CA below it exists, or it has issued certificates", async () => {
    const root = await createRoot(h, "busy-root");
    await call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "busy-child",
        parentCertificateAuthority: "busy-root",
        subject: { commonName: "Busy Child" },
      }),
    );
    await createProfileRows(h, { slug: "busy-web", caId: root.id });
    const before = await caCount();
    const err = await expectRpcError(
      call(h.authorities, "deleteCertificateAuthority", {
        certificateAuthority: "busy-root",
        etag: "",
      }),
    );
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "CA_IN_USE" });
    expect(err.preconditions.map((p) => [p.type, p.subject])).toEqual([
      ["CA_IN_USE_BY_PROFILE", "certificate_profiles/busy-web"],
      ["CA_HAS_SUBORDINATE", "certificate_authorities/busy-child"],
    ]);
    expect(await caCount()).toBe(before);
    // The refusal's audit record names the CA (a probe, 2026-12-05: it named nothing, and a
    // CA's failures could not be listed), by its id though the call named its slug (stop 50).
    const records = await call(
      h.audit,
      "listAuditRecords",
      ListAuditRecordsRequest.fromPartial({
        resourceType: "certificate_authority",
        resourceId: root.id,
        failuresOnly: true,
        pageSize: 10,
      }),
    );
    expect(
      records.auditRecords.map((r) => [r.method.split("/").at(-1), r.errorReason]),
    ).toContainEqual(["DeleteCertificateAuthority", "CA_IN_USE"]);

    // Once it has issued a certificate, it is kept for good (its CRL must stay available).
    await call(
      h.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "busy-web",
        source: {
          $case: "attributes",
          value: {
            subject: { commonName: "a.example.com" },
            subjectAlternativeNames: { dnsNames: ["a.example.com"] },
          },
        },
      }),
    );
    await h.db.query("delete from certificate_profile where slug = 'busy-web'");
    // An intermediate in force is not deleted: nothing could revoke it then (stop 52).
    const child = await expectRpcError(
      call(h.authorities, "deleteCertificateAuthority", {
        certificateAuthority: "busy-child",
        etag: "",
      }),
    );
    expect(child).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "CA_NOT_REVOKED" });
    // Gone from under the root as if it had expired and been deleted: the root's own blocker.
    await h.db.query("delete from certificate_authority where slug = 'busy-child'");
    const still = await expectRpcError(
      call(h.authorities, "deleteCertificateAuthority", {
        certificateAuthority: "busy-root",
        etag: "",
      }),
    );
    expect(still.preconditions.map((p) => p.type)).toEqual(["CA_HAS_CERTIFICATES"]);
    expect(
      await h.db.query("select id from certificate_authority where id = $1", [root.id]),
    ).toHaveLength(1);
  });

  // Found by an outside probe (2026-12-05): the CA went, and the token stayed bound to it.
  it("refuses while a token in force has a client certificate binding that names it", async () => {
    const ca = await createRoot(h, "bound-root");
    await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "bound-to-root",
          role: Role.ROLE_AUDITOR,
          clientCertificateBinding: {
            identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
            value: "spiffe://prod.example/ns/a/sa/b",
            certificateAuthority: "bound-root",
          },
        },
      }),
    );
    const err = await expectRpcError(
      call(h.authorities, "deleteCertificateAuthority", {
        certificateAuthority: "bound-root",
        etag: ca.etag,
      }),
    );
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION, reason: "CA_IN_USE" });
    expect(err.preconditions).toEqual([
      expect.objectContaining({
        type: "CA_NAMED_BY_BINDING",
        subject: "access_tokens/bound-to-root",
      }),
    ]);
    expect(
      await h.db.query("select id from certificate_authority where id = $1", [ca.id]),
    ).toHaveLength(1);

    // Once the token is revoked, nothing holds the CA.
    await call(h.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: "bound-to-root",
    });
    await call(h.authorities, "deleteCertificateAuthority", {
      certificateAuthority: "bound-root",
      etag: ca.etag,
    });
    expect(await h.db.query("select id from certificate_authority where id = $1", [ca.id])).toEqual(
      [],
    );
  });

  it("refuses a stale etag with ABORTED and an unknown CA with NOT_FOUND", async () => {
    const ca = await createRoot(h, "etagged");
    await call(h.authorities, "updateCertificateAuthority", {
      certificateAuthority: { ...ca, description: "changed" },
      updateMask: ["description"],
    });
    const stale = await expectRpcError(
      call(h.authorities, "deleteCertificateAuthority", {
        certificateAuthority: "etagged",
        etag: ca.etag,
      }),
    );
    expect(stale).toMatchObject({ code: status.ABORTED, reason: "ETAG_MISMATCH" });
    expect(
      await h.db.query("select id from certificate_authority where id = $1", [ca.id]),
    ).toHaveLength(1);
    const missing = await expectRpcError(
      call(h.authorities, "deleteCertificateAuthority", { certificateAuthority: "nope", etag: "" }),
    );
    expect(missing.code).toBe(status.NOT_FOUND);
  });
});
