import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  CertificateProfile,
  PageQuery,
  ProfileRepository,
  ProfileSettings,
  RowKey,
} from "../../issuance/repositories";
import { CertificateProfileEntity } from "../entities";
import { afterCursor, keysetOrder } from "../keyset";
import { fromRow, fromRows, translatingConflicts } from "../rows";

const E = CertificateProfileEntity;

const PROFILE_NO_KEY_UPDATE_SQL = `select "id" from "certificate_profile" where "id" = ? for no key update`;

/** Certificate profiles, on the ORM (`em()` is a fresh fork, or the transaction's). */
export class OrmProfileRepository implements ProfileRepository {
  constructor(private readonly em: () => EntityManager) {}

  async find(key: RowKey): Promise<CertificateProfile | null> {
    const row = await this.em().findOne(E, key, { refresh: true });
    return row && fromRow<CertificateProfile>(row);
  }

  async slugTaken(slug: string): Promise<boolean> {
    return (await this.em().count(E, { slug })) > 0;
  }

  async insert(profile: CertificateProfile): Promise<void> {
    const em = this.em();
    await translatingConflicts(() => em.insert(E, profile), {
      certificate_profile_slug_key: "slug",
    });
  }

  async lockForUpdate(id: string): Promise<CertificateProfile | null> {
    const row = await this.em().findOne(
      E,
      { id },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    );
    return row && fromRow<CertificateProfile>(row);
  }

  async lockForEdit(id: string): Promise<CertificateProfile | null> {
    // FOR NO KEY UPDATE: an edit never changes the id that waiting requests reference, so it
    // need not wait for them, nor they for it (until stop 41 an edit took FOR UPDATE, and a
    // request that would wait for approval, whose FOR KEY SHARE has a 5 s lock timeout, failed
    // ABORTED behind an edit of a large profile's renewal settings, which rewrites the renewal
    // times of its certificates in the same transaction).
    const em = this.em();
    const locked = await em
      .getConnection()
      .execute<{ id: string }[]>(
        PROFILE_NO_KEY_UPDATE_SQL,
        [id],
        "all",
        em.getTransactionContext(),
      );
    if (locked.length === 0) return null;
    return this.find({ id });
  }

  async update(
    id: string,
    version: number,
    changes: ProfileSettings & Pick<CertificateProfile, "version" | "updatedAt">,
  ): Promise<boolean> {
    const em = this.em();
    // A CA it is moved to that is deleted meanwhile: StillReferenced (its foreign key).
    return (await translatingConflicts(() => em.nativeUpdate(E, { id, version }, changes))) > 0;
  }

  async delete(id: string, version: number): Promise<boolean> {
    return (await this.em().nativeDelete(E, { id, version })) > 0;
  }

  async usingPolicy(policyId: string): Promise<CertificateProfile[]> {
    const rows = await this.em().find(E, { policyId }, { orderBy: keysetOrder("asc") });
    return fromRows<CertificateProfile>(rows);
  }

  async slugsUsingCa(caId: string): Promise<string[]> {
    const rows = await this.em().find(E, { caId }, { fields: ["slug"], orderBy: { slug: "asc" } });
    return rows.map((r) => r.slug);
  }

  async listOldestFirst(page: PageQuery): Promise<CertificateProfile[]> {
    const rows = await this.em().find(E, afterCursor(page.after, "asc"), {
      orderBy: keysetOrder("asc"),
      limit: page.limit,
    });
    return fromRows<CertificateProfile>(rows);
  }
}
