/**
 * Issue 10 item 13: page tokens are tamper-evident (src/issuance/common/pagination.ts). For
 * each List RPC, a real next_page_token works, and every one-byte change to it (and every
 * one-character change to its text) is INVALID_ARGUMENT with reason PAGE_TOKEN_INVALID on the
 * field page_token, never a shifted page. A token of one list is refused by every other list,
 * and a token of one filter set by another filter set. Another server process sharing the
 * database (and so the KEK) accepts it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import { ListAuditRecordsRequest } from "../../gen/ts/certmint/v1/audit_service";
import {
  CertificateAuthorityStatus,
  ListCertificateAuthoritiesRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificateStatus,
  ListCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  expectRpcError,
  makeClients,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { type LoggedCertmint, startLogged } from "../tls/server";

/** One page of a list: the ids on it and the token of the next. */
type Page = { ids: string[]; next: string };
type Filters = { profile?: string; status?: boolean; failuresOnly?: boolean };
type Lister = (
  c: CertmintClients,
  pageToken: string,
  pageSize: number,
  f?: Filters,
) => Promise<Page>;

const LISTS: Record<string, Lister> = {
  ListCertificates: async (c, pageToken, pageSize, f = {}) => {
    const res = await call(
      c.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({
        pageToken,
        pageSize,
        certificateProfile: f.profile ?? "",
        status: f.status ? CertificateStatus.CERTIFICATE_STATUS_ACTIVE : 0,
      }),
    );
    return { ids: res.certificates.map((x) => x.id), next: res.nextPageToken };
  },
  ListCertificateAuthorities: async (c, pageToken, pageSize, f = {}) => {
    const res = await call(
      c.authorities,
      "listCertificateAuthorities",
      ListCertificateAuthoritiesRequest.fromPartial({
        pageToken,
        pageSize,
        status: f.status ? CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_ACTIVE : 0,
      }),
    );
    return { ids: res.certificateAuthorities.map((x) => x.id), next: res.nextPageToken };
  },
  ListCertificatePolicies: async (c, pageToken, pageSize) => {
    const res = await call(c.policies, "listCertificatePolicies", { pageToken, pageSize });
    return { ids: res.certificatePolicies.map((x) => x.id), next: res.nextPageToken };
  },
  ListCertificateProfiles: async (c, pageToken, pageSize) => {
    const res = await call(c.profiles, "listCertificateProfiles", { pageToken, pageSize });
    return { ids: res.certificateProfiles.map((x) => x.id), next: res.nextPageToken };
  },
  ListAccessTokens: async (c, pageToken, pageSize) => {
    const res = await call(c.accessTokens, "listAccessTokens", { pageToken, pageSize });
    return { ids: res.accessTokens.map((x) => x.id), next: res.nextPageToken };
  },
  ListAuditRecords: async (c, pageToken, pageSize, f = {}) => {
    const res = await call(
      c.audit,
      "listAuditRecords",
      ListAuditRecordsRequest.fromPartial({
        pageToken,
        pageSize,
        failuresOnly: f.failuresOnly ?? false,
      }),
    );
    return { ids: res.auditRecords.map((x) => x.id), next: res.nextPageToken };
  },
};
const NAMES = Object.keys(LISTS);

/** Every token obtained by changing one byte of `token` (lowest bit flipped). */
function byteFlips(token: string): string[] {
  const bytes = Buffer.from(token, "base64url");
  return [...bytes.keys()].map((i) => {
    const copy = Buffer.from(bytes);
    copy[i]! ^= 0x01;
    return copy.toString("base64url");
  });
}

/** Every token obtained by changing one character of its text. */
function charFlips(token: string): string[] {
  return [...token].map(
    (ch, i) => token.slice(0, i) + (ch === "A" ? "B" : "A") + token.slice(i + 1),
  );
}

async function expectTokenRefused(p: Promise<unknown>, what: string): Promise<void> {
  const err = await expectRpcError(p);
  expect(
    { code: err.code, reason: err.reason, fields: err.violations.map((v) => v.field) },
    what,
  ).toEqual({
    code: 3, // INVALID_ARGUMENT
    reason: "PAGE_TOKEN_INVALID",
    fields: ["page_token"],
  });
}

