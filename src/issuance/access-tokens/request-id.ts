import { randomBytes } from "node:crypto";
import { alreadyExists, failedPrecondition } from "../../errors";
import type { MessageAuthenticator } from "../../signer";
import { requestFingerprint } from "../certificates/idempotency";
import { type AccessToken, type AccessTokenView, accessTokenView } from "../repositories";
import { hashTokenSecret, TOKEN_PREFIX } from "./secret";

/**
 * CreateAccessToken with a request_id (an idempotency key of the creating token, as
 * IssueCertificate's): a retry after a lost answer gets the same token and the same secret,
 * never a second token. Until stop 42 of 2026-12-06 a retry was ALREADY_EXISTS
 * (ACCESS_TOKEN_SLUG_TAKEN) and the secret of the token made was lost.
 *
 * - The token's id is derived from the creator and the request_id (an HMAC under a key
 *   derived from the KEK, as a UUIDv8, RFC 9562 5.8): the primary key is the idempotency key,
 *   so two calls with one request_id, on any replicas, insert one row; the other finds it.
 *   The HMAC keeps a request_id from being read or confirmed from the id, which auditors see.
 * - The secret is derived too, from the id and 256 random bits stored with the token
 *   (secret_salt): HMAC-SHA256 under another KEK-derived key. Only the server, holding the
 *   KEK and the row, can compute it; the database stores its SHA-256 as for every token. It
 *   is handed out again for the replay window (CERTMINT_GENERATED_KEY_REPLAY_SECONDS, one
 *   hour unless configured, the window of generated keys) and then refused: the token must be
 *   revoked and made again. A token made without a request_id keeps a random secret that
 *   nothing can recompute.
 * - The same request_id with another request (slug, description, role, profiles, binding or
 *   ttl) is ALREADY_EXISTS (REQUEST_ID_REUSED), naming the token.
 *
 * Why not a sealed copy of the secret (as generated keys are held): a sealed copy is as
 * recoverable with the KEK and the database as the salt, and would need a sweep of its own
 * to go; why not ALREADY_EXISTS with the token's id: the client still could not use what it
 * asked for, and would have to revoke it and call again.
 */
export interface TokenRequest {
  requestId: string;
  /** SHA-256 of the request as resolved (profiles and binding CA by id). */
  fingerprint: string;
}

/** Purposes of the KEK-derived keys (src/signer/mac.ts). */
const ID_PURPOSE = "access-token id from request_id";
const SECRET_PURPOSE = "access-token secret from salt";

export interface TokenKeyring {
  macFor(purpose: string): MessageAuthenticator;
}

/** The id of the token a creator's request_id makes: a UUIDv8 of 122 bits of HMAC. */
export function tokenIdForRequest(
  keyring: TokenKeyring,
  creatorId: string | null,
  requestId: string,
): string {
  const b = Buffer.from(keyring.macFor(ID_PURPOSE).tag(creatorId ?? "", requestId));
  b[6] = (b[6]! & 0x0f) | 0x80; // version 8 (RFC 9562 5.8)
  b[8] = (b[8]! & 0x3f) | 0x80; // variant 10
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const newSecretSalt = (): Buffer => randomBytes(32);

/**
 * The secret of a token made with a request_id: "certmint_" and 256 bits (two 128-bit HMAC
 * tags of the id and salt, so it has the form of every other secret, TOKEN_PATTERN).
 */
export function derivedTokenSecret(
  keyring: TokenKeyring,
  tokenId: string,
  salt: Uint8Array,
): string {
  const mac = keyring.macFor(SECRET_PURPOSE);
  const bytes = Buffer.concat([
    mac.tag(tokenId, Buffer.from(salt), "1"),
    mac.tag(tokenId, Buffer.from(salt), "2"),
  ]);
  return TOKEN_PREFIX + bytes.toString("base64url");
}

/** The fingerprint of a request, as resolved: naming a profile by id or by slug is the same. */
export function tokenRequestFingerprint(parts: {
  slug: string;
  description: string;
  role: string;
  profileIds: readonly string[];
  binding: { type: string; value: string; caId: string | null; caSha256: string | null } | null;
  ttlSeconds: number;
}): string {
  return requestFingerprint([
    parts.slug,
    parts.description,
    parts.role,
    [...parts.profileIds].sort(),
    parts.binding,
    parts.ttlSeconds,
  ]);
}

/** The stored columns of a token made with a request_id (store/entities/access-token.ts). */
export type TokenWithRequest = AccessToken & {
  requestFingerprint?: string | null;
  secretSalt?: Uint8Array | null;
};

/** A token as it leaves the use cases: never its secret's hash, salt or request fingerprint. */
export function tokenView(token: TokenWithRequest): AccessTokenView {
  const { secretSalt: _salt, requestFingerprint: _fingerprint, ...row } = token;
  return accessTokenView(row);
}

/**
 * What a retry of `prior`'s request gets: its secret again within the window, or why not.
 * `prior` was found by the id this request_id derives, so it is this creator's.
 */
export function replayedSecret(
  keyring: TokenKeyring,
  prior: TokenWithRequest,
  request: TokenRequest,
  now: Date,
  replaySeconds: number,
): string | undefined {
  if (prior.requestFingerprint !== request.fingerprint) {
    throw alreadyExists(
      "REQUEST_ID_REUSED",
      `request_id "${request.requestId}" was already used for a different request (access token ${prior.id}, "${prior.slug}"); use a new request_id`,
      { metadata: { access_token_id: prior.id, access_token: prior.slug } },
    );
  }
  // Revoked since: its retry is no success, whatever it would hand out (a review of stop 42:
  // it answered OK with the dead secret). Its salt went with the revocation.
  if (prior.revokedAt) {
    throw failedPrecondition(
      "TOKEN_REVOKED",
      `access token "${prior.slug}" (${prior.id}) was created by this request_id and has been revoked since; create another with a new request_id`,
      { metadata: { access_token_id: prior.id, access_token: prior.slug } },
    );
  }
  if (!prior.secretHash) return undefined; // a client certificate binding: no secret
  const salt = prior.secretSalt;
  const within = now.getTime() - prior.createdAt.getTime() < replaySeconds * 1000;
  const secret = salt && within ? derivedTokenSecret(keyring, prior.id, salt) : undefined;
  // Another KEK than the one that made it (a restore), or past the window: not handed out.
  if (!secret || !hashTokenSecret(secret).equals(Buffer.from(prior.secretHash))) {
    throw failedPrecondition(
      "TOKEN_SECRET_REPLAY_ENDED",
      `access token "${prior.slug}" (${prior.id}) was created by this request_id, but its secret is handed out again only within ${replaySeconds} seconds of its creation; revoke it and create another`,
      {
        preconditions: [
          {
            type: "REPLAY_WINDOW",
            subject: `access_tokens/${prior.slug}`,
            description: "created more than CERTMINT_GENERATED_KEY_REPLAY_SECONDS ago",
          },
        ],
        metadata: { access_token_id: prior.id, access_token: prior.slug },
      },
    );
  }
  return secret;
}
