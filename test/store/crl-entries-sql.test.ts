/**
 * Issue 14: each revoked certificate's CRL entry is kept as DER by PostgreSQL (the trigger and
 * function of migrations/Migration20261202180000CrlEntries.ts, read by
 * src/store/crl-entries-sql.ts), and is the bytes the signer writes for the same row
 * (signer/crl.ts): a CRL signed (Ed25519, deterministic) from the kept entries equals, byte for
 * byte, the one signed from the rows; read in several chunks, the same entries; every row the
 * signer refuses or normalises (an invalid serial, REMOVE_FROM_CRL or an unknown reason, a time
 * before 1950) has no entry, so the server falls back to the rows and the signer reports it
 * (test/ca/crl.test.ts covers that path over gRPC). The entry follows the row: written when a
 * certificate is revoked by an update, rewritten when its reason changes, and filled in by the
 * migration for rows revoked before it ran. An invalidity date (RFC 5280 5.3.2,
 * Migration20261207220000InvalidityDate) follows the reason code in the entry's extensions, with
 * or without a reason, and is written again when it changes.
 *
 * On PostgreSQL and on the embedded PGlite (what `make run` starts), each on a database where
 * `certificate` has only the columns an entry is made of, and the migration's own statements
 * are run on it.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REVOCATION_REASONS, type RevocationReason } from "../../src/model/pki";
import { buildCrl, newSerialNumber, type RevokedEntry, serialToHex } from "../../src/signer";
import type { Asn1 } from "../../src/signer/der";
import forge from "../../src/signer/forge";
import { crlEntriesDerSql } from "../../src/store/crl-entries-sql";
import { startEmbeddedPostgres } from "../../src/store/embedded-postgres";
import { Migration20261202180000CrlEntries } from "../../src/store/migrations/Migration20261202180000CrlEntries";
import { Migration20261207220000InvalidityDate } from "../../src/store/migrations/Migration20261207220000InvalidityDate";
import { KeyPool, makeRoot } from "../signer/helpers";
import { createTestDatabase } from "../support/postgres";

interface Row {
  serial: string;
  revokedAt: string;
  reason: string | null;
  caId?: string;
  notAfter?: string;
  /** invalidity_date. */
  invalid?: string;
}

const CA = randomUUID();
const OTHER_CA = randomUUID();
const FUTURE = "2126-01-01T00:00:00Z";
const keys = new KeyPool();

/** `?` placeholders (the ORM's) as $n (pg's). */
const numbered = (sql: string) => {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
};

/** The entries of a SEQUENCE OF's content: each is shorter than 128 octets (one length octet). */
function splitEntries(der: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < der.length; ) {
    expect(der[at]).toBe(0x30);
    const length = der[at + 1]!;
    expect(length).toBeLessThan(128);
    out.push(der.subarray(at, at + 2 + length).toString("hex"));
    at += 2 + length;
  }
  return out;
}

/** The revokedCertificates entries of a CRL, as the signer wrote them. */
function entriesOfCrl(der: Buffer): string[] {
  const crl = forge.asn1.fromDer(forge.util.createBuffer(der.toString("binary")));
  const tbs = (crl.value as Asn1[])[0]!.value as Asn1[];
  // version, signature, issuer, thisUpdate, nextUpdate, revokedCertificates
  return (tbs[5]!.value as Asn1[]).map((e) =>
    Buffer.from(forge.asn1.toDer(e).getBytes(), "binary").toString("hex"),
  );
}

interface Backend {
  pg: Client;
  stop(): Promise<void>;
}

