/**
 * GetCertificate by id or serial, and ListCertificates: every filter (profile, CA, status,
 * expires_before, name_contains) on a known set of certificates, and keyset pagination that
 * sees every certificate once, newest first, while new ones are issued.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  type DeepPartial,
  ListCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  CertificateStatus,
  Code,
  call,
  createProfileRows,
  createRoot,
  DAY,
  getCert,
  issue,
  RevocationReason,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

describe("GetCertificate and ListCertificates", () => {
  let h: TestCertmint;
  let rootA: CertificateAuthority;
  let rootB: CertificateAuthority;
  let profileA: string;
  /** Certificate ids by name. */
  const ids: Record<string, string> = {};
  const serials: Record<string, string> = {};

  const list = (p: DeepPartial<ListCertificatesRequest>) =>
    call(h.certificates, "listCertificates", ListCertificatesRequest.fromPartial(p));
  const listIds = async (p: DeepPartial<ListCertificatesRequest>) =>
    (await list({ pageSize: 1000, ...p })).certificates.map((c) => c.id).sort();
  const idsOf = (...names: string[]) => names.map((n) => ids[n]!).sort();

  async function make(key: string, profile: string, cn: string, dns: string, ttlDays = 30) {
    const res = await issue(h, attrRequest(profile, { cn, dns: [dns], ttlSeconds: ttlDays * DAY }));
    ids[key] = res.certificate!.certificateId;
    serials[key] = res.certificate!.serialNumber;
  }

  beforeAll(async () => {
    h = await startTestCertmint();
    rootA = await createRoot(h, "root-a");
    rootB = await createRoot(h, "root-b");
    ({ profileId: profileA } = await createProfileRows(h, { caId: rootA.id, slug: "pa" }));
    await createProfileRows(h, { caId: rootB.id, slug: "pb" });
    await createProfileRows(h, { caId: rootA.id, slug: "pages" });
    await make("a1", "pa", "alpha.example.com", "alpha.example.com");
    await make("a2", "pa", "under_score name", "u.example.com");
    await make("a3", "pa", "pct%name", "p.example.com");
    await make("a4", "pa", "expired.example.com", "expired.example.com");
    await make("a5", "pa", "revoked.example.com", "revoked.example.com");
    await make("b1", "pb", "beta.example.com", "beta.example.com", 2);
    await make("b2", "pb", "gamma.example.com", "www.gamma.example.com");
    await h.db.query(
      `update certificate set not_before = now() - interval '3 days', not_after = now() - interval '1 day' where id = $1`,
      [ids.a4],
    );
    await call(h.certificates, "revokeCertificate", {
      certificate: ids.a5!,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  describe("GetCertificate", () => {
    it("finds a certificate by id and by serial (colons, upper case)", async () => {
      const byId = await getCert(h, ids.a1!);
      expect(byId.id).toBe(ids.a1);
      expect(byId.serialNumber).toBe(serials.a1);
      expect(byId.subject!.commonName).toBe("alpha.example.com");
      expect(byId.status).toBe(CertificateStatus.CERTIFICATE_STATUS_ACTIVE);
      expect(byId.certificateAuthorityId).toBe(rootA.id);
      const colons = serials.a1!.toUpperCase().match(/../g)!.join(":");
      expect((await getCert(h, colons)).id).toBe(ids.a1);
      expect((await getCert(h, serials.a1!.toUpperCase())).id).toBe(ids.a1);
      expect((await getCert(h, ids.a1!.toUpperCase())).id).toBe(ids.a1);
    });

    it("reports EXPIRED and REVOKED status", async () => {
      expect((await getCert(h, ids.a4!)).status).toBe(CertificateStatus.CERTIFICATE_STATUS_EXPIRED);
      expect((await getCert(h, ids.a5!)).status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    });

    it("answers NOT_FOUND for unknown ids and serials, INVALID_ARGUMENT for garbage", async () => {
      for (const ref of ["00000000-0000-4000-8000-000000000000", "01:02:03:04:05:06:07:08"]) {
        const err = await rpcError(getCert(h, ref));
        expect(err.code).toBe(Code.NOT_FOUND);
        expect(err.reason).toBe("CERTIFICATE_NOT_FOUND");
      }
      for (const ref of ["", "not-a-serial", "zz:zz", "%"]) {
        const err = await rpcError(getCert(h, ref));
        expect(err.code).toBe(Code.INVALID_ARGUMENT);
        expect(err.violations.map((v) => v.field)).toEqual(["certificate"]);
      }
    });
  });

  describe("ListCertificates filters", () => {
    it("by profile (id or slug)", async () => {
      expect(await listIds({ certificateProfile: "pa" })).toEqual(
        idsOf("a1", "a2", "a3", "a4", "a5"),
      );
      expect(await listIds({ certificateProfile: profileA })).toEqual(
        idsOf("a1", "a2", "a3", "a4", "a5"),
      );
      const err = await rpcError(list({ certificateProfile: "nope" }));
      expect(err.code).toBe(Code.NOT_FOUND);
    });

    it("by CA (id or slug)", async () => {
      expect(await listIds({ certificateAuthority: "root-b" })).toEqual(idsOf("b1", "b2"));
      expect(await listIds({ certificateAuthority: rootB.id })).toEqual(idsOf("b1", "b2"));
    });

    it("by status", async () => {
      const active = await listIds({ status: CertificateStatus.CERTIFICATE_STATUS_ACTIVE });
      expect(active).toEqual(expect.arrayContaining(idsOf("a1", "a2", "a3", "b1", "b2")));
      expect(active).not.toContain(ids.a4);
      expect(active).not.toContain(ids.a5);
      expect(
        await listIds({
          certificateProfile: "pa",
          status: CertificateStatus.CERTIFICATE_STATUS_ACTIVE,
        }),
      ).toEqual(idsOf("a1", "a2", "a3"));
      expect(await listIds({ status: CertificateStatus.CERTIFICATE_STATUS_REVOKED })).toEqual(
        idsOf("a5"),
      );
      expect(await listIds({ status: CertificateStatus.CERTIFICATE_STATUS_EXPIRED })).toEqual(
        idsOf("a4"),
      );
      const page = await list({ status: CertificateStatus.CERTIFICATE_STATUS_EXPIRED });
      expect(page.certificates[0]!.status).toBe(CertificateStatus.CERTIFICATE_STATUS_EXPIRED);
    });

    it("by expires_before", async () => {
      const soon = new Date(Date.now() + 3 * DAY * 1000);
      expect(await listIds({ expiresBefore: soon })).toEqual(idsOf("a4", "b1"));
      expect(await listIds({ expiresBefore: new Date(Date.now() - 1000) })).toEqual(idsOf("a4"));
    });

    it("by name_contains: CN or SAN, case-insensitive", async () => {
      expect(await listIds({ nameContains: "ALPHA" })).toEqual(idsOf("a1"));
      expect(await listIds({ nameContains: "u.example" })).toEqual(idsOf("a2"));
      expect(await listIds({ nameContains: "www.GAMMA" })).toEqual(idsOf("b2"));
      expect(await listIds({ nameContains: "gamma.example.com" })).toEqual(idsOf("b2"));
      expect(await listIds({ nameContains: "no-such-name" })).toEqual([]);
    });

    it("by name_contains: % and _ are matched literally", async () => {
      expect(await listIds({ nameContains: "_" })).toEqual(idsOf("a2"));
      expect(await listIds({ nameContains: "%" })).toEqual(idsOf("a3"));
      expect(await listIds({ nameContains: "pct%n" })).toEqual(idsOf("a3"));
      expect(await listIds({ nameContains: "r%s" })).toEqual([]);
      expect(await listIds({ nameContains: "a_p" })).toEqual([]);
    });

    // Regression: name_contains once matched across two names (CN and SANs were space-joined).
    it("by name_contains: never matches across two names", async () => {
      expect(await listIds({ nameContains: "score u.ex" })).toEqual([]);
    });

    it("filters combine with AND", async () => {
      expect(await listIds({ certificateAuthority: "root-a", nameContains: "gamma" })).toEqual([]);
      expect(
        await listIds({
          certificateProfile: "pb",
          expiresBefore: new Date(Date.now() + 3 * DAY * 1000),
        }),
      ).toEqual(idsOf("b1"));
    });
  });

  describe("ListCertificates pagination", () => {
    it("pages of 2 over 5 certificates: each once, newest first, stable while issuing", async () => {
      const issued: string[] = [];
      for (let i = 1; i <= 5; i++) {
        const res = await issue(
          h,
          attrRequest("pages", { cn: `p${i}.example.com`, dns: [`p${i}.example.com`] }),
        );
        issued.push(res.certificate!.certificateId);
      }
      const newestFirst = [...issued].reverse();

      const p1 = await list({ certificateProfile: "pages", pageSize: 2 });
      expect(p1.certificates.length).toBe(2);
      expect(p1.nextPageToken).not.toBe("");

      // A certificate issued between pages is newer than the cursor: it does not shift pages.
      const late = await issue(
        h,
        attrRequest("pages", { cn: "late.example.com", dns: ["late.example.com"] }),
      );

      const p2 = await list({
        certificateProfile: "pages",
        pageSize: 2,
        pageToken: p1.nextPageToken,
      });
      expect(p2.certificates.length).toBe(2);
      expect(p2.nextPageToken).not.toBe("");
      const p3 = await list({
        certificateProfile: "pages",
        pageSize: 2,
        pageToken: p2.nextPageToken,
      });
      expect(p3.certificates.length).toBe(1);
      expect(p3.nextPageToken).toBe("");

      const seen = [...p1.certificates, ...p2.certificates, ...p3.certificates].map((c) => c.id);
      expect(seen).toEqual(newestFirst);
      expect(new Set(seen).size).toBe(5);
      expect(seen).not.toContain(late.certificate!.certificateId);
      const times = [...p1.certificates, ...p2.certificates, ...p3.certificates].map((c) =>
        c.createTime!.getTime(),
      );
      expect([...times].sort((a, b) => b - a)).toEqual(times);

      // A fresh listing starts with the newest.
      const fresh = await list({ certificateProfile: "pages", pageSize: 2 });
      expect(fresh.certificates[0]!.id).toBe(late.certificate!.certificateId);
    });

    it("refuses a page token it did not issue", async () => {
      const err = await rpcError(list({ pageToken: "garbage!" }));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason).toBe("PAGE_TOKEN_INVALID");
    });

    // A token with a well-formed date and a non-UUID id must not reach PostgreSQL (uuid cast).
    it("refuses a well-formed token whose id is not a UUID", async () => {
      const token = Buffer.from(JSON.stringify([new Date().toISOString(), "x"])).toString(
        "base64url",
      );
      const err = await rpcError(list({ pageToken: token }));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason).toBe("PAGE_TOKEN_INVALID");
    });
  });
});
