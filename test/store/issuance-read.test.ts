import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, migrate, openDatabase } from "../../src/store/database";
import {
  CertificateAuthorityEntity,
  CertificatePolicyEntity,
  CertificateProfileEntity,
} from "../../src/store/entities";
import { createStore } from "../../src/store/store";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

/**
 * The hand-written read of the issuance hot path (the store's issuance repository,
 * src/store/repositories/issuance.ts: findProfileAndPrior) must give the rows
 * exactly as the ORM does: same properties, same values, same JS types (Date, Buffer, parsed
 * jsonb, bigint as string), so the code after it cannot tell the difference.
 */
describe("the issuance repository reads what the ORM reads", () => {
  let db: TestDatabase;
  let database: Database;
  const em = (): EntityManager => database.orm.em.fork();
  const read: ReturnType<typeof createStore>["issuance"]["findProfileAndPrior"] = (key, prior) =>
    createStore(database.orm).issuance.findProfileAndPrior(key, prior);

  const ids = {
    policy: randomUUID(),
    active: randomUUID(),
    pending: randomUUID(),
    byCa: randomUUID(),
    byPendingCa: randomUUID(),
    selfSigned: randomUUID(),
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    database = await openDatabase({ databaseUrl: db.url, dataDir: "/nonexistent" });
    await migrate(database.orm);
    await db.query(
      `insert into certificate_policy (id, slug, description, spec, version, created_at, updated_at)
       values ($1, 'pol', 'a policy', $2, 3, '2026-01-02 03:04:05.123456+00', now())`,
      [ids.policy, JSON.stringify({ keyAlgorithms: ["EC_P256"], nested: { a: [1, "x", null] } })],
    );
    await db.query(
      `insert into certificate_authority (id, slug, description, type, status, subject, key_algorithm,
         signature_algorithm, parent_id, certificate_pem, chain_pem, serial_number, not_before, not_after,
         max_path_length, csr_pem, sealed_private_key, crl_number, version, created_at, updated_at)
       values ($1, 'active', 'root', 'ROOT', 'ACTIVE', $2, 'EC_P256', 'ECDSA_SHA256', null, 'PEM', $3, 'ab01',
         '2026-01-02 03:04:05.999999+00', '2036-01-02 03:04:05+05:30', 2, null, $4, 9007199254740993, 4,
         '2026-01-02 03:04:05.000001+00', now())`,
      [
        ids.active,
        JSON.stringify({ attributes: [{ type: "COMMON_NAME", value: "root CA" }] }),
        JSON.stringify(["CHAIN1", "CHAIN2"]),
        Buffer.from([0, 1, 2, 255]),
      ],
    );
    await db.query(
      `insert into certificate_authority (id, slug, type, status, subject, key_algorithm, signature_algorithm,
         parent_id, chain_pem, csr_pem, sealed_private_key, created_at, updated_at)
       values ($1, 'pending', 'EXTERNAL_INTERMEDIATE', 'PENDING_CERTIFICATE', '{"attributes":[]}', 'RSA_2048',
         'RSA_PKCS1_SHA256', $2, '[]', 'CSR', '\\x00', now(), now())`,
      [ids.pending, ids.active],
    );
    const profile = (id: string, slug: string, caId: string | null) =>
      db.query(
        `insert into certificate_profile (id, slug, description, policy_id, ca_id, self_signed, enrollment_method,
           defaults, renewal, require_approval, validity_overflow, private_key_retention, version, created_at, updated_at)
         values ($1, $2, 'd', $3, $4, $5, 'API', $6, '{"autoRenew":true,"renewBeforeDays":5}', $7, 'TRUNCATE',
           'STORE_ENCRYPTED', 7, '2026-03-04 05:06:07.5+00', now())`,
        [
          id,
          slug,
          ids.policy,
          caId,
          caId === null,
          JSON.stringify({ ttlSeconds: 86400, keyUsages: ["DIGITAL_SIGNATURE"] }),
          caId === null,
        ],
      );
    await profile(ids.byCa, "by-ca", ids.active);
    await profile(ids.byPendingCa, "by-pending-ca", ids.pending);
    await profile(ids.selfSigned, "self-signed", null);
    await db.query(
      `insert into certificate_request (id, profile_id, caller, request_id, request_fingerprint, kind, status,
         subject, sans, params, created_at, updated_at)
       values ($1, $2, 'alice', 'req-1', 'f', 'ISSUE', 'FAILED', '{}', '{}', '{}', now(), now())`,
      [randomUUID(), ids.byCa],
    );
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  /** Every property of the entity, with its value and its JS type, as the ORM loads it. */
  function expectSameAsOrm(raw: object | null, orm: object | null, props: string[]): void {
    expect(raw).not.toBeNull();
    expect(orm).not.toBeNull();
    const r = raw as Record<string, unknown>;
    const o = orm as Record<string, unknown>;
    expect(Object.keys(r).sort()).toEqual([...props].sort());
    for (const p of props) {
      expect({ [p]: r[p] }).toStrictEqual({ [p]: o[p] });
      expect(Object.prototype.toString.call(r[p])).toBe(Object.prototype.toString.call(o[p]));
      expect(Buffer.isBuffer(r[p])).toBe(Buffer.isBuffer(o[p]));
    }
  }

  const propsOf = (e: { meta: { className: string } }) =>
    database.orm
      .getMetadata()
      .get(e.meta.className)
      .props.map((p) => p.name);

  it.each([
    ["an active CA", "by-ca"],
    ["a CA without a certificate (null columns)", "by-pending-ca"],
    ["a self-signed profile", "self-signed"],
  ])("reads the profile, its policy and %s exactly as the ORM does", async (_, slug) => {
    const rows = await read({ slug });
    const e = em();
    const profile = await e.findOneOrFail(CertificateProfileEntity, { slug });
    expectSameAsOrm(rows.profile, profile, propsOf(CertificateProfileEntity));
    const policy = await e.findOneOrFail(CertificatePolicyEntity, { id: profile.policyId });
    expect(rows.policy).toStrictEqual({
      id: policy.id,
      slug: policy.slug,
      version: policy.version,
      spec: policy.spec,
    });
    if (profile.caId === null) {
      expect(rows.ca).toBeNull();
    } else {
      const ca = await e.findOneOrFail(CertificateAuthorityEntity, { id: profile.caId });
      expectSameAsOrm(rows.ca, ca, propsOf(CertificateAuthorityEntity));
    }
    expect(rows.priorRequestId).toBeNull();
  });

  it("finds a profile by id, and the prior request of a (caller, request_id)", async () => {
    const rows = await read({ id: ids.byCa }, { caller: "alice", idempotencyKey: "req-1" });
    expect(rows.profile?.slug).toBe("by-ca");
    expect(rows.priorRequestId).toMatch(/^[0-9a-f-]{36}$/);
    const other = await read({ id: ids.byCa }, { caller: "bob", idempotencyKey: "req-1" });
    expect(other.priorRequestId).toBeNull();
    expect(other.profile?.slug).toBe("by-ca");
  });

  it("returns the prior request even when the profile does not exist", async () => {
    const rows = await read({ slug: "nope" }, { caller: "alice", idempotencyKey: "req-1" });
    expect(rows).toMatchObject({ profile: null, policy: null, ca: null });
    expect(rows.priorRequestId).not.toBeNull();
    const byId = await read({ id: randomUUID() });
    expect(byId).toEqual({ priorRequestId: null, profile: null, policy: null, ca: null });
  });
});
