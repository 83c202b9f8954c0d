import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  Certificate,
  CertificateFilter,
  CertificateListView,
  CertificateRepository,
  EncodedCrlEntries,
  ExpiringByProfile,
  IssuerRevocation,
  IssuerRevocations,
  LineagePlace,
  ListedCertificate,
  PageQuery,
  RevokedEntry,
  SerialStatus,
} from "../../issuance/repositories";
import type { RevocationReason } from "../../model/pki";
import { readCertificatePage } from "../certificate-page";
import { crlEntriesDerSql } from "../crl-entries-sql";
import { CertificateEntity } from "../entities";
import { withConnection } from "../prepared";
import { fromRow, fromRows } from "../rows";
import { UUIDS } from "../uuid-list";

const E = CertificateEntity;

const CRL_ENTRIES_DER_SQL = crlEntriesDerSql();

/**
 * The revoked, unexpired certificates a CA issued: (CA id, thisUpdate), in the order of
 * certificate_crl_entries_index (expiry), so PostgreSQL streams them from the index without
 * sorting 10^5 rows first (on the core it shares with the server, that sort held other calls).
 */
export const CRL_ENTRIES_SQL = `select "serial_number", extract(epoch from "revoked_at")::float8 as "revoked_epoch", "revocation_reason",
  extract(epoch from "invalidity_date")::float8 as "invalidity_epoch"
  from "certificate" where "ca_id" = ? and "revoked_at" is not null and "not_after" > ?
  order by "not_after"`;

/** Every certificate of a revoked CA its CRL lists (issuedByRevokedCa): revoked or not. */
const ISSUED_BY_REVOKED_CA_SQL = `select "serial_number", extract(epoch from "revoked_at")::float8 as "revoked_epoch", "revocation_reason",
  extract(epoch from "invalidity_date")::float8 as "invalidity_epoch"
  from "certificate" where "ca_id" = ? and "not_after" > ?
  order by "not_after"`;

/** CRL entries read per round trip (revokedIssuedBy): about 5 ms of the event loop each. */
const CRL_ENTRIES_PER_FETCH = 5_000;

interface CrlEntryRow {
  serial_number: string;
  /** null only in ISSUED_BY_REVOKED_CA_SQL's rows (certificates not revoked themselves). */
  revoked_epoch: number | null;
  revocation_reason: string | null;
  invalidity_epoch: number | null;
}

const crlEntry = (r: CrlEntryRow): SerialStatus => ({
  serialNumber: r.serial_number,
  revokedAt: r.revoked_epoch === null ? null : new Date(r.revoked_epoch * 1000),
  revocationReason: r.revocation_reason as RevocationReason | null,
  ...(r.invalidity_epoch === null ? {} : { invalidityDate: new Date(r.invalidity_epoch * 1000) }),
});

/**
 * A certificate (alias "c") whose issuing CA, and every CA above it, is in good standing: not
 * one of REVOKED_ISSUERS_CTE's "below" (tens of rows at most, hashed once per statement). What
 * a revoked CA signed shows ISSUER_REVOKED (certificates/queries.ts), and OCSP answers revoked
 * for it (RFC 6960 2.2), so it is not a profile's valid certificate nor an expiry to watch.
 * Until stop 47 of 2026-12-06 the valid count and the expiry metrics still counted them (an
 * outside probe; test/certificates/stop47-issuer-revoked.test.ts).
 */
const NOT_UNDER_REVOKED_CA = `("c"."ca_id" is null or "c"."ca_id" not in (select "id" from "below"))`;

/** Issued certificates, on the ORM (`em()` is a fresh fork, or the transaction's). */
export class OrmCertificateRepository implements CertificateRepository {
  /**
   * `boundedReads`: a list page honours its PageQuery.bound (store/bounded-read.ts). Only on a
   * PostgreSQL server: the embedded PGlite ignores statement_timeout and serves one session,
   * so nothing could cancel a statement from beside it.
   */
  constructor(
    private readonly em: () => EntityManager,
    private readonly options: { boundedReads?: boolean } = {},
  ) {}

  async findById(id: string): Promise<Certificate | null> {
    const row = await this.em().findOne(E, { id }, { refresh: true });
    return row && fromRow<Certificate>(row);
  }

