/**
 * Orders that never led to a certificate are deleted ORDER_RETENTION_MS after they expired,
 * with their authorizations and challenges (sweepOrders, run by the ACME listener's hourly
 * sweep); orders that issued or still wait for an approver are kept. On PostgreSQL, through the
 * store the server uses, with a clock the test sets.
 */
import { randomUUID } from "node:crypto";
import { MikroORM } from "@mikro-orm/postgresql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepOrders } from "../../src/acme";
import {
  type AcmeRepository,
  ORDER_LIFETIME_MS,
  ORDER_RETENTION_MS,
} from "../../src/issuance/repositories";
import { ormOptions } from "../../src/store/orm-config";
import { createStore } from "../../src/store/store";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

const DAY = 24 * 60 * 60 * 1000;
const T0 = new Date("2026-10-01T00:00:00Z");
/** A day past the retention of orders made at T0. */
const SWEEP_AT = new Date(T0.getTime() + ORDER_LIFETIME_MS + ORDER_RETENTION_MS + DAY);

describe("expired ACME orders that never issued are swept, with their authorizations and challenges", () => {
  let db: TestDatabase;
  let orm: MikroORM;
  let acme: AcmeRepository;
  const profileId = randomUUID();
  let accountId: string;
  const orders: Record<string, string> = {};

  const order = async (name: string, at: Date, status?: "invalid" | "valid" | "processing") => {
    const row = await acme.insertOrder(
      {
        account_id: accountId,
        profile_id: profileId,
        identifiers: [
          { type: "dns", value: `${name}.example.com` },
          { type: "dns", value: `www.${name}.example.com` },
        ],
        replaces: null,
      },
      () => ["http-01", "dns-01"],
      at,
    );
    if (status) {
      await acme.finishOrder(
        row.id,
        status === "valid" ? { status, certificateId: randomUUID() } : { status },
        at,
      );
    }
    orders[name] = row.id;
  };

  /** Orders left, and authorizations and challenges left per order. */
  const left = async () => {
    const rows = await db.query<{ id: string; authz: string; challenges: string }>(
      `select o.id,
              (select count(*) from acme_authorization a where a.order_id = o.id) as authz,
              (select count(*) from acme_challenge c join acme_authorization a on a.id = c.authorization_id
                where a.order_id = o.id) as challenges
         from acme_order o`,
    );
    const byName = Object.fromEntries(Object.entries(orders).map(([n, id]) => [id, n]));
    return Object.fromEntries(
      rows.map((r) => [byName[r.id], [Number(r.authz), Number(r.challenges)]]),
    );
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    orm = await MikroORM.init(ormOptions({ clientUrl: db.url, poolMax: 2, idleTimeoutMs: 1000 }));
    acme = createStore(orm).acme;
    const account = await acme.insertAccount(
      {
        profile_id: profileId,
        key_thumbprint: "thumbprint",
        jwk: { kty: "EC" },
        contact: [],
        eab_key_id: null,
      },
      T0,
    );
    accountId = account!.id;
    await order("old-pending", T0);
    await order("old-invalid", T0, "invalid");
    await order("old-valid", T0, "valid");
    await order("old-processing", T0, "processing");
    await order("recent-pending", new Date(SWEEP_AT.getTime() - ORDER_LIFETIME_MS - DAY));
  });
  afterAll(async () => {
    await orm?.close();
    await db?.drop();
  });

  it("deletes in batches only what is past its retention and never issued; the rest keeps every row", async () => {
    expect(await left()).toEqual({
      "old-pending": [2, 4],
      "old-invalid": [2, 4],
      "old-valid": [2, 4],
      "old-processing": [2, 4],
      "recent-pending": [2, 4],
    });
    // Nothing is past its retention the day before.
    expect(await acme.sweepOrders(new Date(SWEEP_AT.getTime() - 2 * DAY), 10)).toBe(0);
    // A batch of one at a time.
    expect(await acme.sweepOrders(SWEEP_AT, 1)).toBe(1);
    expect(Object.keys(await left())).toHaveLength(4);
    expect(await acme.sweepOrders(SWEEP_AT, 1)).toBe(1);
    expect(await acme.sweepOrders(SWEEP_AT, 1)).toBe(0);
    expect(await left()).toEqual({
      "old-valid": [2, 4],
      "old-processing": [2, 4],
      "recent-pending": [2, 4],
    });
    // Nothing orphaned: every authorization has its order, every challenge its authorization.
    const [orphans] = await db.query<{ authz: string; challenges: string }>(
      `select (select count(*) from acme_authorization a where not exists (select 1 from acme_order o where o.id = a.order_id)) as authz,
              (select count(*) from acme_challenge c where not exists (select 1 from acme_authorization a where a.id = c.authorization_id)) as challenges`,
    );
    expect(orphans).toEqual({ authz: "0", challenges: "0" });
  });

  it("the listener's sweep goes batch after batch until none is left, and stops when the listener closes", async () => {
    const calls: number[] = [];
    const fake = (batches: number[]) => ({
      sweepOrders: async (_now: Date, limit: number) => {
        const n = Math.min(limit, batches.shift() ?? 0);
        calls.push(n);
        return n;
      },
    });
    expect(
      await sweepOrders(
        fake([1000, 1000, 7]),
        () => SWEEP_AT,
        () => false,
      ),
    ).toBe(2007);
    expect(calls).toEqual([1000, 1000, 7]);
    calls.length = 0;
    expect(
      await sweepOrders(
        fake([1000, 1000, 1000]),
        () => SWEEP_AT,
        () => true,
      ),
    ).toBe(1000);
    expect(calls).toEqual([1000]);
  });
});
