import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  CaMatch,
  CaRepository,
  CaStatus,
  CertificateAuthority,
  CrlSlot,
  PageQuery,
  RevokedEntry,
  RowKey,
  SerialStatus,
} from "../../issuance/repositories";
import { CertificateAuthorityEntity } from "../entities";
import { afterCursor, keysetOrder } from "../keyset";
import { fromRow, fromRows, translatingConflicts } from "../rows";
import { staleKekRefusal } from "./kek-check";

const E = CertificateAuthorityEntity;

/** Certificate authorities, on the ORM (`em()` is a fresh fork, or the transaction's). */
export class OrmCaRepository implements CaRepository {
  constructor(private readonly em: () => EntityManager) {}

  async find(key: RowKey): Promise<CertificateAuthority | null> {
    const row = await this.em().findOne(E, key, { refresh: true });
    return row && fromRow<CertificateAuthority>(row);
  }

  async findMany(ids: readonly string[]): Promise<CertificateAuthority[]> {
    if (ids.length === 0) return [];
    return fromRows<CertificateAuthority>(await this.em().find(E, { id: { $in: [...ids] } }));
  }

  async findBySerial(serialNumber: string): Promise<CertificateAuthority | null> {
    const row = await this.em().findOne(E, { serialNumber });
    return row && fromRow<CertificateAuthority>(row);
  }

  async slugTaken(slug: string): Promise<boolean> {
    return (await this.em().count(E, { slug })) > 0;
  }

  async siblingSubjects(
    parentId: string | null,
  ): Promise<Array<Pick<CertificateAuthority, "slug" | "subject">>> {
    const em = this.em();
    if (em.isInTransaction()) {
      await em
        .getConnection()
        .execute(CA_NAMES_LOCK_SQL, [parentId ?? "roots"], "all", em.getTransactionContext());
    }
    const rows = await em.find(
      E,
      parentId === null ? { parentId: null, type: "ROOT" } : { parentId },
      { fields: ["slug", "subject"], refresh: true },
    );
    return rows.map((r) => ({ slug: r.slug, subject: r.subject }));
  }

  async insert(ca: CertificateAuthority): Promise<void> {
    const em = this.em();
    // A CA key sealed under a KEK rotated since this server started: KEK_ROTATED, nothing stored.
    await translatingConflicts(() => em.insert(E, ca), {
      certificate_authority_slug_key: "slug",
    }).catch((err: unknown) => {
      throw staleKekRefusal(err);
    });
  }

  async lockForUpdate(id: string): Promise<CertificateAuthority | null> {
    const row = await this.em().findOne(
      E,
      { id },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    );
    return row && fromRow<CertificateAuthority>(row);
  }

  async update(
    match: CaMatch,
    changes: Partial<Omit<CertificateAuthority, "id">>,
  ): Promise<boolean> {
    return (await this.em().nativeUpdate(E, match, changes)) > 0;
  }

  async delete(id: string, version: number): Promise<boolean> {
    const em = this.em();
    return (await translatingConflicts(() => em.nativeDelete(E, { id, version }))) > 0;
  }

  async disableDescendants(id: string, now: Date): Promise<void> {
    const em = this.em();
    await em.getConnection().execute(
      `with recursive below as (
           select "id" from "certificate_authority" where "parent_id" = ?
           union all
           select c."id" from "certificate_authority" c join below b on c."parent_id" = b."id")
       update "certificate_authority" set "status" = 'DISABLED', "version" = "version" + 1, "updated_at" = ?
        where "id" in (select "id" from below) and "status" = 'ACTIVE'`,
      [id, now],
      "run",
      em.getTransactionContext(),
    );
  }

