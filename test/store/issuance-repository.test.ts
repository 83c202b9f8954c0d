import { randomBytes, randomUUID } from "node:crypto";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newRowId } from "../../src/issuance/common/ids";
import type {
  AuditRecord,
  Certificate,
  CertificateRequest,
  HeldRows,
  IssuanceStored,
  SignedIssuance,
  Store,
} from "../../src/issuance/repositories";
import { type Database, migrate, openDatabase } from "../../src/store/database";
import { CertificateEntity, CertificateRequestEntity } from "../../src/store/entities";
import { requestLockKey } from "../../src/store/request-lock";
import { StatementBatches } from "../../src/store/statement-batches";
import { createStore } from "../../src/store/store";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { waitFor } from "../support/wait";

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
    // Round-trips a bound (credential-lifetime.ts) through every statement that writes it.
    authenticatesUntil: new Date("2026-05-06T08:08:09.123Z"),
    vouchedBy: [randomUUID(), randomUUID()],
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
    claimedBy: null,
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

  /** Holds the request's lock until `release`; `done` is withRequestLock's outcome then. */
  const holdRequestLock = async (id: string) => {
    let release!: () => void;
    const holding = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held!: () => void;
    const taken = new Promise<void>((resolve) => {
      held = resolve;
    });
    const done = store.issuance.withRequestLock(id, 1000, async () => {
      held();
      await holding;
      return "held";
    });
    await taken;
    return { release, done };
  };

  it("two requests created in the same millisecond take separate locks", async () => {
    // Row ids are UUIDv7 (newRowId): their first 48 bits are the creation time.
    const at = Date.now();
    const [a, b] = [request({ id: newRowId(at) }), request({ id: newRowId(at) })];
    expect(a.id.slice(0, 13)).toBe(b.id.slice(0, 13));
    expect(requestLockKey(a.id)).not.toBe(requestLockKey(b.id));
    expect(await store.issuance.recordRequest(a)).toBe(true);
    expect(await store.issuance.recordRequest(b)).toBe(true);
    // While a's lock is held, b's is free at once: not "busy" after a 50 ms wait.
    const first = await holdRequestLock(a.id);
    const second = await store.issuance.withRequestLock(b.id, 50, async () => "b");
    first.release();
    expect(await first.done).toBe("held");
    expect(second).toBe("b");
  });

  it("a wait for a request's lock bounded by a deadline weeks ahead waits, not refused by lock_timeout's range", async () => {
    // A grpc-timeout may be 8 digits of hours (src/server/grpc-timeouts.ts); lock_timeout is an
    // int of milliseconds, so 30 days was refused "outside the valid range" until stop 52.
    const a = request();
    expect(await store.issuance.recordRequest(a)).toBe(true);
    const first = await holdRequestLock(a.id);
    const second = store.issuance.withRequestLock(a.id, 30 * 86_400_000, async () => "second");
    let settled = false;
    second.then(
      () => (settled = true),
      () => (settled = true),
    );
    await waitFor("the second call waiting for the request's lock, or failing", async () => {
      if (settled) return true;
      const rows = await db.query(
        "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%pg_advisory_xact_lock(%'",
      );
      return rows.length > 0;
    });
    first.release();
    expect(await first.done).toBe("held");
    expect(await second).toBe("second");
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
      authenticatesUntil: null,
      vouchedBy: null,
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
      spkiSha256: randomBytes(32).toString("hex"),
      certificatePem: "PEM",
      chainPem: ["CHAIN"],
      revokedAt: null,
      revocationReason: null,
      invalidityDate: null,
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
    // A list reads what it shows: never the sealed key, the PEMs only in the FULL view.
    const listed = async (view: "BASIC" | "FULL") => {
      const [row] = await store.certificates.listNewestFirst(
        { now, nameContains: "a.example.com" },
        { limit: 1 },
        view,
      );
      const { createdAtText: _, ...rest } = row as typeof row & { createdAtText: string };
      return rest;
    };
    const { sealedPrivateKey: _key, ...shown } = certificate;
    expect(await listed("FULL")).toEqual(shown);
    const { certificatePem: _pem, chainPem: _chain, ...basic } = shown;
    expect(await listed("BASIC")).toEqual(basic);
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

  /** A certificate of `request`, as sign.ts builds one (a fresh serial unless given). */
  const certificateOf = (
    req: CertificateRequest,
    over: Partial<Certificate> = {},
  ): Certificate => ({
    id: randomUUID(),
    serialNumber: randomBytes(17).toString("hex"),
    caId: null,
    profileId,
    certificateRequestId: req.id,
    owner: req.caller,
    authenticatesUntil: req.authenticatesUntil ?? null,
    vouchedBy: req.vouchedBy ?? null,
    subject: req.subject,
    commonName: "a.example.com",
    sans: req.sans,
    searchNames: "a.example.com",
    keyAlgorithm: "EC_P256",
    signatureAlgorithm: "ECDSA_WITH_SHA256",
    keyUsages: ["DIGITAL_SIGNATURE"],
    extendedKeyUsages: ["SERVER_AUTH"],
    isCa: false,
    notBefore: now,
    notAfter: new Date(now.getTime() + 3_600_000),
    fingerprintSha256: randomUUID(),
    spkiSha256: randomBytes(32).toString("hex"),
    certificatePem: "PEM",
    chainPem: ["CHAIN"],
    revokedAt: null,
    revocationReason: null,
    invalidityDate: null,
    renewedFromId: null,
    renewedById: null,
    sealedPrivateKey: null,
    createdAt: now,
    ...over,
  });
  /** A signed issuance as sign-then-store.ts stores it: the request ISSUED, naming its certificate. */
  const signedIssuance = (
    over: Partial<CertificateRequest> = {},
    cert: Partial<Certificate> = {},
  ): SignedIssuance => {
    const req = request({ status: "ISSUED", ...over });
    const certificate = certificateOf(req, cert);
    req.certificateId = certificate.id;
    req.reservedSerial = certificate.serialNumber;
    return { request: req, certificate, audit: audit(req.id) };
  };
  /** What of a signed issuance is in the database: its request, certificate and audit record. */
  const written = async ({ request: req, certificate, audit: record }: SignedIssuance) =>
    (
      await db.query<{ n: number }>(
        `select ((select count(*) from certificate_request where id = $1)
              + (select count(*) from certificate where id = $2)
              + (select count(*) from audit_record where id = $3))::int as n`,
        [req.id, certificate.id, record.id],
      )
    )[0]!.n;
  /**
   * Runs the stores at once, held back until `statements` of them wait (each, by default), so
   * their statements overlap.
   */
  /**
   * Stores `issuances` while a lock holds them all in PostgreSQL, and returns their outcomes
   * once it is given back: `statements` of them must be waiting in PostgreSQL first. A store
   * runs one statement of new issuances at a time (statement-batches.ts), so statements that
   * overlap in PostgreSQL come from different processes: `via` says which store (a second
   * createStore on the same database is another replica's).
   */
  async function overlapping(
    issuances: SignedIssuance[],
    statements = issuances.length,
    via: (i: number) => Store = () => store,
  ): Promise<IssuanceStored[]> {
    const blocker = new Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query("begin");
      // Every storeIssuance inserts a certificate: each waits for this lock before it starts.
      await blocker.query("lock table certificate in share mode");
      const results = Promise.all(issuances.map((x, i) => via(i).issuance.storeIssuance(x)));
      const limit = Date.now() + 60_000;
      for (;;) {
        const [row] = await db.query<{ n: string }>(
          "select count(*) as n from pg_locks l join pg_database d on d.oid = l.database where not l.granted and d.datname = current_database()",
        );
        if (Number(row!.n) >= statements) break;
        if (Date.now() > limit) throw new Error("the stores never waited for the lock");
        await new Promise((r) => setTimeout(r, 20));
      }
      await blocker.query("commit");
      return await results;
    } finally {
      await blocker.end();
    }
  }

  it("stores a signed issuance in one statement: request ISSUED, certificate and audit record, or nothing", async () => {
    const first = signedIssuance({ sealedPrivateKey: Buffer.from([4, 5]), keyHeldUntil: now });
    expect(await store.issuance.storeIssuance(first)).toBe("stored");
    expect({ ...(await ormRequest(first.request.id)) }).toEqual(first.request);
    const cert = await database.orm.em
      .fork()
      .findOneOrFail(CertificateEntity, { id: first.certificate.id });
    expect({ ...cert }).toEqual(first.certificate);
    expect(await written(first)).toBe(3);

    // The same (caller, request_id): nothing of the second is written.
    const again = signedIssuance({ idempotencyKey: first.request.idempotencyKey });
    expect(await store.issuance.storeIssuance(again)).toBe("duplicate");
    expect(await written(again)).toBe(0);

    // The same serial under the same issuer (the unique index): nothing is written.
    const clash = signedIssuance({}, { serialNumber: first.certificate.serialNumber });
    expect(await store.issuance.storeIssuance(clash)).toBe("serial-taken");
    expect(await written(clash)).toBe(0);
  });

  it("finds an issued certificate by serial and fingerprint (ACME revokeCert, mTLS revocation), and whether it is revoked", async () => {
    const stored = signedIssuance();
    expect(await store.issuance.storeIssuance(stored)).toBe("stored");
    const { serialNumber, fingerprintSha256, id } = stored.certificate;
    expect((await store.certificates.findIssued(serialNumber, fingerprintSha256))?.id).toBe(id);
    // The serial alone or the fingerprint alone is not this certificate: another issuer's
    // certificate may carry the same serial, and its fingerprint then differs.
    expect(await store.certificates.findIssued(serialNumber, randomUUID())).toBeNull();
    expect(
      await store.certificates.findIssued(randomBytes(17).toString("hex"), fingerprintSha256),
    ).toBeNull();
    expect(await store.certificates.isRevoked(serialNumber, fingerprintSha256)).toBe(false);
    expect(await store.certificates.markRevoked(id, "KEY_COMPROMISE", now)).toBe(true);
    expect(await store.certificates.isRevoked(serialNumber, fingerprintSha256)).toBe(true);
    expect(await store.certificates.isRevoked(serialNumber, randomUUID())).toBe(false);
    // The lookup runs on the serial's index: the fingerprint has none (a random key whose index
    // wrote a page image to the WAL per issuance at scale).
    const [{ n }] = await db.query<{ n: number }>(
      "select count(*)::int as n from pg_indexes where tablename = 'certificate' and indexdef like '%fingerprint%'",
    );
    expect(n).toBe(0);
  });

  it("keeps a leaf's row in one piece (no TOAST) up to 4 KB: its PEM and a two-certificate chain", async () => {
    const toastBytes = async () =>
      Number(
        (
          await db.query<{ n: string }>(
            "select pg_relation_size(reltoastrelid) as n from pg_class where relname = 'certificate'",
          )
        )[0]!.n,
      );
    const before = await toastBytes();
    // Sizes of a P-256 leaf's PEM and of its intermediate's and root's (random: incompressible).
    const pem = (n: number) => randomBytes(n).toString("base64");
    const leaf = signedIssuance({}, { certificatePem: pem(600), chainPem: [pem(520), pem(520)] });
    expect(await store.issuance.storeIssuance(leaf)).toBe("stored");
    const [{ size }] = await db.query<{ size: number }>(
      "select pg_column_size(c.*) as size from certificate c where id = $1",
      [leaf.certificate.id],
    );
    // Above PostgreSQL's default TOAST threshold (about 2 KB), below the table's 4 KB target.
    expect(size).toBeGreaterThan(2100);
    expect(size).toBeLessThan(4000);
    expect(await toastBytes()).toBe(before);
    // A row above the target is still TOASTed.
    const large = signedIssuance({}, { certificatePem: pem(3000), chainPem: [pem(3000)] });
    expect(await store.issuance.storeIssuance(large)).toBe("stored");
    expect(await toastBytes()).toBeGreaterThan(before);
  });

  it("a renewal links the renewed certificate in the same statement, unless it was renewed or revoked meanwhile", async () => {
    const original = signedIssuance();
    await store.issuance.storeIssuance(original);
    const renewedId = original.certificate.id;
    const renewal = (key?: string) =>
      signedIssuance(
        {
          kind: "RENEW",
          renewalOfCertificateId: renewedId,
          ...(key ? { idempotencyKey: key } : {}),
        },
        { renewedFromId: renewedId },
      );
    const successor = renewal();
    expect(await store.issuance.storeIssuance(successor)).toBe("stored");
    expect(await written(successor)).toBe(3);
    const [linked] = await db.query<{ renewed_by_id: string }>(
      "select renewed_by_id from certificate where id = $1",
      [renewedId],
    );
    expect(linked!.renewed_by_id).toBe(successor.certificate.id);

    // Renewed already: nothing of a second renewal is written, the link stays.
    const late = renewal();
    expect(await store.issuance.storeIssuance(late)).toBe("renewed-meanwhile");
    expect(await written(late)).toBe(0);

    // A renewal of a revoked certificate neither.
    const revoked = signedIssuance();
    await store.issuance.storeIssuance(revoked);
    await db.query("update certificate set revoked_at = now() where id = $1", [
      revoked.certificate.id,
    ]);
    const ofRevoked = signedIssuance(
      { kind: "RENEW", renewalOfCertificateId: revoked.certificate.id },
      { renewedFromId: revoked.certificate.id },
    );
    expect(await store.issuance.storeIssuance(ofRevoked)).toBe("renewed-meanwhile");
    expect(await written(ofRevoked)).toBe(0);
  });

  it("of overlapping stores with one (caller, request_id), exactly one is written", async () => {
    const a = signedIssuance();
    const b = signedIssuance({ idempotencyKey: a.request.idempotencyKey });
    // From two replicas: one process runs one statement of new issuances at a time.
    const replica = createStore(database.orm);
    const results = await overlapping([a, b], 2, (i) => (i === 0 ? store : replica));
    expect([...results].sort()).toEqual(["duplicate", "stored"]);
    const [won, lost] = results[0] === "stored" ? [a, b] : [b, a];
    expect(await written(won)).toBe(3);
    expect(await written(lost)).toBe(0);
  });

  it("of overlapping renewals of one certificate, exactly one is written and linked", async () => {
    const original = signedIssuance();
    await store.issuance.storeIssuance(original);
    const renewal = () =>
      signedIssuance(
        { kind: "RENEW", renewalOfCertificateId: original.certificate.id },
        { renewedFromId: original.certificate.id },
      );
    const a = renewal();
    const b = renewal();
    const results = await overlapping([a, b]);
    expect([...results].sort()).toEqual(["renewed-meanwhile", "stored"]);
    const [won, lost] = results[0] === "stored" ? [a, b] : [b, a];
    expect(await written(won)).toBe(3);
    expect(await written(lost)).toBe(0);
    const [linked] = await db.query<{ renewed_by_id: string }>(
      "select renewed_by_id from certificate where id = $1",
      [original.certificate.id],
    );
    expect(linked!.renewed_by_id).toBe(won.certificate.id);
  });

  describe("rows read before (KnownRows)", () => {
    it("an unchanged profile, policy and CA come back as the records read before; a row updated by anyone is read afresh", async () => {
      const [pid, policyId, caId] = [randomUUID(), randomUUID(), randomUUID()];
      await db.query(
        `insert into certificate_policy (id, slug, spec, created_at, updated_at)
         values ($1, 'known-pol', '{"a":1}', now(), now())`,
        [policyId],
      );
      await db.query(
        `insert into certificate_authority (id, slug, type, status, subject, key_algorithm,
           signature_algorithm, certificate_pem, chain_pem, sealed_private_key, created_at, updated_at)
         values ($1, 'known-ca', 'ROOT', 'ACTIVE', '{"attributes":[]}', 'EC_P256',
           'ECDSA_WITH_SHA256', 'pem', '["a","b"]', '\\x0102', now(), now())`,
        [caId],
      );
      await db.query(
        `insert into certificate_profile (id, slug, policy_id, ca_id, self_signed, enrollment_method,
           defaults, renewal, validity_overflow, private_key_retention, created_at, updated_at)
         values ($1, 'known', $2, $3, false, 'API', '{"keyUsages":["DIGITAL_SIGNATURE"]}', '{}',
           'FAIL', 'RETURN_ONCE', now(), now())`,
        [pid, policyId, caId],
      );
      const read = (key: { id: string } | { slug: string }) =>
        store.issuance.findProfileAndPrior(key);

      const first = await read({ id: pid });
      expect(first.profile?.id).toBe(pid);
      expect(first.policy?.spec).toEqual({ a: 1 });
      expect(first.ca?.chainPem).toEqual(["a", "b"]);
      expect(Object.isFrozen(first.profile)).toBe(true);
      expect(Object.isFrozen(first.ca?.chainPem)).toBe(true);
      // The same objects: the statement returned ids and tags, and no columns to parse.
      const again = await read({ slug: "known" });
      expect(again.profile).toBe(first.profile);
      expect(again.policy).toBe(first.policy);
      expect(again.ca).toBe(first.ca);

      // Updates that bump no version (plain SQL) are seen all the same: a row's tag holds its xmin.
      await db.query("update certificate_authority set status = 'DISABLED' where id = $1", [caId]);
      const disabled = await read({ id: pid });
      expect(disabled.ca?.status).toBe("DISABLED");
      expect(disabled.ca).not.toBe(first.ca);
      expect(disabled.profile).toBe(first.profile);
      expect(disabled.policy).toBe(first.policy);

      await db.query(`update certificate_policy set spec = '{"a":2}' where id = $1`, [policyId]);
      await db.query(
        "update certificate_profile set validity_overflow = 'TRUNCATE' where id = $1",
        [pid],
      );
      const changed = await read({ slug: "known" });
      expect(changed.policy?.spec).toEqual({ a: 2 });
      expect(changed.profile?.validityOverflow).toBe("TRUNCATE");
      expect(changed.ca).toBe(disabled.ca);

      // A slug that moved reads what it names now; a deleted profile reads as none.
      await db.query("update certificate_profile set slug = 'renamed' where id = $1", [pid]);
      expect((await read({ slug: "known" })).profile).toBeNull();
      expect((await read({ slug: "renamed" })).profile?.slug).toBe("renamed");
      await db.query("delete from certificate_profile where id = $1", [pid]);
      expect(await read({ id: pid })).toEqual({
        priorRequestId: null,
        profile: null,
        policy: null,
        ca: null,
      });
    });
  });

  describe("statements shared by concurrent calls (src/store/statement-batches.ts)", () => {
    /** The transactions that wrote the requests: rows of one statement share its xmin. */
    const writers = async (issuances: SignedIssuance[]) =>
      (
        await db.query<{ xmin: string }>(
          "select distinct xmin::text as xmin from certificate_request where id = any($1::uuid[])",
          [issuances.map((i) => i.request.id)],
        )
      ).map((r) => r.xmin);

    it("overlapping new issuances share one statement, each with its own outcome", async () => {
      const fallbacks = StatementBatches.fallbacks;
      const first = [signedIssuance()];
      const queued = Array.from({ length: 8 }, () => signedIssuance());
      // The same (caller, request_id) twice in the batch: one is stored, as with two statements.
      const twin = signedIssuance({ idempotencyKey: queued[3]!.request.idempotencyKey });
      const all = [...first, ...queued, twin];
      // One statement runs (alone); the rest queue behind it and go as one.
      const results = await overlapping(all, 1);
      expect(results).toEqual([...Array(9).fill("stored"), "duplicate"]);
      for (const i of all.slice(0, 9)) expect(await written(i)).toBe(3);
      expect(await written(twin)).toBe(0);
      expect((await writers(first)).length).toBe(1);
      expect((await writers(queued)).length).toBe(1);
      expect(StatementBatches.fallbacks).toBe(fallbacks);
      // What the batch wrote reads back through the ORM as what was stored.
      const [one] = queued;
      expect({ ...(await ormRequest(one!.request.id)) }).toEqual(one!.request);
      const cert = await database.orm.em
        .fork()
        .findOneOrFail(CertificateEntity, { id: one!.certificate.id });
      expect({ ...cert }).toEqual(one!.certificate);
    });

    it("an issuance decided on held rows is stored, alone or in a shared statement, only while each row is unchanged", async () => {
      await store.issuance.findProfileAndPrior({ id: profileId });
      // The read's batch ends in the microtasks after its answer.
      await new Promise((resolve) => setImmediate(resolve));
      // Nothing else is reading or storing: the rows read last come back held, no statement.
      const { held } = await store.issuance.findProfileAndPrior({ id: profileId }, undefined, true);
      expect(held?.profile.id).toBe(profileId);
      expect(held?.ca).toBeNull();
      const onHeld = (rows: HeldRows = held!) => ({ ...signedIssuance(), heldRows: rows });
      const stale: HeldRows = { ...held!, policy: { ...held!.policy, tag: "0:1" } };

      const alone = onHeld();
      expect(await store.issuance.storeIssuance(alone)).toBe("stored");
      expect(await written(alone)).toBe(3);
      const aloneStale = onHeld(stale);
      expect(await store.issuance.storeIssuance(aloneStale)).toBe("rows-changed");
      expect(await written(aloneStale)).toBe(0);

      // One runs alone, the rest share one statement: each item is checked on its own.
      const queued = [onHeld(), onHeld(stale), signedIssuance(), onHeld()];
      const results = await overlapping([signedIssuance(), onHeld(stale), ...queued], 1);
      expect(results).toEqual([
        "stored",
        "rows-changed",
        "stored",
        "rows-changed",
        "stored",
        "stored",
      ]);
      expect((await writers([queued[0]!, queued[2]!, queued[3]!])).length).toBe(1);
      expect(await written(queued[1]!)).toBe(0);

      // A change by plain SQL (no version bump) makes the held rows stale, alone and shared.
      await db.query("update certificate_policy set description = 'changed' where id = $1", [
        held!.policy.id,
      ]);
      const changed = [onHeld(), onHeld(), onHeld(), signedIssuance()];
      expect(await overlapping(changed, 1)).toEqual([
        "rows-changed",
        "rows-changed",
        "rows-changed",
        "stored",
      ]);
      for (const i of changed.slice(0, 3)) expect(await written(i)).toBe(0);
    });

    it("overlapping reads share one statement, each with the rows a lone read returns", async () => {
      const prior = signedIssuance();
      expect(await store.issuance.storeIssuance(prior)).toBe("stored");
      const key = prior.request.idempotencyKey!;
      type Read = Parameters<Store["issuance"]["findProfileAndPrior"]>;
      const reads: Read[] = [
        [{ id: profileId }],
        [{ slug: "prof" }],
        [{ id: profileId }, { caller: "alice", idempotencyKey: key }],
        [{ slug: "prof" }, { caller: "alice", idempotencyKey: key }],
        [{ slug: "missing" }, { caller: "alice", idempotencyKey: key }],
        [{ id: randomUUID() }],
        [{ id: profileId }, { caller: "bob", idempotencyKey: key }],
      ];
      const fallbacks = StatementBatches.fallbacks;
      const blocker = new Client({ connectionString: db.url });
      await blocker.connect();
      let together: unknown[];
      try {
        await blocker.query("begin");
        await blocker.query("lock table certificate_profile in access exclusive mode");
        const results = Promise.all(reads.map((r) => store.issuance.findProfileAndPrior(...r)));
        const limit = Date.now() + 60_000;
        for (;;) {
          const [row] = await db.query<{ n: string }>(
            "select count(*) as n from pg_locks l join pg_database d on d.oid = l.database where not l.granted and d.datname = current_database()",
          );
          if (Number(row!.n) >= 1) break;
          if (Date.now() > limit) throw new Error("the reads never waited for the lock");
          await new Promise((r) => setTimeout(r, 20));
        }
        await blocker.query("commit");
        together = await results;
      } finally {
        await blocker.end();
      }
      // The six that queued behind the first went as one statement, which did not fail.
      expect(StatementBatches.fallbacks).toBe(fallbacks);
      const alone: unknown[] = [];
      for (const r of reads) alone.push(await store.issuance.findProfileAndPrior(...r));
      expect(together).toEqual(alone);
      // And what they say: the profile by id or slug, the prior request of the same caller only.
      const [byId, bySlug, withPrior, slugPrior, missing, unknownId, otherCaller] = alone as Array<
        Awaited<ReturnType<Store["issuance"]["findProfileAndPrior"]>>
      >;
      expect(byId!.profile?.id).toBe(profileId);
      expect(bySlug!.profile?.id).toBe(profileId);
      expect(byId!.policy?.slug).toBe("pol");
      expect([byId!.priorRequestId, withPrior!.priorRequestId, slugPrior!.priorRequestId]).toEqual([
        null,
        prior.request.id,
        prior.request.id,
      ]);
      expect(missing).toEqual({
        priorRequestId: prior.request.id,
        profile: null,
        policy: null,
        ca: null,
      });
      expect(unknownId).toEqual({ priorRequestId: null, profile: null, policy: null, ca: null });
      expect(otherCaller!.priorRequestId).toBeNull();
    });

    it("a batch that fails is stored one by one: only the issuance at fault fails", async () => {
      const taken = signedIssuance();
      expect(await store.issuance.storeIssuance(taken)).toBe("stored");
      const first = [signedIssuance()];
      const queued = [
        signedIssuance(),
        signedIssuance({}, { serialNumber: taken.certificate.serialNumber }),
        signedIssuance({ sealedPrivateKey: Buffer.from([1, 2, 3]), keyHeldUntil: now }),
      ];
      const fallbacks = StatementBatches.fallbacks;
      const results = await overlapping([...first, ...queued], 1);
      expect(results).toEqual(["stored", "stored", "serial-taken", "stored"]);
      expect(StatementBatches.fallbacks).toBe(fallbacks + 1);
      expect(await written(queued[1]!)).toBe(0);
      for (const i of [...first, queued[0]!, queued[2]!]) expect(await written(i)).toBe(3);
      expect({ ...(await ormRequest(queued[2]!.request.id)) }).toEqual(queued[2]!.request);
    });
  });
});
