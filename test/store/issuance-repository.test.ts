import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  AuditRecord,
  Certificate,
  CertificateRequest,
  Store,
} from "../../src/issuance/repositories";
import { type Database, migrate, openDatabase } from "../../src/store/database";
import { CertificateEntity, CertificateRequestEntity } from "../../src/store/entities";
import { createStore } from "../../src/store/store";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

/**
 * The hot path's hand-written statements (src/store/repositories/issuance.ts) take their table
 * and column names from the entities' metadata: what they write, the ORM reads back as the same
 * record, renamed columns included (idempotencyKey and traceId are stored as request_id).
 */
describe("the issuance repository writes what the ORM reads", () => {
  let db: TestDatabase;
  let database: Database;
  let store: Store;
  const profileId = randomUUID();
  const now = new Date("2026-05-06T07:08:09.123Z");

  beforeAll(async () => {
    db = await createTestDatabase();
    database = await openDatabase({ databaseUrl: db.url, dataDir: "/nonexistent" });
    await migrate(database.orm);
    store = createStore(database.orm);
    const policyId = randomUUID();
    await db.query(
      `insert into certificate_policy (id, slug, spec, created_at, updated_at)
       values ($1, 'pol', '{}', now(), now())`,
      [policyId],
    );
    await db.query(
      `insert into certificate_profile (id, slug, policy_id, self_signed, enrollment_method, defaults,
         renewal, validity_overflow, private_key_retention, created_at, updated_at)
       values ($1, 'prof', $2, true, 'API', '{}', '{}', 'FAIL', 'RETURN_ONCE', now(), now())`,
      [profileId, policyId],
    );
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  const request = (over: Partial<CertificateRequest> = {}): CertificateRequest => ({
    id: randomUUID(),
    profileId,
    caller: "alice",
    idempotencyKey: `key-${randomUUID()}`,
    requestFingerprint: "f",
    kind: "ISSUE",
    status: "PENDING",
    subject: { attributes: [{ type: "COMMON_NAME", value: "a.example.com" }] },
    sans: { dns: ["a.example.com"], ip: [], email: [], uri: [] },
    params: {
      keySource: "GENERATE",
      keyAlgorithm: "EC_P256",
      signatureAlgorithm: "ECDSA_WITH_SHA256",
      keyUsages: ["DIGITAL_SIGNATURE"],
      extendedKeyUsages: ["SERVER_AUTH"],
      ttlSeconds: 3600,
    },
    csrPem: null,
    sealedPrivateKey: null,
    keyHeldUntil: null,
    renewalOfCertificateId: null,
    certificateId: null,
    reservedSerial: "0102",
    error: null,
    createdAt: now,
    updatedAt: now,
    ...over,
  });
  const audit = (resourceId: string): AuditRecord => ({
    id: randomUUID(),
    createdAt: now,
    actorId: randomUUID(),
    actorSlug: "alice",
    method: "/certmint.v1.CertificateService/IssueCertificate",
    resourceType: "certificate_request",
    resourceId,
    statusCode: 0,
    errorReason: "",
    traceId: "trace-1",
    peer: "ipv4:127.0.0.1:1",
  });
  const ormRequest = (id: string) =>
    database.orm.em.fork().findOneOrFail(CertificateRequestEntity, { id });

  it("records a request once per idempotency key, its audit record in the same statement", async () => {
    const first = request({ status: "PENDING_APPROVAL", reservedSerial: null });
    const record = audit(first.id);
    expect(await store.issuance.recordRequest(first, record)).toBe(true);
    expect({ ...(await ormRequest(first.id)) }).toEqual(first);
    const rows = await db.query("select request_id, resource_id from audit_record where id = $1", [
      record.id,
    ]);
    expect(rows).toEqual([{ request_id: "trace-1", resource_id: first.id }]);
    // The same (caller, key) again: nothing written, neither the request nor its record.
    const again = request({ idempotencyKey: first.idempotencyKey });
    expect(await store.issuance.recordRequest(again, audit(again.id))).toBe(false);
    expect(await store.requests.findById(again.id)).toBeNull();
    const found = await store.issuance.findProfileAndPrior(
      { slug: "prof" },
      { caller: "alice", idempotencyKey: first.idempotencyKey! },
    );
    expect(found.priorRequestId).toBe(first.id);
    expect(found.profile?.id).toBe(profileId);
    expect(found.ca).toBeNull();
  });

  it("stores a certificate under the request's lock, and marks a request FAILED", async () => {
    const pending = request();
    expect(await store.issuance.recordRequest(pending)).toBe(true);
    const certificate: Certificate = {
      id: randomUUID(),
      serialNumber: "0102",
      caId: null,
      profileId,
      certificateRequestId: pending.id,
      owner: "alice",
      subject: pending.subject,
      commonName: "a.example.com",
      sans: pending.sans,
      searchNames: "a.example.com",
      keyAlgorithm: "EC_P256",
      signatureAlgorithm: "ECDSA_WITH_SHA256",
      keyUsages: ["DIGITAL_SIGNATURE"],
      extendedKeyUsages: ["SERVER_AUTH"],
      isCa: false,
      notBefore: now,
      notAfter: new Date(now.getTime() + 3_600_000),
      fingerprintSha256: randomUUID(),
      certificatePem: "PEM",
      chainPem: ["CHAIN"],
      revokedAt: null,
      revocationReason: null,
      renewedFromId: null,
      renewedById: null,
      sealedPrivateKey: Buffer.from([1, 2, 3]),
      createdAt: now,
    };
    const held = Buffer.from([9, 8, 7]);
    const stored = await store.issuance.withRequestLock(pending.id, 1000, async (locked) => {
      expect(locked.status).toBe("PENDING");
      return locked.storeIssued(
        certificate,
        { id: pending.id, updatedAt: now, sealedPrivateKey: held, keyHeldUntil: now },
        audit(pending.id),
      );
    });
    expect(stored).toBe(true);
    const cert = await database.orm.em
      .fork()
      .findOneOrFail(CertificateEntity, { id: certificate.id });
    expect({ ...cert }).toEqual(certificate);
    expect(await ormRequest(pending.id)).toMatchObject({
      status: "ISSUED",
      certificateId: certificate.id,
      keyHeldUntil: now,
    });
    expect(Buffer.from((await ormRequest(pending.id)).sealedPrivateKey!)).toEqual(held);

    const failing = request();
    await store.issuance.recordRequest(failing);
    const error = { code: "invalid_argument", reason: "X", message: "m", violations: [] };
    expect(
      await store.issuance.markFailed({ id: failing.id, error, updatedAt: now }, audit(failing.id)),
    ).toBe(true);
    expect(await ormRequest(failing.id)).toMatchObject({ status: "FAILED", error });
    // Only a PENDING request: the second time nothing changes.
    expect(
      await store.issuance.markFailed({ id: failing.id, error, updatedAt: now }, audit(failing.id)),
    ).toBe(false);
  });
});