  async caCertificatesIssuedBy(
    caId: string,
  ): Promise<Array<Pick<Certificate, "id" | "subject" | "spkiSha256">>> {
    // Read through the partial index of CA certificates by issuer
    // (Migration20261206130000CaCertificateIndex): only CreateIntermediate and the issuance of a
    // CA certificate ask, never a leaf's issuance, and an issuer's leaves are not read.
    const rows = await this.em().find(
      E,
      { caId, isCa: true },
      { fields: ["id", "subject", "spkiSha256"], refresh: true },
    );
    return rows.map((r) => ({ id: r.id, subject: r.subject, spkiSha256: r.spkiSha256 ?? null }));
  }

  async findByIds(ids: readonly string[]): Promise<Certificate[]> {
    if (ids.length === 0) return [];
    return fromRows<Certificate>(await this.em().find(E, { id: { $in: [...new Set(ids)] } }));
  }

  async findBySerial(serialNumber: string, limit: number): Promise<Certificate[]> {
    return fromRows<Certificate>(await this.em().find(E, { serialNumber }, { limit }));
  }

  async countValidOfProfile(profileId: string, now: Date, atMost: number): Promise<number> {
    // Bounded: a profile's certificate index (profile_id, created_at desc, id desc) is read
    // until `atMost` rows qualify, not the profile's whole history. Not valid: a certificate
    // whose issuing CA, or a CA above it, was revoked (ISSUER_REVOKED, NOT_UNDER_REVOKED_CA).
    const em = this.em();
    const rows = await em.getConnection().execute<{ n: string }[]>(
      `${REVOKED_ISSUERS_CTE}
       select count(*) as "n" from (select 1 from "certificate" "c"
         where "c"."profile_id" = ? and "c"."revoked_at" is null and "c"."renewed_by_id" is null
           and "c"."not_after" > ? and ${NOT_UNDER_REVOKED_CA} limit ?) "valid"`,
      [profileId, now, atMost],
      "all",
      em.getTransactionContext(),
    );
    return Number(rows[0]?.n ?? 0);
  }

  async findIssued(serialNumber: string, fingerprintSha256: string): Promise<Certificate | null> {
    const row = await this.em().findOne(E, { serialNumber, fingerprintSha256 }, { refresh: true });
    return row && fromRow<Certificate>(row);
  }

  async lockRevocation(id: string): Promise<void> {
    // NO KEY UPDATE: as the UPDATEs after it, so inserts whose foreign key names the row
    // (a renewal's renewed_from_id) do not wait for it.
    const em = this.em();
    await em
      .getConnection()
      .execute(
        `select 1 from "certificate" where "id" = ? for no key update`,
        [id],
        "all",
        em.getTransactionContext(),
      );
  }

  async markRevoked(
    id: string,
    reason: RevocationReason,
    now: Date,
    invalidityDate: Date | null = null,
  ): Promise<boolean> {
    const n = await this.em().nativeUpdate(
      E,
      { id, revokedAt: null },
      { revokedAt: now, revocationReason: reason, invalidityDate },
    );
    return n > 0;
  }

  async markKeyCompromised(id: string, invalidityDate: Date | null = null): Promise<boolean> {
    const n = await this.em().nativeUpdate(
      E,
      { id, revokedAt: { $ne: null }, revocationReason: { $ne: "KEY_COMPROMISE" } },
      { revocationReason: "KEY_COMPROMISE", ...(invalidityDate ? { invalidityDate } : {}) },
    );
    return n > 0;
  }

  async backdateInvalidity(id: string, invalidityDate: Date): Promise<boolean> {
    const n = await this.em().nativeUpdate(
      E,
      {
        id,
        revokedAt: { $ne: null },
        revocationReason: "KEY_COMPROMISE",
        $or: [{ invalidityDate: null }, { invalidityDate: { $gt: invalidityDate } }],
      },
      { invalidityDate },
    );
    return n > 0;
  }

  async finishHold(
    id: string,
    reason: RevocationReason,
    invalidityDate: Date | null = null,
  ): Promise<boolean> {
    const n = await this.em().nativeUpdate(
      E,
      { id, revokedAt: { $ne: null }, revocationReason: "CERTIFICATE_HOLD" },
      { revocationReason: reason, invalidityDate },
    );
    return n > 0;
  }

