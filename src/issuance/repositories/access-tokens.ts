import type { IdentityType } from "../access-tokens/binding";
import type { Role } from "../call";
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
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

/** A token as it leaves the use cases: never the hash of its secret. */
export type AccessTokenView = Omit<AccessToken, "secretHash">;

export const accessTokenView = ({ secretHash: _, ...view }: AccessToken) => view as AccessTokenView;

/** What authentication keeps of a token. */
export type Credential = Pick<
  AccessToken,
  "id" | "slug" | "role" | "profileIds" | "expiresAt" | "revokedAt"
>;

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
  /** Sets revokedAt unless it is revoked already. */
  markRevoked(id: string, now: Date): Promise<void>;
  delete(id: string): Promise<void>;
  /** Takes a deleted profile's id out of every token's profile list; how many tokens named it. */
  forgetProfile(profileId: string): Promise<number>;
  /**
   * How many admin credentials work at `now`: not revoked or expired, and not a client
   * certificate binding that names no CA (it authenticates nobody).
   */
  countActiveAdmins(now: Date): Promise<number>;
  /**
   * Inside a transaction: waits for any other transaction changing the set of admin
   * credentials (a revocation of one), so two admins revoking each other cannot both pass
   * the last-admin check.
   */
  lockAdminCredentials(): Promise<void>;
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
