import { unauthenticated } from "../../errors";
import { type Call, credentialLineCut, SYSTEM_ACTOR } from "../call";
import type { AccessTokenRepository, StoreWith } from "../repositories";

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
  tx: { tokens: Pick<AccessTokenRepository, "lockCaller" | "lockVouchers"> },
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
  await requireVouchersUncut(tx, call);
}

/**
 * The tokens the call's client certificate rests on (Actor.vouchers: those it was vouched for
 * by), held FOR SHARE to the commit like the caller's own: a cut of their line
 * (RevokeAccessToken with revoke_created_tokens, which locks every token of the line first)
 * is waited for, and once committed refuses the change, UNAUTHENTICATED CREDENTIAL_LINE_CUT.
 * Until stop 59 of 2026-12-07 only the caller's token was held, so a workload authenticating
 * with a certificate a leaked admin token had issued went on making certificates vouched for
 * by that token while its line was cut, faster than the cut could revoke them (an outside
 * probe: the cut never ended). A plain revocation of a voucher does not refuse anything: it
 * leaves what the token made in force, as it always has.
 */
export async function requireVouchersUncut(
  tx: { tokens: Pick<AccessTokenRepository, "lockVouchers"> },
  call: Call,
): Promise<void> {
  const { actor } = call;
  const others = (actor.vouchers ?? []).filter((id) => id !== actor.id);
  if (others.length === 0) return;
  const vouchers = await tx.tokens.lockVouchers(others);
  const cut = vouchers.find((v) => v.lineCutAt !== null);
  if (cut) throw credentialLineCut("nothing was changed", cut);
}

/** What a change's transaction holds first (changeTransaction). */
export interface ChangeCaller {
  readonly call: Call;
  /**
   * The change is judged by the last-admin guard (access-tokens/last-admin.ts): the admin
   * set's lock is taken first, before the caller's row, in the order RevokeAccessToken takes
   * them (access-tokens/revoke.ts). In the other order a revocation of the caller (holding the
   * admin set's lock, waiting for the caller's row) and this change (holding the caller's row,
   * waiting for the admin set's lock) would deadlock.
   */
  readonly lastAdminGuard?: boolean;
}

/** The repositories a change's transaction needs to hold its caller (changeTransaction). */
export type CallerLocks = {
  tokens: Pick<AccessTokenRepository, "lockCaller" | "lockVouchers" | "lockAdminCredentials">;
};

/**
 * The transaction of an administrative change made for `caller.call`: before the change writes
 * anything, the admin set's lock when the last-admin guard judges the change, then the caller's
 * token as committed (requireCallerInForce), held FOR SHARE until the change commits.
 *
 * Every administrative change goes through it (CAs, policies, profiles, certificate
 * revocations and hold releases, rejections, ACME external account keys): until stop 46 of
 * 2026-12-06 only CreateAccessToken and RevokeAccessToken re-read their caller's token, every
 * other change trusted the check made when the call arrived, and a call in flight (a lock wait)
 * or queued for its turn (api/fair-admission.ts) when its token was revoked still committed its
 * change after RevokeAccessToken answered OK. The revocation is a cut now: a change of the
 * token committed before it (the revocation waited for it), or is refused TOKEN_REVOKED with
 * nothing written (test/auth/stop46-caller-in-force.test.ts). Certmint's own calls
 * (SYSTEM_ACTOR) pass; a client certificate binding's calls are held by the binding's token
 * row, as a bearer token's. A call src/acme makes for an ACME account or a certificate's key
 * (acme/acting.ts, method "/acme/<action>": a revocation, RFC 8555 7.6) has no access token to
 * hold: its account or key is its credential, checked by src/acme.
 */
export function changeTransaction<R extends CallerLocks, T>(
  deps: { store: StoreWith<R>; now: () => Date },
  caller: ChangeCaller,
  fn: (tx: R) => Promise<T>,
): Promise<T> {
  return deps.store.transaction(async (tx) => {
    if (caller.lastAdminGuard) await tx.tokens.lockAdminCredentials();
    if (!isAcmeCall(caller.call)) await requireCallerInForce(tx, caller.call, deps.now());
    return fn(tx);
  });
}

/** A call src/acme makes for an account or a certificate's key (acme/acting.ts actorCall). */
const isAcmeCall = (call: Call) => call.method.startsWith("/acme/");