  async releaseHold(id: string): Promise<boolean> {
    const em = this.em();
    // certmint_key_blocked takes the key's lock shared, as an issuance of the key does: a
    // key-compromise revocation (blockKey, exclusive) either committed before, and this
    // releases nothing, or waits for this and then finds the certificate valid and revokes it.
    // The CRL entry is cleared by a trigger (Migration20261206100000HoldRelease). Its renewal
    // times are worked out again from its profile's renewal settings as they are now, as an
    // insert does (certmint_certificate_renew_at): a change of those settings while it was on
    // hold passed it by (certmint_profile_renew_at updates certificates in force only), and
    // until stop 49 of 2026-12-06 a certificate released after its profile's automatic renewal
    // was switched on was never renewed, nor noted as expiring (an outside probe).
    const rows = await em.getConnection().execute<Array<{ id: string }>>(
      `update "certificate" "c" set "revoked_at" = null, "revocation_reason" = null, "invalidity_date" = null,
          "renew_at" = "t"."renew_at",
          "auto_renew_at" = case when "t"."auto" then "t"."renew_at" end
        from (select coalesce("p"."renewal" @> '{"autoRenew": true}'::jsonb, false) as "auto",
                     case when "p"."renewal" is null then null
                          else "certmint_renew_at"("p"."renewal", "x"."not_before", "x"."not_after")
                     end as "renew_at"
                from "certificate" "x"
                left join "certificate_profile" "p" on "p"."id" = "x"."profile_id"
               where "x"."id" = ?) "t"
        where "c"."id" = ? and "c"."revoked_at" is not null
          and "c"."revocation_reason" = 'CERTIFICATE_HOLD'
          and not ("c"."spki_sha256" is not null and "certmint_key_blocked"("c"."spki_sha256"))
        returning "c"."id"`,
      [id, id],
      "all",
      em.getTransactionContext(),
    );
    return rows.length > 0;
  }

  async forgetPrivateKeys(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const em = this.em();
    const run = (sql: string) =>
      em.getConnection().execute(sql, [JSON.stringify(ids)], "run", em.getTransactionContext());
    await run(
      `update "certificate" set "sealed_private_key" = null
        where "id" in (${UUIDS}) and "sealed_private_key" is not null`,
    );
    await run(
      `update "certificate_request" set "sealed_private_key" = null, "key_held_until" = null
        where "id" in (select "certificate_request_id" from "certificate" where "id" in (${UUIDS}))
          and "sealed_private_key" is not null`,
    );
  }

  async blockKey(spkiSha256: string, certificateId: string, now: Date): Promise<Certificate[]> {
    const em = this.em();
    if (!em.isInTransaction()) throw new Error("blockKey runs in the revoking transaction");
    const run = (sql: string, params: unknown[]) =>
      em.getConnection().execute(sql, params, "all", em.getTransactionContext()) as Promise<
        Array<Record<string, unknown>>
      >;
    // The key's lock, exclusively: issuances of the key that looked before (they hold it
    // shared, certmint_key_blocked) commit first, and the statements below see them.
    await run(`select pg_advisory_xact_lock(1801812339, "certmint_key_lock"(?))`, [spkiSha256]);
    await run(
      `insert into "blocked_key" ("spki_sha256", "blocked_at", "certificate_id") values (?, ?, ?)
         on conflict ("spki_sha256") do nothing`,
      [spkiSha256, now, certificateId],
    );
    const rows = await run(
      `select "id" from "certificate" where "certmint_key_prefix"("spki_sha256") = "certmint_key_prefix"(?)
         and "spki_sha256" = ? and ("revoked_at" is null or "revocation_reason" is distinct from 'KEY_COMPROMISE')`,
      [spkiSha256, spkiSha256],
    );
    return this.findByIds(rows.map((r) => r.id as string));
  }

  async keyBlockBackfill(): Promise<string[]> {
    const rows = (await this.em()
      .getConnection()
      .execute(`select "certificate_id" from "key_block_backfill" order by 1`)) as Array<{
      certificate_id: string;
    }>;
    return rows.map((r) => r.certificate_id);
  }

