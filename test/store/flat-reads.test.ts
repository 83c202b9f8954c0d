/**
 * Issue 14, flat reads: on an inventory grown with the benchmark's filler (bench/scale/fill.ts:
 * 20,000 certificates, one in ten revoked, created over 90 days with microsecond timestamps),
 *  - each hot read is planned on the index meant for it (the plan is the assertion, no timing);
 *  - keyset pagination returns every certificate exactly once, newest first, with filters,
 *    while certificates are issued and revoked beside the walk;
 *  - the cached CRL lists every revoked certificate, is the same bytes over gRPC and HTTP, and
 *    lists a revocation made through RevokeCertificate at once.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fill } from "../../bench/scale/fill";
import {
  CertificateStatus,
  CertificateView,
  type DeepPartial,
  ListCertificatesRequest,
  ListCertificatesResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { type CertificatePageFilter, certificatePageQuery } from "../../src/store/certificate-page";
import { crlEntriesDerSql } from "../../src/store/crl-entries-sql";
import { CRL_ENTRIES_SQL } from "../../src/store/repositories/certificates";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { opensslOk } from "../support/openssl";
import { unusedPort } from "../support/ports";

const FILLED = 20_000;

/** `?` placeholders (the ORM's) as $n (pg's). */
const numbered = (sql: string) => {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
};

