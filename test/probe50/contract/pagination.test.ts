/**
 * Stop 50, helper CONTRACT: the List RPCs of the compiled server as their proto comments and
 * README ("Page tokens") promise them: 50 rows when page_size is 0, at most 1000, negative
 * refused; next_page_token empty on the last page and only there; a token valid only with the
 * filters it was made with; and a walk of every page returns each row that existed when it began
 * exactly once, in the list's order, while rows are added between and during its pages.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListAuditRecordsRequest } from "../../../gen/ts/certmint/v1/audit_service";
import {
  CertificateAuthorityStatus,
  ListCertificateAuthoritiesRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CreateCertificateProfileRequest,
  EnrollmentMethod,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateRequestStatus,
  CertificateStatus,
  CertificateView,
  ListCertificateRequestsRequest,
  ListCertificatesRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { attrRequest } from "../../certificates/helpers";
import { type LiveCertmint, rootPolicyProfile, startLive } from "../../probe49/api/live";
import { allMethods, rpcPath } from "../../support/contract";
import { createTlsServerPolicy } from "../../support/fixtures";
import { call, expectRpcError } from "../../support/harness";
import { RawClient } from "../../support/raw-client";

const LIST_RPCS = allMethods().filter((m) => m.methodKind === "unary" && m.name.startsWith("List"));

/** A policy named `slug` (cheap: no key, no signature). */
const makePolicy = (live: LiveCertmint, slug: string) =>
  createTlsServerPolicy(live.admin, slug, 30 * 86_400);

/** Every policy, walked with `pageSize`; `between` runs (and is awaited) after each page. */
async function walkPolicies(
  live: LiveCertmint,
  pageSize: number,
  between: (page: number) => Promise<unknown> = async () => {},
) {
  const seen: Array<{ id: string; time: number }> = [];
  let pageToken = "";
  let pages = 0;
  do {
    const res = await call(live.admin.policies, "listCertificatePolicies", { pageSize, pageToken });
    for (const p of res.certificatePolicies) seen.push({ id: p.id, time: p.createTime!.getTime() });
    pageToken = res.nextPageToken;
    pages += 1;
    if (pageToken) await between(pages);
  } while (pageToken);
  return { seen, pages };
}