  async forgetKeyBlockBackfill(certificateId: string): Promise<void> {
    await this.em()
      .getConnection()
      .execute(
        `delete from "key_block_backfill" where "certificate_id" = ?`,
        [certificateId],
        "run",
      );
  }

  async isKeyBlocked(spkiSha256: string): Promise<boolean> {
    const em = this.em();
    const rows = (await em
      .getConnection()
      .execute(
        `select 1 from "blocked_key" where "spki_sha256" = ?`,
        [spkiSha256],
        "all",
        em.getTransactionContext(),
      )) as unknown[];
    return rows.length > 0;
  }

  async revokedIssuedBy(caId: string, now: Date): Promise<RevokedEntry[]> {
    return (await this.crlRows(CRL_ENTRIES_SQL, caId, now)) as RevokedEntry[];
  }

  async issuedByRevokedCa(caId: string, now: Date): Promise<SerialStatus[]> {
    return this.crlRows(ISSUED_BY_REVOKED_CA_SQL, caId, now);
  }

  /** The rows of `sql` (CRL_ENTRIES_SQL or ISSUED_BY_REVOKED_CA_SQL) for this CA and time. */
  private async crlRows(sql: string, caId: string, now: Date): Promise<SerialStatus[]> {
    // Plain rows, not entities: a CRL may list 10^5 certificates (issue 14). Served from the
    // index alone (certificate_crl_entries_index); the time as epoch seconds, a float8 that
    // arrives as a number. Read through a cursor, CRL_ENTRIES_PER_FETCH rows per round trip:
    // one result of 10^5 rows kept the event loop busy for up to 80 ms at a time (parsing and
    // mapping them in one go), which other calls waited behind; between fetches they run.
    if (this.em().isInTransaction()) {
      const rows = await this.em()
        .getConnection()
        .execute<CrlEntryRow[]>(sql, [caId, now], "all", this.em().getTransactionContext());
      return rows.map(crlEntry);
    }
    return withConnection(this.em(), async (connection) => {
      // A cursor lives in a transaction: read only, one snapshot for every fetch.
      await connection.command("begin transaction read only");
      try {
        await connection.execute(`declare crl_entries no scroll cursor for ${sql}`, [caId, now]);
        const entries: SerialStatus[] = [];
        for (;;) {
          const rows = await connection.execute<CrlEntryRow[]>(
            `fetch ${CRL_ENTRIES_PER_FETCH} from crl_entries`,
            [],
          );
          for (const row of rows) entries.push(crlEntry(row));
          if (rows.length < CRL_ENTRIES_PER_FETCH) break;
        }
        await connection.command("commit");
        return entries;
      } catch (err) {
        await connection.command("rollback").catch(() => connection.discard("rollback failed"));
        throw err;
      }
    });
  }

  async revokedEntriesDer(caId: string, now: Date): Promise<EncodedCrlEntries | null> {
    // One statement, no cursor: its result is a few rows of ~250 KB, each parsed as its bytes
    // arrive, so other calls run between them (crl-entries-sql.ts).
    const rows = await this.em()
      .getConnection()
      .execute<Array<{ der: Buffer | null; n: number; ok: boolean }>>(
        CRL_ENTRIES_DER_SQL,
        [caId, now],
        "all",
        this.em().getTransactionContext(),
      );
    if (rows.some((r) => !r.ok || r.der === null)) return null;
    return {
      der: Buffer.concat(rows.map((r) => r.der as Buffer)),
      count: rows.reduce((n, r) => n + r.n, 0),
    };
  }

  async statusesIssuedBy(caId: string, serialNumbers: readonly string[]): Promise<SerialStatus[]> {
    if (serialNumbers.length === 0) return [];
    const rows = await this.em().find(
      E,
      { caId, serialNumber: { $in: [...serialNumbers] } },
      { fields: ["serialNumber", "revokedAt", "revocationReason", "invalidityDate"] },
    );
    return rows.map((r) => ({
      serialNumber: r.serialNumber,
      revokedAt: r.revokedAt ?? null,
      revocationReason: r.revocationReason ?? null,
      ...(r.invalidityDate ? { invalidityDate: r.invalidityDate } : {}),
    }));
  }

