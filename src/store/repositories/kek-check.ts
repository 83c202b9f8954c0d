import type { EntityManager } from "@mikro-orm/postgresql";
import type { KekCheckRepository } from "../../issuance/repositories";
import { CertificateAuthorityEntity, KekCheckEntity } from "../entities";

/** The key-encryption key's check value (one row, id 1). */
export class OrmKekCheckRepository implements KekCheckRepository {
  constructor(private readonly em: () => EntityManager) {}

  async sealedCheck(): Promise<Uint8Array | null> {
    const row = await this.em().findOne(KekCheckEntity, { id: 1 });
    return row?.sealed ?? null;
  }

  async anySealedCaKey(): Promise<{
    id: string;
    slug: string;
    sealedPrivateKey: Uint8Array;
  } | null> {
    const [row] = await this.em().find(
      CertificateAuthorityEntity,
      {},
      { fields: ["id", "slug", "sealedPrivateKey"], orderBy: { createdAt: "asc" }, limit: 1 },
    );
    return row ? { id: row.id, slug: row.slug, sealedPrivateKey: row.sealedPrivateKey } : null;
  }

  async saveCheck(sealed: Uint8Array, now: Date): Promise<void> {
    await this.em().insert(KekCheckEntity, { id: 1, sealed: Buffer.from(sealed), createdAt: now });
  }
}
