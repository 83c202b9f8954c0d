import { type FieldViolation, fieldViolation } from "../../errors";
import { type Call, SYSTEM_ACTOR } from "../call";
import type { AccessToken, AccessTokenRepository } from "../repositories";

/**
 * What a token creates lasts no longer than the token itself: an access token (a client
 * certificate binding included) or an ACME External Account Binding key (acme/eab.ts). A
 * delegated credential that outlives its delegator turns one leak of a short-lived token (a CI
 * job's hour-long admin token, printed to a log) into a credential of years, which only a
 * `revoke_created_tokens` of the line ends, once someone notices. Vault caps a child token's
 * TTL at its parent's for this reason. Until stop 52 of 2026-12-07 an admin token with an hour
 * left made ten-year admin tokens (an outside probe, AUTHZ F1;
 * test/probe52/authz/token-lifetime.test.ts).
 *
 * The first admin token, the one certmint makes itself at start-up (creator_id null), is the
 * root every other token comes from and bounds nothing: were its 90 days a bound, every token
 * of a deployment would end 90 days after its first start. Its own expiry still ends it.
 */
export interface CreatorLifetime {
  readonly slug: string;
  readonly expiresAt: Date;
  /** The bound is the client certificate's the call authenticated with, not the token's expiry. */
  readonly viaClientCertificate?: boolean;
}

/** Whether `token`'s expiry bounds what it creates: every token but certmint's first admin token. */
export const boundsWhatItCreates = (token: Pick<AccessToken, "creatorId">): boolean =>
  token.creatorId !== null;

/**
 * The expiry that bounds what the caller creates; undefined when nothing does (certmint's own
 * calls, the first admin token). Read before the change's transaction: a token's expiry and
 * creator never change (there is no UpdateAccessToken), and the transaction still refuses a
 * caller revoked or expired by then (caller.ts requireCallerInForce).
 */
export async function creatorLifetime(
  store: { tokens: Pick<AccessTokenRepository, "find"> },
  call: Call,
): Promise<CreatorLifetime | undefined> {
  if (call.actor.id === SYSTEM_ACTOR.id) return undefined;
  const creator = await store.tokens.find({ id: call.actor.id });
  if (!creator) return undefined;
  // The client certificate the call authenticated with may end its authority sooner than the
  // token it authenticates as (certificates/credential-lifetime.ts): an admin binding's
  // certificate issued by an hour-long admin token makes tokens of an hour at most.
  const certificateBound = call.actor.clientCertificateSha256
    ? call.actor.credentialsUntil
    : undefined;
  const own = boundsWhatItCreates(creator) ? creator.expiresAt : undefined;
  if (certificateBound && (!own || certificateBound.getTime() < own.getTime())) {
    return { slug: creator.slug, expiresAt: certificateBound, viaClientCertificate: true };
  }
  if (!own) return undefined;
  return { slug: creator.slug, expiresAt: own };
}

/**
 * An explicit `ttl` that ends after the creator: INVALID_ARGUMENT on `ttl`, saying the most it
 * may be (whole seconds, rounded down). None for a creator already expired: the change's
 * transaction refuses it as authentication would (TOKEN_EXPIRED).
 */
export function ttlPastCreator(
  ttlSeconds: number,
  creator: CreatorLifetime | undefined,
  now: Date,
): FieldViolation | undefined {
  if (!creator) return undefined;
  const leftMs = creator.expiresAt.getTime() - now.getTime();
  if (leftMs <= 0 || ttlSeconds * 1000 <= leftMs) return undefined;
  return fieldViolation(
    "ttl",
    "TOKEN_TTL_PAST_CREATOR_EXPIRY",
    creator.viaClientCertificate
      ? `at most ${Math.floor(leftMs / 1000)} seconds: the client certificate this call authenticated with (as access token "${creator.slug}") authenticates until ${creator.expiresAt.toISOString()}, the life of the token that had it issued, and a token made with it may not outlive it (leave ttl unset to expire with it)`
      : `at most ${Math.floor(leftMs / 1000)} seconds: the access token making this call ("${creator.slug}") expires at ${creator.expiresAt.toISOString()}, and a token it creates may not outlive it (leave ttl unset to expire with it)`,
  );
}

/** `now` plus `ttlSeconds`, cut to the creator's expiry (the default ttl is cut, not refused). */
export function expiryWithin(
  now: Date,
  ttlSeconds: number,
  creator: CreatorLifetime | undefined,
): Date {
  const wanted = now.getTime() + ttlSeconds * 1000;
  return new Date(creator ? Math.min(wanted, creator.expiresAt.getTime()) : wanted);
}
