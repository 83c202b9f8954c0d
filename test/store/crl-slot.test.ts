/**
 * CaRepository.nextCrl (src/store/repositories/certificate-authorities.ts): a CA's next
 * cRLNumber and its thisUpdate, taken in one statement, so a CA's CRLs are dated in the order
 * they are numbered (RFC 5280 5.1.2.4, 5.2.3) whatever the signing server's clock says, on
 * PostgreSQL (with replicas signing at once) as on the embedded database.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CrlSlot, Store } from "../../src/issuance/repositories";
import { type Database, migrate, openDatabase } from "../../src/store/database";
import { createStore } from "../../src/store/store";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

const T0 = new Date("2026-12-04T10:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** A CA row with what nextCrl reads (the rest as the schema requires it). */
async function insertCa(database: Database): Promise<string> {
  const id = randomUUID();
  await database.orm.em.fork().execute(
    `insert into "certificate_authority" ("id", "slug", "type", "status", "subject", "key_algorithm",
         "signature_algorithm", "chain_pem", "sealed_private_key", "created_at", "updated_at")
       values (?, ?, 'ROOT', 'ACTIVE', '{}', 'EC_P256', 'ECDSA_SHA256', '[]', '\\x00', ?, ?)`,
    [id, `crl-slot-${id}`, T0, T0],
  );
  return id;
}

const slot = (s: CrlSlot) => ({
  crlNumber: s.crlNumber,
  thisUpdate: s.thisUpdate.toISOString(),
  previousThisUpdate: s.previousThisUpdate?.toISOString() ?? null,
});

/** The same sequence on either database. */
function sequenceTest(open: () => { database: Database; store: Store }) {
  it("numbers go up, at least to the thisUpdate in milliseconds, and thisUpdate is the later of now and the last CRL's", async () => {
    const { database, store } = open();
    const id = await insertCa(database);
    const next = async (now: Date) => slot(await store.cas.nextCrl(id, now));
    const ms = (d: Date) => BigInt(d.getTime());
    expect(await next(at(0))).toEqual({
      crlNumber: ms(at(0)),
      thisUpdate: at(0).toISOString(),
      previousThisUpdate: null,
    });
    // Within the same second: the same thisUpdate, and the repository says so; the number one more.
    expect(await next(at(0))).toEqual({
      crlNumber: ms(at(0)) + 1n,
      thisUpdate: at(0).toISOString(),
      previousThisUpdate: at(0).toISOString(),
    });
    // The clock stepped back an hour: thisUpdate stays where it was, the number still grows.
    expect(await next(at(-3600))).toEqual({
      crlNumber: ms(at(0)) + 2n,
      thisUpdate: at(0).toISOString(),
      previousThisUpdate: at(0).toISOString(),
    });
    // Once the clock is past it again, the clock's time.
    expect(await next(at(5))).toEqual({
      crlNumber: ms(at(5)),
      thisUpdate: at(5).toISOString(),
      previousThisUpdate: at(0).toISOString(),
    });
    // A restore from a backup taken before those CRLs (its counter behind them): the next
    // number is still above every number published, since stop 41 of 2026-12-06.
    await database.orm.em
      .fork()
      .execute(
        `update "certificate_authority" set "crl_number" = 1, "crl_this_update" = ? where "id" = ?`,
        [at(0), id],
      );
    const restored = await next(at(6));
    expect(restored.crlNumber).toBe(ms(at(6)));
    expect(restored.crlNumber > ms(at(5))).toBe(true);
  });
}

describe("nextCrl on PostgreSQL", () => {
  let db: TestDatabase;
  let database: Database;
  let store: Store;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    database = await openDatabase({ databaseUrl: db.url, dataDir: "/nonexistent" });
    await migrate(database.orm);
    store = createStore(database.orm);
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  sequenceTest(() => ({ database, store }));

  it("signings at once, on many connections, are dated in the order they are numbered", async () => {
    const id = await insertCa(database);
    // Mostly a later second each, so that most thisUpdates differ from the one before (a
    // previous thisUpdate read before a concurrent signing committed shows), with every fifth
    // signing's clock a minute behind, as a replica's may be.
    const n = 100;
    const nows = Array.from({ length: n }, (_, i) => at(i % 5 === 4 ? i - 60 : i));
    const slots = await Promise.all(nows.map((now) => store.cas.nextCrl(id, now)));
    const byNumber = slots
      .map((s, i) => ({ ...s, now: nows[i]! }))
      .sort((a, b) => Number(a.crlNumber - b.crlNumber));
    // One number each.
    expect(new Set(byNumber.map((s) => s.crlNumber)).size).toBe(n);
    for (const [i, s] of byNumber.entries()) {
      const previous = byNumber[i - 1];
      // What the statement says came before is the CRL numbered just before it...
      expect(s.previousThisUpdate?.getTime() ?? null).toBe(previous?.thisUpdate.getTime() ?? null);
      // ...and its own thisUpdate is the later of that and its clock.
      expect(s.thisUpdate.getTime()).toBe(
        Math.max(s.now.getTime(), previous?.thisUpdate.getTime() ?? -Infinity),
      );
    }
  });
});

describe("nextCrl on the embedded database (PGlite)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-crl-slot-"));
  let database: Database;
  let store: Store;

  beforeAll(async () => {
    database = await openDatabase({ dataDir });
    await migrate(database.orm);
    store = createStore(database.orm);
  }, 120_000);
  afterAll(async () => {
    await database?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  sequenceTest(() => ({ database, store }));
});