  countIssuedBy(caId: string): Promise<number> {
    return this.em().count(E, { caId });
  }

  async countExpiring(now: Date, soon: Date, later: Date): Promise<ExpiringByProfile[]> {
    // One range scan of the not_after index (certificate_not_after_created_at_index) to `later`.
    // A certificate under a revoked CA (ISSUER_REVOKED) is no longer valid: its expiry counts
    // for nothing (NOT_UNDER_REVOKED_CA).
    const rows = await this.em()
      .getConnection()
      .execute<Array<{ profile: string | null; by_soon: string; by_later: string }>>(
        `${REVOKED_ISSUERS_CTE}
       select p."slug" as profile,
              count(*) filter (where c."not_after" <= ?) as by_soon,
              count(*) as by_later
         from "certificate" c left join "certificate_profile" p on p."id" = c."profile_id"
        where c."not_after" > ? and c."not_after" <= ?
          and c."revoked_at" is null and c."renewed_by_id" is null
          and ${NOT_UNDER_REVOKED_CA}
        group by p."slug"`,
        [soon, now, later],
      );
    return rows.map((r) => ({
      profileSlug: r.profile,
      bySoon: Number(r.by_soon),
      byLater: Number(r.by_later),
    }));
  }

  async issuedAmong(
    certificates: ReadonlyArray<{ serialNumber: string; fingerprintSha256: string }>,
  ): Promise<Array<{ fingerprintSha256: string; revoked: boolean }>> {
    if (certificates.length === 0) return [];
    const wanted = new Set(certificates.map((c) => c.fingerprintSha256));
    // By the serial's index; the fingerprint tells apart same-serial certificates of other CAs.
    const rows = await this.em().find(
      E,
      { serialNumber: { $in: [...new Set(certificates.map((c) => c.serialNumber))] } },
      { fields: ["fingerprintSha256", "revokedAt"], refresh: true },
    );
    return rows
      .filter((row) => wanted.has(row.fingerprintSha256))
      .map((row) => ({
        fingerprintSha256: row.fingerprintSha256,
        revoked: Boolean(row.revokedAt),
      }));
  }

  async isRevoked(serialNumber: string, fingerprintSha256: string): Promise<boolean> {
    const row = await this.em().findOne(
      E,
      { serialNumber, fingerprintSha256 },
      { fields: ["revokedAt"] },
    );
    return Boolean(row?.revokedAt);
  }

  async revokedIssuers(): Promise<IssuerRevocations> {
    const em = this.em();
    const rows = await em.getConnection().execute<
      Array<{
        id: string;
        revoked_ca_id: string;
        revoked_epoch: number;
        revocation_reason: string | null;
        invalidity_epoch: number | null;
      }>
    >(REVOKED_ISSUERS_SQL, [], "all", em.getTransactionContext());
    const issuers = new Map<string, IssuerRevocation>();
    for (const r of rows) {
      issuers.set(r.id, {
        revokedCaId: r.revoked_ca_id,
        revokedAt: new Date(r.revoked_epoch * 1000),
        revocationReason: r.revocation_reason as RevocationReason | null,
        invalidityDate: r.invalidity_epoch === null ? null : new Date(r.invalidity_epoch * 1000),
      });
    }
    return issuers;
  }

