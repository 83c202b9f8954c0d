/**
 * A long lineage costs what a short one does. An issuer token renewing at its rate limit makes
 * 100,000 renewals in minutes; GetCurrentCertificate and a lineage watch used to walk the chain
 * of renewed_by_id, one index lookup per link, on every call, and the watch kept every id of
 * it in memory. Here lineages of 10 and 5,000 links (real renewals at both ends, the links in
 * between made by SQL) give:
 *  - GetCurrentCertificate from any member (by id or serial): the newest certificate, parsed;
 *  - the same number of rows read by PostgreSQL for both (newestSuccessorOf and lineagePlace
 *    counted in the transaction's own statistics, the statement's plan without recursion);
 *  - a watch's first CURRENT event: the newest; then the revocation of a successor of the
 *    certificate watched and its next renewal, but not the revocation of a predecessor;
 * and Migration20261204000000CertificateLineage gives rows stored before it their lineage, and
 * renewals inserted by plain SQL after it (as a replica still on the older code would) theirs.
 */
import { randomUUID, X509Certificate } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateEventType,
  RenewCertificateRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { type Database, openDatabase } from "../../src/store/database";
import { MIGRATIONS } from "../../src/store/migrations";
import {
  NEWEST_OF_LINEAGE_SQL,
  OrmCertificateRepository,
} from "../../src/store/repositories/certificates";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { waitFor } from "../support/wait";
import { WatchStream as Watch } from "../support/watch-stream";

const T = CertificateEventType;
const LINEAGE_MIGRATION = "Migration20261204000000CertificateLineage";

/** A lineage: its certificates' ids, oldest first, and its newest as RenewCertificate gave it. */
interface Lineage {
  ids: string[];
  headPem: string;
  headSerial: string;
}

