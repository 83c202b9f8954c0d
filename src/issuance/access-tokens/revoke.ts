import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { resolveRef } from "../common/refs";
import { stillThere } from "../common/row-lock";
import {
  type AccessTokenRepository,
  type AccessTokenView,
  type AuditRepository,
  accessTokenView,
  type StoreWith,
} from "../repositories";

export interface RevokeAccessTokenDeps {
  store: StoreWith<{
    tokens: Pick<AccessTokenRepository, "find" | "markRevoked">;
    audit: Pick<AuditRepository, "insert">;
  }>;
  now: () => Date;
  /** Evicts the token from the authentication cache of this process at once. */
  forgetCredential: (tokenId: string) => void;
}

/**
 * RevokeAccessToken; revoking a revoked token changes nothing (the first revocation time
 * stands).
 */
export async function revokeAccessToken(
  deps: RevokeAccessTokenDeps,
  call: Call,
  ref: string,
): Promise<AccessTokenView> {
  const token = await resolveRef(ref, "access token", "access_token", (k) =>
    deps.store.tokens.find(k),
  );
  const now = deps.now();
  await deps.store.transaction(async (tx) => {
    await tx.tokens.markRevoked(token.id, now);
    await tx.audit.insert(changeRecord(call, { type: "access_token", id: token.id }, now));
  });
  deps.forgetCredential(token.id);
  return accessTokenView(stillThere(await deps.store.tokens.find({ id: token.id })));
}
