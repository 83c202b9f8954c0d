/**
 * Page tokens are bound to the caller they were returned to (AIP-158): ListCertificates and
 * ListCertificateRequests refuse another access token's token with INVALID_ARGUMENT
 * (PAGE_TOKEN_INVALID on page_token) and return none of its rows, while the caller that got it
 * walks the list once, every row on one page. Tokens with other filters and altered tokens are
 * refused too (test/api/page-tokens.test.ts covers every list for those).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  CertificateRequestStatus,
  CertificateStatus,
  ListCertificateRequestsRequest,
  ListCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { attrRequest, createToken } from "./helpers";

async function expectTokenRefused(p: Promise<unknown>, what: string): Promise<void> {
  const err = await expectRpcError(p);
  expect(
    { code: err.code, reason: err.reason, fields: err.violations.map((v) => v.field) },
    what,
  ).toEqual({ code: 3, reason: "PAGE_TOKEN_INVALID", fields: ["page_token"] });
  // It names neither the caller it belongs to nor a row.
  expect(err.message, what).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
}

const listCerts = (c: CertmintClients, pageToken: string, pageSize: number, profile = "") =>
  call(
    c.certificates,
    "listCertificates",
    ListCertificatesRequest.fromPartial({ pageToken, pageSize, certificateProfile: profile }),
  );

describe("page tokens are bound to their caller", () => {
  let h: TestCertmint;
  let auditorA: CertmintClients;
  let auditorB: CertmintClients;
  let issuer: CertmintClients;
  let otherIssuer: CertmintClients;
  const issued: string[] = [];

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root-a");
    await createProfileRows(h, { caId: root.id, slug: "web-a" });
    await createProfileRows(h, { caId: root.id, slug: "web-b", requireApproval: true });
    for (const name of ["one", "two", "three", "four", "five"]) {
      const res = await call(
        h.certificates,
        "issueCertificate",
        attrRequest("web-a", { cn: `${name}.example.com`, dns: [`${name}.example.com`] }),
      );
      issued.push(res.certificate!.certificateId);
    }
    auditorA = (await createToken(h, "auditor-a", Role.ROLE_AUDITOR)).clients;
    auditorB = (await createToken(h, "auditor-b", Role.ROLE_AUDITOR)).clients;
    issuer = (await createToken(h, "issuer-a", Role.ROLE_ISSUER, ["web-b"])).clients;
    otherIssuer = (await createToken(h, "issuer-b", Role.ROLE_ISSUER, ["web-b"])).clients;
    for (const name of ["p1", "p2", "p3"]) {
      await call(
        issuer.certificates,
        "issueCertificate",
        attrRequest("web-b", { cn: `${name}.example.com`, dns: [`${name}.example.com`] }),
      );
      await call(
        otherIssuer.certificates,
        "issueCertificate",
        attrRequest("web-b", { cn: `${name}-b.example.com`, dns: [`${name}-b.example.com`] }),
      );
    }
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("ListCertificates: a page size of 2 walks every certificate once", async () => {
    const seen: string[] = [];
    let token = "";
    do {
      const page = await listCerts(auditorA, token, 2);
      expect(page.certificates.length).toBeLessThanOrEqual(2);
      seen.push(...page.certificates.map((c) => c.id));
      token = page.nextPageToken;
    } while (token !== "");
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.sort()).toEqual([...issued].sort());
  });

  it("ListCertificates: caller A's token is refused for caller B, and for the admin", async () => {
    const first = await listCerts(auditorA, "", 2);
    expect(first.nextPageToken).not.toBe("");
    await expectTokenRefused(listCerts(auditorB, first.nextPageToken, 2), "auditor B");
    await expectTokenRefused(listCerts(h, first.nextPageToken, 2), "admin");
    // Still good for the caller it was returned to.
    const second = await listCerts(auditorA, first.nextPageToken, 2);
    expect(second.certificates.map((c) => c.id)).not.toContain(first.certificates[0]!.id);
    expect(second.certificates).toHaveLength(2);
  });

  it("ListCertificates: a token with changed filters or altered is refused", async () => {
    const first = await listCerts(auditorA, "", 1, "web-a");
    expect(first.nextPageToken).not.toBe("");
    await expectTokenRefused(listCerts(auditorA, first.nextPageToken, 1), "no profile");
    await expectTokenRefused(
      call(
        auditorA.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({
          pageToken: first.nextPageToken,
          pageSize: 1,
          certificateProfile: "web-a",
          status: CertificateStatus.CERTIFICATE_STATUS_ACTIVE,
        }),
      ),
      "status added",
    );
    const bytes = Buffer.from(first.nextPageToken, "base64url");
    bytes[bytes.length - 2]! ^= 0x01;
    await expectTokenRefused(
      listCerts(auditorA, bytes.toString("base64url"), 1, "web-a"),
      "altered",
    );
  });

  it("ListCertificateRequests: an issuer's token is refused for another issuer", async () => {
    const list = (c: CertmintClients, pageToken: string) =>
      call(
        c.certificates,
        "listCertificateRequests",
        ListCertificateRequestsRequest.fromPartial({
          pageToken,
          pageSize: 1,
          status: CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL,
        }),
      );
    const first = await list(issuer, "");
    expect(first.certificateRequests).toHaveLength(1);
    expect(first.nextPageToken).not.toBe("");
    await expectTokenRefused(list(otherIssuer, first.nextPageToken), "other issuer");
    // The issuer that got it walks its own three requests once.
    const seen = first.certificateRequests.map((r) => r.id);
    let token = first.nextPageToken;
    while (token !== "") {
      const page = await list(issuer, token);
      seen.push(...page.certificateRequests.map((r) => r.id));
      token = page.nextPageToken;
    }
    expect(new Set(seen).size).toBe(3);
    expect(seen).toHaveLength(3);
  });
});
