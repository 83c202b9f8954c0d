import type { Metadata } from "@grpc/grpc-js";
import type { MikroORM } from "@mikro-orm/postgresql";
import { unauthenticated } from "../errors";
import { hashTokenSecret, TOKEN_PATTERN } from "../issuance/access-tokens/secret";
import type { Actor, Role } from "../issuance/call-scope";
import type { PeerIdentity } from "../server/peer-identity";
import { AccessTokenEntity, type AccessTokenRow, CertificateEntity } from "../store/entities";

/** What authentication keeps of a token row. */
type Credential = Pick<
  AccessTokenRow,
  "id" | "slug" | "role" | "profileIds" | "expiresAt" | "revokedAt"
>;

/**
 * The identity a verified client certificate presents (proto AccessToken
 * .client_certificate_identity): its first URI SAN (a SPIFFE ID, say), else its subject CN.
 */
export function clientCertificateIdentity(peer: PeerIdentity): string | undefined {
  return peer.uris[0] ?? peer.commonName;
}

/**
 * Turns a call's credentials into its Actor, or refuses with UNAUTHENTICATED. A bearer token
 * in `authorization` wins over a client certificate; without either the call is refused.
 *
 * Rows are cached for `cacheMs` (a database round trip per call would cost the issuance hot
 * path about a tenth of its throughput); expiry is checked on every call, and a revocation
 * through this process evicts at once (forget). Another certmint process sharing the
 * database sees a revocation within cacheMs.
 */
export class Authenticator {
  private readonly cache = new Map<string, { credential: Credential; loadedAt: number }>();
  /** Revocation state of client certificates certmint issued, by SHA-256 fingerprint. */
  private readonly revokedCertificates = new Map<string, { revoked: boolean; loadedAt: number }>();

  constructor(
    private readonly orm: MikroORM,
    private readonly now: () => Date,
    private readonly cacheMs = 5_000,
  ) {}

  async authenticate(metadata: Metadata, peer: PeerIdentity | undefined): Promise<Actor> {
    const headers = metadata.get("authorization");
    if (headers.length > 1) {
      throw unauthenticated("CREDENTIALS_AMBIGUOUS", "send one authorization header, not several");
    }
    if (headers.length === 1) return this.fromBearer(String(headers[0]));
    if (peer) return this.fromCertificate(peer);
    throw unauthenticated(
      "CREDENTIALS_MISSING",
      "this call needs credentials: send the metadata 'authorization: Bearer <token>' (an access token from CreateAccessToken, or the first admin token in the data directory's admin-token file), or a client certificate bound to an access token (mTLS)",
    );
  }

  /** Evicts a certificate's revocation state (after RevokeCertificate). */
  forgetCertificate(fingerprintSha256: string): void {
    this.revokedCertificates.delete(fingerprintSha256);
  }

  /** Evicts a token from the cache (after RevokeAccessToken). */
  forget(tokenId: string): void {
    for (const [key, entry] of this.cache) {
      if (entry.credential.id === tokenId) this.cache.delete(key);
    }
  }

  private async fromBearer(header: string): Promise<Actor> {
    const match = /^Bearer +(\S+)\s*$/i.exec(header);
    // Never echo the header: it may be a real token with a typo.
    if (!match || !TOKEN_PATTERN.test(match[1]!)) {
      throw unauthenticated(
        "TOKEN_MALFORMED",
        "the authorization header must be 'Bearer certmint_' followed by 43 characters, as CreateAccessToken returned it",
      );
    }
    const hash = hashTokenSecret(match[1]!);
    const credential = await this.lookup(`s:${hash.toString("hex")}`, { secretHash: hash });
    if (!credential) throw unauthenticated("TOKEN_UNKNOWN", "the access token is not known here");
    return this.actorOf(credential);
  }

  private async fromCertificate(peer: PeerIdentity): Promise<Actor> {
    // TLS checked the chain and validity, not revocation: a client certificate certmint
    // issued and then revoked is refused here (certificates of other CAs are not known).
    if (await this.isRevokedHere(peer.fingerprintSha256)) {
      throw unauthenticated(
        "CLIENT_CERTIFICATE_REVOKED",
        `the client certificate (serial ${peer.serialNumber}) was revoked`,
      );
    }
    const identity = clientCertificateIdentity(peer);
    const credential = identity
      ? await this.lookup(`c:${identity}`, { clientIdentity: identity })
      : undefined;
    if (!credential) {
      throw unauthenticated(
        "CLIENT_CERTIFICATE_NOT_BOUND",
        `the client certificate (${identity ? `identity "${identity}"` : "no URI SAN or common name"}) is not bound to an access token; an admin can bind it with CreateAccessToken(client_certificate_identity)`,
      );
    }
    return this.actorOf(credential);
  }

  private async isRevokedHere(fingerprintSha256: string): Promise<boolean> {
    const hit = this.revokedCertificates.get(fingerprintSha256);
    if (hit && performance.now() - hit.loadedAt < this.cacheMs) return hit.revoked;
    const row = await this.orm.em
      .fork()
      .findOne(CertificateEntity, { fingerprintSha256 }, { fields: ["revokedAt"] });
    const revoked = Boolean(row?.revokedAt);
    if (this.revokedCertificates.size >= 10_000) this.revokedCertificates.clear();
    this.revokedCertificates.set(fingerprintSha256, { revoked, loadedAt: performance.now() });
    return revoked;
  }

  private async lookup(
    key: string,
    where: { secretHash: Buffer } | { clientIdentity: string },
  ): Promise<Credential | undefined> {
    const hit = this.cache.get(key);
    if (hit && performance.now() - hit.loadedAt < this.cacheMs) return hit.credential;
    const row = await this.orm.em.fork().findOne(AccessTokenEntity, where, {
      fields: ["id", "slug", "role", "profileIds", "expiresAt", "revokedAt"],
    });
    if (!row) {
      this.cache.delete(key);
      return undefined;
    }
    const credential: Credential = {
      id: row.id,
      slug: row.slug,
      role: row.role,
      profileIds: row.profileIds,
      expiresAt: row.expiresAt,
      revokedAt: row.revokedAt ?? null,
    };
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(key, { credential, loadedAt: performance.now() });
    return credential;
  }

  private actorOf(c: Credential): Actor {
    if (c.revokedAt) {
      throw unauthenticated(
        "TOKEN_REVOKED",
        `access token "${c.slug}" was revoked at ${c.revokedAt.toISOString()}`,
      );
    }
    if (c.expiresAt.getTime() <= this.now().getTime()) {
      throw unauthenticated(
        "TOKEN_EXPIRED",
        `access token "${c.slug}" expired at ${c.expiresAt.toISOString()}; an admin can create a new one`,
      );
    }
    return { id: c.id, slug: c.slug, role: c.role as Role, profileIds: c.profileIds };
  }
}
