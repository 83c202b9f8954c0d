import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, migrate, openDatabase } from "../../src/store/database";
import { MIGRATIONS } from "../../src/store/migrations";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

/** Everything about the schema that a migration could change. */
async function schemaSnapshot(db: TestDatabase): Promise<string> {
  const columns = await db.query(
    `select table_name, column_name, data_type, is_nullable, column_default
       from information_schema.columns where table_schema = 'public'
      order by table_name, column_name`,
  );
  const indexes = await db.query(
    `select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' order by indexname`,
  );
  const constraints = await db.query(
    `select conrelid::regclass::text as tbl, conname, pg_get_constraintdef(oid) as def
       from pg_constraint where connamespace = 'public'::regnamespace order by conname`,
  );
  return JSON.stringify({ columns, indexes, constraints });
}

describe("migrations on an empty PostgreSQL database", () => {
  let db: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    db = await createTestDatabase();
    database = await openDatabase({ databaseUrl: db.url, dataDir: "/nonexistent" });
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  it("apply once, and a second run changes nothing", async () => {
    expect(await migrate(database.orm)).toEqual(MIGRATIONS.map((m) => m.name));
    const before = await schemaSnapshot(db);
    expect(await migrate(database.orm)).toEqual([]);
    expect(await schemaSnapshot(db)).toBe(before);
    const tables = await db.query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = 'public' order by 1`,
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      "access_token",
      "acme_account",
      "acme_authorization",
      "acme_challenge",
      "acme_eab_key",
      "acme_nonce",
      "acme_order",
      "audit_record",
      "blocked_key",
      "certificate",
      "certificate_authority",
      "certificate_event",
      "certificate_event_horizon",
      "certificate_policy",
      "certificate_profile",
      "certificate_request",
      "kek_check",
      "key_block_backfill",
      "mikro_orm_migrations",
      "ocsp_responder_certificate",
    ]);
  });

  it("enforce unique slugs, serials per CA and request ids per caller", async () => {
    const now = new Date();
    const insertCa = (id: string, slug: string) =>
      db.query(
        `insert into certificate_authority (id, slug, type, status, subject, key_algorithm, signature_algorithm,
           chain_pem, sealed_private_key, created_at, updated_at)
         values ($1, $2, 'ROOT', 'ACTIVE', '{"attributes":[]}', 'EC_P256', 'ECDSA_WITH_SHA256', '[]', '\\x00', $3, $3)`,
        [id, slug, now],
      );
    const caA = randomUUID();
    const caB = randomUUID();
    await insertCa(caA, "root-a");
    await insertCa(caB, "root-b");
    await expect(insertCa(randomUUID(), "root-a")).rejects.toThrow(
      /certificate_authority_slug_key/,
    );

    const policy = randomUUID();
    await db.query(
      `insert into certificate_policy (id, slug, spec, created_at, updated_at) values ($1, 'p', '{}', $2, $2)`,
      [policy, now],
    );
    const profile = randomUUID();
    await db.query(
      `insert into certificate_profile (id, slug, policy_id, ca_id, enrollment_method, defaults, renewal,
         validity_overflow, private_key_retention, created_at, updated_at)
       values ($1, 'web', $2, $3, 'API', '{}', '{}', 'FAIL', 'RETURN_ONCE', $4, $4)`,
      [profile, policy, caA, now],
    );
    // A profile is either self-signed or has a CA, never both or neither.
    await expect(
      db.query(
        `insert into certificate_profile (id, slug, policy_id, ca_id, self_signed, enrollment_method, defaults,
           renewal, validity_overflow, private_key_retention, created_at, updated_at)
         values ($1, 'bad', $2, $3, true, 'API', '{}', '{}', 'FAIL', 'RETURN_ONCE', $4, $4)`,
        [randomUUID(), policy, caA, now],
      ),
    ).rejects.toThrow(/certificate_profile_issuer_check/);

    const insertRequest = (caller: string, requestId: string | null) =>
      db.query(
        `insert into certificate_request (id, profile_id, caller, request_id, request_fingerprint, kind, status,
           subject, sans, params, created_at, updated_at)
         values ($1, $2, $3, $4, 'f', 'ISSUE', 'PENDING', '{}', '{}', '{}', $5, $5) returning id`,
        [randomUUID(), profile, caller, requestId, now],
      );
    const [request] = await insertRequest("alice", "r-1");
    await insertRequest("bob", "r-1"); // another caller may use the same key
    await insertRequest("alice", null); // requests without a key never collide
    await insertRequest("alice", null);
    await expect(insertRequest("alice", "r-1")).rejects.toThrow(
      /certificate_request_caller_request_id_key/,
    );

    const insertCert = (ca: string | null, serial: string) =>
      db.query(
        `insert into certificate (id, serial_number, ca_id, certificate_request_id, subject, sans, key_algorithm,
           signature_algorithm, key_usages, extended_key_usages, not_before, not_after, fingerprint_sha256,
           certificate_pem, chain_pem, owner, created_at)
         values ($1, $2, $3, $4, '{}', '{}', 'EC_P256', 'ECDSA_WITH_SHA256', '[]', '[]', $5, $5, $6, 'pem', '[]', 'test', $5)`,
        [randomUUID(), serial, ca, request!.id, now, randomUUID()],
      );
    await insertCert(caA, "01ab");
    await insertCert(caB, "01ab"); // the same serial under another CA is fine
    await expect(insertCert(caA, "01ab")).rejects.toThrow(/certificate_ca_serial_key/);
    await insertCert(null, "02cd"); // self-signed
    await expect(insertCert(null, "02cd")).rejects.toThrow(/certificate_ca_serial_key/);

    // A CA that a profile uses cannot be deleted.
    await expect(
      db.query(`delete from certificate_authority where id = $1`, [caA]),
    ).rejects.toThrow(/foreign key/);
  });
  it("certmint_renew_at is inlined where it is called, and computes what it did", async () => {
    // Declared IMMUTABLE over a STABLE body (timestamptz - interval), PostgreSQL never inlined
    // it: the SQL-function executor parsed and planned its body again in every transaction,
    // the certificate_renew_at trigger of every issuance included (Migration20261204200000).
    // Over columns, so that nothing is folded into a constant at plan time.
    const plan = await db.query<{ "QUERY PLAN": string }>(
      `explain (verbose, costs off)
       select certmint_renew_at(p.renewal, p.created_at, p.updated_at) from certificate_profile p`,
    );
    const text = plan.map((row) => row["QUERY PLAN"]).join("\n");
    expect(text).toContain("CASE");
    expect(text).not.toContain("certmint_renew_at");

    const renewAt = async (renewal: object) => {
      const [row] = await db.query<{ at: Date }>(
        `select certmint_renew_at($1::jsonb, $2::timestamptz, $3::timestamptz) as at`,
        [JSON.stringify(renewal), "2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z"],
      );
      return new Date(row!.at).toISOString();
    };
    expect(await renewAt({ renewBeforeSeconds: 3600 })).toBe("2026-01-30T23:00:00.000Z");
    expect(await renewAt({ renewBeforeDays: 2 })).toBe("2026-01-29T00:00:00.000Z");
    // Neither: two thirds of the lifetime, as cert-manager.
    expect(await renewAt({})).toBe("2026-01-21T00:00:00.000Z");
  });
});
