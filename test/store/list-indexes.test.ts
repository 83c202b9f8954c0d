import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, migrate, openDatabase } from "../../src/store/database";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

/**
 * ListCertificates must stay fast at a million certificates: every filter shape it issues has
 * an index that serves it. With sequential scans disabled, the planner's choice shows which
 * index answers each query (no timings: the plan is the assertion).
 */
describe("certificate listing indexes", () => {
  let db: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    database = await openDatabase({ databaseUrl: db.url, dataDir: "/nonexistent" });
    await migrate(database.orm);
    await db.query("set enable_seqscan = off");
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  const plan = async (sql: string) =>
    (await db.query<{ "QUERY PLAN": string }>(`explain ${sql}`))
      .map((r) => r["QUERY PLAN"])
      .join("\n");

  it.each([
    [
      "newest first",
      `select id from certificate order by created_at desc, id desc limit 51`,
      "certificate_created_at_id_index",
    ],
    [
      "by profile",
      `select id from certificate where profile_id = '00000000-0000-0000-0000-000000000001' order by created_at desc, id desc limit 51`,
      "certificate_profile_created_at_index",
    ],
    [
      "by CA",
      `select id from certificate where ca_id = '00000000-0000-0000-0000-000000000001' order by created_at desc, id desc limit 51`,
      "certificate_ca_created_at_index",
    ],
    [
      "expiring before",
      `select id from certificate where not_after < now() + interval '7 days'`,
      "certificate_not_after_created_at_index",
    ],
    [
      "name contains",
      `select id from certificate where certmint_search_key(search_names) like certmint_search_key('%api.example%') and search_names like '%api.example%'`,
      "certificate_search_names_trgm_index",
    ],
    [
      "unrevoked certificates of a key (a key-compromise revocation, repositories/certificates.ts blockKey)",
      `select "id" from "certificate" where "certmint_key_prefix"("spki_sha256") = "certmint_key_prefix"('${"ab".repeat(32)}') and "spki_sha256" = '${"ab".repeat(32)}' and "revoked_at" is null`,
      "certificate_spki_prefix_index",
    ],
    [
      "requests not issued, oldest first (ListCertificateRequests)",
      `select "id" from "certificate_request" where "status" <> 'ISSUED' order by "created_at", "id" limit 51`,
      "certificate_request_unissued_index",
    ],
    [
      "revoked of a CA (CRL)",
      `select serial_number from certificate where ca_id = '00000000-0000-0000-0000-000000000001' and revoked_at is not null and not_after > now()`,
      "certificate_crl_entries_index",
    ],
    [
      "tokens a line's tokens created (RevokeAccessToken with revoke_created_tokens)",
      `select "id" from "access_token" where "creator_id" in (select jsonb_array_elements_text('["00000000-0000-0000-0000-000000000001"]'::jsonb)::uuid)`,
      "access_token_creator_id_idx",
    ],
    [
      "External Account Binding keys a line's tokens created (the same revocation; stop 50)",
      `select id from acme_eab_key where creator_id in (select jsonb_array_elements_text('["00000000-0000-0000-0000-000000000001"]'::jsonb)::uuid) and account_id is null and revoked_at is null`,
      "acme_eab_key_creator_id_idx",
    ],
  ])("%s uses %s", async (_name, sql, index) => {
    // On an empty table the planner's estimates are defaults: for a list in (created_at, id)
    // order, a bitmap scan of any index with those columns, sorted afterwards, can look as
    // cheap as the index that returns the rows in order, which is what a page needs; bitmap
    // scans are off for those (not for the rest).
    // flat-reads.test.ts checks the plans on a filled inventory.
    await db.query(`set enable_bitmapscan = ${sql.includes("order by") ? "off" : "on"}`);
    const text = await plan(sql);
    expect(text).toContain(index);
    expect(text).not.toMatch(/Seq Scan on (certificate|access_token|acme_eab_key)\b/);
  });
});
