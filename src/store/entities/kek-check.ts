import { defineEntity, type InferEntity } from "@mikro-orm/core";

/**
 * One row: a known value sealed with the key-encryption key, so a server started with the
 * wrong key stops at start-up instead of failing on the first signature.
 */
export const KekCheckEntity = defineEntity({
  name: "KekCheck",
  tableName: "kek_check",
  properties: (p) => ({
    id: p.integer().primary(),
    sealed: p.blob(),
    /**
     * The current KEK's id (src/signer/key-wrap.ts kekIdBytes); null until a server of stop 44
     * or later starts. Sealed keys of another id are refused (Migration20261206140000KekIdGuard).
     */
    kekId: p.blob().nullable(),
    createdAt: p.datetime(),
  }),
});
export type KekCheckRow = InferEntity<typeof KekCheckEntity>;
