import type { AccessTokenRepository, AcmeRepository } from "../repositories";

/**
 * Whether the caller a certificate or a request belongs to (Certificate.owner,
 * CertificateRequest.caller) may still have certificates made in its name: an access token's
 * id, or an ACME account's id (src/acme/acting.ts: the account is the caller of its orders).
 *  - TOKEN_REVOKED: an access token revoked (RevokeAccessToken; revocation is final).
 *  - ACCOUNT_DEACTIVATED: an ACME account deactivated by its holder or revoked (final too,
 *    RFC 8555 7.3.6).
 *  - ACTIVE: anything else, an unknown caller included (as before). An EXPIRED token is
 *    active here on purpose: tokens expire (90 days by default) and are rotated, and what was
 *    issued to a token that expired keeps being renewed and approved; only a revocation says
 *    the holder must no longer get certificates.
 * Two primary-key reads at most (the token, then the account when no token has the id).
 */
export type CallerStanding =
  | { state: "ACTIVE" }
  | { state: "TOKEN_REVOKED"; slug: string }
  | { state: "ACCOUNT_DEACTIVATED"; status: string };

export async function standingOf(
  store: {
    tokens: Pick<AccessTokenRepository, "find">;
    acme: Pick<AcmeRepository, "account">;
  },
  caller: string,
): Promise<CallerStanding> {
  // Token and account ids are UUIDs; anything else names neither (and a uuid column refuses it).
  if (!UUID.test(caller)) return { state: "ACTIVE" };
  const token = await store.tokens.find({ id: caller });
  if (token) {
    return token.revokedAt ? { state: "TOKEN_REVOKED", slug: token.slug } : { state: "ACTIVE" };
  }
  const account = await store.acme.account(caller);
  if (account && account.status !== "valid") {
    return { state: "ACCOUNT_DEACTIVATED", status: account.status };
  }
  return { state: "ACTIVE" };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
