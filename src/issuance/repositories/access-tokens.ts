import type { IdentityType } from "../access-tokens/binding";
import type { Role } from "../call";
import type { Certificate } from "./certificates";
import type { PageQuery, RowKey } from "./paging";

/**
 * A credential and what it grants (src/auth). A bearer token keeps only the SHA-256 of its
 * secret; a client certificate binding keeps the identity it matches instead: its type, its
 * value and the CA that must be on the certificate's chain.
 */
export interface AccessToken {
  id: string;
  slug: string;
  description: string;
  role: Role;
  /** Profile ids an ISSUER or APPROVER acts on; empty for the others. */
  profileIds: string[];
  secretHash: Uint8Array | null;
  clientIdentity: string | null;
  clientIdentityType: IdentityType | null;
  /** The certmint CA the binding names, if it names one. */
  clientCaId: string | null;
  /** SHA-256 (hex) of the CA certificate that must be on the chain; null only on bindings made before bindings named a CA. */
  clientCaSha256: string | null;
  creatorId: string | null;
  /**
   * The tokens whose authority its creation rests on besides its creator (a line's cut takes
   * it): null or absent, its creator alone.
   */
  vouchedBy?: string[] | null;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

/** A token as it leaves the use cases: never the hash of its secret. */
export type AccessTokenView = Omit<AccessToken, "secretHash">;

export const accessTokenView = ({ secretHash: _, ...view }: AccessToken) => view as AccessTokenView;

/**
 * What authentication keeps of a token: with its creator (null for certmint's first admin
 * token, whose expiry bounds nothing it creates: access-tokens/lifetime.ts; absent counts as a
 * creator) and, when a client certificate certmint issued authenticated as it, that
 * certificate's own bound (Certificate.authenticatesUntil).
 */
export type Credential = Pick<
  AccessToken,
  "id" | "slug" | "role" | "profileIds" | "expiresAt" | "revokedAt"
> & {
  creatorId?: string | null;
  certificateAuthenticatesUntil?: Date | null;
  /** And the tokens that certificate was vouched for by (Certificate.vouchedBy, or its owner). */
  certificateVouchedBy?: readonly string[];
};

/** A credential with its client certificate binding, and when it was made (with its token). */
export type BoundCredential = Credential &
  Pick<AccessToken, "clientIdentityType" | "clientIdentity" | "clientCaSha256" | "createdAt">;

/** The identities a client certificate presents, by type, normalised as binding values are. */
export interface PresentedIdentities {
  readonly uri?: string;
  readonly dns: readonly string[];
  readonly commonName?: string;
}

export interface AccessTokenRepository {
  find(key: RowKey): Promise<AccessToken | null>;
  /** UniqueConflict("slug") or UniqueConflict("client_binding") when taken. */
  insert(token: AccessToken): Promise<void>;
  /**
   * Inside a transaction: the credential of the token making a call, its row held FOR SHARE
   * until the transaction ends, so a revocation of it (lockForRevocation, markRevoked) waits
   * for this transaction, and this read waits for a revocation in progress and sees it;
   * null when the row is gone.
   */
  lockCaller(id: string): Promise<Credential | null>;
  /**
   * Inside a transaction: locks a token's row for its revocation (FOR NO KEY UPDATE), after
   * the transactions that hold it as their caller (lockCaller) ended; false when it is gone.
   */
  lockForRevocation(id: string): Promise<boolean>;
  /**
   * Inside a transaction: holds the row of the CA a client certificate binding names FOR KEY
   * SHARE until it ends, so the CA cannot be deleted (nor revoked) before the token's insert
   * commits; false when the CA is gone.
   */
  lockBindingCa(caId: string): Promise<boolean>;
  /**
   * Holds the rows of the profiles a new token lists (FOR KEY SHARE) until its insert commits;
   * returns the ids still there.
   */
  lockListedProfiles(profileIds: readonly string[]): Promise<string[]>;
  /** Sets revokedAt unless it is revoked already. */
  markRevoked(id: string, now: Date): Promise<void>;
  /**
   * Inside a transaction: the tokens a call's credential rests on besides its own
   * (Actor.vouchers), held FOR SHARE until it ends, so a cut of their line in progress (its
   * lockForRevocation) is waited for and seen: those of `ids` still there, with when their
   * line was cut (null: never).
   */
  lockVouchers(
    ids: readonly string[],
  ): Promise<Array<{ id: string; slug: string; lineCutAt: Date | null }>>;
  /** Sets lineCutAt on each of `ids` whose line was not cut yet (RevokeAccessToken's cascade). */
  markLineCut(ids: readonly string[], now: Date): Promise<void>;
  /**
   * The tokens whose creator chain leads to the token `id`: those it created, those they
   * created, and so on, through tokens in any state (one revoked or expired still links its
   * own to it); and at each step the tokens made over a client certificate one of them vouched
   * for (AccessToken.vouchedBy: certificates/credential-lifetime.ts). In any state themselves,
   * never `id` itself; oldest first (created_at, id).
   * A cycle of creator_id (none can be made: a creator exists before what it creates) ends
   * the walk instead of looping.
   */
  createdLine(id: string): Promise<AccessToken[]>;
  delete(id: string): Promise<void>;
  /**
   * Inside a transaction: locks (FOR NO KEY UPDATE, in id order) every token whose profile list
   * names the profile, before its deletion locks the profile (profiles/delete.ts); their ids.
   */
  lockListingProfile(profileId: string): Promise<string[]>;
  /** Takes a deleted profile's id out of every token's profile list; how many tokens named it. */
  forgetProfile(profileId: string): Promise<number>;
  /**
   * Inside a transaction: waits for any other transaction changing the set of admin
   * credentials (a revocation of one), so two admins revoking each other cannot both pass
   * the last-admin check.
   */
  lockAdminCredentials(): Promise<void>;
  /**
   * The admin tokens in force at `now` (not revoked, not expired), bearer tokens and client
   * certificate bindings alike: the candidates of a usable admin credential
   * (src/auth/admin-credentials.ts decides which are usable).
   */
  adminsInForce(now: Date): Promise<AccessToken[]>;
  /**
   * Certificates certmint issued that could present this binding at `now`: under its CA (or a
   * CA below it), not revoked (a hold included), valid at `now`, not a CA, usable for TLS client
   * authentication (no EKU, or clientAuth: RFC 5280 4.2.1.12), naming the bound identity in
   * their CN or SANs; the newest first, at most `limit`. Authentication itself decides which
   * of them authenticates as the token (src/auth/admin-credentials.ts).
   */
  certificatesPresenting(
    binding: Pick<AccessToken, "clientCaId" | "clientIdentity">,
    now: Date,
    limit: number,
  ): Promise<Certificate[]>;
  /**
   * Certificates certmint issued whose owner (Certificate.owner: the token that requested it,
   * and holds its key) is one of `lineIds`, or that one of them vouched for (Certificate.vouchedBy:
   * a workload's renewal over mTLS of a certificate the line issued it, say), created at or
   * after `since`, still in force at
   * `now` (not revoked, or on hold; notAfter later than `now`), not a CA, and usable for TLS
   * client authentication (no EKU, or clientAuth: RFC 5280 4.2.1.12): the candidates of a
   * client-certificate credential of a revoked line (access-tokens/line.ts), by id. Which of
   * them a binding accepts is decided by authentication's own code afterwards.
   */
  clientCertificatesOfLine(
    lineIds: readonly string[],
    since: Date,
    now: Date,
  ): Promise<Certificate[]>;
  /** The credential of a bearer token, by the SHA-256 of its secret. */
  findBySecretHash(secretHash: Uint8Array): Promise<Credential | null>;
  /** Every token whose binding names one of the presented identities (one query). */
  findBindings(presented: PresentedIdentities): Promise<BoundCredential[]>;
  /** Slugs of the tokens in force (not revoked, not expired at `now`) whose binding names this CA. */
  slugsBoundToCa(caId: string, now: Date): Promise<string[]>;
  listOldestFirst(page: PageQuery): Promise<AccessToken[]>;
  /**
   * Drops the secret salt of the tokens created with a request_id before `createdBefore` (their
   * replay window over): their secrets can no longer be recomputed, even with the KEK and the
   * database (access-tokens/request-id.ts). How many were cleared.
   */
  forgetSecretSalts(createdBefore: Date): Promise<number>;
}
