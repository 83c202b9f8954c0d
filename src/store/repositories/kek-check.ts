import type { EntityManager } from "@mikro-orm/postgresql";
import { kekRotatedError } from "../../errors";
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

  async saveCheck(sealed: Uint8Array, now: Date, kekId: Uint8Array): Promise<void> {
    await this.em().insert(KekCheckEntity, {
      id: 1,
      sealed: Buffer.from(sealed),
      kekId: Buffer.from(kekId),
      createdAt: now,
    });
  }

  async fillKekId(sealed: Uint8Array, kekId: Uint8Array): Promise<boolean> {
    const rows = await this.em()
      .getConnection()
      .execute<Array<{ id: number }>>(
        `update "kek_check" set "kek_id" = ? where "id" = 1 and "sealed" = ?
           and "kek_id" is distinct from ? returning "id"`,
        [Buffer.from(kekId), Buffer.from(sealed), Buffer.from(kekId)],
      );
    return rows.length === 1;
  }
}

/**
 * What a write of a sealed key throws: the database's refusal of a key sealed under a rotated
 * KEK (SQLSTATE CMR01, Migration20261206140000KekIdGuard) as FAILED_PRECONDITION KEK_ROTATED,
 * anything else as it was. The call's failure log line (src/api/call-failure-log.ts) tells the
 * operator to restart this server.
 */
export function staleKekRefusal(err: unknown): unknown {
  return kekRotatedError(err) ?? err;
}