describe("probe50 CONTRACT: List RPCs and their page tokens", () => {
  let live: LiveCertmint;
  let raw: RawClient;
  let profileId: string;

  beforeAll(async () => {
    live = await startLive({ CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND: "0" });
    raw = new RawClient(live.address, live.adminToken);
    ({ profileId } = await rootPolicyProfile(live, "web"));
    // 55 more policies: more than a default page.
    for (let i = 0; i < 55; i++) await makePolicy(live, `p${String(i).padStart(3, "0")}`);
    for (let i = 0; i < 12; i++)
      await call(
        live.admin.certificates,
        "issueCertificate",
        attrRequest("web", { dns: [`c${i}.example.com`] }),
      );
  });
  afterAll(async () => {
    raw.close();
    await live.stop();
  });

  it.each(LIST_RPCS.map((m) => [m.name, m] as const))(
    "%s: page_size -1 is INVALID_ARGUMENT naming page_size",
    async (_name, m) => {
      const init: Record<string, unknown> = { pageSize: -1 };
      if (m.input.fields.some((f) => f.name === "certificate_profile"))
        init.certificateProfile = profileId;
      const out = await raw.call(rpcPath(m), toBinary(m.input, create(m.input, init as never)));
      expect(out.error?.code).toBe(status.INVALID_ARGUMENT);
      expect(out.error?.violations.map((v) => v.field)).toEqual(["page_size"]);
    },
  );

  it("page_size 0 gives 50 rows and a token; 2^31-1 is clamped (all 56 rows, no token), not refused", async () => {
    const first = await call(live.admin.policies, "listCertificatePolicies", {
      pageSize: 0,
      pageToken: "",
    });
    expect(first.certificatePolicies).toHaveLength(50);
    expect(first.nextPageToken).not.toBe("");
    const all = await call(live.admin.policies, "listCertificatePolicies", {
      pageSize: 2_147_483_647,
      pageToken: "",
    });
    expect(all.certificatePolicies).toHaveLength(56);
    expect(all.nextPageToken).toBe("");
  });

  it("next_page_token is empty on the last page and only there: a page size that divides the rows leaves no empty page", async () => {
    // 56 policies: pages of 8 are exactly 7 pages, the 7th with no token.
    const { seen, pages } = await walkPolicies(live, 8);
    expect(pages).toBe(7);
    expect(seen).toHaveLength(56);
    const exact = await call(live.admin.policies, "listCertificatePolicies", {
      pageSize: 56,
      pageToken: "",
    });
    expect(exact.nextPageToken).toBe("");
  });

  it("a walk of pages of 1 returns every policy once, oldest first", async () => {
    const { seen } = await walkPolicies(live, 1);
    expect(new Set(seen.map((s) => s.id)).size).toBe(seen.length);
    expect(seen).toHaveLength(56);
    for (let i = 1; i < seen.length; i++)
      expect(seen[i]!.time).toBeGreaterThanOrEqual(seen[i - 1]!.time);
  });

  it("a walk of policies while policies are added between pages and during them returns each earlier one once, in order", async () => {
    const before = await call(live.admin.policies, "listCertificatePolicies", {
      pageSize: 1000,
      pageToken: "",
    });
    const existing = before.certificatePolicies.map((p) => p.id);
    let n = 0;
    const background: Array<Promise<unknown>> = [];
    const { seen } = await walkPolicies(live, 5, async (page) => {
      await makePolicy(live, `during-${page}-a`);
      // And one racing the next page.
      background.push(makePolicy(live, `during-${page}-b`));
      n += 2;
    });
    await Promise.all(background);
    const ids = seen.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of existing) expect(ids).toContain(id);
    expect(ids.filter((id) => existing.includes(id))).toEqual(existing);
    expect(n).toBeGreaterThan(0);
  });

  it("a walk of the audit trail (newest first) while new records are written between pages returns each earlier record once, in order", async () => {
    const start = await call(
      live.admin.audit,
      "listAuditRecords",
      ListAuditRecordsRequest.fromPartial({ pageSize: 1000, pageToken: "" }),
    );
    const existing = start.auditRecords.map((r) => r.id);
    expect(start.nextPageToken).toBe("");
    const seen: string[] = [];
    let pageToken = "";
    let i = 0;
    do {
      const res = await call(
        live.admin.audit,
        "listAuditRecords",
        ListAuditRecordsRequest.fromPartial({ pageSize: 7, pageToken }),
      );
      seen.push(...res.auditRecords.map((r) => r.id));
      pageToken = res.nextPageToken;
      if (pageToken) await makePolicy(live, `audit-walk-${i++}`);
    } while (pageToken);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => existing.includes(id))).toEqual(existing);
  });

  it("a walk of certificates (newest first) while certificates are issued between pages returns each earlier one once, in order", async () => {
    const start = await call(
      live.admin.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ pageSize: 1000 }),
    );
    const existing = start.certificates.map((c) => c.id);
    expect(existing.length).toBeGreaterThanOrEqual(12);
    const seen: string[] = [];
    let pageToken = "";
    let i = 0;
    do {
      const res = await call(
        live.admin.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({
          pageSize: 3,
          pageToken,
          view: CertificateView.CERTIFICATE_VIEW_BASIC,
        }),
      );
      seen.push(...res.certificates.map((c) => c.id));
      pageToken = res.nextPageToken;
      if (pageToken)
        await call(
          live.admin.certificates,
          "issueCertificate",
          attrRequest("web", { dns: [`w${i++}.example.com`] }),
        );
    } while (pageToken);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => existing.includes(id))).toEqual(existing);
  });

  it("a ListCertificates token sent with another filter is PAGE_TOKEN_INVALID; with another view or page size it is served", async () => {
    const first = await call(
      live.admin.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ pageSize: 2 }),
    );
    expect(first.nextPageToken).not.toBe("");
    for (const other of [
      { status: CertificateStatus.CERTIFICATE_STATUS_ACTIVE },
      { certificateProfile: "web" },
      { nameContains: "c1" },
      { expiresBefore: new Date(Date.now() + 365 * 86_400_000) },
    ]) {
      const err = await expectRpcError(
        call(
          live.admin.certificates,
          "listCertificates",
          ListCertificatesRequest.fromPartial({
            pageSize: 2,
            pageToken: first.nextPageToken,
            ...other,
          }),
        ),
      );
      expect({
        other: Object.keys(other)[0],
        code: err.code,
        reason: err.reason,
        fields: err.violations.map((v) => v.field),
      }).toEqual({
        other: Object.keys(other)[0],
        code: status.INVALID_ARGUMENT,
        reason: "PAGE_TOKEN_INVALID",
        fields: ["page_token"],
      });
    }
    const next = await call(
      live.admin.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({
        pageSize: 5,
        pageToken: first.nextPageToken,
        view: CertificateView.CERTIFICATE_VIEW_BASIC,
      }),
    );
    expect(next.certificates.length).toBeGreaterThan(0);
    expect(next.certificates.map((c) => c.id)).not.toContain(first.certificates[0]!.id);
  });

  it("ListCertificateAuthorities, ListCertificateRequests and ListAuditRecords tokens are bound to their filters too", async () => {
    const cas = await call(
      live.admin.authorities,
      "listCertificateAuthorities",
      ListCertificateAuthoritiesRequest.fromPartial({ pageSize: 1, pageToken: "" }),
    );
    // One root only: no second page. A token of the audit trail, sent with a filter it lacked.
    expect(cas.nextPageToken).toBe("");
    const audit = await call(
      live.admin.audit,
      "listAuditRecords",
      ListAuditRecordsRequest.fromPartial({ pageSize: 2, pageToken: "" }),
    );
    expect(audit.nextPageToken).not.toBe("");
    const err = await expectRpcError(
      call(
        live.admin.audit,
        "listAuditRecords",
        ListAuditRecordsRequest.fromPartial({
          pageSize: 2,
          pageToken: audit.nextPageToken,
          resourceType: "certificate_policy",
        }),
      ),
    );
    expect([err.code, err.reason]).toEqual([status.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID"]);
    const reqs = await expectRpcError(
      call(
        live.admin.certificates,
        "listCertificateRequests",
        ListCertificateRequestsRequest.fromPartial({
          pageSize: 2,
          pageToken: audit.nextPageToken,
        }),
      ),
    );
    expect([reqs.code, reqs.reason]).toEqual([status.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID"]);
    const caErr = await expectRpcError(
      call(
        live.admin.authorities,
        "listCertificateAuthorities",
        ListCertificateAuthoritiesRequest.fromPartial({
          pageSize: 1,
          pageToken: audit.nextPageToken,
          status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_ACTIVE,
        }),
      ),
    );
    expect([caErr.code, caErr.reason]).toEqual([status.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID"]);
  });

  it("ListCertificateRequests with status ISSUED is INVALID_ARGUMENT naming status (proto: ListCertificates lists what was issued)", async () => {
    const err = await expectRpcError(
      call(
        live.admin.certificates,
        "listCertificateRequests",
        ListCertificateRequestsRequest.fromPartial({
          pageSize: 0,
          pageToken: "",
          status: CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED,
        }),
      ),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.violations.map((v) => v.field)).toEqual(["status"]);
  });
});

describe("probe50 CONTRACT: list filters that name what does not exist, and tokens across lists", () => {
  let live: LiveCertmint;

  beforeAll(async () => {
    live = await startLive();
    await rootPolicyProfile(live, "web");
    await makePolicy(live, "second");
    await rootPolicyProfile(live, "web2", { root: undefined });
  });
  afterAll(() => live.stop());

  it("a page token of ListCertificatePolicies is refused by ListCertificateProfiles and ListAccessTokens (another list)", async () => {
    const first = await call(live.admin.policies, "listCertificatePolicies", {
      pageSize: 1,
      pageToken: "",
    });
    expect(first.nextPageToken).not.toBe("");
    const profiles = await expectRpcError(
      call(live.admin.profiles, "listCertificateProfiles", {
        pageSize: 1,
        pageToken: first.nextPageToken,
      }),
    );
    const tokens = await expectRpcError(
      call(live.admin.accessTokens, "listAccessTokens", {
        pageSize: 1,
        pageToken: first.nextPageToken,
      }),
    );
    for (const e of [profiles, tokens])
      expect([e.code, e.reason, e.violations.map((v) => v.field)]).toEqual([
        status.INVALID_ARGUMENT,
        "PAGE_TOKEN_INVALID",
        ["page_token"],
      ]);
  });

  it("ListCertificates and ListCertificateRequests answer a filter naming an unknown profile alike: NOT_FOUND naming it", async () => {
    const certs = await expectRpcError(
      call(
        live.admin.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ certificateProfile: "no-such-profile" }),
      ),
    );
    const reqs = await expectRpcError(
      call(
        live.admin.certificates,
        "listCertificateRequests",
        ListCertificateRequestsRequest.fromPartial({ certificateProfile: "no-such-profile" }),
      ),
    );
    const cas = await expectRpcError(
      call(
        live.admin.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ certificateAuthority: "no-such-ca" }),
      ),
    );
    for (const e of [certs, reqs, cas]) {
      expect(e.code).toBe(status.NOT_FOUND);
      expect(e.message).toMatch(/no-such-/);
    }
  });
});