describe("a lineage of 5,000 links costs what one of 10 does", () => {
  let h: TestCertmint;
  let pg: Client;
  let database: Database;
  const watches: Watch[] = [];
  const lineages: Record<number, Lineage> = {};

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_WATCH_KEEPALIVE_MS: "200",
      CERTMINT_WATCH_POLL_MS: "50",
      CERTMINT_RENEWAL_ENABLED: "false",
    });
    const root = await createRoot(h, "lineage-root");
    await createProfileRows(h, { slug: "web", caId: root.id });
    pg = new Client({ connectionString: h.db.url });
    await pg.connect();
    database = await openDatabase({ databaseUrl: h.db.url, dataDir: "/nonexistent", poolMax: 2 });
    for (const links of [10, 5_000]) lineages[links] = await makeLineage(links);
    await pg.query("analyze certificate");
    // The links' RENEWED events are numbered 1,000 per sequencer round: a watch opened before
    // they all are would receive the rest as new.
    await waitFor("every event numbered", async () => {
      const [row] = await h.db.query<{ n: number }>(
        `select count(*)::int as "n" from "certificate_event" where "position" is null`,
      );
      return row!.n === 0;
    });
  }, 300_000);
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await database?.close();
    await pg?.end();
    await h?.stop();
  });

  const renew = (id: string) =>
    call(
      h.certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({ certificateId: id }),
    ).then((r) => r.certificate!);

  /**
   * `links` renewals: the first and the last through RenewCertificate, the others copies of the
   * first renewal made by SQL in one statement, each linked to the one before (renewed_from_id,
   * renewed_by_id) and given its place in the lineage as the trigger would.
   */
  async function makeLineage(links: number): Promise<Lineage> {
    const cn = `lineage-${links}.example.com`;
    const first = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn, dns: [cn] }),
    );
    const firstId = first.certificate!.certificateId;
    const second = await renew(firstId);
    const made = await pg.query<{ id: string; lineage_depth: number }>(
      `with "n" as (select "i", gen_random_uuid() as "id" from generate_series(1, $2::int) "i"),
         "l" as (select "i", "id", lag("id") over (order by "i") as "prev", lead("id") over (order by "i") as "next" from "n")
       insert into "certificate" ("id", "serial_number", "ca_id", "profile_id", "certificate_request_id",
          "subject", "common_name", "sans", "search_names", "key_algorithm", "signature_algorithm", "key_usages",
          "extended_key_usages", "is_ca", "not_before", "not_after", "fingerprint_sha256", "certificate_pem",
          "chain_pem", "renewed_from_id", "renewed_by_id", "created_at", "owner", "lineage_id", "lineage_depth")
       select "l"."id", md5("l"."id"::text), "s"."ca_id", "s"."profile_id", "s"."certificate_request_id",
          "s"."subject", "s"."common_name", "s"."sans", "s"."search_names", "s"."key_algorithm", "s"."signature_algorithm",
          "s"."key_usages", "s"."extended_key_usages", "s"."is_ca", "s"."not_before", "s"."not_after", md5("l"."id"::text),
          "s"."certificate_pem", "s"."chain_pem", coalesce("l"."prev", "s"."id"), "l"."next",
          "s"."created_at" + "l"."i" * interval '1 microsecond', "s"."owner", "s"."lineage_id", "s"."lineage_depth" + "l"."i"
         from "l", "certificate" "s" where "s"."id" = $1
       returning "id", "lineage_depth"`,
      [second.certificateId, links - 2],
    );
    const copies = made.rows;
    copies.sort((a, b) => Number(a.lineage_depth) - Number(b.lineage_depth));
    const ids = [firstId, second.certificateId, ...copies.map((r) => r.id)];
    await pg.query(`update "certificate" set "renewed_by_id" = $2 where "id" = $1`, [
      second.certificateId,
      ids[2],
    ]);
    const last = await renew(ids.at(-1)!);
    ids.push(last.certificateId);
    return { ids, headPem: last.certificatePem, headSerial: last.serialNumber };
  }

  it("renewals through the API take their predecessor's lineage, one deeper", async () => {
    for (const links of [10, 5_000]) {
      const { ids } = lineages[links]!;
      expect(ids).toHaveLength(links + 1);
      const rows = await h.db.query<{
        id: string;
        lineage_id: string | null;
        lineage_depth: number | null;
      }>(
        `select "id", "lineage_id", "lineage_depth" from "certificate" where "id" = any($1::uuid[])`,
        [[ids[0], ids[1], ids.at(-1)]],
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      expect(byId.get(ids[0]!)).toMatchObject({ lineage_id: null, lineage_depth: null });
      expect(byId.get(ids[1]!)).toMatchObject({ lineage_id: ids[0], lineage_depth: 1 });
      expect(byId.get(ids.at(-1)!)).toMatchObject({ lineage_id: ids[0], lineage_depth: links });
    }
  });

  it("GetCurrentCertificate returns the newest from any member, by id or serial", async () => {
    for (const links of [10, 5_000]) {
      const { ids, headPem, headSerial } = lineages[links]!;
      const [firstSerial] = await h.db.query<{ serial_number: string }>(
        `select "serial_number" from "certificate" where "id" = $1`,
        [ids[0]],
      );
      const refs = [ids[0]!, firstSerial!.serial_number, ids[Math.floor(links / 2)]!, ids.at(-1)!];
      for (const ref of refs) {
        const current = (await call(h.certificates, "getCurrentCertificate", { certificate: ref }))
          .certificate!;
        expect(current.id).toBe(ids.at(-1));
        expect(current.certificatePem).toBe(headPem);
        const parsed = new X509Certificate(current.certificatePem);
        expect(parsed.serialNumber.toLowerCase()).toBe(headSerial);
        expect(parsed.subject).toContain(`CN=lineage-${links}.example.com`);
      }
    }
  });

  /** Rows PostgreSQL fetched from certificate for one call of `fn`, in a transaction of its own. */
  async function rowsFetched(fn: (repo: OrmCertificateRepository) => Promise<unknown>) {
    return database.orm.em.fork().transactional(async (tx: EntityManager) => {
      const fetched = async () => {
        const [row] = await tx.execute<Array<{ n: string }>>(
          `select coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) as n
             from pg_stat_xact_user_tables where relname = 'certificate'`,
        );
        return Number(row?.n ?? 0);
      };
      const before = await fetched();
      await fn(new OrmCertificateRepository(() => tx));
      return (await fetched()) - before;
    });
  }

  it("PostgreSQL reads the same few rows for both lineages, from their first certificate", async () => {
    const figures: Record<number, { newest: number; place: number }> = {};
    for (const links of [10, 5_000]) {
      const { ids } = lineages[links]!;
      let newest = "";
      const newestRows = await rowsFetched(async (repo) => {
        newest = await repo.newestSuccessorOf(ids[0]!);
      });
      expect(newest).toBe(ids.at(-1));
      let place = { lineageId: "", depth: -1 };
      const placeRows = await rowsFetched(async (repo) => {
        place = await repo.lineagePlace(ids[3]!);
      });
      expect(place).toEqual({ lineageId: ids[0], depth: 3 });
      figures[links] = { newest: newestRows, place: placeRows };
    }
    expect(figures[5_000]).toEqual(figures[10]);
    // The certificate named and the newest of its lineage; its place is its own row.
    expect(figures[10]!.newest).toBeLessThanOrEqual(2);
    expect(figures[10]!.place).toBe(1);
  });

  it("the statement is planned on the lineage's index, without recursion", async () => {
    const nodes = (plan: Record<string, unknown>): Array<Record<string, unknown>> => [
      plan,
      ...((plan.Plans as Array<Record<string, unknown>> | undefined) ?? []).flatMap(nodes),
    ];
    const rowCounts: number[] = [];
    for (const links of [10, 5_000]) {
      const { ids } = lineages[links]!;
      const { rows } = await pg.query<{ "QUERY PLAN": Array<{ Plan: Record<string, unknown> }> }>(
        `explain (analyze, format json) ${NEWEST_OF_LINEAGE_SQL.replace("?", "$1")}`,
        [ids[0]],
      );
      const all = nodes(rows[0]!["QUERY PLAN"][0]!.Plan);
      const types = all.map((n) => n["Node Type"]);
      expect(types).not.toContain("Recursive Union");
      expect(types).not.toContain("WorkTable Scan");
      expect(all.map((n) => n["Index Name"])).toContain("certificate_lineage_head_index");
      rowCounts.push(
        all
          .filter((n) => String(n["Node Type"]).includes("Scan"))
          .reduce((sum, n) => sum + Number(n["Actual Rows"]) * Number(n["Actual Loops"]), 0),
      );
    }
    expect(rowCounts).toEqual([2, 2]);
  });

  it("a watch starts with the newest and follows its lineage from the certificate watched on", async () => {
    const { ids } = lineages[5_000]!;
    const fromFirst = new Watch(h, { scope: { $case: "certificateId", value: ids[0]! } });
    const middle = ids[2_500]!;
    const fromMiddle = new Watch(h, { scope: { $case: "certificateId", value: middle } });
    const other = new Watch(h, {
      scope: { $case: "certificateId", value: lineages[10]!.ids[0]! },
    });
    watches.push(fromFirst, fromMiddle, other);
    const current = (w: Watch) => w.events.find((e) => e.type === T.CERTIFICATE_EVENT_TYPE_CURRENT);
    await waitFor("the CURRENT events", () => [fromFirst, fromMiddle, other].every(current));
    expect(current(fromFirst)!.certificate!.id).toBe(ids.at(-1));
    expect(current(fromMiddle)!.certificate!.id).toBe(ids.at(-1));
    expect(current(other)!.certificate!.id).toBe(lineages[10]!.ids.at(-1));

    const revoke = (certificate: string) =>
      call(h.certificates, "revokeCertificate", {
        certificate,
        reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
      });
    const before = ids[1_000]!;
    const after = ids[4_000]!;
    await revoke(before);
    await revoke(after);
    // Both numbered before the renewal is made: events numbered in one sequencer round may come
    // in another order than they were committed in.
    await waitFor("both revocations on the first watch", () =>
      [before, after].every((id) =>
        fromFirst.seen().some(([type, c]) => type === T.CERTIFICATE_EVENT_TYPE_REVOKED && c === id),
      ),
    );
    const next = await renew(ids.at(-1)!);

    const expected = [
      [T.CERTIFICATE_EVENT_TYPE_REVOKED, after],
      [T.CERTIFICATE_EVENT_TYPE_RENEWED, next.certificateId],
    ];
    await waitFor("the renewal on both watches", () =>
      [fromFirst, fromMiddle].every((w) =>
        w
          .seen()
          .some(
            ([type, id]) => type === T.CERTIFICATE_EVENT_TYPE_RENEWED && id === next.certificateId,
          ),
      ),
    );
    // A keepalive after the renewal: the watch read everything there was.
    const settled = (w: Watch) => {
      const at = w.events.findIndex((e) => e.certificate?.id === next.certificateId);
      return w.events.slice(at).some((e) => e.type === T.CERTIFICATE_EVENT_TYPE_KEEPALIVE);
    };
    await waitFor("the watches idle again", () => [fromFirst, fromMiddle].every(settled));
    expect(fromFirst.seen()).toEqual([
      [T.CERTIFICATE_EVENT_TYPE_CURRENT, ids.at(-1)],
      [T.CERTIFICATE_EVENT_TYPE_REVOKED, before],
      ...expected,
    ]);
    // The revocation of a predecessor of the certificate watched is not its lineage's news.
    expect(fromMiddle.seen()).toEqual([
      [T.CERTIFICATE_EVENT_TYPE_CURRENT, ids.at(-1)],
      ...expected,
    ]);
    expect(other.seen()).toEqual([[T.CERTIFICATE_EVENT_TYPE_CURRENT, lineages[10]!.ids.at(-1)]]);
    for (const w of [fromFirst, fromMiddle, other]) expect(w.error).toBeUndefined();
  });
});