const backends: Record<string, () => Promise<Backend>> = {
  PostgreSQL: async () => {
    const db = await createTestDatabase();
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    return {
      pg,
      async stop() {
        await pg.end();
        await db.drop();
      },
    };
  },
  PGlite: async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "certmint-crl-sql-"));
    const embedded = await startEmbeddedPostgres(dataDir);
    const pg = new Client({ user: "postgres", database: "postgres", stream: embedded.stream });
    await pg.connect();
    return {
      pg,
      async stop() {
        await pg.end();
        await embedded.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};

/** The migrations' statements, in order (each runs them in one transaction). */
async function migrationSql(
  migrations: ReadonlyArray<
    typeof Migration20261202180000CrlEntries | typeof Migration20261207220000InvalidityDate
  > = [Migration20261202180000CrlEntries, Migration20261207220000InvalidityDate],
): Promise<string[]> {
  const out: string[] = [];
  for (const M of migrations) {
    const migration = new M(undefined as never, undefined as never);
    await migration.up();
    out.push(...migration.getQueries().map(String));
  }
  return out;
}

describe.each(Object.keys(backends))("CRL entries kept as DER on %s", (backendName) => {
  let backend: Backend;
  let pg: Client;
  let issuer: Awaited<ReturnType<typeof makeRoot>>["issuer"];

  beforeAll(async () => {
    backend = await backends[backendName]!();
    pg = backend.pg;
    issuer = (await makeRoot(await keys.get("ED25519"), "SQL CRL CA")).issuer;
  }, 120_000);
  afterAll(async () => {
    await backend?.stop();
  });

  const insert = (r: Row) =>
    pg.query(
      `insert into certificate (ca_id, serial_number, revoked_at, revocation_reason, not_after${
        r.invalid === undefined ? "" : ", invalidity_date"
      }) values ($1, $2, $3, $4, $5${r.invalid === undefined ? "" : ", $6"})`,
      [
        r.caId ?? CA,
        r.serial,
        r.revokedAt,
        r.reason,
        r.notAfter ?? FUTURE,
        ...(r.invalid === undefined ? [] : [r.invalid]),
      ],
    );

  /**
   * A fresh `certificate` (the columns an entry is made of, with their types, and the CRL index
   * as the migration before this one left it) holding `before`, then the migrations (the one
   * that keeps entries, and the one that adds invalidity dates), then `rows`.
   */
  async function store(rows: Row[], before: Row[] = []) {
    await pg.query("drop table if exists certificate cascade");
    // The invalidity-date migration adds its column to the CAs' table too.
    await pg.query("drop table if exists certificate_authority cascade");
    await pg.query("create table certificate_authority (id uuid)");
    await pg.query(`drop function if exists "certmint_certificate_crl_entry"() cascade`);
    await pg.query(
      `drop function if exists "certmint_crl_entry"(text, timestamptz, text, timestamptz)`,
    );
    await pg.query(`drop function if exists "certmint_crl_entry"(text, timestamptz, text)`);
    await pg.query(`create table certificate (ca_id uuid, serial_number text,
      revoked_at timestamptz, revocation_reason text, not_after timestamptz)`);
    await pg.query(
      `create index "certificate_crl_entries_index" on "certificate" ("ca_id", "not_after") include ("serial_number", "revoked_at", "revocation_reason") where "revoked_at" is not null`,
    );
    for (const r of before) await insert(r);
    await pg.query("begin");
    for (const sql of await migrationSql()) await pg.query(sql);
    await pg.query("commit");
    for (const r of rows) await insert(r);
  }

  /** The SQL's chunks for CA, or the error it failed with. */
  async function encodeInSql(perChunk: number) {
    try {
      const res = await pg.query<{ der: Buffer | null; n: number; ok: boolean }>(
        numbered(crlEntriesDerSql(perChunk)),
        [CA, new Date()],
      );
      return res.rows;
    } catch (err) {
      return err as Error;
    }
  }

  const crlOf = async (revoked: RevokedEntry[], encoded?: { der: Buffer; count: number }) =>
    (
      await buildCrl({
        issuer,
        signatureAlgorithm: "ED25519",
        crlNumber: 7n,
        thisUpdate: new Date("2026-12-02T00:00:00Z"),
        nextUpdate: new Date("2026-12-03T00:00:00Z"),
        revoked,
        encoded,
      })
    ).der;

  const asEntry = (r: Row): RevokedEntry => ({
    serial: r.serial,
    revokedAt: new Date(r.revokedAt),
    reason: (r.reason ?? "UNSPECIFIED") as RevocationReason,
    ...(r.invalid === undefined ? {} : { invalidityDate: new Date(r.invalid) }),
  });

  const reasons = Object.keys(REVOCATION_REASONS).filter((r) => r !== "REMOVE_FROM_CRL");
  const valid: Row[] = [
    // The shortest serial; a time with microseconds (both sides keep the second).
    { serial: "01", revokedAt: "2026-01-02T03:04:05.678901Z", reason: "KEY_COMPROMISE" },
    // The last UTCTime second and the first GeneralizedTime one (RFC 5280 4.1.2.5).
    { serial: "7f", revokedAt: "2049-12-31T23:59:59.999Z", reason: null },
    { serial: "0080", revokedAt: "2050-01-01T00:00:00Z", reason: "CA_COMPROMISE" },
    // The longest serials: 20 octets, with and without the leading zero octet.
    { serial: `7f${"ab".repeat(19)}`, revokedAt: "1950-01-01T00:00:00Z", reason: "UNSPECIFIED" },
    { serial: `00ff${"01".repeat(18)}`, revokedAt: "9999-12-31T23:59:59Z", reason: "SUPERSEDED" },
    // Invalidity dates (RFC 5280 5.3.2): with a reason and without (UNSPECIFIED, none), with
    // milliseconds (both sides keep the second), at 1950, on the longest entry.
    {
      serial: "02",
      revokedAt: "2026-03-02T00:00:00Z",
      reason: "KEY_COMPROMISE",
      invalid: "2026-02-27T13:14:15.999Z",
    },
    {
      serial: "03",
      revokedAt: "2026-03-02T00:00:00Z",
      reason: null,
      invalid: "2049-12-31T23:59:59Z",
    },
    {
      serial: "04",
      revokedAt: "2060-03-02T00:00:00Z",
      reason: "UNSPECIFIED",
      invalid: "1950-01-01T00:00:00Z",
    },
    {
      serial: `00ff${"02".repeat(18)}`,
      revokedAt: "2099-12-31T23:59:59Z",
      reason: "CESSATION_OF_OPERATION",
      invalid: "9999-12-31T23:59:59Z",
    },
    // Every reason an entry may carry, with certmint's own serials.
    ...reasons.map((reason, i) => ({
      serial: serialToHex(newSerialNumber()),
      revokedAt: new Date(Date.UTC(2026, i, 1 + i, i, i, i)).toISOString(),
      reason,
    })),
    ...reasons.map((reason, i) => ({
      serial: serialToHex(newSerialNumber()),
      revokedAt: new Date(Date.UTC(2026, i, 1 + i, i, i, i)).toISOString(),
      reason,
      invalid: new Date(Date.UTC(2025, i, 1 + i, i, i, i)).toISOString(),
    })),
  ];
  const notListed: Row[] = [
    { serial: "0a", revokedAt: "2026-01-01T00:00:00Z", reason: "KEY_COMPROMISE", caId: OTHER_CA },
    {
      serial: "0b",
      revokedAt: "2026-01-01T00:00:00Z",
      reason: "KEY_COMPROMISE",
      notAfter: "2026-01-02T00:00:00Z",
    },
  ];

  it("writes the signer's bytes: the same CRL, byte for byte", async () => {
    await store([...valid, ...notListed]);
    const chunks = await encodeInSql(1_000);
    if (chunks instanceof Error) throw chunks;
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({ n: valid.length, ok: true });
    const fromSql = await crlOf([], { der: chunks[0]!.der!, count: chunks[0]!.n });
    const fromRows = await crlOf(valid.map(asEntry));
    expect(fromSql.toString("hex")).toBe(fromRows.toString("hex"));
    expect(entriesOfCrl(fromRows)).toHaveLength(valid.length);
  });

  it("in several chunks, lists the same entries", async () => {
    await store([...notListed, ...valid]);
    const chunks = await encodeInSql(3);
    if (chunks instanceof Error) throw chunks;
    expect(chunks.length).toBe(Math.ceil(valid.length / 3));
    expect(chunks.every((c) => c.ok)).toBe(true);
    expect(chunks.reduce((n, c) => n + c.n, 0)).toBe(valid.length);
    const fromSql = splitEntries(Buffer.concat(chunks.map((c) => c.der!)));
    const fromRows = entriesOfCrl(await crlOf(valid.map(asEntry)));
    expect([...fromSql].sort()).toEqual([...fromRows].sort());
  });

  it("lists nothing for a CA with no revoked, unexpired certificate", async () => {
    await store(notListed);
    expect(await encodeInSql(1_000)).toEqual([]);
  });

  /** The chunks, which must be ok, as one CRL's entries compared with the signer's. */
  async function expectSignerEntries(expected: Row[]) {
    const chunks = await encodeInSql(1_000);
    if (chunks instanceof Error) throw chunks;
    expect(chunks.every((c) => c.ok)).toBe(true);
    const fromSql = await crlOf([], {
      der: Buffer.concat(chunks.map((c) => c.der!)),
      count: chunks.reduce((n, c) => n + c.n, 0),
    });
    expect(fromSql.toString("hex")).toBe((await crlOf(expected.map(asEntry))).toString("hex"));
  }

  it("follows the row: revoked by an update, its reason changed, revoked before the migration", async () => {
    const [early, revokedLater, changed] = valid;
    // Revoked before the migrations ran: the migration fills its entry in.
    await store([], [early!]);
    await expectSignerEntries([early!]);
    // Issued, then revoked by an update, as RevokeCertificate does.
    await insert({ ...revokedLater!, revokedAt: null as unknown as string, reason: null });
    await pg.query(
      "update certificate set revoked_at = $1, revocation_reason = $2 where serial_number = $3",
      [revokedLater!.revokedAt, revokedLater!.reason, revokedLater!.serial],
    );
    // Its reason changed afterwards (plain SQL): the entry is written again.
    await insert(changed!);
    await pg.query(
      "update certificate set revocation_reason = 'KEY_COMPROMISE' where serial_number = $1",
      [changed!.serial],
    );
    await expectSignerEntries([early!, revokedLater!, { ...changed!, reason: "KEY_COMPROMISE" }]);
    // An invalidity date given later (plain SQL), then changed: written again each time.
    const invalid = "2025-06-07T08:09:10Z";
    await pg.query("update certificate set invalidity_date = $1 where serial_number = $2", [
      invalid,
      changed!.serial,
    ]);
    await expectSignerEntries([
      early!,
      revokedLater!,
      { ...changed!, reason: "KEY_COMPROMISE", invalid },
    ]);
    await pg.query("update certificate set invalidity_date = null where serial_number = $1", [
      changed!.serial,
    ]);
    await expectSignerEntries([early!, revokedLater!, { ...changed!, reason: "KEY_COMPROMISE" }]);
  });

  it.each<[string, Row]>([
    ["a zero serial", { serial: "00", revokedAt: "2026-01-01T00:00:00Z", reason: null }],
    ["a leading zero octet", { serial: "0001", revokedAt: "2026-01-01T00:00:00Z", reason: null }],
    ["a negative serial", { serial: "80", revokedAt: "2026-01-01T00:00:00Z", reason: null }],
    [
      "21 octets",
      { serial: `01${"00".repeat(20)}`, revokedAt: "2026-01-01T00:00:00Z", reason: null },
    ],
    ["an odd hex length", { serial: "abc", revokedAt: "2026-01-01T00:00:00Z", reason: null }],
    ["not hex", { serial: "zz", revokedAt: "2026-01-01T00:00:00Z", reason: null }],
    ["an empty serial", { serial: "", revokedAt: "2026-01-01T00:00:00Z", reason: null }],
    [
      "REMOVE_FROM_CRL",
      { serial: "01", revokedAt: "2026-01-01T00:00:00Z", reason: "REMOVE_FROM_CRL" },
    ],
    ["an unknown reason", { serial: "01", revokedAt: "2026-01-01T00:00:00Z", reason: "BOGUS" }],
    ["a time before 1950", { serial: "01", revokedAt: "1949-12-31T23:59:59Z", reason: null }],
    [
      "an invalidity date before 1950",
      {
        serial: "01",
        revokedAt: "2026-01-01T00:00:00Z",
        reason: "KEY_COMPROMISE",
        invalid: "1949-12-31T23:59:59Z",
      },
    ],
  ])("keeps no entry for %s, which the signer refuses", async (_name, bad) => {
    await store([...valid.slice(0, 4), bad]);
    const chunks = await encodeInSql(1_000);
    if (chunks instanceof Error) throw chunks;
    expect(chunks.some((c) => !c.ok)).toBe(true);
    await expect(crlOf([...valid.slice(0, 4), bad].map(asEntry))).rejects.toMatchObject({
      kind: "invalid_argument",
    });
  });

  it.each<[string, string]>([
    ["upper-case hex", "7FAB"],
    ["hex with a space in it", "7f ab"],
  ])(
    "keeps no entry for a serial in %s, which the signer reads (its own way)",
    async (_name, serial) => {
      await store([{ serial, revokedAt: "2026-01-01T00:00:00Z", reason: null }]);
      const chunks = await encodeInSql(1_000);
      if (chunks instanceof Error) throw chunks;
      expect(chunks.some((c) => !c.ok)).toBe(true);
    },
  );
});