  async lockSigning(id: string): Promise<void> {
    const em = this.em();
    if (!em.isInTransaction()) throw new Error("lockSigning runs in the changing transaction");
    const run = (sql: string, params: unknown[]) =>
      em.getConnection().execute(sql, params, "all", em.getTransactionContext()) as Promise<
        Array<{ id: string }>
      >;
    // The CA and every CA below it, exclusively, in the order found; then again, for a CA
    // created below one of them before its lock was taken (each new CA waits for its parent's
    // lock in its insert's trigger, so the tree is final once a round finds nothing new).
    const locked = new Set<string>();
    for (;;) {
      const tree = await run(
        `with recursive tree as (
             select "id" from "certificate_authority" where "id" = ?
             union all
             select c."id" from "certificate_authority" c join tree t on c."parent_id" = t."id")
         select "id" from tree`,
        [id],
      );
      const fresh = tree.map((r) => r.id).filter((x) => !locked.has(x));
      if (fresh.length === 0) return;
      for (const x of fresh) {
        await run(`select pg_advisory_xact_lock(${CA_SIGNING_LOCK_CLASS}, hashtext(?::text))`, [x]);
        locked.add(x);
      }
    }
  }

  async countRevocation(id: string): Promise<void> {
    const em = this.em();
    await em
      .getConnection()
      .execute(
        `update "certificate_authority" set "revocation_count" = "revocation_count" + 1 where "id" = ?`,
        [id],
        "run",
        em.getTransactionContext(),
      );
  }

  async revocationCount(id: string): Promise<string | null> {
    const row = await this.em().findOne(E, { id }, { fields: ["revocationCount"] });
    return row ? String(row.revocationCount) : null;
  }

  async nextCrl(id: string, now: Date): Promise<CrlSlot> {
    // One statement (in the CRL's transaction, crl.ts, which reads the entries under the row's
    // lock): the number and the thisUpdate move together on the CA's
    // row, so CRLs signed at once by two replicas are ordered alike by both. The subquery
    // locks the row before it is updated and reads it as it is then (a concurrent signing's
    // commit waited for), which is how the previous thisUpdate is returned: PostgreSQL 15's
    // RETURNING sees only the new row. FOR NO KEY UPDATE, not FOR UPDATE: held while the
    // entries are read, it must not stop certificates being inserted under the CA (their
    // foreign key takes KEY SHARE on this row). Without the lock, the subquery's row is the one of
    // the statement's snapshot: 382 of 400 signings at once returned a previous thisUpdate from
    // before the signing that committed just ahead of them (test/store/crl-slot.test.ts).
    // greatest() ignores the NULL of a CA's first CRL.
    //
    // The number is at least the thisUpdate in milliseconds since 1970 (as Boulder derives its
    // CRL numbers from time), and one more than the previous: still one per CRL and growing
    // (RFC 5280 5.2.3), but also across a restore of the database from a backup, whose counter
    // is behind the numbers published since. Until stop 41 of 2026-12-06 it was a counter from
    // 1: a restored CA signed CRLs under numbers it had already used, or lower, and relying
    // parties that keep the CRL with the highest number ignored them (an outside probe).
    const em = this.em();
    const rows = await em
      .getConnection()
      .execute<
        Array<{ crl_number: string; crl_this_update: Date; previous_this_update: Date | null }>
      >(
        `update "certificate_authority" as "ca"
            set "crl_number" = greatest(
                  "ca"."crl_number" + 1,
                  floor(extract(epoch from ?::timestamptz) * 1000)::bigint),
                "crl_this_update" = greatest("ca"."crl_this_update", ?::timestamptz)
           from (select "id", "crl_this_update" from "certificate_authority" where "id" = ? for no key update) as "previous"
          where "ca"."id" = "previous"."id"
      returning "ca"."crl_number", "ca"."crl_this_update", "previous"."crl_this_update" as "previous_this_update"`,
        [now, now, id],
        "all",
        em.getTransactionContext(),
      );
    const row = rows[0]!;
    return {
      crlNumber: BigInt(row.crl_number),
      thisUpdate: new Date(row.crl_this_update),
      previousThisUpdate: row.previous_this_update && new Date(row.previous_this_update),
    };
  }

