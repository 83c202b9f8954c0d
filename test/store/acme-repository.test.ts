import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AcmeIdentifier, type Store, UniqueConflict } from "../../src/issuance/repositories";
import { type Database, migrate, openDatabase } from "../../src/store/database";
import { createStore } from "../../src/store/store";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

/**
 * The store's ACME repository (src/store/repositories/acme.ts) on PostgreSQL: what the ACME
 * handlers rely on beyond the protocol tests (test/acme): a key rollover race is the domain's
 * UniqueConflict (not a driver error), a nonce is spent once, and an order with its
 * authorizations and challenges is written in the caller's transaction, all or nothing.
 */
describe("the ACME repository", () => {
  let db: TestDatabase;
  let database: Database;
  let store: Store;
  const profileId = randomUUID();
  const now = new Date("2026-12-02T04:00:00Z");

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

  const newAccount = async (thumbprint: string) => {
    const account = await store.acme.insertAccount(
      {
        profile_id: profileId,
        key_thumbprint: thumbprint,
        jwk: { kty: "OKP", crv: "Ed25519", x: thumbprint },
        contact: [],
        eab_key_id: null,
      },
      now,
    );
    expect(account).toBeDefined();
    return account!;
  };

  it("refuses a rollover to another account's key as UniqueConflict, changing nothing", async () => {
    const a = await newAccount("thumb-a");
    const b = await newAccount("thumb-b");
    const rollover = store.transaction((tx) =>
      tx.acme.replaceAccountKey(b.id, a.jwk, a.key_thumbprint, now),
    );
    await expect(rollover).rejects.toBeInstanceOf(UniqueConflict);
    await expect(rollover).rejects.toMatchObject({ key: "account_key" });
    const rows = await db.query(`select key_thumbprint from acme_account where id = $1`, [b.id]);
    expect(rows).toEqual([{ key_thumbprint: "thumb-b" }]);
    // A second newAccount with a taken key is no error: undefined (the handler answers 200).
    const again = await store.acme.insertAccount(
      {
        profile_id: profileId,
        key_thumbprint: "thumb-a",
        jwk: a.jwk,
        contact: [],
        eab_key_id: null,
      },
      now,
    );
    expect(again).toBeUndefined();
  });

  it("spends a nonce once", async () => {
    const nonce = await store.acme.newNonce(now);
    expect(await store.acme.spendNonce(nonce, now)).toBe(true);
    expect(await store.acme.spendNonce(nonce, now)).toBe(false);
    expect(await store.acme.spendNonce("never-issued", now)).toBe(false);
  });

  it("writes an order, its authorizations and challenges in the caller's transaction", async () => {
    const account = await newAccount("thumb-orders");
    const identifiers: AcmeIdentifier[] = [
      { type: "dns", value: "a.example.test" },
      { type: "dns", value: "*.b.example.test" },
    ];
    const insert = (tx: Store["acme"]) =>
      tx.insertOrder(
        { account_id: account.id, profile_id: profileId, identifiers, replaces: null },
        (_id, wildcard) => (wildcard ? ["dns-01"] : ["http-01", "dns-01"]),
        now,
      );

    // Rolled back: nothing of the order remains.
    const failure = new Error("the audit record could not be written");
    await expect(
      store.transaction(async (tx) => {
        await insert(tx.acme);
        throw failure;
      }),
    ).rejects.toBe(failure);
    const count = async () =>
      (
        await db.query<{ orders: number; authzs: number; challenges: number }>(
          `select (select count(*)::int from acme_order where account_id = $1) as orders,
                  (select count(*)::int from acme_authorization where account_id = $1) as authzs,
                  (select count(*)::int from acme_challenge c join acme_authorization a
                     on a.id = c.authorization_id where a.account_id = $1) as challenges`,
          [account.id],
        )
      )[0];
    expect(await count()).toEqual({ orders: 0, authzs: 0, challenges: 0 });

    // Committed: the wildcard's authorization names its base domain and offers dns-01 only.
    const order = await store.transaction((tx) => insert(tx.acme));
    expect(await count()).toEqual({ orders: 1, authzs: 2, challenges: 3 });
    const authzs = await store.acme.authorizationsOf(order.id);
    expect(authzs.map((a) => [a.identifier_value, a.wildcard])).toEqual([
      ["a.example.test", false],
      ["b.example.test", true],
    ]);
    const wildcard = authzs.find((a) => a.wildcard)!;
    expect((await store.acme.challengesOf(wildcard.id)).map((c) => c.type)).toEqual(["dns-01"]);

    // Every authorization valid makes the order ready (RFC 8555 7.1.6), not before.
    for (const [i, authz] of authzs.entries()) {
      const [challenge] = await store.acme.challengesOf(authz.id);
      expect(await store.acme.startChallenge(challenge!.id, now)).toBe(true);
      expect(await store.acme.startChallenge(challenge!.id, now)).toBe(false);
      expect((await store.acme.challenge(challenge!.id))!.started_at).toEqual(now);
      // A stalled validation is claimed by one caller, and only once it started long enough ago.
      const later = new Date(now.getTime() + 1000);
      expect(await store.acme.restartStalledChallenge(challenge!.id, now, later)).toBe(false);
      expect(await store.acme.restartStalledChallenge(challenge!.id, later, later)).toBe(true);
      expect(await store.acme.restartStalledChallenge(challenge!.id, later, later)).toBe(false);
      expect((await store.acme.challenge(challenge!.id))!.started_at).toEqual(later);
      await store.acme.finishChallenge(challenge!, { valid: true }, now);
      expect(await store.acme.restartStalledChallenge(challenge!.id, later, later)).toBe(false);
      const status = (await store.acme.order(order.id))!.status;
      expect(status).toBe(i === authzs.length - 1 ? "ready" : "pending");
    }
  });
});