describe("flat reads on a filled inventory", () => {
  let h: TestCertmint;
  let pg: Client;
  let base = "";
  let caId = "";
  let issued = 0;

  beforeAll(async () => {
    const port = await unusedPort();
    base = `http://127.0.0.1:${port}`;
    h = await startTestCertmint({
      CERTMINT_PUBLIC_BASE_URL: base,
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      // Long: only a revocation may make a call see a new CRL.
      CERTMINT_CRL_CACHE_SECONDS: "3600",
      // The walks below read the whole inventory with one token as fast as it comes: they test
      // the reads, not the list-row budget (test/api/list-row-budget*.test.ts does).
      CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND: "0",
    });
    caId = (await createRoot(h, "flat-root")).id;
    await createProfileRows(h, { slug: "web", caId });
    // The filler replicates certificates issued with a request_id.
    for (let i = 0; i < 3; i++) await issueOne(`svc-${i}.bench.example.com`, `seed-${i}`);
    pg = new Client({ connectionString: h.db.url });
    await pg.connect();
    await fill(pg, { from: 0, to: FILLED, caId, stamp: new Date() });
  }, 300_000);
  afterAll(async () => {
    await pg?.end();
    await h?.stop();
  });

  async function issueOne(cn = `new-${issued}.example.com`, requestId = "") {
    issued++;
    const res = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn, dns: [cn], requestId }),
    );
    return res.certificate!;
  }

  const plan = async (sql: string, params: unknown[]) =>
    (await pg.query<{ "QUERY PLAN": string }>(`explain ${numbered(sql)}`, params)).rows
      .map((r) => r["QUERY PLAN"])
      .join("\n");

  describe("plans", () => {
    let middle: { created_at: Date; id: string; serial_number: string; common_name: string };
    let expiryBound: Date;

    beforeAll(async () => {
      middle = (
        await pg.query(
          "select created_at, id, serial_number, common_name from certificate order by created_at desc, id desc offset $1 limit 1",
          [FILLED / 2],
        )
      ).rows[0];
      // The oldest 0.5%, as bench/scale/reads.ts asks.
      expiryBound = (
        await pg.query("select not_after from certificate order by not_after offset $1 limit 1", [
          FILLED / 200,
        ])
      ).rows[0].not_after;
    });

    // The select list (store/certificate-page.ts listedColumns, from the ORM's metadata) does
    // not take part in choosing the index: the plan's subquery reads ids only.
    const page = (f: Partial<CertificatePageFilter>) =>
      certificatePageQuery({ now: new Date(), limit: 51, withPem: false, ...f }, "c.*");

    it.each([
      [
        "a deep page: the cursor bounds the newest-first index",
        () => page({ after: { createdAt: middle.created_at, id: middle.id } }),
        /Index (Only )?Scan using certificate_created_at_id_index[^\n]*\n\s+Index Cond: \(ROW\(created_at, id\) </,
      ],
      [
        "a deep page of one CA",
        () => page({ caId, after: { createdAt: middle.created_at, id: middle.id } }),
        /Index (Only )?Scan using certificate_ca_created_at_index[^\n]*\n\s+Index Cond: \(\(ca_id = [^\n]*ROW\(created_at, id\) </,
      ],
      [
        "an expiry bound",
        () => page({ expiresBefore: expiryBound }),
        /Index Only Scan using certificate_not_after_created_at_index/,
      ],
      [
        "status REVOKED",
        () => page({ status: "REVOKED" }),
        /Index (Only )?Scan using certificate_revoked_created_at_index/,
      ],
      [
        "name contains",
        () => page({ namePattern: `%${middle.common_name}%` }),
        /(Bitmap Index Scan on|Index Scan using) certificate_search_names_trgm_index/,
      ],
      [
        "GetCertificate and RevokeCertificate by serial",
        () => ({
          sql: `select * from "certificate" where "serial_number" = ? limit 2`,
          params: [middle.serial_number],
        }),
        /Index Scan using certificate_ca_serial_key[^\n]*\n\s+Index Cond: \(serial_number = /,
      ],
      [
        "a revoked mTLS client certificate, ACME revokeCert: by serial and fingerprint",
        () => ({
          sql: `select "revoked_at" from "certificate" where "serial_number" = ? and "fingerprint_sha256" = ? limit 1`,
          params: [middle.serial_number, "00"],
        }),
        /Index Scan using certificate_ca_serial_key[^\n]*\n\s+Index Cond: \(serial_number = /,
      ],
      [
        "a deep page of the audit trail (ListAuditRecords' condition)",
        () => ({
          sql: `select * from "audit_record" where "created_at" <= ? and ("created_at" < ? or ("created_at" = ? and "id" < ?)) order by "created_at" desc, "id" desc limit 51`,
          params: [middle.created_at, middle.created_at, middle.created_at, middle.id],
        }),
        /Index Scan using audit_record_created_at_index[^\n]*\n\s+Index Cond: \(created_at <= /,
      ],
      [
        "the CRL's entries",
        () => ({ sql: CRL_ENTRIES_SQL, params: [caId, new Date()] }),
        /Index Only Scan using certificate_crl_entries_index/,
      ],
      [
        "the CRL's entries, kept as DER",
        () => ({ sql: crlEntriesDerSql(), params: [caId, new Date()] }),
        /Index Only Scan using certificate_crl_entries_index/,
      ],
    ])("%s", async (_name, query, expected) => {
      const { sql, params } = query();
      const text = await plan(sql, params);
      expect(text).toMatch(expected);
      expect(text).not.toContain("Seq Scan on certificate");
    });
  });

  describe("keyset pagination", () => {
    /** Every certificate of the list (its ids in order), walking pages of `pageSize`. */
    async function walk(filter: DeepPartial<ListCertificatesRequest>, pageSize: number) {
      const ids: string[] = [];
      let pageToken = "";
      do {
        const res = await call(
          h.certificates,
          "listCertificates",
          ListCertificatesRequest.fromPartial({ ...filter, pageSize, pageToken }),
        );
        ids.push(...res.certificates.map((c) => c.id));
        pageToken = res.nextPageToken;
      } while (pageToken);
      return ids;
    }
    const expected = async (where: string, params: unknown[] = []) =>
      (
        await pg.query<{ id: string }>(
          `select id from certificate where ${where} order by created_at desc, id desc`,
          params,
        )
      ).rows.map((r) => r.id);

    it("returns each certificate once, newest first, with filters, while others are issued and revoked", async () => {
      const bound = (
        await pg.query("select not_after from certificate order by not_after offset $1 limit 1", [
          FILLED / 20,
        ])
      ).rows[0].not_after as Date;
      const cases: [string, DeepPartial<ListCertificatesRequest>, string, unknown[], number][] = [
        ["all", {}, "true", [], 500],
        [
          "revoked of the CA",
          {
            certificateAuthority: caId,
            status: CertificateStatus.CERTIFICATE_STATUS_REVOKED,
          },
          "ca_id = $1 and revoked_at is not null",
          [caId],
          97,
        ],
        ["expiring before", { expiresBefore: bound }, "not_after < $1", [bound], 50],
        ["name contains", { nameContains: ".f1" }, "search_names like '%.f1%'", [], 200],
      ];
      const before = new Map<string, string[]>();
      for (const [name, , where, params] of cases) before.set(name, await expected(where, params));

      // Beside the walks: new certificates (newer than every cursor), half of them revoked.
      let walking = true;
      const beside = (async () => {
        while (walking) {
          const cert = await issueOne();
          if (issued % 2 === 0) {
            await call(h.certificates, "revokeCertificate", {
              certificate: cert.certificateId,
              reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
            });
          }
        }
      })();
      const walked = new Map<string, string[]>();
      try {
        for (const [name, filter, , , size] of cases) walked.set(name, await walk(filter, size));
      } finally {
        walking = false;
        await beside;
      }
      expect(issued).toBeGreaterThan(3);
      for (const [name] of cases) {
        const want = before.get(name)!;
        const got = walked.get(name)!;
        expect(want.length, name).toBeGreaterThan(0);
        expect(new Set(got).size, `${name}: no certificate twice`).toBe(got.length);
        // The first page may start with certificates issued during the walk; after them come
        // exactly the ones there were, in order.
        expect(got.slice(got.length - want.length), name).toEqual(want);
      }
    });
  });

  it("a listed certificate is the one GetCertificate reads, field for field (revoked ones too)", async () => {
    // The page maps its rows itself (columns.ts fromColumns), GetCertificate through the ORM:
    // dates, JSON columns, nulls and the chain must come out the same.
    const cn = "listed-as-read.example.com";
    const fresh = await issueOne(cn);
    await call(h.certificates, "revokeCertificate", {
      certificate: fresh.serialNumber,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    const filledRevoked = (
      await pg.query<{ common_name: string }>(
        "select common_name from certificate where revoked_at is not null and common_name <> '' order by created_at desc limit 1",
      )
    ).rows[0]!.common_name;
    for (const nameContains of [cn, filledRevoked, "bench.example.com"]) {
      const page = await call(
        h.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ nameContains, pageSize: 5 }),
      );
      expect(page.certificates.length, nameContains).toBeGreaterThan(0);
      for (const listed of page.certificates) {
        const got = await call(h.certificates, "getCertificate", { certificate: listed.id });
        expect(listed).toEqual(got.certificate);
      }
      if (nameContains === cn) {
        expect(page.certificates[0]!.revokeTime).toBeInstanceOf(Date);
        expect(page.certificates[0]!.revocationReason).toBe(
          RevocationReason.REVOCATION_REASON_SUPERSEDED,
        );
        expect(page.certificates[0]!.certificatePem).toBe(fresh.certificatePem);
      }
    }
  });

  it("the BASIC view is the FULL page without its PEMs, and its page tokens serve both views", async () => {
    const list = (view: CertificateView, pageToken = "") =>
      call(
        h.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({
          nameContains: "bench.example.com",
          pageSize: 20,
          pageToken,
          view,
        }),
      );
    const full = await list(CertificateView.CERTIFICATE_VIEW_FULL);
    const unspecified = await list(CertificateView.CERTIFICATE_VIEW_UNSPECIFIED);
    const basic = await list(CertificateView.CERTIFICATE_VIEW_BASIC);
    expect(full.certificates).toHaveLength(20);
    expect(unspecified).toEqual(full);
    for (const c of full.certificates) {
      expect(c.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect(c.certificateChainPem.length).toBeGreaterThan(0);
    }
    expect(basic.nextPageToken).not.toBe("");
    expect(basic.certificates).toEqual(
      full.certificates.map((c) => ({ ...c, certificatePem: "", certificateChainPem: [] })),
    );
    // What the view saves: the PEMs were most of the page's bytes.
    const bytes = (r: ListCertificatesResponse) =>
      ListCertificatesResponse.encode(r).finish().length;
    expect(bytes(basic)).toBeLessThan(bytes(full) / 3);
    // A token from a BASIC page continues in FULL, and the next pages are the same certificates.
    const nextBasic = await list(CertificateView.CERTIFICATE_VIEW_BASIC, basic.nextPageToken);
    const nextFull = await list(CertificateView.CERTIFICATE_VIEW_FULL, basic.nextPageToken);
    expect(nextFull.certificates.length).toBeGreaterThan(0);
    expect(nextBasic.certificates.map((c) => c.id)).toEqual(nextFull.certificates.map((c) => c.id));
    expect(nextFull.certificates[0]!.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it("a page boundary inside one millisecond skips nothing (the cursor keeps microseconds)", async () => {
    const rows = (
      await pg.query<{ id: string }>(
        "select id from certificate order by created_at desc, id desc offset 100 limit 3",
      )
    ).rows.map((r) => r.id);
    // Three certificates created within the same millisecond, as SQL's now() can write them.
    for (const [i, id] of rows.entries()) {
      await pg.query(
        `update certificate set created_at = timestamptz '2020-01-01 00:00:00.000${3 - i}00+00',
           search_names = search_names || ' same-millisecond.test' where id = $1`,
        [id],
      );
    }
    const seen: string[] = [];
    let pageToken = "";
    do {
      const res = await call(
        h.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({
          nameContains: "same-millisecond.test",
          pageSize: 1,
          pageToken,
        }),
      );
      seen.push(...res.certificates.map((c) => c.id));
      pageToken = res.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual(rows);
  });

  describe("the cached CRL", () => {
    const grpcCrl = async () =>
      call(h.authorities, "getCertificateRevocationList", {
        certificateAuthority: caId,
        encoding: 0,
        knownCrlNumber: "",
      });
    const httpCrl = async () =>
      Buffer.from(await (await fetch(`${base}/crl/${caId}.crl`)).arrayBuffer());
    /** Serials a DER CRL lists, as openssl prints them (lower-case hex). */
    const serials = (der: Uint8Array) => {
      const pem = `-----BEGIN X509 CRL-----\n${Buffer.from(der).toString("base64")}\n-----END X509 CRL-----\n`;
      return new Set(
        [...opensslOk(["crl", "-noout", "-text"], pem).matchAll(/Serial Number: ([0-9A-F]+)/g)].map(
          (m) => m[1]!.toLowerCase(),
        ),
      );
    };

    it("lists every revoked certificate, the same bytes over gRPC and HTTP, and a new revocation at once", async () => {
      const revoked = (
        await pg.query<{ serial_number: string }>(
          // Listed until a CRL validity period (CERTMINT_CRL_VALIDITY_SECONDS, a day by
          // default) after notAfter: RFC 5280 5.1.2.6 (src/issuance/ca/crl.ts).
          "select serial_number from certificate where ca_id = $1 and revoked_at is not null and not_after > now() - interval '1 day'",
          [caId],
        )
      ).rows.map((r) => r.serial_number);
      // One in ten was revoked; the profile's lifetime leaves part of them unexpired.
      expect(revoked.length).toBeGreaterThan(FILLED / 100);
      const first = await grpcCrl();
      expect(Buffer.from(first.crlDer).equals(await httpCrl())).toBe(true);
      expect(serials(first.crlDer)).toEqual(new Set(revoked));

      const cert = await issueOne();
      await call(h.certificates, "revokeCertificate", {
        certificate: cert.serialNumber,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      });
      // Over HTTP first this time: the revocation re-signs the CRL both endpoints serve.
      const after = await httpCrl();
      const afterGrpc = await grpcCrl();
      expect(Buffer.from(afterGrpc.crlDer).equals(after)).toBe(true);
      expect(BigInt(afterGrpc.crlNumber)).toBeGreaterThan(BigInt(first.crlNumber));
      const listed = serials(after);
      expect(listed.has(cert.serialNumber.replace(/:/g, "").toLowerCase())).toBe(true);
      expect(listed.size).toBe(revoked.length + 1);
    });
  });
});
