import type { EntityManager, MikroORM } from "@mikro-orm/postgresql";
import { AccessTokenEntity, type AccessTokenRow } from "../../store/entities";
import { recordAudit } from "../audit/record";
import { findByRef } from "../common/refs";

/**
 * Revokes a token; revoking a revoked token changes nothing (the first revocation time
 * stands). `forget` evicts it from the authentication cache of this process at once.
 */
export async function revokeAccessToken(
  deps: { orm: MikroORM; now: () => Date; forgetCredential: (tokenId: string) => void },
  ref: string,
): Promise<AccessTokenRow> {
  const em = deps.orm.em.fork();
  const token = await findByRef(em, AccessTokenEntity, ref, "access token", "access_token");
  await em.transactional(async (tx: EntityManager) => {
    await tx.nativeUpdate(
      AccessTokenEntity,
      { id: token.id, revokedAt: null },
      { revokedAt: deps.now() },
    );
    await recordAudit(tx, { type: "access_token", id: token.id });
  });
  deps.forgetCredential(token.id);
  return em.findOneOrFail(AccessTokenEntity, { id: token.id }, { refresh: true });
}