  async revokedChildren(id: string, now: Date): Promise<RevokedEntry[]> {
    const rows = await this.em().find(
      E,
      { parentId: id, revokedAt: { $ne: null }, notAfter: { $gt: now } },
      {
        fields: ["serialNumber", "revokedAt", "revocationReason", "invalidityDate"],
        orderBy: { revokedAt: "asc" },
      },
    );
    return rows.map((c) => ({
      serialNumber: c.serialNumber!,
      revokedAt: c.revokedAt!,
      revocationReason: c.revocationReason ?? null,
      ...(c.invalidityDate ? { invalidityDate: c.invalidityDate } : {}),
    }));
  }

  async childrenListed(id: string, now: Date): Promise<SerialStatus[]> {
    const rows = await this.em().find(
      E,
      { parentId: id, notAfter: { $gt: now } },
      {
        fields: ["serialNumber", "revokedAt", "revocationReason", "invalidityDate"],
        orderBy: { notAfter: "asc" },
      },
    );
    return rows.map((r) => ({
      serialNumber: r.serialNumber!,
      revokedAt: r.revokedAt ?? null,
      revocationReason: r.revocationReason ?? null,
      ...(r.invalidityDate ? { invalidityDate: r.invalidityDate } : {}),
    }));
  }

  async childStatuses(id: string, serialNumbers: readonly string[]): Promise<SerialStatus[]> {
    if (serialNumbers.length === 0) return [];
    const rows = await this.em().find(
      E,
      { parentId: id, serialNumber: { $in: [...serialNumbers] } },
      { fields: ["serialNumber", "revokedAt", "revocationReason", "invalidityDate"] },
    );
    return rows.map((r) => ({
      serialNumber: r.serialNumber!,
      revokedAt: r.revokedAt ?? null,
      revocationReason: r.revocationReason ?? null,
      ...(r.invalidityDate ? { invalidityDate: r.invalidityDate } : {}),
    }));
  }

  async childSlugs(id: string): Promise<string[]> {
    const rows = await this.em().find(
      E,
      { parentId: id },
      { fields: ["slug"], orderBy: { slug: "asc" } },
    );
    return rows.map((r) => r.slug);
  }

  async withCertificates() {
    const rows = await this.em().find(
      E,
      { certificatePem: { $ne: null } },
      { fields: ["id", "certificatePem", "chainPem", "revokedAt"] },
    );
    return rows.map((r) => ({
      id: r.id,
      certificatePem: r.certificatePem!,
      chainPem: r.chainPem,
      revokedAt: r.revokedAt ?? null,
    }));
  }

  async listOldestFirst(page: PageQuery & { status?: CaStatus }): Promise<CertificateAuthority[]> {
    const rows = await this.em().find(
      E,
      { $and: [page.status ? { status: page.status } : {}, afterCursor(page.after, "asc")] },
      { orderBy: keysetOrder("asc"), limit: page.limit },
    );
    return fromRows<CertificateAuthority>(rows);
  }
}

/** The advisory lock class of certmint_ca_signs (Migration20261205300000CaSigningGuard). */
const CA_SIGNING_LOCK_CLASS = 1128354631;
/**
 * The advisory lock class of a CA issuer's names (siblingSubjects): "canm", distinct from
 * request locks ("cert") and the signing guard's class.
 */
const CA_NAMES_LOCK_CLASS = 0x63616e6d;

/**
 * Takes the names lock of one issuer (its id; "roots" for roots) to the commit: a CA created
 * below it (storeNewCa) and a CA certificate it signs through a profile (the issuance
 * repository's storeCaIssuance, an approval's LockedRequest.caNames) read its names after it.
 */
export const CA_NAMES_LOCK_SQL = `select pg_advisory_xact_lock(${CA_NAMES_LOCK_CLASS}, hashtext(?::text))`;