describe("probe50 CONTRACT: the per-profile ACME lists page within their profile", () => {
  let live: LiveCertmint;

  const acmeProfile = (slug: string) =>
    call(
      live.admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug,
          certificatePolicy: "web-policy",
          issuer: { $case: "certificateAuthority", value: "web-root" },
          enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_ACME,
        },
      }),
    );

  beforeAll(async () => {
    live = await startLive();
    await rootPolicyProfile(live, "web");
    for (const slug of ["acme-a", "acme-b"]) {
      await acmeProfile(slug);
      for (let i = 0; i < 3; i++)
        await call(live.admin.profiles, "createAcmeExternalAccountKey", {
          certificateProfile: slug,
        });
    }
  });
  afterAll(() => live.stop());

  it("ListAcmeExternalAccountKeys walks one profile's keys once each, oldest first; its token is refused for another profile", async () => {
    const seen: string[] = [];
    let pageToken = "";
    let firstToken = "";
    do {
      const res = await call(live.admin.profiles, "listAcmeExternalAccountKeys", {
        certificateProfile: "acme-a",
        pageSize: 1,
        pageToken,
      });
      seen.push(...res.acmeExternalAccountKeys.map((k) => k.keyId));
      expect(res.acmeExternalAccountKeys.every((k) => k.createTime !== undefined)).toBe(true);
      pageToken = res.nextPageToken;
      firstToken ||= pageToken;
    } while (pageToken);
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);
    const err = await expectRpcError(
      call(live.admin.profiles, "listAcmeExternalAccountKeys", {
        certificateProfile: "acme-b",
        pageSize: 1,
        pageToken: firstToken,
      }),
    );
    expect([err.code, err.reason, err.violations.map((v) => v.field)]).toEqual([
      status.INVALID_ARGUMENT,
      "PAGE_TOKEN_INVALID",
      ["page_token"],
    ]);
  });
});
