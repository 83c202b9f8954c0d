import { unauthenticated } from "../../errors";
import { type Call, SYSTEM_ACTOR } from "../call";
import type { AccessTokenRepository, StoreWith, TransactionCaller } from "../repositories";

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

/**
 * What a transaction given its call (StoreWith.transaction's `caller`) does first, before the
 * change writes anything: the admin set's lock when the last-admin guard judges the change
 * (the order RevokeAccessToken takes them in), then the caller's token as committed,
 * requireCallerInForce, held FOR SHARE until the change commits.
 *
 * Every administrative change goes through it (CAs, policies, profiles, certificate
 * revocations and hold releases, ACME external account keys): until stop 46 of 2026-12-06
 * only CreateAccessToken and RevokeAccessToken re-read their caller's token, every other
 * change trusted the check made when the call arrived, and a call in flight (a lock wait) or
 * queued for its turn (api/fair-admission.ts) when its token was revoked still committed its
 * change after RevokeAccessToken answered OK. The revocation is a cut now: a change of the
 * token committed before it (the revocation waited for it), or is refused TOKEN_REVOKED with
 * nothing written. In the transaction helper rather than in each use case, so a change cannot
 * forget it; a use case says which call it writes for. Certmint's own calls (SYSTEM_ACTOR)
 * pass; a client certificate binding's calls are held by the binding's token row, as a bearer
 * token's. A call src/acme makes for an ACME account or a certificate's key (acme/acting.ts,
 * method "/acme/<action>": a revocation, RFC 8555 7.6) has no access token to hold: its
 * account or key is its credential, checked by src/acme.
 */
export async function holdCallerInForce(
  tx: { tokens: Pick<AccessTokenRepository, "lockCaller" | "lockAdminCredentials"> },
  caller: TransactionCaller,
): Promise<void> {
  if (caller.lastAdminGuard) await tx.tokens.lockAdminCredentials();
  if (isAcmeCall(caller.call)) return;
  await requireCallerInForce(tx, caller.call, caller.now());
}

/** A call src/acme makes for an account or a certificate's key (acme/acting.ts actorCall). */
const isAcmeCall = (call: Call) => call.method.startsWith("/acme/");

/**
 * The transaction of an administrative change made for `call`: deps.store.transaction given
 * its caller, so its first statements hold the call's token in force (holdCallerInForce).
 * `lastAdminGuard`: the change is judged by the last-admin guard, whose lock comes first.
 */
export function changeTransaction<R, T>(
  deps: { store: StoreWith<R>; now: () => Date },
  caller: { call: Call; lastAdminGuard?: boolean },
  fn: (tx: R) => Promise<T>,
): Promise<T> {
  return deps.store.transaction(fn, { ...caller, now: deps.now });
}
