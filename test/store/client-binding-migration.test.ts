import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/store/database";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

/**
 * Migration20261202010000ClientCertificateBinding on a database that already has bindings of
 * the old kind (a bare string that matched "first URI SAN, else CN"): each gets the safe
 * reading of its type, none gets a CA (so none authenticates until bound again), and bearer
 * tokens are untouched.
 */
describe("the client certificate binding migration on existing rows", () => {
  let db: TestDatabase;
  let database: Database;
  const rows = {
    spiffe: randomUUID(),
    urn: randomUUID(),
    plainCn: randomUUID(),
    dnsLike: randomUUID(),
    bearer: randomUUID(),
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    database = await openDatabase({ databaseUrl: db.url, dataDir: "/nonexistent" });
    await database.orm.getMigrator().up({ to: "Migration20261127000000AccessAudit" });
    const insert = (id: string, slug: string, identity: string | null) =>
      db.query(
        `insert into access_token (id, slug, role, profile_ids, secret_hash, client_identity, created_at, expires_at)
         values ($1, $2, 'ADMIN', '[]', $3, $4, now(), now() + interval '1 day')`,
        [id, slug, identity === null ? Buffer.alloc(32, slug.length) : null, identity],
      );
    await insert(rows.spiffe, "spiffe", "spiffe://prod.example/ns/batch/sa/job");
    await insert(rows.urn, "urn", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66");
    await insert(rows.plainCn, "plain-cn", "batch-job");
    await insert(rows.dnsLike, "dns-like", "job.batch.internal");
    await insert(rows.bearer, "bearer", null);
    expect(
      await database.orm
        .getMigrator()
        .up({ to: "Migration20261202010000ClientCertificateBinding" }),
    ).toEqual([
      expect.objectContaining({ name: "Migration20261202010000ClientCertificateBinding" }),
    ]);
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  it("a string with a URI scheme becomes a URI SAN binding, anything else a common-name binding; none names a CA", async () => {
    const got = await db.query<{
      slug: string;
      client_identity: string | null;
      client_identity_type: string | null;
      client_ca_id: string | null;
      client_ca_sha256: string | null;
    }>(
      `select slug, client_identity, client_identity_type, client_ca_id, client_ca_sha256
         from access_token order by slug`,
    );
    expect(got).toEqual([
      {
        slug: "bearer",
        client_identity: null,
        client_identity_type: null,
        client_ca_id: null,
        client_ca_sha256: null,
      },
      {
        slug: "dns-like",
        client_identity: "job.batch.internal",
        client_identity_type: "COMMON_NAME",
        client_ca_id: null,
        client_ca_sha256: null,
      },
      {
        slug: "plain-cn",
        client_identity: "batch-job",
        client_identity_type: "COMMON_NAME",
        client_ca_id: null,
        client_ca_sha256: null,
      },
      {
        slug: "spiffe",
        client_identity: "spiffe://prod.example/ns/batch/sa/job",
        client_identity_type: "URI_SAN",
        client_ca_id: null,
        client_ca_sha256: null,
      },
      {
        slug: "urn",
        client_identity: "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        client_identity_type: "URI_SAN",
        client_ca_id: null,
        client_ca_sha256: null,
      },
    ]);
  });

  it("a binding needs its type, and the same identity and CA may be bound again once revoked", async () => {
    await expect(
      db.query(
        `insert into access_token (id, slug, role, profile_ids, client_identity, created_at, expires_at)
         values ($1, 'untyped', 'ADMIN', '[]', 'x', now(), now())`,
        [randomUUID()],
      ),
    ).rejects.toThrow(/access_token_client_identity_typed/);
    const bind = (slug: string) =>
      db.query(
        `insert into access_token (id, slug, role, profile_ids, client_identity, client_identity_type,
           client_ca_sha256, created_at, expires_at)
         values ($1, $2, 'ADMIN', '[]', 'spiffe://x.example/a', 'URI_SAN', $3, now(), now())`,
        [randomUUID(), slug, "ab".repeat(32)],
      );
    await bind("first");
    await expect(bind("second")).rejects.toThrow(/access_token_client_binding_key/);
    await db.query(`update access_token set revoked_at = now() where slug = 'first'`);
    await bind("second");
  });
});
