import { createHash, randomUUID, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/store/database";
import { opensslOk } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

/**
 * Migration20261205000000BlockedKeys on a database that already holds certificates: each gets
 * spki_sha256, the SHA-256 of its SubjectPublicKeyInfo as Node's OpenSSL encodes it, of an RSA
 * key's modulus alone (EC, RSA and Ed25519 keys, made by openssl); one whose PEM does not
 * parse keeps none. Then the
 * trigger: a certificate of a blocked key is refused (SQLSTATE CMK01) whoever inserts it.
 */
describe("the blocked-keys migration on existing certificates", () => {
  let db: TestDatabase;
  let database: Database;
  const expected = new Map<string, string | null>();
  let requestId: string;
  const now = new Date();

  const insertCertificate = (pem: string, spki?: string) => {
    const id = randomUUID();
    return db
      .query(
        `insert into certificate (id, serial_number, ca_id, certificate_request_id, subject, sans, key_algorithm,
           signature_algorithm, key_usages, extended_key_usages, not_before, not_after, fingerprint_sha256,
           certificate_pem, chain_pem, owner, created_at${spki ? ", spki_sha256" : ""})
         values ($1, $2, null, $3, '{}', '{}', 'EC_P256', 'ECDSA_WITH_SHA256', '[]', '[]', $4, $4, $5, $6, '[]', 'test', $4${spki ? ", $7" : ""})`,
        [
          id,
          randomUUID().replace(/-/g, ""),
          requestId,
          now,
          randomUUID(),
          pem,
          ...(spki ? [spki] : []),
        ],
      )
      .then(() => id);
  };
  const selfSigned = (newkey: string[]) =>
    opensslOk([
      "req",
      "-x509",
      "-newkey",
      ...newkey,
      "-nodes",
      "-keyout",
      "/dev/null",
      "-subj",
      "/CN=backfill",
      "-days",
      "1",
    ]);
  /**
   * The key's hash as Node's OpenSSL encodes it: of the SubjectPublicKeyInfo, and for RSA of
   * the modulus alone, after "rsa-modulus:" (signer/spki.ts spkiSha256).
   */
  const spkiSha256 = (pem: string) => {
    const key = new X509Certificate(pem).publicKey;
    if (key.asymmetricKeyType === "rsa") {
      const n = Buffer.from(key.export({ format: "jwk" }).n as string, "base64url");
      return createHash("sha256").update("rsa-modulus:").update(n).digest("hex");
    }
    return createHash("sha256")
      .update(key.export({ type: "spki", format: "der" }))
      .digest("hex");
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    database = await openDatabase({ databaseUrl: db.url, dataDir: "/nonexistent" });
    await database.orm.getMigrator().up({ to: "Migration20261204300000CrlThisUpdate" });
    const policy = randomUUID();
    await db.query(
      `insert into certificate_policy (id, slug, spec, created_at, updated_at) values ($1, 'p', '{}', $2, $2)`,
      [policy, now],
    );
    const profile = randomUUID();
    await db.query(
      `insert into certificate_profile (id, slug, policy_id, self_signed, enrollment_method, defaults, renewal,
         validity_overflow, private_key_retention, created_at, updated_at)
       values ($1, 'web', $2, true, 'API', '{}', '{}', 'FAIL', 'RETURN_ONCE', $3, $3)`,
      [profile, policy, now],
    );
    requestId = randomUUID();
    await db.query(
      `insert into certificate_request (id, profile_id, caller, request_id, request_fingerprint, kind, status,
         subject, sans, params, created_at, updated_at)
       values ($1, $2, 'alice', null, 'f', 'ISSUE', 'ISSUED', '{}', '{}', '{}', $3, $3)`,
      [requestId, profile, now],
    );
    for (const newkey of [
      ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
      ["rsa:2048"],
      ["ed25519"],
    ]) {
      const pem = selfSigned(newkey);
      expected.set(await insertCertificate(pem), spkiSha256(pem));
    }
    expected.set(await insertCertificate("not a certificate"), null);
    expect(
      await database.orm.getMigrator().up({ to: "Migration20261205000000BlockedKeys" }),
    ).toEqual([expect.objectContaining({ name: "Migration20261205000000BlockedKeys" })]);
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  it("backfills each certificate's key hash; one that does not parse keeps none", async () => {
    const rows = await db.query<{ id: string; spki_sha256: string | null }>(
      "select id, spki_sha256 from certificate",
    );
    expect(Object.fromEntries(rows.map((r) => [r.id, r.spki_sha256]))).toEqual(
      Object.fromEntries(expected),
    );
  });

  it("refuses a certificate of a blocked key (CMK01), and stores one of another key", async () => {
    const pem = selfSigned(["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    const hash = spkiSha256(pem);
    await db.query(
      `insert into blocked_key (spki_sha256, blocked_at, certificate_id) values ($1, now(), null)`,
      [hash],
    );
    const before = await db.query<{ n: string }>("select count(*) as n from certificate");
    await expect(insertCertificate(pem, hash)).rejects.toMatchObject({ code: "CMK01" });
    const after = await db.query<{ n: string }>("select count(*) as n from certificate");
    expect(after[0]!.n).toBe(before[0]!.n);
    const other = selfSigned(["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    await insertCertificate(other, spkiSha256(other));
  });
});
