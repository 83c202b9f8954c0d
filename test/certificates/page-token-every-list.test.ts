/**
 * Every List RPC's page token is valid only for the caller it was returned to (AIP-158):
 * another access token with the same role gets INVALID_ARGUMENT (PAGE_TOKEN_INVALID on
 * page_token) and no rows; the caller it was returned to gets the next page.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/certmint/v1/access_token_service";
import { ListAuditRecordsRequest } from "../../gen/ts/certmint/v1/audit_service";
import { ListCertificateAuthoritiesRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { ListCertificatesRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { attrRequest, createToken } from "./helpers";

type Lister = (c: CertmintClients, pageToken: string) => Promise<{ ids: string[]; next: string }>;

const LISTS: Record<string, Lister> = {
  ListCertificates: async (c, pageToken) => {
    const r = await call(
      c.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ pageToken, pageSize: 1 }),
    );
    return { ids: r.certificates.map((x) => x.id), next: r.nextPageToken };
  },
  ListCertificateAuthorities: async (c, pageToken) => {
    const r = await call(
      c.authorities,
      "listCertificateAuthorities",
      ListCertificateAuthoritiesRequest.fromPartial({ pageToken, pageSize: 1 }),
    );
    return { ids: r.certificateAuthorities.map((x) => x.id), next: r.nextPageToken };
  },
  ListCertificatePolicies: async (c, pageToken) => {
    const r = await call(c.policies, "listCertificatePolicies", { pageToken, pageSize: 1 });
    return { ids: r.certificatePolicies.map((x) => x.id), next: r.nextPageToken };
  },
  ListCertificateProfiles: async (c, pageToken) => {
    const r = await call(c.profiles, "listCertificateProfiles", { pageToken, pageSize: 1 });
    return { ids: r.certificateProfiles.map((x) => x.id), next: r.nextPageToken };
  },
  ListAccessTokens: async (c, pageToken) => {
    const r = await call(c.accessTokens, "listAccessTokens", { pageToken, pageSize: 1 });
    return { ids: r.accessTokens.map((x) => x.id), next: r.nextPageToken };
  },
  ListAuditRecords: async (c, pageToken) => {
    const r = await call(
      c.audit,
      "listAuditRecords",
      ListAuditRecordsRequest.fromPartial({ pageToken, pageSize: 1 }),
    );
    return { ids: r.auditRecords.map((x) => x.id), next: r.nextPageToken };
  },
};

describe("every list's page token is bound to its caller", () => {
  let h: TestCertmint;
  let a: CertmintClients;
  let b: CertmintClients;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root-a");
    await createRoot(h, "root-b");
    for (const slug of ["web-a", "web-b"]) await createProfileRows(h, { caId: root.id, slug });
    for (const name of ["one", "two"]) {
      await call(
        h.certificates,
        "issueCertificate",
        attrRequest("web-a", { cn: `${name}.example.com`, dns: [`${name}.example.com`] }),
      );
    }
    a = (await createToken(h, "auditor-a", Role.ROLE_AUDITOR)).clients;
    b = (await createToken(h, "auditor-b", Role.ROLE_AUDITOR)).clients;
  });
  afterAll(async () => {
    await h?.stop();
  });

  it.each(Object.keys(LISTS))("%s", async (name) => {
    const list = LISTS[name]!;
    const first = await list(a, "");
    expect(first.next, name).not.toBe("");
    const err = await expectRpcError(list(b, first.next));
    expect({
      code: err.code,
      reason: err.reason,
      fields: err.violations.map((v) => v.field),
    }).toEqual({ code: 3, reason: "PAGE_TOKEN_INVALID", fields: ["page_token"] });
    const second = await list(a, first.next);
    expect(second.ids).toHaveLength(1);
    expect(second.ids).not.toEqual(first.ids);
  });
});