describe("the lineage migration on rows stored before it", () => {
  let db: TestDatabase;
  let database: Database;
  const now = new Date("2026-12-01T00:00:00Z");
  const id = () => randomUUID();
  // a0 -> a1 -> a2 -> a3; b0 alone; c0 -> c1 (revoked).
  const a = [id(), id(), id(), id()];
  const b0 = id();
  const c = [id(), id()];
  const profile = id();
  const ca = id();
  let request = "";

  /** A certificate row with only what the migrations before the lineage one require. */
  const insertCert = (cert: string, from: string | null, by: string | null, revoked = false) =>
    db.query(
      `insert into certificate (id, serial_number, ca_id, profile_id, certificate_request_id, subject, sans,
         key_algorithm, signature_algorithm, key_usages, extended_key_usages, not_before, not_after,
         fingerprint_sha256, certificate_pem, chain_pem, owner, created_at, renewed_from_id, renewed_by_id, revoked_at)
       values ($1::uuid, md5($1::uuid::text), $2, $3, $4, '{}', '{}', 'EC_P256', 'ECDSA_WITH_SHA256', '[]', '[]', $5,
         $5::timestamptz + interval '90 days', md5($1::uuid::text), 'pem', '[]', 'alice', $5, $6, $7, $8)`,
      [cert, ca, profile, request, now, from, by, revoked ? now : null],
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    database = await openDatabase({ databaseUrl: db.url, dataDir: "/nonexistent", poolMax: 2 });
    const at = MIGRATIONS.findIndex((m) => m.name === LINEAGE_MIGRATION);
    await database.orm.getMigrator().up({ to: MIGRATIONS[at - 1]!.name });

    await db.query(
      `insert into certificate_authority (id, slug, type, status, subject, key_algorithm, signature_algorithm,
         chain_pem, sealed_private_key, created_at, updated_at)
       values ($1, 'root', 'ROOT', 'ACTIVE', '{"attributes":[]}', 'EC_P256', 'ECDSA_WITH_SHA256', '[]', '\\x00', $2, $2)`,
      [ca, now],
    );
    const policy = id();
    await db.query(
      `insert into certificate_policy (id, slug, spec, created_at, updated_at) values ($1, 'p', '{}', $2, $2)`,
      [policy, now],
    );
    await db.query(
      `insert into certificate_profile (id, slug, policy_id, ca_id, enrollment_method, defaults, renewal,
         validity_overflow, private_key_retention, created_at, updated_at)
       values ($1, 'web', $2, $3, 'API', '{}', '{}', 'FAIL', 'RETURN_ONCE', $4, $4)`,
      [profile, policy, ca, now],
    );
    request = id();
    await db.query(
      `insert into certificate_request (id, profile_id, caller, request_id, request_fingerprint, kind, status,
         subject, sans, params, created_at, updated_at)
       values ($1, $2, 'alice', null, 'f', 'ISSUE', 'PENDING', '{}', '{}', '{}', $3, $3)`,
      [request, profile, now],
    );
    // Newest first, so no walk could follow insertion order.
    await insertCert(a[3]!, a[2]!, null);
    await insertCert(a[2]!, a[1]!, a[3]!);
    await insertCert(a[1]!, a[0]!, a[2]!);
    await insertCert(a[0]!, null, a[1]!);
    await insertCert(b0, null, null);
    await insertCert(c[1]!, c[0]!, null, true);
    await insertCert(c[0]!, null, c[1]!);

    expect(await database.orm.getMigrator().up({ to: LINEAGE_MIGRATION })).toEqual([
      expect.objectContaining({ name: LINEAGE_MIGRATION }),
    ]);
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  const places = async () =>
    new Map(
      (
        await db.query<{ id: string; lineage_id: string | null; lineage_depth: number | null }>(
          `select id, lineage_id, lineage_depth from certificate`,
        )
      ).map((r) => [r.id, [r.lineage_id, r.lineage_depth]]),
    );
  const newest = (of: string) =>
    new OrmCertificateRepository(() => database.orm.em.fork()).newestSuccessorOf(of);

  it("gives each renewal its lineage's first certificate and its depth, and the first none", async () => {
    expect(await places()).toEqual(
      new Map([
        [a[0]!, [null, null]],
        [a[1]!, [a[0], 1]],
        [a[2]!, [a[0], 2]],
        [a[3]!, [a[0], 3]],
        [b0, [null, null]],
        [c[0]!, [null, null]],
        [c[1]!, [c[0], 1]],
      ]),
    );
    for (const member of a) expect(await newest(member)).toBe(a[3]);
    expect(await newest(b0)).toBe(b0);
    for (const member of c) expect(await newest(member)).toBe(c[1]);
    const events = await db.query<{
      certificate_id: string;
      lineage_id: string | null;
      lineage_depth: number | null;
    }>(
      `select certificate_id, lineage_id, lineage_depth from certificate_event where type = 'RENEWED' order by lineage_depth`,
    );
    expect(
      events.filter((e) => e.lineage_id === a[0]).map((e) => [e.certificate_id, e.lineage_depth]),
    ).toEqual([
      [a[1], 1],
      [a[2], 2],
      [a[3], 3],
    ]);
  });

  it("a renewal inserted afterwards by plain SQL, as older code would, gets its place too", async () => {
    const a4 = id();
    await insertCert(a4, a[3]!, null);
    await db.query(`update certificate set renewed_by_id = $2 where id = $1`, [a[3], a4]);
    expect((await places()).get(a4)).toEqual([a[0], 4]);
    expect(await newest(a[0]!)).toBe(a4);
    // An event the renewer writes (RENEWAL_FAILED, EXPIRING) takes its certificate's place.
    await db.query(
      `insert into certificate_event (type, certificate_id, profile_id) values ('EXPIRING', $1, $2), ('EXPIRING', $3, $2)`,
      [a4, profile, b0],
    );
    const events = await db.query(
      `select type, certificate_id, lineage_id, lineage_depth from certificate_event
        where certificate_id = any($1::uuid[]) order by id`,
      [[a4, b0]],
    );
    expect(events).toEqual([
      { type: "ISSUED", certificate_id: b0, lineage_id: null, lineage_depth: null },
      { type: "RENEWED", certificate_id: a4, lineage_id: a[0], lineage_depth: 4 },
      { type: "EXPIRING", certificate_id: a4, lineage_id: a[0], lineage_depth: 4 },
      { type: "EXPIRING", certificate_id: b0, lineage_id: null, lineage_depth: null },
    ]);
  });
});
