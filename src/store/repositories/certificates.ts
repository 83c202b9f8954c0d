import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  Certificate,
  CertificateFilter,
  CertificateRepository,
  PageQuery,
  RevokedEntry,
} from "../../issuance/repositories";
import type { RevocationReason } from "../../model/pki";
import { CertificateEntity } from "../entities";
import { afterCursor, keysetOrder } from "../keyset";
import { fromRow, fromRows } from "../rows";

const E = CertificateEntity;

/** Issued certificates, on the ORM (`em()` is a fresh fork, or the transaction's). */
export class OrmCertificateRepository implements CertificateRepository {
  constructor(private readonly em: () => EntityManager) {}

  async findById(id: string): Promise<Certificate | null> {
    const row = await this.em().findOne(E, { id }, { refresh: true });
    return row && fromRow<Certificate>(row);
  }

  async findBySerial(serialNumber: string, limit: number): Promise<Certificate[]> {
    return fromRows<Certificate>(await this.em().find(E, { serialNumber }, { limit }));
  }

  async markRevoked(id: string, reason: RevocationReason, now: Date): Promise<boolean> {
    const n = await this.em().nativeUpdate(
      E,
      { id, revokedAt: null },
      { revokedAt: now, revocationReason: reason },
    );
    return n > 0;
  }

  async revokedIssuedBy(caId: string, now: Date): Promise<RevokedEntry[]> {
    const rows = await this.em().find(
      E,
      { caId, revokedAt: { $ne: null }, notAfter: { $gt: now } },
      { fields: ["serialNumber", "revokedAt", "revocationReason"], orderBy: { revokedAt: "asc" } },
    );
    return rows.map((c) => ({
      serialNumber: c.serialNumber,
      revokedAt: c.revokedAt!,
      revocationReason: c.revocationReason ?? null,
    }));
  }

  countIssuedBy(caId: string): Promise<number> {
    return this.em().count(E, { caId });
  }

  async isRevoked(fingerprintSha256: string): Promise<boolean> {
    const row = await this.em().findOne(E, { fingerprintSha256 }, { fields: ["revokedAt"] });
    return Boolean(row?.revokedAt);
  }

  async listNewestFirst(filter: CertificateFilter, page: PageQuery): Promise<Certificate[]> {
    const where: Record<string, unknown>[] = [];
    if (filter.profileId) where.push({ profileId: filter.profileId });
    if (filter.caId) where.push({ caId: filter.caId });
    const now = filter.now;
    if (filter.state === "REVOKED") where.push({ revokedAt: { $ne: null } });
    if (filter.state === "ACTIVE") where.push({ revokedAt: null, notAfter: { $gt: now } });
    if (filter.state === "EXPIRED") where.push({ revokedAt: null, notAfter: { $lte: now } });
    if (filter.expiresBefore) where.push({ notAfter: { $lt: filter.expiresBefore } });
    if (filter.nameContains) {
      // LIKE metacharacters in the needle are matched literally.
      const needle = filter.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`);
      where.push({ searchNames: { $like: `%${needle}%` } });
    }
    if (page.after) where.push(afterCursor(page.after, "desc"));
    const rows = await this.em().find(E, where.length ? { $and: where } : {}, {
      orderBy: keysetOrder("desc"),
      limit: page.limit,
    });
    return fromRows<Certificate>(rows);
  }
}
