/**
 * Automatic renewal is fair between profiles (probe39 MEDIUM-5): claimDue used to claim due
 * certificates in plain auto_renew_at order, so one profile's backlog (thousands due at once)
 * took every claim until it was worked off, and another profile's certificate that came due
 * later waited, and expired. Now, on rows in PostgreSQL (copies of an issued certificate, due
 * when the test says; the renewer itself off, claims made as it makes them):
 *  - a profile's one due certificate, due after all of a 2,000-certificate backlog of another
 *    profile, is in the first claim, beside that backlog's earliest;
 *  - across successive claims (the turn continued as the renewer continues it) each profile
 *    with due certificates gets its share of every claim, its earliest first, the remainder
 *    going round, and a claim is filled from the others once one has nothing left;
 *  - with more profiles than a claim's limit, each gets its turn in the claims that follow;
 *  - two claims at once never claim the same certificate, and a claimed one is claimed again
 *    only once its lease has passed;
 *  - the claim reads a bounded number of certificate rows (EXPLAIN ANALYZE), not the backlog.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ClaimedCertificate } from "../../src/issuance/repositories";
import { CLAIM_DUE_SQL, claimParams } from "../../src/store/repositories/renewals";
import { createStore } from "../../src/store/store";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { autoRenew } from "./helpers";

const BACKLOG = 2_000;
const LEASE_SECONDS = 300;
const MINUTE = 60_000;

describe("automatic renewal claims due certificates fairly between profiles", () => {
  let h: TestCertmint;
  /** Profile slug -> id, and its due certificates' ids, earliest due first. */
  const profiles: Record<string, string> = {};
  const due: Record<string, string[]> = {};
  /** The clock of every claim: all the certificates below are due, none expired. */
  let now: Date;

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_RENEWAL_ENABLED: "false" });
    const root = await createRoot(h, "fair-root");
    now = new Date();
    // backlog: 2,000 due from 2 h ago on, a second apart; lone: one, due a minute ago, after
    // all of them; steady (30) and third (10): due in between, for the successive claims.
    const plan: Array<[string, number, number]> = [
      ["backlog", BACKLOG, now.getTime() - 120 * MINUTE],
      ["lone", 1, now.getTime() - MINUTE],
      ["steady", 30, now.getTime() - 30 * MINUTE],
      ["third", 10, now.getTime() - 20 * MINUTE],
    ];
    for (const [slug, n, firstDueMs] of plan) {
      const { profileId } = await createProfileRows(h, { slug, caId: root.id });
      profiles[slug] = profileId;
      await autoRenew(h.db, profileId, { renewBeforeSeconds: 600 });
      const cn = `${slug}.example.com`;
      const issued = await call(
        h.certificates,
        "issueCertificate",
        attrRequest(slug, { cn, dns: [cn], ttlSeconds: 3600 }),
      );
      due[slug] = await dueCopies(issued.certificate!.certificateId, n, firstDueMs);
    }
    await h.db.query("analyze certificate");
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });
  // Every test starts with nothing claimed.
  beforeEach(async () => {
    await h.db.query(
      `update "certificate" set "renewal_lease_until" = null where "renewal_lease_until" is not null`,
    );
  });

  /**
   * `n` copies of an issued certificate (its profile, owner, validity), due `firstDueMs` on, a
   * second apart; the issued one itself leaves the queue (no auto_renew_at), so the copies are all its
   * profile has due. Their ids, earliest due first.
   */
  async function dueCopies(sourceId: string, n: number, firstDueMs: number): Promise<string[]> {
    const made = await h.db.query<{ id: string }>(
      `insert into "certificate" ("id", "serial_number", "ca_id", "profile_id", "certificate_request_id",
          "subject", "common_name", "sans", "search_names", "key_algorithm", "signature_algorithm", "key_usages",
          "extended_key_usages", "is_ca", "not_before", "not_after", "fingerprint_sha256", "certificate_pem",
          "chain_pem", "created_at", "owner")
       select "n"."id", md5("n"."id"::text), "s"."ca_id", "s"."profile_id", "s"."certificate_request_id",
          "s"."subject", "s"."common_name", "s"."sans", "s"."search_names", "s"."key_algorithm", "s"."signature_algorithm",
          "s"."key_usages", "s"."extended_key_usages", "s"."is_ca", "s"."not_before", "s"."not_after", md5("n"."id"::text),
          "s"."certificate_pem", "s"."chain_pem", "s"."created_at", "s"."owner"
         from (select gen_random_uuid() as "id" from generate_series(1, $2::int)) "n", "certificate" "s"
        where "s"."id" = $1
       returning "id"`,
      [sourceId, n],
    );
    const ids = made.map((r) => r.id);
    // The insert trigger set their renewal time from the profile: each its own, in this order.
    await h.db.query(
      `update "certificate" "c" set "auto_renew_at" = $2::timestamptz + ("o"."i" - 1) * interval '1 second'
         from unnest($1::uuid[]) with ordinality "o"("id", "i") where "c"."id" = "o"."id"`,
      [ids, new Date(firstDueMs)],
    );
    await h.db.query(`update "certificate" set "auto_renew_at" = null where "id" = $1`, [sourceId]);
    return ids;
  }

  const store = () => createStore(h.running.database.orm);

  /** Claims as the renewer does: each claim's turn starts after the last one's last profile. */
  function claimer(limit: number, at: Date = now) {
    let last: string | null = null;
    return async (): Promise<ClaimedCertificate[]> => {
      const claimed = await store().renewals.claimDue(at, limit, LEASE_SECONDS, last);
      last = claimed.at(-1)?.profileId ?? last;
      return claimed;
    };
  }

  const slugOf = (profileId: string) =>
    Object.keys(profiles).find((slug) => profiles[slug] === profileId)!;

  /** The certificates PostgreSQL holds leased, per profile slug, earliest due first. */
  async function leased(): Promise<Record<string, string[]>> {
    const rows = await h.db.query<{ id: string; profile_id: string }>(
      `select "id", "profile_id" from "certificate" where "renewal_lease_until" > $1
        order by "auto_renew_at"`,
      [now],
    );
    const out: Record<string, string[]> = {};
    for (const r of rows) {
      const slug = slugOf(r.profile_id);
      out[slug] = [...(out[slug] ?? []), r.id];
    }
    return out;
  }

  /** Only these profiles have due certificates (the others' leased for the test). */
  async function onlyDue(...slugs: string[]) {
    const others = Object.keys(profiles).filter((s) => !slugs.includes(s));
    await h.db.query(
      `update "certificate" set "renewal_lease_until" = $2 where "profile_id" = any($1::uuid[])`,
      [others.map((s) => profiles[s]), new Date(now.getTime() + 3600_000)],
    );
  }

  it("claims the one due certificate of a profile beside another's backlog, in the first claim", async () => {
    await onlyDue("backlog", "lone");
    const claimed = await claimer(10)();

    expect(claimed).toHaveLength(10);
    expect(claimed.map((c) => c.id)).toContain(due.lone![0]);
    // The rest from the backlog, its earliest first.
    const fromBacklog = claimed.filter((c) => c.profileId === profiles.backlog);
    expect(fromBacklog.map((c) => c.id).sort()).toEqual(due.backlog!.slice(0, 9).sort());
    // In PostgreSQL: exactly those leased.
    const inDb = await leased();
    expect(inDb.lone).toEqual([due.lone![0]]);
    expect(inDb.backlog).toEqual(due.backlog!.slice(0, 9));
  });

  it("gives both profiles their share of every successive claim, earliest first, and fills a claim once one has none left", async () => {
    await onlyDue("backlog", "third");
    const claim = claimer(4);
    const got: Record<string, string[]> = { backlog: [], third: [] };
    const perClaim: Array<Record<string, number>> = [];
    // third's 10 take 5 claims at two a claim; then backlog takes all of each.
    for (let round = 0; round < 7; round++) {
      const claimed = await claim();
      expect(claimed).toHaveLength(4);
      const counts: Record<string, number> = { backlog: 0, third: 0 };
      for (const c of claimed) {
        const slug = slugOf(c.profileId);
        counts[slug]! += 1;
        got[slug]!.push(c.id);
      }
      perClaim.push(counts);
    }
    expect(perClaim.slice(0, 5)).toEqual(Array(5).fill({ backlog: 2, third: 2 }));
    expect(perClaim.slice(5)).toEqual([
      { backlog: 4, third: 0 },
      { backlog: 4, third: 0 },
    ]);
    // Each profile's earliest first: what it got is the start of its queue.
    expect(got.third!.sort()).toEqual([...due.third!].sort());
    expect(got.backlog!.sort()).toEqual(due.backlog!.slice(0, 18).sort());
    const inDb = await leased();
    expect(inDb.third).toEqual(due.third);
    expect(inDb.backlog).toEqual(due.backlog!.slice(0, 18));
  });

  it("passes the remainder round: with three profiles and a limit of four, each gets four of three claims", async () => {
    await onlyDue("backlog", "steady", "third");
    const claim = claimer(4);
    const total: Record<string, number> = { backlog: 0, steady: 0, third: 0 };
    for (let round = 0; round < 3; round++) {
      const claimed = await claim();
      expect(claimed).toHaveLength(4);
      const slugs = new Set(claimed.map((c) => slugOf(c.profileId)));
      // Every profile in every claim.
      expect([...slugs].sort()).toEqual(["backlog", "steady", "third"]);
      for (const c of claimed) total[slugOf(c.profileId)]! += 1;
    }
    expect(total).toEqual({ backlog: 4, steady: 4, third: 4 });
    const inDb = await leased();
    expect(inDb.backlog).toEqual(due.backlog!.slice(0, 4));
    expect(inDb.steady).toEqual(due.steady!.slice(0, 4));
    expect(inDb.third).toEqual(due.third!.slice(0, 4));
  });

  it("gives every profile its turn when there are more profiles than a claim's limit", async () => {
    const claim = claimer(2);
    const turns: Record<string, number> = { backlog: 0, lone: 0, steady: 0, third: 0 };
    for (let round = 0; round < 2; round++) {
      const claimed = await claim();
      expect(claimed).toHaveLength(2);
      // One each: two profiles a claim.
      expect(new Set(claimed.map((c) => c.profileId)).size).toBe(2);
      for (const c of claimed) turns[slugOf(c.profileId)]! += 1;
    }
    // Four profiles, two claims of two: each once, the lone certificate among them.
    expect(turns).toEqual({ backlog: 1, lone: 1, steady: 1, third: 1 });
    expect((await leased()).lone).toEqual(due.lone);
  });

  it("never claims a certificate twice at once, and claims it again once its lease has passed", async () => {
    await onlyDue("backlog", "steady");
    const [a, b] = await Promise.all([
      store().renewals.claimDue(now, 20, LEASE_SECONDS),
      store().renewals.claimDue(now, 20, LEASE_SECONDS),
    ]);
    const ids = [...a!, ...b!].map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    const inDb = await leased();
    expect([...(inDb.backlog ?? []), ...(inDb.steady ?? [])].sort()).toEqual([...ids].sort());

    // Each profile's earliest was claimed by one of them.
    expect(ids).toEqual(expect.arrayContaining([due.backlog![0], due.steady![0]]));

    // Held while the lease lasts: a claim now takes others; once it has passed, them again.
    const meanwhile = await store().renewals.claimDue(now, 10, LEASE_SECONDS);
    expect(meanwhile).toHaveLength(10);
    expect(meanwhile.filter((c) => ids.includes(c.id))).toEqual([]);
    const later = new Date(now.getTime() + (LEASE_SECONDS + 1) * 1000);
    const retaken = await store().renewals.claimDue(later, 2, LEASE_SECONDS);
    expect(retaken.map((c) => c.id).sort()).toEqual([due.backlog![0], due.steady![0]].sort());
  });

  it("reads a bounded number of certificate rows, not the backlog (EXPLAIN ANALYZE)", async () => {
    const limit = 20;
    const plan = await explainClaim(limit);
    const onCertificate = plan.filter((n) => n["Relation Name"] === "certificate");
    expect(onCertificate.map((n) => n["Index Name"])).toContain(
      "certificate_profile_auto_renew_at_index",
    );
    const read = onCertificate.reduce((sum, n) => sum + rowsRead(n), 0);
    // Four profiles: 4 first rows, at most limit - 4 + 1 candidates each, the picked rows
    // again: a few hundred at most, whatever the backlog's 2,000.
    expect(read).toBeLessThan(4 + 4 * (limit - 3) + limit + 50);
    expect(read).toBeLessThan(BACKLOG / 10);
  });

  interface PlanNode {
    "Relation Name"?: string;
    "Index Name"?: string;
    "Actual Rows": number;
    "Actual Loops": number;
    "Rows Removed by Filter"?: number;
    Plans?: PlanNode[];
  }
  const nodesOf = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodesOf)];
  const rowsRead = (n: PlanNode) =>
    (n["Actual Rows"] + (n["Rows Removed by Filter"] ?? 0)) * n["Actual Loops"];

  /** The claim's statement under EXPLAIN ANALYZE, rolled back (it claims nothing). */
  async function explainClaim(limit: number): Promise<PlanNode[]> {
    let k = 0;
    const sql = CLAIM_DUE_SQL.replace(/\?/g, () => `$${++k}`);
    const params = claimParams(now, limit, new Date(now.getTime() + 1000), randomUUID());
    await h.db.query("begin");
    try {
      const [row] = await h.db.query<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>(
        `explain (analyze, format json) ${sql}`,
        params,
      );
      return nodesOf(row!["QUERY PLAN"][0]!.Plan);
    } finally {
      await h.db.query("rollback");
    }
  }
});
