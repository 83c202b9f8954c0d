import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/store/database";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

/**
 * Migration20261206150000DisableBelowRevoked on a database where an enable racing a revocation
 * (before stop 45 of 2026-12-06) left CAs ACTIVE below a revoked CA: they are disabled (two
 * levels down too); CAs under a CA in good standing, and already disabled ones, are untouched.
 */
describe("the migration that disables CAs left active below a revoked CA", () => {
  let db: TestDatabase;
  let database: Database;
  const ids = {
    revoked: randomUUID(),
    child: randomUUID(),
    grandchild: randomUUID(),
    disabledChild: randomUUID(),
    standing: randomUUID(),
    standingChild: randomUUID(),
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    database = await openDatabase({ databaseUrl: db.url, dataDir: "/nonexistent" });
    await database.orm.getMigrator().up({ to: "Migration20261206140000KekIdGuard" });
    const insert = (id: string, parent: string | null, status: string) =>
      db.query(
        `insert into "certificate_authority" ("id", "slug", "type", "status", "subject", "key_algorithm",
             "signature_algorithm", "chain_pem", "sealed_private_key", "created_at", "updated_at",
             "parent_id", "revoked_at")
           values ($1, $2, $3, $4, '{}', 'EC_P256', 'ECDSA_SHA256', '[]', '\\x00', now(), now(), $5, $6)`,
        [id, `ca-${id}`, parent ? "INTERMEDIATE" : "ROOT", status, parent, null],
      );
    await insert(ids.standing, null, "ACTIVE");
    await insert(ids.revoked, ids.standing, "ACTIVE");
    await insert(ids.child, ids.revoked, "ACTIVE");
    await insert(ids.grandchild, ids.child, "ACTIVE");
    await insert(ids.disabledChild, ids.revoked, "DISABLED");
    await insert(ids.standingChild, ids.standing, "ACTIVE");
    // Revoked after its CAs below were made (and, as the race left them, not disabled).
    await db.query(
      `update "certificate_authority" set "status" = 'DISABLED', "revoked_at" = now() where "id" = $1`,
      [ids.revoked],
    );
    await database.orm.getMigrator().up({ to: "Migration20261206150000DisableBelowRevoked" });
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  it("disables the CAs below the revoked one, bumping their version; leaves the rest", async () => {
    const rows = await db.query<{ id: string; status: string; version: number }>(
      `select "id", "status", "version" from "certificate_authority"`,
    );
    const of = (id: string) => rows.find((r) => r.id === id)!;
    expect(of(ids.child)).toMatchObject({ status: "DISABLED", version: 2 });
    expect(of(ids.grandchild)).toMatchObject({ status: "DISABLED", version: 2 });
    expect(of(ids.disabledChild)).toMatchObject({ status: "DISABLED", version: 1 });
    expect(of(ids.revoked)).toMatchObject({ status: "DISABLED", version: 1 });
    expect(of(ids.standing)).toMatchObject({ status: "ACTIVE", version: 1 });
    expect(of(ids.standingChild)).toMatchObject({ status: "ACTIVE", version: 1 });
  });
});
