import type { PolicySpec } from "../policy-engine";
import type { PageQuery, RowKey } from "./paging";

/** A certificate policy: its rules are one canonical spec (the one compilePolicy returned). */
export interface CertificatePolicy {
  id: string;
  slug: string;
  description: string;
  spec: PolicySpec;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface PolicyRepository {
  find(key: RowKey): Promise<CertificatePolicy | null>;
  slugTaken(slug: string): Promise<boolean>;
  /** UniqueConflict("slug") when a racing create took the slug. */
  insert(policy: CertificatePolicy): Promise<void>;
  /** Re-reads the row locked until the transaction ends; null when it is gone. */
  lock(id: string, mode: "update" | "share"): Promise<CertificatePolicy | null>;
  /** Changes the row if it still has `version`; false otherwise. */
  update(
    id: string,
    version: number,
    changes: Pick<CertificatePolicy, "spec" | "description" | "version" | "updatedAt">,
  ): Promise<boolean>;
  /** False when the version moved on; StillReferenced when profiles still use it. */
  delete(id: string, version: number): Promise<boolean>;
  listOldestFirst(page: PageQuery): Promise<CertificatePolicy[]>;
}