describe("page tokens are tamper-evident and bound to their list and filters", () => {
  let h: TestCertmint;
  let replica: LoggedCertmint;
  /** The first page (size 1) of each list, and the whole list. */
  const first: Record<string, Page> = {};
  const all: Record<string, string[]> = {};

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root-a");
    await createRoot(h, "root-b");
    await createRoot(h, "root-c");
    for (const slug of ["web-a", "web-b", "web-c"])
      await createProfileRows(h, { caId: root.id, slug });
    for (const name of ["one", "two", "three"]) {
      await call(
        h.certificates,
        "issueCertificate",
        attrRequest("web-a", { cn: `${name}.example.com`, dns: [`${name}.example.com`] }),
      );
    }
    for (const slug of ["reader-a", "reader-b"]) {
      await call(
        h.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role: Role.ROLE_AUDITOR } }),
      );
    }
    for (const name of NAMES) {
      first[name] = await LISTS[name]!(h, "", 1);
      all[name] = (await LISTS[name]!(h, "", 1000)).ids;
      expect(all[name]!.length, name).toBeGreaterThanOrEqual(3);
      expect(first[name]!.next, name).not.toBe("");
    }
    // A second server process on the same database and data directory (the same KEK).
    replica = await startLogged(h.db.url, { CERTMINT_DATA_DIR: h.dataDir });
  });
  afterAll(async () => {
    await replica?.running.shutdown();
    await h?.stop();
  });

  it.each(NAMES)(
    "%s: the real token gives the next page, here and on another server process",
    async (name) => {
      const second = await LISTS[name]!(h, first[name]!.next, 1);
      expect(second.ids).toEqual([all[name]![1]]);
      // page_size may change between pages.
      expect((await LISTS[name]!(h, first[name]!.next, 2)).ids).toEqual(all[name]!.slice(1, 3));
      const other = makeClients(`127.0.0.1:${replica.port}`, h.adminToken);
      try {
        expect((await LISTS[name]!(other, first[name]!.next, 1)).ids).toEqual([all[name]![1]]);
      } finally {
        for (const c of Object.values(other)) c.close();
      }
    },
  );

  it.each(NAMES)(
    "%s: every flipped byte and every changed character is PAGE_TOKEN_INVALID",
    async (name) => {
      const token = first[name]!.next;
      const tampered = [...byteFlips(token), ...charFlips(token)];
      expect(tampered.length).toBeGreaterThan(2 * 17);
      for (const [i, t] of tampered.entries()) {
        expect(t).not.toBe(token);
        await expectTokenRefused(LISTS[name]!(h, t, 1), `${name} variant ${i}`);
      }
    },
  );

  it.each(NAMES)("%s: its token is refused by every other list", async (name) => {
    for (const other of NAMES.filter((n) => n !== name)) {
      await expectTokenRefused(LISTS[other]!(h, first[name]!.next, 1), `${name} token on ${other}`);
    }
  });

  it("a token is refused with filters other than those it was returned for", async () => {
    const byProfile = await LISTS.ListCertificates!(h, "", 1, { profile: "web-a" });
    expect(
      (await LISTS.ListCertificates!(h, byProfile.next, 1, { profile: "web-a" })).ids,
    ).toHaveLength(1);
    for (const f of [{}, { profile: "web-b" }, { profile: "web-a", status: true }]) {
      await expectTokenRefused(LISTS.ListCertificates!(h, byProfile.next, 1, f), JSON.stringify(f));
    }
    await expectTokenRefused(
      LISTS.ListCertificateAuthorities!(h, first.ListCertificateAuthorities!.next, 1, {
        status: true,
      }),
      "CA status",
    );
    await expectTokenRefused(
      LISTS.ListAuditRecords!(h, first.ListAuditRecords!.next, 1, { failuresOnly: true }),
      "failures_only",
    );
  });
});
