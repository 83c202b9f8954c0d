import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/store/database";
import { createStore } from "../../src/store/store";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

/**
 * Migration20261207210000LegacyCredentialLifetime on the rows of a deployment from before stop
 * 56, which recorded no bound and no vouchers: a client certificate an admin token (an hour
 * long) issued for a binding, and the renewals its workload made of it, now authenticate no
 * longer than that token; the first admin token's and an issuer's certificates stay unbound;
 * vouchers come from callers and earlier owners of each lineage; waiting requests take their
 * caller's bound and the renewed certificate's; a bound already recorded earlier is kept.
 */
describe("the migration that bounds certificates issued before credential lifetimes", () => {
  let db: TestDatabase;
  let database: Database;
  const now = new Date();
  const hour = 3_600_000;
  const at = (hours: number) => new Date(now.getTime() + hours * hour);
  const tokens = {
    first: randomUUID(), // certmint's first admin token: creator_id null, bounds nothing
    ciAdmin: randomUUID(), // an admin token of an hour, already expired
    longAdmin: randomUUID(), // an admin token of 90 days
    workload: randomUUID(), // a binding's token
    issuer: randomUUID(),
  };
  const expiries = {
    ciAdmin: at(-2),
    longAdmin: at(90 * 24),
  };
  let profile: string;
  let serial = 0;

  const insertToken = (id: string, role: string, creator: string | null, expires: Date) =>
    db.query(
      `insert into access_token (id, slug, role, profile_ids, secret_hash, created_at, expires_at, creator_id)
       values ($1::uuid, $2, $3, '[]', decode(md5($1::text), 'hex'), $4, $5, $6)`,
      [id, `t-${id.slice(0, 8)}`, role, at(-100), expires, creator],
    );
  const insertRequest = (
    caller: string,
    status = "ISSUED",
    renewalOf: string | null = null,
    recorded: { until?: Date; vouchedBy?: string[] } = {},
  ) => {
    const id = randomUUID();
    return db
      .query(
        `insert into certificate_request (id, profile_id, caller, request_id, request_fingerprint, kind, status,
           subject, sans, params, renewal_of_certificate_id, authenticates_until, vouched_by, created_at, updated_at)
         values ($1, $2, $3, null, 'f', $4, $5, '{}', '{}', '{}', $6, $7, $8, $9, $9)`,
        [
          id,
          profile,
          caller,
          renewalOf ? "RENEW" : "ISSUE",
          status,
          renewalOf,
          recorded.until ?? null,
          recorded.vouchedBy ? JSON.stringify(recorded.vouchedBy) : null,
          now,
        ],
      )
      .then(() => id);
  };
  /** A certificate and its request (renewing `from`, if given), as stored before stop 56. */
  const issue = async (
    caller: string,
    owner: string,
    from: string | null = null,
    recorded: { until?: Date } = {},
  ) => {
    const request = await insertRequest(caller, "ISSUED", from);
    const id = randomUUID();
    await db.query(
      `insert into certificate (id, serial_number, ca_id, profile_id, certificate_request_id, subject, sans,
         key_algorithm, signature_algorithm, key_usages, extended_key_usages, not_before, not_after,
         fingerprint_sha256, certificate_pem, chain_pem, owner, created_at, renewed_from_id, authenticates_until)
       values ($1, $2, null, $3, $4, '{}', '{}', 'EC_P256', 'ECDSA_WITH_SHA256', '[]', '[]', $5, $6, $7,
         'pem', '[]', $8, $5, $9, $10)`,
      [
        id,
        `0${(++serial).toString(16).padStart(16, "0")}`,
        profile,
        request,
        now,
        at(24 * 365),
        randomUUID(),
        owner,
        from,
        recorded.until ?? null,
      ],
    );
    if (from) {
      await db.query(`update certificate set renewed_by_id = $1 where id = $2`, [id, from]);
    }
    return id;
  };

  const certs: Record<string, string> = {};
  const requests: Record<string, string> = {};

  beforeAll(async () => {
    db = await createTestDatabase();
    database = await openDatabase({ databaseUrl: db.url, dataDir: "/nonexistent" });
    await database.orm.getMigrator().up({ to: "Migration20261207200000CredentialLifetime" });
    const policy = randomUUID();
    await db.query(
      `insert into certificate_policy (id, slug, spec, created_at, updated_at) values ($1, 'p', '{}', $2, $2)`,
      [policy, now],
    );
    profile = randomUUID();
    await db.query(
      `insert into certificate_profile (id, slug, policy_id, self_signed, enrollment_method, defaults, renewal,
         validity_overflow, private_key_retention, created_at, updated_at)
       values ($1, 'clients', $2, true, 'API', '{}', '{}', 'FAIL', 'RETURN_ONCE', $3, $3)`,
      [profile, policy, now],
    );
    await insertToken(tokens.first, "ADMIN", null, at(90 * 24));
    await insertToken(tokens.ciAdmin, "ADMIN", tokens.first, expiries.ciAdmin);
    await insertToken(tokens.longAdmin, "ADMIN", tokens.first, expiries.longAdmin);
    await insertToken(tokens.workload, "ISSUER", tokens.first, at(365 * 24));
    await insertToken(tokens.issuer, "ISSUER", tokens.first, at(365 * 24));

    // The CI admin token issued the workload's first client certificate (owner: the admin,
    // as issuance by an admin for a binding stored it); the workload renewed it twice over
    // mTLS with new keys (owner: the workload), the second time by the 90-day admin, keeping
    // the key (REUSE: owner stays the workload).
    certs.ciIssued = await issue(tokens.ciAdmin, tokens.ciAdmin);
    certs.renewed = await issue(tokens.workload, tokens.workload, certs.ciIssued);
    certs.renewedByAdmin = await issue(tokens.longAdmin, tokens.workload, certs.renewed);
    // The 90-day admin's own certificate, the first admin token's and an issuer's.
    certs.longIssued = await issue(tokens.longAdmin, tokens.longAdmin);
    certs.firstIssued = await issue(tokens.first, tokens.first);
    certs.issuerIssued = await issue(tokens.issuer, tokens.issuer);
    // An issuer's certificate renewed by another issuer token sharing the profile (REUSE).
    certs.shared = await issue(tokens.issuer, tokens.issuer);
    certs.sharedRenewal = await issue(tokens.workload, tokens.issuer, certs.shared);
    // A row stop 56's code recorded, with a bound earlier than its caller's expiry.
    certs.recorded = await issue(tokens.longAdmin, tokens.longAdmin, null, { until: at(1) });

    // Waiting for approval: the CI admin's request, the workload's renewal of its certificate.
    requests.adminWaiting = await insertRequest(tokens.ciAdmin, "PENDING_APPROVAL");
    requests.renewalWaiting = await insertRequest(
      tokens.workload,
      "PENDING_APPROVAL",
      certs.renewedByAdmin,
    );
    requests.issuerWaiting = await insertRequest(tokens.issuer, "PENDING_APPROVAL");
    requests.done = await insertRequest(tokens.ciAdmin, "REJECTED");

    expect(
      await database.orm
        .getMigrator()
        .up({ to: "Migration20261207210000LegacyCredentialLifetime" }),
    ).toEqual([
      expect.objectContaining({ name: "Migration20261207210000LegacyCredentialLifetime" }),
    ]);
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  const certificateRows = async () => {
    const rows = await db.query<{
      id: string;
      authenticates_until: Date | null;
      vouched_by: string[] | null;
    }>(`select id, authenticates_until, vouched_by from certificate`);
    return new Map(rows.map((r) => [r.id, r]));
  };

  it("bounds an admin token's certificates, and the lineage renewed from them, by its expiry", async () => {
    const rows = await certificateRows();
    const until = (name: string) => rows.get(certs[name]!)!.authenticates_until?.getTime() ?? null;
    expect(until("ciIssued")).toBe(expiries.ciAdmin.getTime());
    // Renewed by the workload itself: the lineage keeps the CI admin's bound.
    expect(until("renewed")).toBe(expiries.ciAdmin.getTime());
    // Renewed by the 90-day admin: the earlier of the two.
    expect(until("renewedByAdmin")).toBe(expiries.ciAdmin.getTime());
    expect(until("longIssued")).toBe(expiries.longAdmin.getTime());
    expect(until("recorded")).toBe(at(1).getTime());
    // Nothing bounds the first admin token's certificates, nor an issuer's.
    for (const name of ["firstIssued", "issuerIssued", "shared", "sharedRenewal"]) {
      expect(until(name), name).toBeNull();
    }
  });

  it("records the callers and earlier owners of each lineage as its vouchers", async () => {
    const rows = await certificateRows();
    const vouchers = (name: string) => {
      const v = rows.get(certs[name]!)!.vouched_by;
      return v ? [...v].sort() : null;
    };
    expect(vouchers("ciIssued")).toBeNull();
    expect(vouchers("renewed")).toEqual([tokens.ciAdmin]);
    expect(vouchers("renewedByAdmin")).toEqual([tokens.ciAdmin, tokens.longAdmin].sort());
    expect(vouchers("sharedRenewal")).toEqual([tokens.workload]);
    for (const name of ["longIssued", "firstIssued", "issuerIssued", "shared", "recorded"]) {
      expect(vouchers(name), name).toBeNull();
    }
  });

  it("bounds the requests still waiting, as their certificates will be", async () => {
    const rows = await db.query<{
      id: string;
      authenticates_until: Date | null;
      vouched_by: string[] | null;
    }>(`select id, authenticates_until, vouched_by from certificate_request where id = any($1)`, [
      Object.values(requests),
    ]);
    const of = (name: string) => rows.find((r) => r.id === requests[name])!;
    expect(of("adminWaiting").authenticates_until?.getTime()).toBe(expiries.ciAdmin.getTime());
    expect(of("adminWaiting").vouched_by).toBeNull();
    expect(of("renewalWaiting").authenticates_until?.getTime()).toBe(expiries.ciAdmin.getTime());
    expect([...(of("renewalWaiting").vouched_by ?? [])].sort()).toEqual(
      [tokens.ciAdmin, tokens.longAdmin].sort(),
    );
    expect(of("issuerWaiting")).toMatchObject({ authenticates_until: null, vouched_by: null });
    // Finished requests yield no certificate any more: left as they were.
    expect(of("done")).toMatchObject({ authenticates_until: null, vouched_by: null });
  });

  it("is what authentication reads: the repository returns the bound", async () => {
    const found = await createStore(database.orm).certificates.findById(certs.renewed!);
    expect(found?.authenticatesUntil?.getTime()).toBe(expiries.ciAdmin.getTime());
    expect(found?.vouchedBy).toEqual([tokens.ciAdmin]);
  });
});
