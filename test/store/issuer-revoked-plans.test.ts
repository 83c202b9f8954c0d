/**
 * ListCertificates' status filters stay flat with revoked CAs (issue 14's plans, on an
 * inventory grown with the benchmark's filler: 2 x 10,000 certificates under two intermediates):
 * ISSUER_REVOKED reads each revoked CA's rows from (ca_id, created_at desc, id desc) and merges
 * them by the order (never all of a CA's certificates, never a scan of the table); ACTIVE and
 * EXPIRED keep their index and leave the revoked CAs' rows out as they read. The plan is the
 * assertion, no timing. Keyset walks of every filter, after both CAs are revoked, return each
 * certificate the filter's SQL definition holds exactly once, newest first.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fill } from "../../bench/scale/fill";
import { CreateIntermediateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificateStatus,
  ListCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { type CertificatePageFilter, certificatePageQuery } from "../../src/store/certificate-page";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";

const PER_CA = 10_000;

const numbered = (sql: string) => {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
};

describe("status filters under revoked CAs on a filled inventory", () => {
  let h: TestCertmint;
  let pg: Client;
  const ca: Record<"a" | "b" | "c", string> = { a: "", b: "", c: "" };

  const intermediate = async (slug: string, parent: string) =>
    (
      await call(
        h.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug,
          parentCertificateAuthority: parent,
          subject: { commonName: `${slug} CA` },
        }),
      )
    ).certificateAuthority!.id;

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND: "0" });
    const root = (await createRoot(h, "irp-root")).id;
    for (const k of ["a", "b", "c"] as const) {
      ca[k] = await intermediate(`irp-${k}`, root);
      await createProfileRows(h, { slug: `irp-${k}`, caId: ca[k] });
      // The filler replicates certificates issued with a request_id.
      for (let i = 0; i < 2; i++) {
        const cn = `svc-${k}-${i}.bench.example.com`;
        await call(
          h.certificates,
          "issueCertificate",
          attrRequest(`irp-${k}`, { cn, dns: [cn], requestId: `seed-${k}-${i}` }),
        );
      }
    }
    pg = new Client({ connectionString: h.db.url });
    await pg.connect();
    const stamp = new Date();
    await fill(pg, { from: 0, to: PER_CA, caId: ca.a, stamp });
    await fill(pg, { from: PER_CA, to: 2 * PER_CA, caId: ca.b, stamp });
    // Some of c's expired, so EXPIRED has rows outside the revoked CAs.
    await pg.query(
      `update certificate set not_after = now() - interval '1 day'
        where id = (select id from certificate where ca_id = $1 order by created_at limit 1)`,
      [ca.c],
    );
    await pg.query("analyze certificate");
  }, 300_000);
  afterAll(async () => {
    await pg?.end();
    await h?.stop();
  });

  const plan = async (f: Partial<CertificatePageFilter>) => {
    const { sql, params } = certificatePageQuery(
      { now: new Date(), limit: 51, withPem: false, ...f },
      "c.*",
    );
    return (await pg.query<{ "QUERY PLAN": string }>(`explain ${numbered(sql)}`, params)).rows
      .map((r) => r["QUERY PLAN"])
      .join("\n");
  };
  const middle = async () =>
    (
      await pg.query<{ created_at: Date; id: string }>(
        "select created_at, id from certificate order by created_at desc, id desc offset $1 limit 1",
        [PER_CA],
      )
    ).rows[0]!;

  it("ISSUER_REVOKED of two CAs: one index range scan per CA, merged by the order", async () => {
    const m = await middle();
    for (const after of [undefined, { createdAt: m.created_at, id: m.id }]) {
      const text = await plan({
        status: "ISSUER_REVOKED",
        issuerRevokedCaIds: [ca.a, ca.b],
        after,
      });
      expect(text).toMatch(/Merge Append/);
      expect(text.match(/Index Scan using certificate_ca_created_at_index/g)?.length).toBe(2);
      expect(text).not.toContain("Seq Scan on certificate");
      expect(text).not.toMatch(/Bitmap/);
    }
  });

  it("ISSUER_REVOKED of one CA, and with a CA filter: that CA's index range", async () => {
    for (const f of [
      { issuerRevokedCaIds: [ca.a] },
      { issuerRevokedCaIds: [ca.a, ca.b], caId: ca.b },
    ]) {
      const text = await plan({ status: "ISSUER_REVOKED", ...f });
      expect(text).toMatch(/Index Scan using certificate_ca_created_at_index/);
      expect(text).not.toContain("Seq Scan on certificate");
    }
  });

  it("ACTIVE and EXPIRED with revoked CAs: read CA by CA in good standing, never through a revoked CA's rows", async () => {
    const m = await middle();
    for (const status of ["ACTIVE", "EXPIRED"] as const) {
      for (const after of [undefined, { createdAt: m.created_at, id: m.id }]) {
        const text = await plan({
          status,
          issuerRevokedCaIds: [ca.a, ca.b],
          standingCaIds: [ca.c],
          after,
        });
        expect(text, status).toMatch(/Merge Append/);
        // c's branch and the self-signed one (ca_id is null).
        expect(
          text.match(/Index Scan using certificate_ca_created_at_index/g)?.length,
          status,
        ).toBe(2);
        expect(text, status).not.toContain("Seq Scan on certificate");
      }
    }
  });

  it("after both CAs are revoked, a keyset walk of every status holds exactly its rows", async () => {
    for (const k of ["a", "b"] as const) {
      await call(h.authorities, "revokeCertificateAuthority", {
        certificateAuthority: ca[k],
        reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
      });
    }
    const walk = async (status: CertificateStatus) => {
      const ids: string[] = [];
      let pageToken = "";
      do {
        const res = await call(
          h.certificates,
          "listCertificates",
          ListCertificatesRequest.fromPartial({ status, pageSize: 1000, pageToken }),
        );
        for (const c of res.certificates) {
          expect(c.status).toBe(status);
          ids.push(c.id);
        }
        pageToken = res.nextPageToken;
      } while (pageToken);
      return ids;
    };
    const expected = async (where: string) =>
      (
        await pg.query<{ id: string }>(
          `select id from certificate where ${where} order by created_at desc, id desc`,
          [[ca.a, ca.b]],
        )
      ).rows.map((r) => r.id);
    const S = CertificateStatus;
    const cases: Array<[CertificateStatus, string]> = [
      [S.CERTIFICATE_STATUS_ISSUER_REVOKED, "revoked_at is null and ca_id = any($1::uuid[])"],
      [
        S.CERTIFICATE_STATUS_ACTIVE,
        "revoked_at is null and not_after > now() and ca_id <> all($1::uuid[])",
      ],
      [
        S.CERTIFICATE_STATUS_EXPIRED,
        "revoked_at is null and not_after <= now() and ca_id <> all($1::uuid[])",
      ],
      [S.CERTIFICATE_STATUS_REVOKED, "revoked_at is not null and $1::uuid[] is not null"],
    ];
    for (const [status, where] of cases) {
      const want = await expected(where);
      expect(want.length, CertificateStatus[status]).toBeGreaterThan(0);
      expect(await walk(status), CertificateStatus[status]).toEqual(want);
    }
  });
});