  /**
   * Newest first, in the one statement of certificate-page.ts that stays flat to millions of
   * rows; each row carries its created_at to the microsecond for the next page's cursor.
   * Within page.bound (ReadStopped past it) when boundedReads.
   */
  async listNewestFirst(
    filter: CertificateFilter,
    page: PageQuery,
    view: CertificateListView,
  ): Promise<Array<ListedCertificate & { createdAtText: string }>> {
    const bound = this.options.boundedReads ? page.bound : undefined;
    const revoked = filter.revokedIssuers ?? new Map();
    // ACTIVE and EXPIRED with revoked CAs may be read CA by CA (certificate-page.ts): the CAs in
    // good standing, from the CA table (tens of rows).
    const standingCaIds =
      (filter.state === "ACTIVE" || filter.state === "EXPIRED") && revoked.size > 0
        ? (
            await this.em()
              .getConnection()
              .execute<Array<{ id: string }>>(
                `select "id" from "certificate_authority" order by "id"`,
                [],
                "all",
                this.em().getTransactionContext(),
              )
          )
            .map((r) => r.id)
            .filter((id) => !revoked.has(id))
        : undefined;
    const rows = await readCertificatePage(
      this.em(),
      {
        profileId: filter.profileId,
        caId: filter.caId,
        status: filter.state,
        now: filter.now,
        issuerRevokedCaIds: [...revoked.keys()],
        revokedCaIdOf: new Map([...revoked].map(([id, r]) => [id, r.revokedCaId])),
        standingCaIds,
        expiresBefore: filter.expiresBefore,
        // LIKE metacharacters in the needle are matched literally.
        namePattern:
          filter.nameContains === undefined
            ? undefined
            : `%${filter.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
        after: page.after,
        limit: page.limit,
        withPem: view === "FULL",
      },
      bound,
    );
    return rows.map((r) => ({
      ...fromRow<ListedCertificate>(r.certificate),
      createdAtText: r.createdAtText,
    }));
  }

  async newestSuccessorOf(id: string): Promise<string> {
    const [row] = await this.em().execute<Array<{ id: string }>>(NEWEST_OF_LINEAGE_SQL, [id]);
    return row?.id ?? id;
  }

  async lineagePlace(id: string): Promise<LineagePlace> {
    const [row] = await this.em().execute<Array<{ lineage_id: string; depth: number }>>(
      LINEAGE_PLACE_SQL,
      [id],
    );
    return { lineageId: row?.lineage_id ?? id, depth: Number(row?.depth ?? 0) };
  }
}

/**
 * Every CA revoked or below a revoked CA (id), with the nearest revoked CA at or above it: each
 * revoked CA stands for itself, and the walk down from it stops at a CA revoked on its own
 * (which stands for its own subtree), as ca/revoke.ts revokedAbove walks up from a CA to the
 * first revoked one. Reads the certificate_authority table only (tens of rows); the depth bound
 * guards against a cycle no parent_id can make. The time as epoch seconds (a float8 that
 * arrives as a number, to the microsecond).
 */
const REVOKED_ISSUERS_CTE = `with recursive "below" ("id", "revoked_ca_id", "revoked_at", "revocation_reason", "invalidity_date", "depth") as (
     select "id", "id", "revoked_at", "revocation_reason", "invalidity_date", 0 from "certificate_authority"
      where "revoked_at" is not null
     union all
     select "c"."id", "b"."revoked_ca_id", "b"."revoked_at", "b"."revocation_reason", "b"."invalidity_date", "b"."depth" + 1
       from "certificate_authority" "c" join "below" "b" on "c"."parent_id" = "b"."id"
      where "c"."revoked_at" is null and "b"."depth" < 32
   )`;

export const REVOKED_ISSUERS_SQL = `${REVOKED_ISSUERS_CTE}
   select "id", "revoked_ca_id", extract(epoch from "revoked_at")::float8 as "revoked_epoch", "revocation_reason",
          extract(epoch from "invalidity_date")::float8 as "invalidity_epoch"
     from "below"`;

/**
 * The newest certificate of the lineage of a certificate (id): two index lookups whatever the
 * lineage's length, the certificate by its primary key, then its lineage's newest by
 * certificate_lineage_head_index (Migration20261204000000CertificateLineage). A lineage's
 * first certificate has no lineage_id (it is its own); one never renewed is its own newest,
 * and the index does not hold it.
 */
export const NEWEST_OF_LINEAGE_SQL = `select coalesce(
     (select "h"."id" from "certificate" "h"
       where "h"."lineage_id" = coalesce("s"."lineage_id", "s"."id") and "h"."renewed_by_id" is null
       order by "h"."lineage_depth" desc limit 1),
     "s"."id") as "id"
   from "certificate" "s" where "s"."id" = ?`;

/** A certificate's lineage and depth in it (id), by its primary key. */
const LINEAGE_PLACE_SQL = `select coalesce("lineage_id", "id") as "lineage_id", coalesce("lineage_depth", 0) as "depth"
   from "certificate" where "id" = ?`;
