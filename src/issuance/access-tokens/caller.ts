import { unauthenticated } from "../../errors";
import { type Call, SYSTEM_ACTOR } from "../call";
import type { AccessTokenRepository } from "../repositories";

/**
 * Authorizes a credential-changing call against its caller's token as committed, inside the
 * transaction that writes the change: the caller's row is read FOR SHARE (lockCaller) and the
 * call is refused, UNAUTHENTICATED TOKEN_REVOKED or TOKEN_EXPIRED as authentication would,
 * when the token is revoked or expired by now. A revocation (RevokeAccessToken locks the row
 * FOR NO KEY UPDATE before it writes) therefore waits for the changes its token has in flight
 * to commit, and any change after it sees the revocation: once RevokeAccessToken answered OK,
 * the token makes no credential, on any replica, whatever any process's credential cache says
 * and however long the call waited for its turn (api/fair-admission.ts) after it was
 * authenticated.
 *
 * Found by an outside probe of stop 45 (2026-12-06, F8): authentication checked the token
 * when the call arrived, never again, so a revoked admin token minted admin tokens that
 * outlived its revocation: a call slowed by a lock wait, a call on another replica before its
 * cache heard of the revocation (about 100 ms, 20 tokens in one round), a call queued for its
 * turn on a busy server.
 *
 * Certmint's own calls (start-up: the first admin token) have no token row and pass.
 */
export async function requireCallerInForce(
  tx: { tokens: Pick<AccessTokenRepository, "lockCaller"> },
  call: Call,
  now: Date,
): Promise<void> {
  const { actor } = call;
  if (actor.id === SYSTEM_ACTOR.id) return;
  const caller = await tx.tokens.lockCaller(actor.id);
  if (!caller) {
    throw unauthenticated("TOKEN_UNKNOWN", "the access token is not known here");
  }
  if (caller.revokedAt) {
    throw unauthenticated(
      "TOKEN_REVOKED",
      `access token "${caller.slug}" was revoked at ${caller.revokedAt.toISOString()}, before this call's change could be made; nothing was changed`,
    );
  }
  if (caller.expiresAt.getTime() <= now.getTime()) {
    throw unauthenticated(
      "TOKEN_EXPIRED",
      `access token "${caller.slug}" expired at ${caller.expiresAt.toISOString()}, before this call's change could be made; nothing was changed; an admin can create a new one`,
    );
  }
}
