import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  CertificatePolicy,
  PageQuery,
  PolicyRepository,
  RowKey,
} from "../../issuance/repositories";
import { CertificatePolicyEntity } from "../entities";
import { afterCursor, keysetOrder } from "../keyset";
import { fromRow, fromRows, translatingConflicts } from "../rows";

const E = CertificatePolicyEntity;

/** Certificate policies, on the ORM (`em()` is a fresh fork, or the transaction's). */
export class OrmPolicyRepository implements PolicyRepository {
  constructor(private readonly em: () => EntityManager) {}

  async find(key: RowKey): Promise<CertificatePolicy | null> {
    const row = await this.em().findOne(E, key, { refresh: true });
    return row && fromRow<CertificatePolicy>(row);
  }

  async slugTaken(slug: string): Promise<boolean> {
    return (await this.em().count(E, { slug })) > 0;
  }

  async insert(policy: CertificatePolicy): Promise<void> {
    const em = this.em();
    await translatingConflicts(() => em.insert(E, policy), {
      certificate_policy_slug_key: "slug",
    });
  }

  async lock(id: string, mode: "update" | "share"): Promise<CertificatePolicy | null> {
    const lockMode = mode === "update" ? LockMode.PESSIMISTIC_WRITE : LockMode.PESSIMISTIC_READ;
    const row = await this.em().findOne(E, { id }, { lockMode, refresh: true });
    return row && fromRow<CertificatePolicy>(row);
  }

  async update(
    id: string,
    version: number,
    changes: Pick<CertificatePolicy, "spec" | "description" | "version" | "updatedAt">,
  ): Promise<boolean> {
    return (await this.em().nativeUpdate(E, { id, version }, changes)) > 0;
  }

  async delete(id: string, version: number): Promise<boolean> {
    const em = this.em();
    return (await translatingConflicts(() => em.nativeDelete(E, { id, version }))) > 0;
  }

  async listOldestFirst(page: PageQuery): Promise<CertificatePolicy[]> {
    const rows = await this.em().find(E, afterCursor(page.after, "asc"), {
      orderBy: keysetOrder("asc"),
      limit: page.limit,
    });
    return fromRows<CertificatePolicy>(rows);
  }
}
